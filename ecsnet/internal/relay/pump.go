package relay

import (
	"net"
	"net/netip"
	"sync"
	"syscall"
)

// The game loop's pump: the relay's goroutines forward every datagram, but
// each one must be woken and scheduled first. PumpIn and PumpOut let the
// goroutine that polls ENet forward, without waiting, what is already
// queued, right before and right after ENet's service call, so that a
// datagram crosses the relay in the same call that sends or receives it.
// They read duplicates of the sockets' descriptors (the goroutines hold
// the sockets' read locks while they wait) with MSG_DONTWAIT. Whichever
// reader takes a datagram first forwards it, so two datagrams a moment
// apart may leave in either order, as UDP allows. DTLS sessions are left
// to their goroutines: pion's hand-offs would remain anyway (encrypting in
// PumpOut measured no gain). PumpIn hands their datagrams to pion as the
// public socket's goroutine does.

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
	bufs     [][]byte
	toENet   enetWriter
	toPublic *writeBatch
	sessions []*session
}

func newPump(r *Relay) *pump {
	p := &pump{bufs: make([][]byte, batchSize), toENet: enetWriter{r: r, w: newWriteBatch()}, toPublic: newWriteBatch()}
	for i := range p.bufs {
		p.bufs[i] = make([]byte, maxDatagram)
	}
	return p
}

// PumpIn forwards, without waiting, the datagrams waiting on the public
// socket (at most one batch). Call it from the goroutine that polls ENet,
// before the service call; never concurrently with itself, PumpOut or
// Close.
func (r *Relay) PumpIn() {
	if r.pubFD < 0 {
		return
	}
	p := r.pump
	for i := range p.bufs {
		n, sa, err := syscall.Recvfrom(r.pubFD, p.bufs[i], syscall.MSG_DONTWAIT|syscall.MSG_TRUNC)
		if err != nil {
			break
		}
		r.in.Add(1)
		addr, ok := sockaddrAddrPort(sa)
		if n >= maxDatagram || !ok {
			r.garbage.Add(1)
			continue
		}
		b := p.bufs[i][:n]
		if r.cond != nil && !r.cond.passes(dirIn) {
			p.toENet.flush()
			r.cond.submit(dirIn, b, addr, r.inbound)
			continue
		}
		s := r.sessionFor(b, addr)
		switch {
		case s == nil:
		case s.vc != nil:
			s.fromRemote(b)
		default:
			s.lastIn.Store(nowNano())
			p.toENet.add(s, b)
		}
	}
	p.toENet.flush()
}

// PumpOut forwards, without waiting, what ENet has sent to plain remotes
// (at most a batch per remote). Call it from the goroutine that polls
// ENet, after the service call; never concurrently with itself, PumpIn or
// Close.
func (r *Relay) PumpOut() {
	if r.pubFD < 0 {
		return
	}
	p := r.pump
	p.sessions = p.sessions[:0]
	r.mu.Lock()
	for _, s := range r.byRemote {
		if s.sock != nil && s.dc == nil {
			p.sessions = append(p.sessions, s)
		}
	}
	r.mu.Unlock()
	for _, s := range p.sessions {
		s.pumpFD.mu.RLock()
		for i := 0; s.pumpFD.fd >= 0 && i < len(p.bufs); i++ {
			n, _, err := syscall.Recvfrom(s.pumpFD.fd, p.bufs[i], syscall.MSG_DONTWAIT|syscall.MSG_TRUNC)
			if err != nil {
				break
			}
			if n >= maxDatagram {
				continue
			}
			b := p.bufs[i][:n]
			r.established(s)
			if r.cond != nil && !r.cond.passes(dirOut) {
				r.out.Add(uint64(p.toPublic.flush(r.pubBC)))
				r.sendPublic(b, s.remote)
				continue
			}
			r.out.Add(uint64(p.toPublic.add(r.pubBC, b, s.remoteAddr)))
		}
		s.pumpFD.mu.RUnlock()
		r.out.Add(uint64(p.toPublic.flush(r.pubBC))) // before the buffers are reused
	}
	clear(p.sessions)
}

// sockaddrAddrPort is the address the relay's other readers see for sa
// (net's: an IPv6 socket's IPv4 peers stay IPv4-mapped; a zone by name).
func sockaddrAddrPort(sa syscall.Sockaddr) (netip.AddrPort, bool) {
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)), true
	case *syscall.SockaddrInet6:
		addr := netip.AddrFrom16(sa.Addr)
		if sa.ZoneId != 0 {
			ifi, err := net.InterfaceByIndex(int(sa.ZoneId))
			if err != nil {
				return netip.AddrPort{}, false
			}
			addr = addr.WithZone(ifi.Name)
		}
		return netip.AddrPortFrom(addr, uint16(sa.Port)), true
	}
	return netip.AddrPort{}, false
}
