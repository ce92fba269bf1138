package enethost

/*
#include <sys/socket.h>
#include <enet/enet.h>

// nb_sockbuf reads one SOL_SOCKET buffer size of a socket (libenet's
// getter knows only errors and TTL).
static int nb_sockbuf(ENetSocket s, int rcv) {
  int v = 0;
  socklen_t n = sizeof v;
  if (getsockopt(s, SOL_SOCKET, rcv ? SO_RCVBUF : SO_SNDBUF, &v, &n) < 0) {
    return -1;
  }
  return v;
}
*/
import "C"

// SetSocketBuffers asks the kernel for receive and send buffers of recv
// and send bytes (0 leaves one as it is) and reports the sizes the socket
// has afterwards, as the kernel reports them (Linux doubles the request
// and caps it at net.core.rmem_max / wmem_max). Call it from the goroutine
// that owns the host.
func (h *Host) SetSocketBuffers(recv, send int) (gotRecv, gotSend int) {
	if recv > 0 {
		C.enet_socket_set_option(h.c.socket, C.ENET_SOCKOPT_RCVBUF, C.int(min(recv, 1<<30)))
	}
	if send > 0 {
		C.enet_socket_set_option(h.c.socket, C.ENET_SOCKOPT_SNDBUF, C.int(min(send, 1<<30)))
	}
	return int(C.nb_sockbuf(h.c.socket, 1)), int(C.nb_sockbuf(h.c.socket, 0))
}

// SocketBuffers reports the receive and send buffer sizes of any socket
// descriptor (the relay's public socket), as the kernel reports them.
func SocketBuffers(fd int) (recv, send int) {
	return int(C.nb_sockbuf(C.ENetSocket(fd), 1)), int(C.nb_sockbuf(C.ENetSocket(fd), 0))
}

// SocketFD is the host's UDP socket descriptor, for reading its kernel
// counters. Call it from the goroutine that owns the host.
func (h *Host) SocketFD() int { return int(h.c.socket) }
