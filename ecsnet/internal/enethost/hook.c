// netburi's socket hook: libenet 1.3 calls enet_socket_send,
// enet_socket_receive and enet_socket_wait through its PLT, so the
// definitions below, in the executable, take their place (the dynamic
// linker looks in the executable first). For a socket netburi did not
// register they call libenet's own functions (dlsym RTLD_NEXT) and change
// nothing; for the socket of an ENet host behind netburi's relay they
// exchange datagrams with the relay through two queues in memory instead
// of loopback sockets:
//
//   - sends to a relay port (a remote's loopback address as ENet sees it)
//     are copied to the host's out-queue, which the owner drains after the
//     service call (hook.go: Drain);
//   - the in-queue, which the relay fills from any goroutine (Push), is
//     served to ENet before the socket itself;
//   - with a send batch (nb_hook_batch: a host that sends on its own
//     socket), every other send is copied to the batch, in order, and the
//     batch leaves in one sendmmsg when it is full, before a wait blocks,
//     and when the owner flushes it after each call that makes ENet send
//     (nb_flush_host), instead of one sendmsg per datagram;
//   - a wait sees the in-queue, and a Push during a wait wakes it (eventfd);
//     before it blocks, what ENet sent is handed on (netburiHookFull), and
//     it may watch the relay's public socket (netburiHookRefill).
//
// A host that only batches (nb_hook_new without relay) has neither queues
// nor eventfd: its receive and wait go straight to libenet's, after the
// wait sends the batch; nb_hook_relay adds them for a relay.
//
// The definitions are weak: where libenet is linked statically its own
// strong ones win and the hook is never called; where libenet binds its
// own calls internally (-Bsymbolic, LTO) they skip the PLT and never reach
// the hook either, though the symbols look right. nb_hook_linked checks the
// symbols; nb_hook_probe checks, once per process, that libenet's own
// calls arrive here, by servicing a throwaway host. Where either fails the
// relay keeps its loopback sockets.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "hook.h"
#include "_cgo_export.h"

typedef int (*nb_send_fn)(ENetSocket, const ENetAddress *, const ENetBuffer *, size_t);
typedef int (*nb_receive_fn)(ENetSocket, ENetAddress *, ENetBuffer *, size_t);
typedef int (*nb_wait_fn)(ENetSocket, enet_uint32 *, enet_uint32);

static nb_send_fn real_send;
static nb_receive_fn real_receive;
static nb_wait_fn real_wait;
static pthread_once_t real_once = PTHREAD_ONCE_INIT;

static void nb_find_real(void) {
  real_send = (nb_send_fn)dlsym(RTLD_NEXT, "enet_socket_send");
  real_receive = (nb_receive_fn)dlsym(RTLD_NEXT, "enet_socket_receive");
  real_wait = (nb_wait_fn)dlsym(RTLD_NEXT, "enet_socket_wait");
}

// The registered hooks by socket descriptor. Only a host's owner registers,
// uses and unregisters its own entry; other threads only find theirs empty.
static nb_hook *nb_hooks[NB_HOOK_MAX_FD];

static inline nb_hook *nb_hook_of(ENetSocket s) {
  if (s < 0 || s >= NB_HOOK_MAX_FD) {
    return NULL;
  }
  return __atomic_load_n(&nb_hooks[s], __ATOMIC_ACQUIRE);
}

static inline int nb_port_marked(nb_hook *h, enet_uint16 port) {
  return (__atomic_load_n(&h->ports[port >> 3], __ATOMIC_RELAXED) >> (port & 7)) & 1;
}

// nb_batch_flush sends the batch on the socket, as few sendmmsg calls as
// the kernel allows. A datagram the socket refuses (its buffer full, an
// error reported on it) is counted and skipped, as libenet's own send
// would have lost it; the rest still go, in order.
static void nb_batch_flush(nb_hook *h) {
  unsigned at = 0;
  while (at < h->bcount) {
    int r = sendmmsg(h->socket, h->bmsgs + at, h->bcount - at, MSG_NOSIGNAL);
    if (r < 0 && errno == EINTR) {
      continue;
    }
    h->bcalls++;
    if (r <= 0) {
      h->bdropped++; // the first one failed
      at++;
      continue;
    }
    at += (unsigned)r;
    h->bsent += (uint64_t)r;
  }
  h->bcount = 0;
  h->bused = 0;
}

// nb_batch_add copies a datagram into the batch, sending the batch first
// when it is full. It reports the datagram's length, as libenet's send
// does for a datagram sent (what the socket refuses is counted at flush).
static int nb_batch_add(nb_hook *h, ENetSocket s, const ENetAddress *address,
                        const ENetBuffer *buffers, size_t count) {
  size_t n = 0;
  for (size_t i = 0; i < count; i++) {
    n += buffers[i].dataLength;
  }
  if (address == NULL || n > NB_HOOK_MAX_DATAGRAM) {
    // Not ENet's (no address: a connected socket; larger than ENet sends):
    // the socket's own send, after what is queued, keeping the order.
    nb_batch_flush(h);
    return real_send(s, address, buffers, count);
  }
  if (h->bcount == NB_BATCH_MAX || h->bused + n > NB_BATCH_BYTES) {
    nb_batch_flush(h);
  }
  unsigned k = h->bcount++;
  enet_uint8 *p = h->bbuf + h->bused;
  h->biovs[k].iov_base = p;
  h->biovs[k].iov_len = n;
  h->bused += n;
  for (size_t i = 0; i < count; i++) {
    memcpy(p, buffers[i].data, buffers[i].dataLength);
    p += buffers[i].dataLength;
  }
  h->baddrs[k].sin_port = ENET_HOST_TO_NET_16(address->port);
  h->baddrs[k].sin_addr.s_addr = address->host;
  return (int)n;
}

int nb_hooked_send(ENetSocket s, const ENetAddress *address,
                   const ENetBuffer *buffers, size_t count) {
  pthread_once(&real_once, nb_find_real);
  nb_hook *h = nb_hook_of(s);
  if (h == NULL || h->out == NULL || address == NULL ||
      address->host != h->loopback || !nb_port_marked(h, address->port)) {
    if (h != NULL && h->bmsgs != NULL) {
      return nb_batch_add(h, s, address, buffers, count);
    }
    return real_send(s, address, buffers, count);
  }
  size_t n = 0;
  for (size_t i = 0; i < count; i++) {
    n += buffers[i].dataLength;
  }
  if (n == 0 || n > NB_HOOK_MAX_DATAGRAM) {
    h->outDropped++;
    return (int)n; // as a datagram lost on the way
  }
  if (h->outLen + 4 + n > NB_HOOK_QUEUE) {
    netburiHookFull(h->handle); // the owner's Drain empties the queue
    if (h->outLen + 4 + n > NB_HOOK_QUEUE) {
      h->outDropped++;
      return (int)n;
    }
  }
  enet_uint8 *p = h->out + h->outLen;
  p[0] = (enet_uint8)address->port;
  p[1] = (enet_uint8)(address->port >> 8);
  p[2] = (enet_uint8)n;
  p[3] = (enet_uint8)(n >> 8);
  p += 4;
  for (size_t i = 0; i < count; i++) {
    memcpy(p, buffers[i].data, buffers[i].dataLength);
    p += buffers[i].dataLength;
  }
  h->outLen += 4 + n;
  return (int)n;
}

int nb_hooked_receive(ENetSocket s, ENetAddress *address, ENetBuffer *buffers,
                      size_t count) {
  pthread_once(&real_once, nb_find_real);
  nb_hook *h = nb_hook_of(s);
  if (h == NULL || h->in == NULL) { // in: set only by the owner, this thread
    return real_receive(s, address, buffers, count);
  }
  pthread_mutex_lock(&h->mu);
  if (h->inHead == h->inTail) {
    pthread_mutex_unlock(&h->mu);
    return real_receive(s, address, buffers, count);
  }
  enet_uint8 *p = h->in + h->inHead;
  enet_uint16 port = (enet_uint16)(p[0] | p[1] << 8);
  size_t n = (size_t)(p[2] | p[3] << 8);
  h->inHead += 4 + n;
  if (h->inHead == h->inTail) {
    h->inHead = h->inTail = 0;
  }
  p += 4;
  size_t done = 0;
  for (size_t i = 0; i < count && done < n; i++) {
    size_t k = buffers[i].dataLength;
    if (k > n - done) {
      k = n - done;
    }
    memcpy(buffers[i].data, p + done, k);
    done += k;
  }
  pthread_mutex_unlock(&h->mu);
  if (done < n) {
    return -1; // as libenet reports a truncated datagram (cannot happen: Push bounds n)
  }
  if (address != NULL) {
    address->host = h->loopback;
    address->port = port;
  }
  return (int)n;
}

int nb_hooked_wait(ENetSocket s, enet_uint32 *condition, enet_uint32 timeout) {
  pthread_once(&real_once, nb_find_real);
  nb_hook *h = nb_hook_of(s);
  if (h != NULL && h->bcount > 0) {
    nb_batch_flush(h); // what ENet sent leaves before it waits for answers
  }
  if (h == NULL || h->wake < 0 || !(*condition & ENET_SOCKET_WAIT_RECEIVE)) {
    return real_wait(s, condition, timeout); // no queue to see (batch-only)
  }
  pthread_mutex_lock(&h->mu);
  if (h->inHead != h->inTail) {
    pthread_mutex_unlock(&h->mu);
    *condition = ENET_SOCKET_WAIT_RECEIVE;
    return 0;
  }
  h->waiting = 1;
  pthread_mutex_unlock(&h->mu);
  if (h->outLen > 0 && timeout > 0) {
    // What ENet just sent must not wait out the wait: the owner sends it on.
    netburiHookFull(h->handle);
  }

  struct pollfd fds[3] = {{.fd = s, .events = POLLIN},
                          {.fd = h->wake, .events = POLLIN},
                          {.fd = h->watch, .events = POLLIN}};
  if (*condition & ENET_SOCKET_WAIT_SEND) {
    fds[0].events |= POLLOUT;
  }
  int r = poll(fds, h->watch >= 0 ? 3 : 2, (int)timeout);

  pthread_mutex_lock(&h->mu);
  h->waiting = 0;
  pthread_mutex_unlock(&h->mu);
  if (fds[1].revents & POLLIN) {
    uint64_t v;
    (void)!read(h->wake, &v, sizeof v);
  }
  if (r > 0 && h->watch >= 0 && (fds[2].revents & POLLNVAL)) {
    h->watch = -1; // closed under us: stop watching rather than spin
  } else if (r > 0 && h->watch >= 0 && (fds[2].revents & (POLLIN | POLLERR))) {
    netburiHookRefill(h->handle); // the relay reads its socket into the in-queue
  }
  pthread_mutex_lock(&h->mu);
  int queued = h->inHead != h->inTail;
  pthread_mutex_unlock(&h->mu);
  if (r > 0 && !queued && !(fds[0].revents & (POLLIN | POLLOUT)) &&
      (*condition & ENET_SOCKET_WAIT_INTERRUPT)) {
    // Woken for nothing ENet can read (what the relay read was not for
    // it): wait on for the rest of the time.
    *condition = ENET_SOCKET_WAIT_INTERRUPT;
    return 0;
  }
  if (r < 0 && !queued) {
    if (errno == EINTR && (*condition & ENET_SOCKET_WAIT_INTERRUPT)) {
      *condition = ENET_SOCKET_WAIT_INTERRUPT;
      return 0;
    }
    return -1;
  }
  enet_uint32 c = ENET_SOCKET_WAIT_NONE;
  if (queued || (r > 0 && (fds[0].revents & POLLIN))) {
    c |= ENET_SOCKET_WAIT_RECEIVE;
  }
  if (r > 0 && (fds[0].revents & POLLOUT)) {
    c |= ENET_SOCKET_WAIT_SEND;
  }
  *condition = c;
  return 0;
}

int enet_socket_send(ENetSocket, const ENetAddress *, const ENetBuffer *, size_t)
    __attribute__((weak, alias("nb_hooked_send")));
int enet_socket_receive(ENetSocket, ENetAddress *, ENetBuffer *, size_t)
    __attribute__((weak, alias("nb_hooked_receive")));
int enet_socket_wait(ENetSocket, enet_uint32 *, enet_uint32)
    __attribute__((weak, alias("nb_hooked_wait")));

int nb_hook_linked(void) {
  pthread_once(&real_once, nb_find_real);
  return real_send != NULL && real_receive != NULL && real_wait != NULL &&
         real_send != nb_hooked_send && real_receive != nb_hooked_receive &&
         real_wait != nb_hooked_wait &&
         dlsym(RTLD_DEFAULT, "enet_socket_send") == (void *)nb_hooked_send &&
         dlsym(RTLD_DEFAULT, "enet_socket_receive") == (void *)nb_hooked_receive &&
         dlsym(RTLD_DEFAULT, "enet_socket_wait") == (void *)nb_hooked_wait;
}

// nb_hook_alloc makes the hook of socket s, not yet registered: with
// relay, with its queues and eventfd; without, batch-only.
static nb_hook *nb_hook_alloc(ENetSocket s, uintptr_t handle, int relay) {
  nb_hook *h = calloc(1, sizeof(nb_hook));
  if (h == NULL) {
    return NULL;
  }
  h->wake = -1;
  if (pthread_mutex_init(&h->mu, NULL) != 0) {
    free(h);
    return NULL;
  }
  if (relay && !nb_hook_relay(h)) {
    pthread_mutex_destroy(&h->mu);
    free(h);
    return NULL;
  }
  h->socket = s;
  h->watch = -1;
  h->handle = handle;
  h->loopback = htonl(INADDR_LOOPBACK);
  return h;
}

int nb_hook_relay(nb_hook *h) {
  if (h->wake >= 0) {
    return 1;
  }
  enet_uint8 *in = malloc(NB_HOOK_QUEUE);
  enet_uint8 *out = malloc(NB_HOOK_QUEUE);
  int wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (in == NULL || out == NULL || wake < 0) {
    if (wake >= 0) {
      close(wake);
    }
    free(in);
    free(out);
    return 0;
  }
  // The hooked calls run on the owner's thread, as this does, and no Push
  // or Mark runs meanwhile (the Go Hook's lock): plain stores suffice.
  h->in = in;
  h->out = out;
  h->wake = wake;
  return 1;
}

nb_hook *nb_hook_new(ENetHost *host, uintptr_t handle, int relay) {
  ENetSocket s = host->socket;
  if (s < 0 || s >= NB_HOOK_MAX_FD || nb_hook_of(s) != NULL || !nb_hook_linked()) {
    return NULL;
  }
  nb_hook *h = nb_hook_alloc(s, handle, relay);
  if (h != NULL) {
    __atomic_store_n(&nb_hooks[s], h, __ATOMIC_RELEASE);
  }
  return h;
}

int nb_hook_probe(uintptr_t handle, int miss) {
  if (!nb_hook_linked()) {
    return 0;
  }
  // An unbound host: nothing can reach its socket, and a send that got past
  // the hook to 127.0.0.1:0 fails in the kernel (EINVAL) rather than
  // leaving the process.
  ENetHost *host = enet_host_create(NULL, 1, 1, 0, 0);
  if (host == NULL) {
    return -1;
  }
  ENetSocket s = host->socket;
  nb_hook *h = NULL;
  if (s >= 0 && s < NB_HOOK_MAX_FD && nb_hook_of(s) == NULL) {
    h = nb_hook_alloc(s, handle, 1);
  }
  if (h == NULL) {
    enet_host_destroy(host);
    return -1;
  }
  if (!miss) { // miss: as if libenet's calls went past the hook (tests)
    __atomic_store_n(&nb_hooks[s], h, __ATOMIC_RELEASE);
  }
  ENetAddress to = {.host = h->loopback, .port = 0};
  nb_hook_mark(h, to.port, 1);
  static const enet_uint8 junk = 0; // shorter than any ENet header: dropped
  uint64_t one = 1, v;
  int reached = 0;
  if (nb_hook_push(h, to.port, &junk, 1) &&
      write(h->wake, &one, sizeof one) == (ssize_t)sizeof one &&
      enet_host_connect(host, &to, 1, 0) != NULL) {
    // A service call sends the connect (the send hook queues it), receives
    // (the receive hook serves the junk datagram) and, with time left,
    // waits (the wait hook polls the signalled eventfd and reads it). A
    // slow machine can use up the 2 ms before the wait: try again (a
    // try that misses is quick: the real send fails at once).
    for (int i = 0; i < 20 && reached != NB_PROBE_ALL; i++) {
      ENetEvent event;
      (void)enet_host_service(host, &event, 2);
      if (h->outLen > 0) {
        reached |= NB_PROBE_SEND;
      }
      pthread_mutex_lock(&h->mu);
      if (h->inHead == h->inTail) {
        reached |= NB_PROBE_RECEIVE;
      }
      pthread_mutex_unlock(&h->mu);
      if (read(h->wake, &v, sizeof v) == (ssize_t)sizeof v) {
        (void)!write(h->wake, &one, sizeof one); // still signalled: not reached
      } else if (errno == EAGAIN) {
        reached |= NB_PROBE_WAIT; // the wait hook read it
      }
    }
  }
  nb_hook_free(h); // unregisters it
  enet_host_destroy(host);
  return reached;
}

void nb_hook_detach(nb_hook *h) {
  if (h->socket >= 0) {
    nb_batch_flush(h); // while the socket is still open
    __atomic_store_n(&nb_hooks[h->socket], NULL, __ATOMIC_RELEASE);
    h->socket = -1;
  }
  pthread_mutex_lock(&h->mu);
  h->closed = 1;
  h->inHead = h->inTail = 0;
  pthread_mutex_unlock(&h->mu);
}

void nb_hook_free(nb_hook *h) {
  nb_hook_detach(h);
  pthread_mutex_destroy(&h->mu);
  if (h->wake >= 0) {
    close(h->wake);
  }
  free(h->in);
  free(h->out);
  free(h->bmsgs);
  free(h->biovs);
  free(h->baddrs);
  free(h->bbuf);
  free(h);
}

int nb_hook_batch(nb_hook *h) {
  if (h->bmsgs != NULL) {
    return 1;
  }
  struct mmsghdr *msgs = calloc(NB_BATCH_MAX, sizeof *msgs);
  struct iovec *iovs = calloc(NB_BATCH_MAX, sizeof *iovs);
  struct sockaddr_in *addrs = calloc(NB_BATCH_MAX, sizeof *addrs);
  enet_uint8 *buf = malloc(NB_BATCH_BYTES);
  if (msgs == NULL || iovs == NULL || addrs == NULL || buf == NULL) {
    free(msgs);
    free(iovs);
    free(addrs);
    free(buf);
    return 0;
  }
  for (unsigned i = 0; i < NB_BATCH_MAX; i++) {
    addrs[i].sin_family = AF_INET;
    msgs[i].msg_hdr.msg_name = &addrs[i];
    msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  h->biovs = iovs;
  h->baddrs = addrs;
  h->bbuf = buf;
  h->bmsgs = msgs;
  return 1;
}

void nb_hook_flush(nb_hook *h) {
  if (h->bcount > 0 && h->socket >= 0) {
    nb_batch_flush(h);
  }
}

void nb_flush_host(ENetHost *host) {
  nb_hook *h = nb_hook_of(host->socket);
  if (h != NULL && h->bcount > 0) {
    nb_batch_flush(h);
  }
}

void nb_hook_batch_counts(nb_hook *h, uint64_t *sent, uint64_t *calls, uint64_t *dropped) {
  *sent = h->bsent;
  *calls = h->bcalls;
  *dropped = h->bdropped;
}

void nb_hook_mark(nb_hook *h, enet_uint16 port, int on) {
  if (h->out == NULL) {
    return; // batch-only: no out-queue to send to
  }
  enet_uint8 bit = (enet_uint8)(1u << (port & 7));
  if (on) {
    __atomic_fetch_or(&h->ports[port >> 3], bit, __ATOMIC_RELAXED);
  } else {
    __atomic_fetch_and(&h->ports[port >> 3], (enet_uint8)~bit, __ATOMIC_RELAXED);
  }
}

int nb_hook_push(nb_hook *h, enet_uint16 port, const void *data, size_t n) {
  if (n == 0 || n > NB_HOOK_MAX_DATAGRAM) {
    return 0; // libenet ends its receive loop on an empty datagram
  }
  pthread_mutex_lock(&h->mu);
  if (h->closed || h->in == NULL) { // detached, or batch-only
    h->inDropped++;
    pthread_mutex_unlock(&h->mu);
    return 0;
  }
  // Compact only once half the queue has been read: while a flood keeps
  // it full, compacting on every push would copy up to the whole queue per
  // datagram under the lock every sender takes.
  if (h->inTail + 4 + n > NB_HOOK_QUEUE && h->inHead >= NB_HOOK_QUEUE / 2) {
    memmove(h->in, h->in + h->inHead, h->inTail - h->inHead);
    h->inTail -= h->inHead;
    h->inHead = 0;
  }
  if (h->inTail + 4 + n > NB_HOOK_QUEUE) {
    h->inDropped++;
    pthread_mutex_unlock(&h->mu);
    return 0;
  }
  enet_uint8 *p = h->in + h->inTail;
  p[0] = (enet_uint8)port;
  p[1] = (enet_uint8)(port >> 8);
  p[2] = (enet_uint8)n;
  p[3] = (enet_uint8)(n >> 8);
  memcpy(p + 4, data, n);
  h->inTail += 4 + n;
  int wake = h->waiting;
  h->waiting = 0;
  pthread_mutex_unlock(&h->mu);
  if (wake) {
    uint64_t one = 1;
    (void)!write(h->wake, &one, sizeof one);
  }
  return 1;
}

void nb_hook_watch(nb_hook *h, int fd) { h->watch = fd; }

void nb_hook_counts(nb_hook *h, uint64_t *inDropped, uint64_t *outDropped) {
  pthread_mutex_lock(&h->mu);
  *inDropped = h->inDropped;
  pthread_mutex_unlock(&h->mu);
  *outDropped = h->outDropped;
}
