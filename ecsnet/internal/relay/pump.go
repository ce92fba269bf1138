package relay

import (
	"net"
	"sync"
	"syscall"
)

// The game loop's pump: the relay's goroutines forward every datagram, but
// each one must be woken and scheduled first. PumpIn and PumpOut let the
// goroutine that polls ENet forward, without waiting, what is already
// queued, right before and right after ENet's service call, so that a
// datagram crosses the relay in the same call that sends or receives it.
// They read duplicates of the sockets' descriptors with MSG_DONTWAIT. A
// socket's two readers (its goroutine, the pump) take turns under a lock,
// each forwarding what it read before the other reads, so datagrams keep
// their order; the pump waits for a goroutine that is forwarding a batch
// (it never waits for the network), so that what was on the socket when
// the pump was called has been forwarded when it returns.
//
// With a Link (the ENet host's socket hook), ENet's datagrams reach the
// relay only through PumpOut, which drains them and sends them on: plain
// ones batched, DTLS ones encrypted on the spot once the session's
// handshake is done. Without one, DTLS sessions are left to their
// goroutines (encrypting in PumpOut measured no gain while pion's
// hand-offs remained anyway), and PumpIn hands their datagrams to pion as
// the public socket's goroutine does.

// pumpFD duplicates c's descriptor for the pump; -1 when it cannot.
func pumpFD(c *net.UDPConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		return -1
	}
	fd := -1
	_ = rc.Control(func(s uintptr) {
		syscall.ForkLock.RLock()
		defer syscall.ForkLock.RUnlock()
		if d, err := syscall.Dup(int(s)); err == nil {
			syscall.CloseOnExec(d)
			fd = d
		}
	})
	return fd
}

// sessionFD is a session's pump descriptor, closed with the session while
// no pump reads it (so that its number cannot be reused under a reader).
type sessionFD struct {
	mu sync.RWMutex
	fd int
}

func (f *sessionFD) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fd >= 0 {
		syscall.Close(f.fd)
		f.fd = -1
	}
}

// pump is the game loop's state: buffers, write batches, the sessions.
type pump struct {
	reader   *mmsgReader
	toENet   enetWriter
	toPublic *writeBatch
	sessions []*session
	last     *session // Drain's: the session of the last port
	lastPort uint16
}

func newPump(r *Relay) *pump {
	return &pump{reader: newMmsgReader(), toENet: enetWriter{r: r, w: newWriteBatch()}, toPublic: newWriteBatch()}
}

// PumpIn forwards, without waiting, the datagrams waiting on the public
// socket (at most pumpInBatches batches), unless the relay's goroutine is forwarding
// them now. Call it from the goroutine that polls ENet, before the service
// call; never concurrently with itself, PumpOut or Close.
func (r *Relay) PumpIn() {
	if r.pubFD < 0 {
		return
	}
	r.lastPump.Store(nowNano())
	r.readMu.Lock() // a goroutine forwarding a batch finishes it first
	defer r.readMu.Unlock()
	for range pumpInBatches {
		n, err := r.pump.reader.recv(r.pubFD)
		if err != nil {
			return
		}
		r.forwardPublic(r.pump.reader, n, &r.pump.toENet)
		if n < batchSize {
			return // the socket is empty
		}
	}
}

// pumpInBatches bounds the batches one PumpIn reads (the rest wait for the
// next call or the relay's goroutine), so that a flood cannot hold the
// game loop.
const pumpInBatches = 8

// PumpOut forwards, without waiting for the network, what ENet has sent:
// everything, with a Link; otherwise what plain remotes' loopback sockets
// hold (at most a batch each). Call it from the goroutine that polls ENet, after the
// service call and after anything else that makes ENet send (a flush, a
// disconnection), and before the host is destroyed; never concurrently
// with itself, PumpIn or Close.
func (r *Relay) PumpOut() {
	if r.link != nil {
		r.pumpLink()
		return
	}
	if r.pubFD < 0 {
		return
	}
	p := r.pump
	p.sessions = p.sessions[:0]
	r.mu.Lock()
	for _, s := range r.byRemote {
		if s.sock != nil && !s.secure {
			p.sessions = append(p.sessions, s)
		}
	}
	r.mu.Unlock()
	for _, s := range p.sessions {
		s.readMu.Lock() // its goroutine, forwarding a batch, finishes it first
		s.pumpFD.mu.RLock()
		n := 0
		if s.pumpFD.fd >= 0 {
			n, _ = p.reader.recv(s.pumpFD.fd)
		}
		for i := range n {
			if b := p.reader.data(i); b != nil {
				r.toRemote(s, b)
			}
		}
		s.pumpFD.mu.RUnlock()
		r.out.Add(uint64(p.toPublic.flush(r.pubBC))) // before the buffers are reused
		s.readMu.Unlock()
	}
	clear(p.sessions)
}

// pumpLink sends on what ENet sent through the Link.
func (r *Relay) pumpLink() {
	p := r.pump
	r.link.Drain(r.fromLink)
	r.out.Add(uint64(p.toPublic.flush(r.pubBC)))
	p.last = nil
}

// fromLink sends one datagram ENet sent to port on to its remote (Drain's
// function).
func (r *Relay) fromLink(port uint16, b []byte) {
	p := r.pump
	s := p.last
	if s == nil || p.lastPort != port {
		r.mu.Lock()
		s = r.byLocal[port]
		r.mu.Unlock()
		if s == nil {
			r.garbage.Add(1) // the session is gone
			return
		}
		p.last, p.lastPort = s, port
	}
	if s.secure {
		s.fromENet(b)
		return
	}
	r.toRemote(s, b)
}

// sealInto encrypts a DTLS session's datagram from ENet with its record
// layer into write batch w (sent when the caller flushes w), or through
// the conditioner; false when the session is over (its sequence numbers
// used up). Every sealed datagram from ENet leaves through here.
func (r *Relay) sealInto(w *writeBatch, s *session, rl *recordLayer, b []byte) bool {
	buf, sent := w.slot(r.pubBC)
	r.out.Add(uint64(sent))
	rec, ok := rl.seal(buf, contentApplication, b)
	if !ok {
		r.drop(s)
		return false
	}
	if r.cond != nil && !r.cond.passes(dirOut) {
		r.out.Add(uint64(w.flush(r.pubBC))) // keep the order
		r.sendPublic(rec, s.remote)
		return true
	}
	w.add(r.pubBC, rec, s.remoteAddr) // (slot made room)
	return true
}

// toRemote sends a plain session's datagram from ENet on, batched in
// p.toPublic (which the caller flushes before b is reused).
func (r *Relay) toRemote(s *session, b []byte) {
	p := r.pump
	r.established(s)
	if r.cond != nil && !r.cond.passes(dirOut) {
		r.out.Add(uint64(p.toPublic.flush(r.pubBC)))
		r.sendPublic(b, s.remote)
		return
	}
	r.out.Add(uint64(p.toPublic.add(r.pubBC, b, s.remoteAddr)))
}
