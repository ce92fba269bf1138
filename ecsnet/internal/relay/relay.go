// Package relay carries ENet's datagrams between a libenet host bound on
// loopback and the real network, so that DTLS, IPv6 and a link conditioner
// can sit where libenet (IPv4 only, owner of its socket, no send hook) has
// no place for them. It is pure Go and never touches the ENet host.
//
// A server relay binds the public address and opens, for each remote
// address, a loopback socket connected to the ENet host: ENet sees every
// remote as a distinct 127.0.0.1:port, and Remote maps it back. A client
// relay offers ENet one loopback socket to connect to and forwards to the
// server. With a Link (the ENet host's socket hook, where libenet is
// linked dynamically) the datagrams themselves skip those sockets: the
// relay pushes what it receives into the host's queue and PumpOut drains
// what ENet sent; the sockets still give each remote its address.
//
// Once a DTLS session's handshake is done, its application data goes
// through a record layer of the relay's own (record.go), so that a
// datagram is sealed or opened by whichever goroutine has it.
//
// A DTLS server keeps nothing for a ClientHello, which anyone can send
// from a forged address: it answers with a stateless HelloVerifyRequest
// whose cookie only a client receiving at that address can return
// (cookie.go). A session starts when the cookie comes back, and runs the
// relay's own server handshake (handshake.go; pion's server cannot take up
// a handshake whose HelloVerifyRequest it did not send). A DTLS client
// runs pion's handshake, and the record layer, keyed from pion's state,
// takes over its application data (pion keeps alerts).
//
// A Relay runs its own goroutines. Its methods are safe to call from any
// goroutine (the peer's game-loop goroutine calls them), except PumpIn and
// PumpOut, which that goroutine alone calls, never during Close.
package relay

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/dtls/v3"
)

// maxDatagram bounds every datagram the relay reads (ENet's maximum MTU is
// 4096; DTLS adds a few dozen bytes).
const maxDatagram = 8192

// socketBuffer is the kernel buffer asked for on every relay socket.
const socketBuffer = 1 << 20

// Config says what to relay.
type Config struct {
	// Server: many remotes arrive at Public; otherwise a client of Remote.
	Server bool
	// Network is "udp4", "udp6" (IPv6 only) or "udp" (dual stack) for the
	// public socket.
	Network string
	// Public is the public socket's local address (an invalid address
	// binds every interface; port 0 picks one).
	Public netip.AddrPort
	// Remote is a client's server.
	Remote netip.AddrPort
	// ENet is the ENet host's loopback address.
	ENet netip.AddrPort
	// DTLS, when set, wraps every remote's datagrams in DTLS (server or
	// client side by Server).
	DTLS *dtls.Config
	// Conditions, when set, run every public datagram through a link
	// conditioner.
	Conditions *Conditions
	Tuning     Tuning
	// Link, when set, is a direct line to the ENet host (see Link): the
	// relay exchanges datagrams with ENet through it instead of through
	// its loopback sockets, which then only give each remote its address.
	Link Link
}

// Link is a direct line to the ENet host the relay serves, in place of
// loopback datagrams (ecsnet/internal/enethost's Hook, where libenet is
// linked dynamically). ENet sees a remote as 127.0.0.1:port, port being
// its session's loopback socket's, as without a Link.
type Link interface {
	// Mark makes ENet's sends to 127.0.0.1:port wait for Drain (on) or go
	// to its socket again (off). Any goroutine.
	Mark(port uint16, on bool)
	// Push queues b for ENet as from 127.0.0.1:port and wakes ENet's wait;
	// false when refused (queue full). Any goroutine; b is copied.
	Push(port uint16, b []byte) bool
	// Drain hands fn, oldest first, what ENet sent to marked ports; b is
	// valid until Drain returns. The ENet host's owner only.
	Drain(fn func(port uint16, b []byte)) int
	// Watch asks ENet's waits to watch fd, the public socket, and call
	// refill (PumpIn) when it is readable, reporting whether they will;
	// then the relay reads its public socket only from the game loop (as
	// ENet reads its own), with no goroutine to wake per datagram. Called
	// by New, on the ENet host's owner.
	Watch(fd int, refill func()) bool
}

// Tuning bounds what remotes may cost. Zero fields take the defaults.
type Tuning struct {
	MaxPending int // sessions not yet established, their address proven (default 64)
	// MaxPendingPerAddress bounds those of one IP address (default 4), so
	// that one machine's many ports cannot take every place; loopback
	// addresses are exempt unless LimitLoopback (as in the datagram guard).
	MaxPendingPerAddress int
	LimitLoopback        bool
	HandshakeTimeout     time.Duration // DTLS handshake, from the returned cookie (default 10 s)
	PendingTimeout       time.Duration // plain session ENet never answered (default 10 s)
	IdleTimeout          time.Duration // established session the remote left silent (default 60 s)
	Linger               time.Duration // after Forget, for the goodbye to leave (default 1 s)
}

func (t *Tuning) defaults() {
	if t.MaxPending <= 0 {
		t.MaxPending = 64
	}
	if t.MaxPendingPerAddress <= 0 {
		t.MaxPendingPerAddress = 4
	}
	if t.HandshakeTimeout <= 0 {
		t.HandshakeTimeout = 10 * time.Second
	}
	if t.PendingTimeout <= 0 {
		t.PendingTimeout = 10 * time.Second
	}
	if t.IdleTimeout <= 0 {
		t.IdleTimeout = 60 * time.Second
	}
	if t.Linger <= 0 {
		t.Linger = time.Second
	}
}

// Stats counts the relay's traffic and what it refused.
type Stats struct {
	Sessions, Pending         int    // now: every session; those not yet established
	DatagramsIn, DatagramsOut uint64 // on the public socket
	Garbage                   uint64 // datagrams dropped: unexpected sender, not a DTLS hello, forged or replayed records, undeliverable
	Refused                   uint64 // new remotes turned away: too many pending (in all, or from their address)
	HelloVerifies             uint64 // DTLS ClientHellos answered with a stateless HelloVerifyRequest (no session)
	BadCookies                uint64 // DTLS ClientHellos whose cookie was not the relay's, or too old for the address
	HandshakesFailed          uint64 // DTLS handshakes that failed or timed out
	Expired                   uint64 // sessions closed for silence (pending or idle)
	Link                      LinkStats
}

// Relay is one running relay. See the package comment.
type Relay struct {
	cfg    Config
	pub    *net.UDPConn
	pubBC  batchConn  // pub, many datagrams per system call
	pubFD  int        // the pump's duplicate of pub's descriptor (-1: no pump)
	pump   *pump      // the game loop's (PumpIn, PumpOut)
	link   Link       // nil: loopback sockets
	readMu sync.Mutex // one reader of pub at a time, forwarding what it read before the next reads
	// watched: ENet's waits watch pub (Link.Watch), so while the game loop
	// polls (PumpIn within pumpActive, lastPump in unix nanoseconds) it
	// alone reads pub and readPublic stays off the socket.
	watched  bool
	lastPump atomic.Int64
	kick     chan struct{} // a DTLS handshake began: readPublic reads again
	cond     *conditioner
	ctx      context.Context
	cancel   context.CancelFunc

	creds *serverCreds // a DTLS server's
	jar   *cookieJar   // a DTLS server's

	mu       sync.Mutex
	byRemote map[netip.AddrPort]*session
	byLocal  map[uint16]*session
	pending  int // server sessions not yet established
	// pendingFrom counts them by IP address (only addresses with some)
	pendingFrom map[netip.Addr]int
	closing     bool
	client      *session

	failMu  sync.Mutex
	failErr error

	wg    sync.WaitGroup // every goroutine
	pumps sync.WaitGroup // ENet-side readers, drained on Close
	stop  chan struct{}

	in, out, garbage, refused, hsFailed, expired, verifies, badCookies atomic.Uint64
}

// New starts a relay. On error nothing is left running. With a Link, call
// it from the ENet host's owner (it calls Link.Watch).
func New(cfg Config) (*Relay, error) {
	cfg.Tuning.defaults()
	var creds *serverCreds
	if cfg.Server && cfg.DTLS != nil {
		var err error
		if creds, err = newServerCreds(cfg.DTLS); err != nil {
			return nil, err
		}
	}
	var laddr *net.UDPAddr
	if cfg.Public.Addr().IsValid() {
		laddr = net.UDPAddrFromAddrPort(cfg.Public)
	} else {
		laddr = &net.UDPAddr{Port: int(cfg.Public.Port())}
	}
	pub, err := net.ListenUDP(cfg.Network, laddr)
	if err != nil {
		return nil, err
	}
	_ = pub.SetReadBuffer(socketBuffer)
	_ = pub.SetWriteBuffer(socketBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay{
		cfg: cfg, pub: pub, pubBC: newBatchConn(pub, cfg.Network), ctx: ctx, cancel: cancel,
		byRemote:    map[netip.AddrPort]*session{},
		byLocal:     map[uint16]*session{},
		pendingFrom: map[netip.Addr]int{},
		stop:        make(chan struct{}),
		kick:        make(chan struct{}, 1),
		pubFD:       -1,
		link:        cfg.Link,
		creds:       creds,
	}
	if creds != nil {
		r.jar = newCookieJar()
	}
	r.pubFD = pumpFD(pub)
	r.pump = newPump(r)
	if cfg.Conditions != nil {
		r.cond = newConditioner(*cfg.Conditions)
	}
	if !cfg.Server {
		s, err := r.newSession(cfg.Remote)
		if err != nil {
			r.Close()
			return nil, err
		}
		r.client = s
	}
	r.watched = r.link != nil && r.pubFD >= 0 && r.link.Watch(r.pubFD, r.PumpIn)
	r.wg.Add(1)
	go r.readPublic()
	if cfg.Server {
		r.wg.Add(1)
		go r.janitor()
	}
	return r, nil
}

// SetSocketBuffers asks for receive and send buffers of recv and send
// bytes on the public socket (0 leaves one as it is): behind the relay it
// is the socket whose buffer the remotes' datagrams fill. Any goroutine.
func (r *Relay) SetSocketBuffers(recv, send int) {
	if recv > 0 {
		_ = r.pub.SetReadBuffer(recv)
	}
	if send > 0 {
		_ = r.pub.SetWriteBuffer(send)
	}
}

// ControlPublic runs f with the public socket's descriptor (to read its
// buffer sizes or kernel counters); f must not keep it. Any goroutine.
func (r *Relay) ControlPublic(f func(fd uintptr)) error {
	rc, err := r.pub.SyscallConn()
	if err != nil {
		return err
	}
	return rc.Control(f)
}

// Port is the public socket's port.
func (r *Relay) Port() int { return r.pub.LocalAddr().(*net.UDPAddr).Port }

// Loopback is where a client's ENet host connects (invalid on a server).
func (r *Relay) Loopback() netip.AddrPort {
	if r.client == nil {
		return netip.AddrPort{}
	}
	return r.client.local
}

// Remote maps the loopback address ENet sees for a remote to the remote's
// real address; ok is false for an address the relay did not make.
func (r *Relay) Remote(loopback netip.AddrPort) (remote netip.AddrPort, ok bool) {
	if loopback.Addr() != netip.AddrFrom4([4]byte{127, 0, 0, 1}) {
		return netip.AddrPort{}, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.byLocal[loopback.Port()]
	if s == nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(s.remote.Addr().Unmap(), s.remote.Port()), true
}

// Forget closes the session of a remote ENet has dropped, after a linger
// that lets ENet's last datagrams leave.
func (r *Relay) Forget(loopback netip.AddrPort) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.byLocal[loopback.Port()]; s != nil && loopback.Addr().Is4() {
		s.lingerUntil.CompareAndSwap(0, time.Now().Add(r.cfg.Tuning.Linger).UnixNano())
	}
}

// Err is why a client relay's connection failed (its DTLS handshake), nil
// while it has not.
func (r *Relay) Err() error {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	return r.failErr
}

func (r *Relay) fail(err error) {
	r.failMu.Lock()
	defer r.failMu.Unlock()
	if r.failErr == nil {
		r.failErr = err
	}
}

// SetConditions changes the link conditions at once; it reports false when
// the relay was started without a conditioner.
func (r *Relay) SetConditions(c Conditions) bool {
	if r.cond == nil {
		return false
	}
	r.cond.setConditions(c)
	return true
}

// Stats reports the relay's counters.
func (r *Relay) Stats() Stats {
	r.mu.Lock()
	s := Stats{Sessions: len(r.byRemote), Pending: r.pending}
	r.mu.Unlock()
	s.DatagramsIn, s.DatagramsOut = r.in.Load(), r.out.Load()
	s.Garbage, s.Refused = r.garbage.Load(), r.refused.Load()
	s.HelloVerifies, s.BadCookies = r.verifies.Load(), r.badCookies.Load()
	s.HandshakesFailed, s.Expired = r.hsFailed.Load(), r.expired.Load()
	if r.cond != nil {
		s.Link = r.cond.stats()
	}
	return s
}

// readPublic reads the public socket until it is closed, a batch of
// datagrams per system call, whenever PumpIn has not read them first.
// Where ENet's waits watch the socket it keeps off it while the game loop
// polls (one wake-up per pumpActive instead of one per datagram), and
// reads only while a DTLS handshake is under way (pion's flights should
// not wait for the next poll) or for a game loop that stopped polling.
func (r *Relay) readPublic() {
	defer r.wg.Done()
	rc, err := r.pub.SyscallConn()
	if err != nil {
		return
	}
	m := newMmsgReader()
	toENet := enetWriter{r: r, w: newWriteBatch()}
	read := func(fd uintptr) bool {
		r.readMu.Lock()
		defer r.readMu.Unlock()
		n, err := m.recv(int(fd))
		if err == syscall.EAGAIN {
			return false // wait until readable
		}
		if err == nil {
			r.forwardPublic(m, n, &toENet)
		} // else an ICMP error reported on the socket: read on
		return true
	}
	var pause *time.Timer
	for {
		if r.watched {
			if active := time.Duration(nowNano() - r.lastPump.Load()); active < pumpActive && !r.handshaking() {
				if pause == nil {
					pause = time.NewTimer(pumpActive - active)
				} else {
					pause.Reset(pumpActive - active)
				}
				select {
				case <-r.stop:
					pause.Stop()
					return
				case <-r.kick:
					pause.Stop() // (Go 1.23 timers: no stale tick after Stop or Reset)
				case <-pause.C:
				}
				continue
			}
			if err := r.pub.SetReadDeadline(time.Now().Add(pumpActive)); err != nil {
				return // closed
			}
		}
		if err := rc.Read(read); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			return // closed
		}
	}
}

// handshaking reports whether a DTLS handshake is under way: the client's,
// or a server's pending sessions.
func (r *Relay) handshaking() bool {
	if r.cfg.DTLS == nil {
		return false
	}
	if r.client != nil {
		return !r.client.established.Load()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.pending > 0
}

// pumpActive is how recently PumpIn must have run for the game loop to
// count as polling (a loop slower than 10 Hz gets the goroutine's help).
const pumpActive = 100 * time.Millisecond

// forwardPublic forwards n datagrams m read from the public socket: plain
// ones for ENet leave a batch per session. r.readMu is held.
func (r *Relay) forwardPublic(m *mmsgReader, n int, toENet *enetWriter) {
	r.in.Add(uint64(n))
	for i := range n {
		b := m.data(i)
		from, ok := m.from(i)
		if b == nil || !ok {
			r.garbage.Add(1) // truncated: larger than any ENet datagram
			continue
		}
		if r.cond != nil && !r.cond.passes(dirIn) {
			toENet.flush() // keep the order
			r.cond.submit(dirIn, b, from, r.inbound)
			continue
		}
		s := r.sessionFor(b, from)
		switch {
		case s == nil:
		case s.secure:
			s.fromRemote(b)
		default:
			s.lastIn.Store(nowNano())
			toENet.add(s, b)
		}
	}
	toENet.flush()
}

// enetWriter batches consecutive plain datagrams for one session's
// loopback socket.
type enetWriter struct {
	r *Relay
	s *session
	w *writeBatch
}

func (e *enetWriter) add(s *session, b []byte) {
	if e.r.link != nil {
		if !e.r.link.Push(s.local.Port(), b) {
			e.r.garbage.Add(1)
		}
		return
	}
	if e.s != s {
		e.flush()
		e.s = s
	}
	if e.w.n == len(e.w.ms) {
		e.flush()
		e.s = s
	}
	e.w.add(s.bc, b, nil)
}

func (e *enetWriter) flush() {
	if e.s == nil {
		return
	}
	queued := e.w.n
	if sent := e.w.flush(e.s.bc); sent < queued {
		e.r.garbage.Add(uint64(queued - sent))
	}
	e.s = nil
}

// inbound hands a datagram from the network to its remote's session,
// making one for a new remote on a server.
func (r *Relay) inbound(b []byte, from netip.AddrPort) {
	if s := r.sessionFor(b, from); s != nil {
		s.fromRemote(b)
	}
}

// sessionFor is the session datagram b from the network goes to, made for
// a new remote on a server; nil when b is dropped (and counted) or taken.
func (r *Relay) sessionFor(b []byte, from netip.AddrPort) *session {
	if r.creds != nil {
		return r.dtlsSessionFor(b, from)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if s := r.byRemote[from]; s != nil {
		return s
	}
	if !r.cfg.Server || r.closing {
		r.garbage.Add(1)
		return nil
	}
	if r.tooManyPendingLocked(from) {
		r.refused.Add(1)
		return nil
	}
	s, err := r.newSessionLocked(from)
	if err != nil {
		r.refused.Add(1)
		return nil
	}
	return s
}

// dtlsSessionFor is sessionFor on a DTLS server. A ClientHello without
// our cookie gets a stateless HelloVerifyRequest and leaves nothing
// behind; one whose cookie proves its sender receives at from makes a
// session (ending the one from that address, if any: the client started
// over), which b then starts (nil is returned: b is taken).
func (r *Relay) dtlsSessionFor(b []byte, from netip.AddrPort) *session {
	r.mu.Lock()
	s := r.byRemote[from]
	var ch clientHello
	isHello := LooksLikeClientHello(b)
	if isHello {
		var ok bool
		if ch, ok = parseClientHello(b); !ok {
			r.mu.Unlock()
			r.garbage.Add(1)
			return nil
		}
	}
	if s != nil && (!isHello || string(ch.random) == string(s.chRandom[:])) {
		r.mu.Unlock()
		return s // its own records, or its hello repeated (by the client or the network)
	}
	if s == nil && !isHello || r.closing {
		r.mu.Unlock()
		r.garbage.Add(1)
		return nil
	}
	now := time.Now()
	if len(ch.cookie) == 0 {
		r.mu.Unlock()
		c := r.jar.make(now, from, ch.random)
		r.verifies.Add(1)
		r.sendPublic(helloVerifyRequest(nil, &ch, c[:]), from)
		return nil
	}
	if !r.jar.check(now, from, ch.random, ch.cookie) {
		// Forged, or too old (a client whose earlier attempt timed out):
		// a fatal alert tells a real client at once that its handshake
		// failed, rather than after its handshake timeout (no
		// amplification: 15 bytes for a hello of 60 or more). Not to an
		// address with a session: its hello may be forged.
		r.mu.Unlock()
		r.badCookies.Add(1)
		if s == nil {
			r.sendPublic(handshakeFailureAlert(b), from)
		}
		return nil
	}
	if s != nil { // the remote starts over from the same address
		r.removeLocked(s)
		r.closeLater(s)
	}
	if r.tooManyPendingLocked(from) {
		r.mu.Unlock()
		r.refused.Add(1)
		return nil
	}
	s, err := r.newSessionLocked(from)
	if err != nil {
		r.mu.Unlock()
		r.refused.Add(1)
		return nil
	}
	copy(s.chRandom[:], ch.random)
	s.hsMu.Lock() // the goroutine unlocks it once the first flight is made
	r.mu.Unlock()
	hello := append([]byte(nil), b...)
	r.wg.Add(1)
	go s.startHandshake(hello)
	return nil
}

// tooManyPendingLocked reports whether a new server session for from
// would pass MaxPending, or MaxPendingPerAddress for its address. r.mu is
// held.
func (r *Relay) tooManyPendingLocked(from netip.AddrPort) bool {
	t := r.cfg.Tuning
	a := from.Addr().Unmap()
	return r.pending >= t.MaxPending ||
		(t.LimitLoopback || !a.IsLoopback()) && r.pendingFrom[a] >= t.MaxPendingPerAddress
}

// pendingLocked counts a server session's start (+1) or end (-1) of
// being pending. r.mu is held.
func (r *Relay) pendingLocked(s *session, d int) {
	r.pending += d
	a := s.remote.Addr().Unmap()
	if n := r.pendingFrom[a] + d; n > 0 {
		r.pendingFrom[a] = n
	} else {
		delete(r.pendingFrom, a)
	}
}

// startHandshake answers the ClientHello that made a DTLS server session
// (s.hsMu is held for it) with the server's first flight.
func (s *session) startHandshake(hello []byte) {
	defer s.r.wg.Done()
	ch, _ := parseClientHello(hello)
	h, err := newServerHS(s.r.creds, &ch)
	if err != nil {
		s.hsMu.Unlock()
		var ae *hsAlert
		if errors.As(err, &ae) {
			s.r.sendPublic(appendAlert(nil, ch.recordSeq, ae.desc), s.remote)
		}
		s.r.hsFailed.Add(1)
		s.r.drop(s)
		return
	}
	s.hs = h
	flight := h.flight4
	s.hsMu.Unlock()
	for _, d := range flight {
		s.r.sendPublic(d, s.remote)
	}
}

// dropLater drops a session on a goroutine of its own (from a reader,
// which must not wait for its close).
func (r *Relay) dropLater(s *session) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.drop(s)
	}()
}

func (r *Relay) newSession(remote netip.AddrPort) (*session, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.newSessionLocked(remote)
}

// newSessionLocked makes a remote's session and starts its goroutines;
// r.mu is held. (A DTLS server makes one only for a returned cookie: a
// forged hello costs no socket.)
func (r *Relay) newSessionLocked(remote netip.AddrPort) (*session, error) {
	s := &session{
		r: r, remote: remote, remoteAddr: net.UDPAddrFromAddrPort(remote),
		out:     newWriteBatch(),
		pumpFD:  sessionFD{fd: -1},
		created: time.Now(),
		dead:    make(chan struct{}),
		ready:   make(chan struct{}),
	}
	s.lastIn.Store(s.created.UnixNano())
	s.secure = r.cfg.DTLS != nil
	if s.secure && !r.cfg.Server {
		s.vc = newVConn(s)
		dc, err := dtls.Client(s.vc, s.remoteAddr, r.cfg.DTLS)
		if err != nil {
			return nil, fmt.Errorf("relay: dtls: %w", err)
		}
		s.dc = dc
	}
	if err := r.attachLocked(s); err != nil {
		if s.dc != nil {
			_ = s.dc.Close()
		}
		return nil, err
	}
	r.byRemote[remote] = s
	if r.cfg.Server {
		r.pendingLocked(s, +1)
	}
	if s.secure && r.cfg.Server {
		select {
		case r.kick <- struct{}{}: // readPublic reads while handshakes run
		default:
		}
	}
	if s.dc != nil {
		r.wg.Add(1)
		go s.pumpFromDTLS()
	}
	return s, nil
}

// attachLocked opens the session's loopback socket toward ENet and starts
// the pump that reads it; r.mu is held.
func (r *Relay) attachLocked(s *session) error {
	sock, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, net.UDPAddrFromAddrPort(r.cfg.ENet))
	if err != nil {
		return fmt.Errorf("relay: loopback socket: %w", err)
	}
	_ = sock.SetReadBuffer(socketBuffer)
	_ = sock.SetWriteBuffer(socketBuffer)
	s.sock, s.bc = sock, newBatchConn(sock, "udp4")
	if r.pubFD >= 0 && r.link == nil {
		s.pumpFD.fd = pumpFD(sock)
	}
	s.local = sock.LocalAddr().(*net.UDPAddr).AddrPort()
	r.byLocal[s.local.Port()] = s
	if r.link != nil {
		r.link.Mark(s.local.Port(), true) // ENet's datagrams for it come by Drain
		return nil
	}
	r.wg.Add(1)
	r.pumps.Add(1)
	go s.pumpFromENet()
	return nil
}

// established marks a session as no longer pending. The mark changes
// under r.mu, as removeLocked reads it: a session established while it is
// dropped leaves its pending count once, not twice or never.
func (r *Relay) established(s *session) {
	if s.established.Load() {
		return
	}
	r.mu.Lock()
	if s.established.CompareAndSwap(false, true) && r.cfg.Server && r.byRemote[s.remote] == s {
		r.pendingLocked(s, -1)
	}
	r.mu.Unlock()
}

// closeLater closes a session taken out of the maps on a goroutine of its
// own (closing waits for pion). r.mu may be held.
func (r *Relay) closeLater(s *session) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		s.close()
	}()
}

// drop removes a session from the maps (if still there) and closes it.
func (r *Relay) drop(s *session) {
	r.mu.Lock()
	r.removeLocked(s)
	r.mu.Unlock()
	s.close()
}

// removeLocked takes a session out of the maps, reporting whether it was
// there; r.mu is held.
func (r *Relay) removeLocked(s *session) bool {
	if r.byRemote[s.remote] == s {
		delete(r.byRemote, s.remote)
		if s.sock != nil {
			delete(r.byLocal, s.local.Port())
		}
		if r.cfg.Server && !s.established.Load() {
			r.pendingLocked(s, -1)
		}
		return true
	}
	return false
}

// sendPublic sends a datagram to a remote through the conditioner.
func (r *Relay) sendPublic(b []byte, to netip.AddrPort) {
	if r.cond != nil {
		r.cond.submit(dirOut, b, to, r.writePublic)
		return
	}
	r.writePublic(b, to)
}

func (r *Relay) writePublic(b []byte, to netip.AddrPort) {
	if _, err := r.pub.WriteToUDPAddrPort(b, to); err == nil {
		r.out.Add(1)
	}
}

// janitor closes sessions that linger past their time, never got an
// answer, or went silent.
func (r *Relay) janitor() {
	defer r.wg.Done()
	t := r.cfg.Tuning
	tick := min(t.PendingTimeout, t.HandshakeTimeout, t.Linger) / 4
	tick = max(min(tick, 500*time.Millisecond), 5*time.Millisecond)
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var expired []*session
	for {
		select {
		case <-r.stop:
			return
		case <-ticker.C:
		}
		now := time.Now().UnixNano()
		expired = expired[:0]
		r.mu.Lock()
		for _, s := range r.byRemote {
			linger := s.lingerUntil.Load()
			switch {
			case linger != 0 && now > linger:
			case !s.established.Load() && s.secure && now-s.created.UnixNano() > int64(t.HandshakeTimeout):
				r.hsFailed.Add(1)
			case !s.established.Load() && !s.secure && now-s.created.UnixNano() > int64(t.PendingTimeout):
				r.expired.Add(1)
			case s.established.Load() && now-s.lastIn.Load() > int64(t.IdleTimeout):
				r.expired.Add(1)
			default:
				continue
			}
			expired = append(expired, s)
		}
		r.mu.Unlock()
		for _, s := range expired {
			r.drop(s)
		}
	}
}

// Close stops the relay: what ENet already sent is forwarded first (DTLS
// sessions then send close_notify), then every socket is closed and every
// goroutine has returned.
func (r *Relay) Close() {
	r.mu.Lock()
	if r.closing {
		r.mu.Unlock()
		return
	}
	r.closing = true
	sessions := make([]*session, 0, len(r.byRemote))
	for _, s := range r.byRemote {
		sessions = append(sessions, s)
	}
	r.mu.Unlock()
	r.cancel() // unblocks a DTLS client handshake
	now := time.Now()
	for _, s := range sessions {
		if s.sock != nil {
			_ = s.sock.SetReadDeadline(now) // the pump drains and returns
		}
	}
	r.pumps.Wait()
	for _, s := range sessions {
		r.drop(s)
	}
	if r.cond != nil {
		r.cond.close()
	}
	close(r.stop)
	r.pub.Close()
	if r.pubFD >= 0 {
		syscall.Close(r.pubFD)
		r.pubFD = -1
	}
	r.wg.Wait()
}
