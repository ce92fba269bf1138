// netburi's socket hook (hook.c): libenet's socket calls for a host behind
// netburi's relay go to queues in memory instead of loopback sockets.
#ifndef NETBURI_HOOK_H
#define NETBURI_HOOK_H

#include <pthread.h>
#include <stdint.h>
#include <enet/enet.h>

// NB_HOOK_MAX_FD bounds the socket descriptors that can be hooked (a host
// whose socket is above it keeps the relay's loopback path).
#define NB_HOOK_MAX_FD 65536
// NB_HOOK_QUEUE is each queue's size in bytes (a datagram costs 4 more).
#define NB_HOOK_QUEUE (256 * 1024)
// NB_HOOK_MAX_DATAGRAM is the largest datagram a queue takes: ENet's
// largest MTU, and its receive buffer.
#define NB_HOOK_MAX_DATAGRAM ENET_PROTOCOL_MAXIMUM_MTU
// NB_BATCH_MAX is how many datagrams the send batch holds; a full batch
// leaves in one sendmmsg.
#define NB_BATCH_MAX 64
// NB_BATCH_BYTES is the send batch's buffer, datagrams packed one after
// another: NB_BATCH_MAX of ENet's default MTU (a host with a larger MTU
// fills it with fewer). Under glibc's mmap threshold, so a host's batch
// comes from the heap rather than a mapping of its own.
#define NB_BATCH_BYTES (NB_BATCH_MAX * ENET_HOST_DEFAULT_MTU)

struct mmsghdr;
struct iovec;
struct sockaddr_in;

// nb_hook is one hooked host's state. A queue holds records of a 2-byte
// port and a 2-byte length (little-endian), then the datagram.
typedef struct nb_hook {
  ENetSocket socket;  // the host's socket; -1 once detached
  enet_uint32 loopback; // 127.0.0.1 as ENetAddress.host holds it
  uintptr_t handle;   // the Go Hook's handle, for netburiHookFull
  int wake;           // eventfd: a Push wakes a waiting service call; -1
                      // on a batch-only hook (no queues: nb_hook_relay)
  int watch;          // another descriptor a wait watches (-1: none): when
                      // it is readable, netburiHookRefill fills the in-queue

  // The out-queue: written by the send hook, emptied by the owner (Go's
  // Drain reads out and sets outLen to 0); only the host's owner, one call
  // at a time, touches it. NULL, as in, on a batch-only hook.
  enet_uint8 *out;
  size_t outLen;
  uint64_t outDropped;

  // The send batch (nb_hook_batch): sends to any other address are copied
  // here, in order, and leave with sendmmsg on the socket when it is full,
  // when a wait is about to block, and when the owner flushes
  // (nb_hook_flush); only the owner, one call at a time, touches it.
  struct mmsghdr *bmsgs;     // NULL: not batching
  struct iovec *biovs;
  struct sockaddr_in *baddrs;
  enet_uint8 *bbuf;          // NB_BATCH_BYTES, datagrams packed
  size_t bused;              // bytes of bbuf the batch holds
  unsigned bcount;
  uint64_t bsent, bcalls, bdropped;

  // Relay ports: a send to 127.0.0.1:port goes to the out-queue when the
  // port's bit is set (atomic bytes; any thread sets them).
  enet_uint8 ports[65536 / 8];

  // The in-queue: Push appends from any thread, the receive hook takes from
  // the front; guarded by mu.
  pthread_mutex_t mu;
  enet_uint8 *in;
  size_t inHead, inTail;
  uint64_t inDropped;
  int waiting; // a wait is polling: the next Push signals wake
  int closed;  // detached: Push refuses
} nb_hook;

// nb_hook_linked reports whether the hook's symbols are where libenet's
// socket calls would find them (libenet linked dynamically, the executable
// exporting the definitions); it cannot see whether libenet's own calls
// use them (nb_hook_probe does).
int nb_hook_linked(void);
// nb_hook_probe reports which hooked functions libenet's own calls reached
// (NB_PROBE_ALL: all three) while servicing a throwaway host once, or -1
// when it could not try (no host, socket or memory for it); handle is a
// Go Hook with no callbacks. With miss, the throwaway host's hook is
// not registered, as if libenet's calls went past the hook (tests). Any
// thread, after enet_initialize; it costs a few milliseconds.
int nb_hook_probe(uintptr_t handle, int miss);
#define NB_PROBE_SEND 1
#define NB_PROBE_RECEIVE 2
#define NB_PROBE_WAIT 4
#define NB_PROBE_ALL (NB_PROBE_SEND | NB_PROBE_RECEIVE | NB_PROBE_WAIT)
// nb_hook_new hooks host's socket; NULL when the hook's symbols are not
// linked (nb_hook_linked) or the socket cannot be hooked. With relay it
// has the queues and eventfd a relay needs (as after nb_hook_relay);
// without, it is batch-only: no queues, no eventfd, and the hooked calls
// pass through to libenet's except for the send batch (nb_hook_batch).
// The owner's thread, before the host is used; only once nb_hook_probe
// has passed.
nb_hook *nb_hook_new(ENetHost *host, uintptr_t handle, int relay);
// nb_hook_relay gives a batch-only hook the queues and eventfd a relay
// needs (nothing if it has them); 0 when they cannot be had. The owner,
// outside ENet's calls, with no nb_hook_push or nb_hook_mark running.
int nb_hook_relay(nb_hook *h);
// nb_hook_detach unhooks the socket (before the host is destroyed) and
// makes Push refuse; nb_hook_free frees it once no Push can come.
void nb_hook_detach(nb_hook *h);
void nb_hook_free(nb_hook *h);
// nb_hook_mark sets (on) or clears the relay bit of a loopback port;
// nothing on a batch-only hook.
void nb_hook_mark(nb_hook *h, enet_uint16 port, int on);
// nb_hook_push queues a datagram for ENet from 127.0.0.1:port; 0 when it
// is refused (empty or too large; queue full, detached or batch-only:
// counted).
int nb_hook_push(nb_hook *h, enet_uint16 port, const void *data, size_t n);
// nb_hook_watch makes waits also watch fd (-1: none); a batch-only hook's
// waits do not. The host's owner.
void nb_hook_watch(nb_hook *h, int fd);
// nb_hook_batch makes sends to addresses other than marked relay ports
// wait in the send batch; 0 when its memory cannot be had. The owner.
int nb_hook_batch(nb_hook *h);
// nb_hook_flush sends what the send batch holds. The owner.
void nb_hook_flush(nb_hook *h);
// nb_flush_host flushes the send batch of host's hook, if it has one. The
// host's owner.
void nb_flush_host(ENetHost *host);
// nb_hook_batch_counts reads the send batch's counters: datagrams sent,
// sendmmsg calls, datagrams the socket refused. The owner.
void nb_hook_batch_counts(nb_hook *h, uint64_t *sent, uint64_t *calls, uint64_t *dropped);
// nb_hook_counts reads the drop counters (the host's owner).
void nb_hook_counts(nb_hook *h, uint64_t *inDropped, uint64_t *outDropped);

#endif
