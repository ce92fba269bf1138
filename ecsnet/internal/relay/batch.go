package relay

import (
	"net"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// batchSize is the most datagrams one recvmmsg or sendmmsg moves. ENet
// sends a service call's datagrams back to back, so a reader that wakes
// for the first finds the rest queued behind it.
const batchSize = 32

// batchConn writes many datagrams per system call (sendmmsg on Linux, one
// at a time elsewhere; mmsgReader reads). ipv4.Message and ipv6.Message
// are the same type.
type batchConn interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

// newBatchConn wraps c, a socket of network ("udp4", "udp6" or "udp").
func newBatchConn(c *net.UDPConn, network string) batchConn {
	if network == "udp4" {
		return ipv4.NewPacketConn(c)
	}
	return ipv6.NewPacketConn(c)
}

// writeBatch collects datagrams (references, not copies: the caller keeps
// them alive until flush) and sends them with as few system calls as it
// can.
type writeBatch struct {
	ms   []ipv4.Message
	bufs [][1][]byte // the Buffers of each message, kept to save allocations
	own  [][]byte    // slot's buffers, made on first use
	n    int
}

// slot returns the empty buffer (capacity maxDatagram) of the message the
// next add fills, to build a datagram in, flushing on c first when the
// batch is full; sent is how many that flush sent.
func (w *writeBatch) slot(c batchConn) (buf []byte, sent int) {
	if w.n == len(w.ms) {
		sent = w.flush(c)
	}
	if w.own == nil {
		w.own = make([][]byte, len(w.ms))
	}
	if w.own[w.n] == nil {
		w.own[w.n] = make([]byte, 0, maxDatagram)
	}
	return w.own[w.n][:0], sent
}

func newWriteBatch() *writeBatch {
	w := &writeBatch{ms: make([]ipv4.Message, batchSize), bufs: make([][1][]byte, batchSize)}
	for i := range w.ms {
		w.ms[i].Buffers = w.bufs[i][:]
	}
	return w
}

// add queues b for to (nil on a connected socket), flushing on c first
// when the batch is full; it returns how many that flush sent.
func (w *writeBatch) add(c batchConn, b []byte, to net.Addr) (sent int) {
	if w.n == len(w.ms) {
		sent = w.flush(c)
	}
	m := &w.ms[w.n]
	m.Buffers[0], m.Addr = b, to
	w.n++
	return sent
}

// flush sends what is queued on c and returns how many went out. A
// datagram the socket refuses (say, an ICMP error reported on it) is
// skipped; the rest still go.
func (w *writeBatch) flush(c batchConn) (sent int) {
	for at := 0; at < w.n; {
		k, err := c.WriteBatch(w.ms[at:w.n], 0)
		if err != nil || k <= 0 {
			at++ // the first one failed
			continue
		}
		at += k
		sent += k
	}
	for i := range w.n {
		w.ms[i].Buffers[0], w.ms[i].Addr = nil, nil
	}
	w.n = 0
	return sent
}
