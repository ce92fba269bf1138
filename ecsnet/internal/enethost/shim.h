// Small C helpers over libenet that go-enet does not offer. Each one does the
// work of several ENet calls in a single cgo crossing.
#ifndef NETBURI_SHIM_H
#define NETBURI_SHIM_H

#include <stdint.h>
#include <enet/enet.h>

// nb_send_framed builds one packet holding an 8-byte Godot header (source,
// target, little-endian) followed by n payload bytes and queues it on peer.
// Ownership: on success ENet owns the packet; on failure it is destroyed here.
// Returns 0 on success, -1 when the packet cannot be created, -2 when
// enet_peer_send refuses it.
int nb_send_framed(ENetPeer *peer, enet_uint8 channel, enet_uint32 flags,
                   enet_uint32 source, enet_uint32 target,
                   const void *payload, size_t n);

// nb_send_framed_many queues one shared packet (header + payload, as above)
// on every peer in peers[0:count]. The packet is destroyed here if no peer
// accepted it. Returns the number of peers that refused it, or -1 when the
// packet cannot be created.
int nb_send_framed_many(ENetPeer **peers, size_t count, enet_uint8 channel,
                        enet_uint32 flags, enet_uint32 source,
                        enet_uint32 target, const void *payload, size_t n);

// nb_send_raw queues n bytes as-is (no header) on peer. Ownership as for
// nb_send_framed.
int nb_send_raw(ENetPeer *peer, enet_uint8 channel, enet_uint32 flags,
                const void *data, size_t n);

// nb_send_raw_many queues one shared packet of n bytes as-is on every peer
// in peers[0:count]. Ownership and result as for nb_send_framed_many.
int nb_send_raw_many(ENetPeer **peers, size_t count, enet_uint8 channel,
                     enet_uint32 flags, const void *data, size_t n);

// nb_forward queues an already received packet on every peer in
// peers[0:count] (shared by reference, not copied). Returns the number of
// peers that refused it. The caller still releases its own hold with
// nb_release.
int nb_forward(ENetPeer **peers, size_t count, enet_uint8 channel,
               ENetPacket *packet);

// nb_release destroys a received packet unless a send queue still refers to
// it (then ENet destroys it once sent).
void nb_release(ENetPacket *packet);

// nb_service releases done (a received packet the caller has finished
// with, or NULL) and then runs enet_host_service: one cgo crossing where
// there were two. Then it flushes the host's send batch (hook.h), if any.
int nb_service(ENetHost *host, ENetEvent *event, enet_uint32 timeout,
               ENetPacket *done);
// nb_host_flush is enet_host_flush, then the host's send batch flushed.
void nb_host_flush(ENetHost *host);
// nb_disconnect_now is enet_peer_disconnect_now, then the send batch
// flushed.
void nb_disconnect_now(ENetPeer *peer, enet_uint32 data);

// nb_check_events is nb_service's twin for enet_host_check_events.
int nb_check_events(ENetHost *host, ENetEvent *event, ENetPacket *done);

// nb_local_port returns the port the host's socket is bound to, 0 if none.
int nb_local_port(ENetHost *host);



// nb_set_peer_tag keeps an integer in the peer's data field (written from C
// so Go never stores a non-pointer in a pointer field; Go reads it back as
// an integer).
static inline void nb_set_peer_tag(ENetPeer *peer, long v) { peer->data = (void *)(uintptr_t)v; }
// nb_set_codec installs netburi's compressor on host: ENet hands it each
// outgoing datagram's commands and each received compressed datagram, and it
// calls the Go codec registered under handle. The context (and, through
// netburiCodecDestroy, the handle) is freed when the host is destroyed or the
// compressor replaced. Returns -1 when out of memory.
int nb_set_codec(ENetHost *host, uintptr_t handle);

// nb_set_intercept hooks netburi's datagram guard (netburiGuardInspect) into
// host: it sees every received datagram before libenet parses it.
void nb_set_intercept(ENetHost *host);

// nb_range_compress runs ENet's range coder over one buffer of n bytes.
size_t nb_range_compress(void *coder, const void *data, size_t n,
                         enet_uint8 *out, size_t outLimit);

#endif
