#include <string.h>
#include "shim.h"
#include "hook.h"

static ENetPacket *nb_framed_packet(enet_uint32 flags, enet_uint32 source,
                                    enet_uint32 target, const void *payload,
                                    size_t n) {
  ENetPacket *packet = enet_packet_create(NULL, n + 8, flags);
  if (packet == NULL) {
    return NULL;
  }
  enet_uint8 *d = packet->data;
  d[0] = (enet_uint8)source;
  d[1] = (enet_uint8)(source >> 8);
  d[2] = (enet_uint8)(source >> 16);
  d[3] = (enet_uint8)(source >> 24);
  d[4] = (enet_uint8)target;
  d[5] = (enet_uint8)(target >> 8);
  d[6] = (enet_uint8)(target >> 16);
  d[7] = (enet_uint8)(target >> 24);
  if (n > 0) {
    memcpy(d + 8, payload, n);
  }
  return packet;
}

int nb_send_framed(ENetPeer *peer, enet_uint8 channel, enet_uint32 flags,
                   enet_uint32 source, enet_uint32 target,
                   const void *payload, size_t n) {
  ENetPacket *packet = nb_framed_packet(flags, source, target, payload, n);
  if (packet == NULL) {
    return -1;
  }
  if (enet_peer_send(peer, channel, packet) < 0) {
    enet_packet_destroy(packet);
    return -2;
  }
  return 0;
}

int nb_send_framed_many(ENetPeer **peers, size_t count, enet_uint8 channel,
                        enet_uint32 flags, enet_uint32 source,
                        enet_uint32 target, const void *payload, size_t n) {
  ENetPacket *packet = nb_framed_packet(flags, source, target, payload, n);
  if (packet == NULL) {
    return -1;
  }
  int refused = nb_forward(peers, count, channel, packet);
  nb_release(packet);
  return refused;
}

int nb_send_raw(ENetPeer *peer, enet_uint8 channel, enet_uint32 flags,
                const void *data, size_t n) {
  ENetPacket *packet = enet_packet_create(data, n, flags);
  if (packet == NULL) {
    return -1;
  }
  if (enet_peer_send(peer, channel, packet) < 0) {
    enet_packet_destroy(packet);
    return -2;
  }
  return 0;
}

int nb_send_raw_many(ENetPeer **peers, size_t count, enet_uint8 channel,
                     enet_uint32 flags, const void *data, size_t n) {
  ENetPacket *packet = enet_packet_create(data, n, flags);
  if (packet == NULL) {
    return -1;
  }
  int refused = nb_forward(peers, count, channel, packet);
  nb_release(packet);
  return refused;
}

int nb_forward(ENetPeer **peers, size_t count, enet_uint8 channel,
               ENetPacket *packet) {
  int refused = 0;
  for (size_t i = 0; i < count; i++) {
    if (enet_peer_send(peers[i], channel, packet) < 0) {
      refused++;
    }
  }
  return refused;
}

void nb_release(ENetPacket *packet) {
  if (packet != NULL && packet->referenceCount == 0) {
    enet_packet_destroy(packet);
  }
}

int nb_service(ENetHost *host, ENetEvent *event, enet_uint32 timeout,
               ENetPacket *done) {
  nb_release(done);
  int r = enet_host_service(host, event, timeout);
  nb_flush_host(host); // what it sent leaves before the call returns
  return r;
}

void nb_host_flush(ENetHost *host) {
  enet_host_flush(host);
  nb_flush_host(host);
}

void nb_disconnect_now(ENetPeer *peer, enet_uint32 data) {
  enet_peer_disconnect_now(peer, data);
  nb_flush_host(peer->host);
}

int nb_check_events(ENetHost *host, ENetEvent *event, ENetPacket *done) {
  nb_release(done);
  return enet_host_check_events(host, event);
}

int nb_local_port(ENetHost *host) {
  ENetAddress address;
  if (enet_socket_get_address(host->socket, &address) < 0) {
    return 0;
  }
  return address.port;
}

#include <stdlib.h>
#include "_cgo_export.h"

typedef struct {
  uintptr_t handle;
  enet_uint8 scratch[ENET_PROTOCOL_MAXIMUM_MTU];
} nb_codec;

static size_t nb_codec_compress(void *context, const ENetBuffer *inBuffers,
                                size_t inBufferCount, size_t inLimit,
                                enet_uint8 *outData, size_t outLimit) {
  nb_codec *c = context;
  size_t n = 0;
  for (size_t i = 0; i < inBufferCount && n < inLimit; i++) {
    size_t len = inBuffers[i].dataLength;
    if (len > inLimit - n) {
      len = inLimit - n;
    }
    if (len > sizeof(c->scratch) - n) {
      return 0; /* cannot happen within ENet's MTU; send uncompressed */
    }
    memcpy(c->scratch + n, inBuffers[i].data, len);
    n += len;
  }
  return netburiCodecCompress(c->handle, c->scratch, n, outData, outLimit);
}

static size_t nb_codec_decompress(void *context, const enet_uint8 *inData,
                                  size_t inLimit, enet_uint8 *outData,
                                  size_t outLimit) {
  nb_codec *c = context;
  return netburiCodecDecompress(c->handle, (enet_uint8 *)inData, inLimit,
                                outData, outLimit);
}

static void nb_codec_destroy(void *context) {
  nb_codec *c = context;
  netburiCodecDestroy(c->handle);
  free(c);
}

int nb_set_codec(ENetHost *host, uintptr_t handle) {
  nb_codec *c = malloc(sizeof(nb_codec));
  if (c == NULL) {
    return -1;
  }
  c->handle = handle;
  ENetCompressor compressor = {c, nb_codec_compress, nb_codec_decompress,
                               nb_codec_destroy};
  enet_host_compress(host, &compressor);
  return 0;
}

static int nb_intercept(ENetHost *host, ENetEvent *event) {
  (void)event;
  return netburiGuardInspect(host, host->receivedData, host->receivedDataLength);
}

void nb_set_intercept(ENetHost *host) { host->intercept = nb_intercept; }

size_t nb_range_compress(void *coder, const void *data, size_t n,
                         enet_uint8 *out, size_t outLimit) {
  ENetBuffer buffer = {.data = (void *)data, .dataLength = n};
  return enet_range_coder_compress(coder, &buffer, 1, n, out, outLimit);
}
