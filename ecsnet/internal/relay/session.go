package relay

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/dtls/v3"
)

// session is one remote: its loopback socket connected to the ENet host
// and, with DTLS, its DTLS connection.
type session struct {
	r          *Relay
	remote     netip.AddrPort
	remoteAddr *net.UDPAddr                // remote, made once for the DTLS connection
	sock       *net.UDPConn                // connected to the ENet host (set under r.mu)
	bc         batchConn                   // sock, many datagrams per system call
	out        *writeBatch                 // ENet's datagrams for the public socket (pumpFromENet's)
	pumpFD     sessionFD                   // sock's duplicate for PumpOut (-1: none)
	local      netip.AddrPort              // sock's address: the remote as ENet sees it
	secure     bool                        // DTLS
	dc         *dtls.Conn                  // a DTLS client's (pion's handshake); nil on a server
	vc         *vconn                      // dc's socket
	rl         atomic.Pointer[recordLayer] // DTLS application data, once the handshake is done (nil: pion's)
	// pionRetries counts the epoch-0 datagrams pion saw after rl was set
	pionRetries atomic.Int32

	// A DTLS server session runs the relay's own handshake (handshake.go),
	// made once its remote returned a cookie. hsMu is held while the
	// first flight is made (on a goroutine: signing may take a
	// millisecond), so datagrams meanwhile are dropped (the client repeats
	// them).
	hsMu     sync.Mutex
	hs       *serverHS // guarded by hsMu
	chRandom [32]byte  // the random of the ClientHello that made it

	created     time.Time
	lastIn      atomic.Int64 // unix nanoseconds of the last datagram from the remote
	lingerUntil atomic.Int64 // unix nanoseconds; 0 = not forgotten
	established atomic.Bool  // ENet answered (plain) or the handshake completed (DTLS)

	ready     chan struct{} // DTLS handshake done
	dead      chan struct{}
	closeOnce sync.Once

	// readMu: one reader of sock at a time (pumpFromENet or PumpOut),
	// forwarding what it read before the other reads.
	readMu sync.Mutex

	// With a Link, a DTLS session's datagrams from ENet wait here until
	// its handshake is done (early), then PumpOut encrypts them itself
	// (direct); guarded by earlyMu.
	earlyMu   sync.Mutex
	early     [][]byte
	direct    bool
	earlyOnce sync.Once
}

// maxEarly bounds the datagrams ENet may send a DTLS session before its
// handshake completes (a connect and its retransmissions).
const maxEarly = 64

// fromRemote takes one datagram the remote sent (b is reused afterwards).
func (s *session) fromRemote(b []byte) {
	s.lastIn.Store(time.Now().UnixNano())
	if s.secure && s.dc == nil { // a server's
		if rl := s.rl.Load(); rl != nil {
			if pt, mine, ok := rl.open(b); mine {
				if ok {
					s.toENet(pt)
				} else {
					s.r.garbage.Add(1) // forged, replayed or too old
				}
				return
			}
		}
		s.handshake(b)
		return
	}
	if s.vc != nil {
		rl := s.rl.Load()
		if rl != nil {
			pt, mine, ok := rl.open(b)
			switch {
			case mine && ok:
				s.toENet(pt)
				return
			case mine:
				s.r.garbage.Add(1) // forged, replayed or too old
				return
			}
			if !s.pionMayHave(b, rl) {
				s.r.garbage.Add(1)
				return
			}
		}
		if rl == nil {
			s.vc.noteRecords(b)
		}
		if !s.vc.push(b) {
			s.r.garbage.Add(1)
		}
		if rl == nil {
			if rl = s.rl.Load(); rl != nil {
				// (the record layer took over meanwhile: either
				// handshaken saw b in vc.highest or this does)
				rl.raiseFloor(s.vc.highest.Load())
			}
		}
		return
	}
	s.toENet(b)
}

// pionMayHave says whether a datagram the record layer did not take may
// still go to pion once the record layer owns the session: pion's replay
// window stopped at the takeover, and every epoch-1 record it sends uses a
// sequence number the record layer left it (seqReserve). So pion gets
// only a single alert record of the current epoch (close_notify), or, at
// most maxPionRetries times, a datagram of epoch-0 records alone (the
// remote repeating its last flight because pion's Finished was lost; pion
// answers with one epoch-1 record). Anything else (application data in a
// datagram of several records, which pion would decrypt past the record
// layer's window; forged epoch-0 records that would make pion spend its
// reserve) is dropped. It reads nothing beyond len(b).
func (s *session) pionMayHave(b []byte, rl *recordLayer) bool {
	epoch0 := true
	n := 0
	for len(b) > 0 {
		rec, rest, ok := splitRecord(b)
		if !ok {
			return false
		}
		if rec[3] != 0 || rec[4] != 0 {
			epoch0 = false
			if uint16(rec[3])<<8|uint16(rec[4]) != rl.inEpoch || rec[0] != contentAlert {
				return false
			}
		}
		b = rest
		n++
	}
	switch {
	case n == 0:
		return false
	case !epoch0:
		return n == 1 // one alert of the current epoch
	default:
		return s.pionRetries.Add(1) <= maxPionRetries
	}
}

// maxPionRetries is how many epoch-0 datagrams pion may still see after
// the takeover: well under seqReserve, since each may make it send a record.
const maxPionRetries = 4

// handshake takes a DTLS server session's datagram that is not
// application data: its handshake, a repeated flight, an alert.
func (s *session) handshake(b []byte) {
	if !s.hsMu.TryLock() { // the first flight is being made
		s.r.garbage.Add(1)
		return
	}
	h := s.hs
	if h == nil {
		s.hsMu.Unlock()
		s.r.garbage.Add(1)
		return
	}
	send, err := h.handle(b)
	var alert []byte
	var ae *hsAlert
	if errors.As(err, &ae) {
		alert = h.alert(ae.desc)
	}
	done := h.done
	s.hsMu.Unlock()
	for _, d := range send {
		s.r.sendPublic(d, s.remote)
	}
	switch {
	case err != nil:
		if alert != nil {
			s.r.sendPublic(alert, s.remote)
		}
		if !s.established.Load() {
			s.r.hsFailed.Add(1)
		}
		s.r.dropLater(s)
	case done && s.rl.CompareAndSwap(nil, h.rl): // once, whichever reader saw it first
		s.r.established(s)
		close(s.ready)
	}
}

// toENet hands ENet a (plain or decrypted) datagram from the remote.
func (s *session) toENet(b []byte) {
	if s.r.link != nil {
		if !s.r.link.Push(s.local.Port(), b) {
			s.r.garbage.Add(1)
		}
		return
	}
	if _, err := s.sock.Write(b); err != nil {
		s.r.garbage.Add(1)
	}
}

// pumpFromENet forwards what ENet sends to this remote, a batch per
// system call each way, whenever PumpOut has not read it first, until the
// session closes; when the relay closes it forwards what is already queued
// first. (Without a Link only.)
func (s *session) pumpFromENet() {
	defer s.r.wg.Done()
	defer s.r.pumps.Done()
	rc, err := s.sock.SyscallConn()
	if err != nil {
		return
	}
	m := newMmsgReader()
	for {
		over := false
		err := rc.Read(func(fd uintptr) bool {
			s.readMu.Lock()
			defer s.readMu.Unlock()
			n, err := m.recv(int(fd))
			if err == syscall.EAGAIN {
				return false // wait until readable
			}
			for i := 0; i < n && !over; i++ {
				if b := m.data(i); b != nil {
					over = !s.toRemote(b)
				}
			}
			s.flushOut()
			return true // (after an ICMP error on the socket: read on)
		})
		switch {
		case over:
			return
		case errors.Is(err, os.ErrDeadlineExceeded):
			s.drain(m.bufs[0])
			return
		case err != nil:
			return // closed
		}
	}
}

// flushOut sends the datagrams toRemote batched.
func (s *session) flushOut() {
	if s.out.n > 0 {
		s.r.out.Add(uint64(s.out.flush(s.r.pubBC)))
	}
}

// drainGrace is how long a closing relay keeps reading what ENet sent
// last: on some network stacks (gVisor's, for one) a loopback datagram is
// not yet readable when the send returns.
const drainGrace = 3 * time.Millisecond

// drain forwards the datagrams ENet already sent on the loopback socket,
// until none comes for drainGrace.
func (s *session) drain(buf []byte) {
	for {
		if err := s.sock.SetReadDeadline(time.Now().Add(drainGrace)); err != nil {
			return
		}
		n, err := s.sock.Read(buf)
		if err != nil {
			return
		}
		ok := s.toRemote(buf[:n])
		s.flushOut()
		if !ok {
			return
		}
	}
}

// toRemote sends one ENet datagram on to the remote (plain or sealed,
// through s.out, which the caller flushes before b's buffer is reused;
// through the conditioner when there is one); false means
// the session is over. A DTLS client starts its handshake here, on ENet's
// first send.
func (s *session) toRemote(b []byte) bool {
	if !s.secure {
		s.r.established(s)
		if s.r.cond != nil && !s.r.cond.passes(dirOut) {
			s.flushOut() // keep the order
			s.r.sendPublic(b, s.remote)
		} else {
			s.r.out.Add(uint64(s.out.add(s.r.pubBC, b, s.remoteAddr)))
		}
		return true
	}
	if !s.r.cfg.Server && !s.established.Load() && !s.clientHandshake() {
		return false
	}
	if rl := s.rl.Load(); rl != nil {
		return s.r.sealInto(s.out, s, rl, b)
	}
	if s.dc == nil {
		s.r.garbage.Add(1) // a server session still in its handshake
		return true
	}
	if _, err := s.dc.Write(b); err != nil {
		return !s.isDead()
	}
	return true
}

// handshaken takes a client session's application data over from pion
// once its handshake is done (see recordLayer); where the record layer
// cannot (a suite it lacks), pion keeps it. Records already queued for
// pion stay pion's: the record layer's floor goes above them, so that a
// replay of one cannot reach ENet a second time.
func (s *session) handshaken() {
	if rl, err := newRecordLayer(s.dc); err == nil {
		s.rl.Store(rl)
		rl.raiseFloor(s.vc.highest.Load()) // what pion may still read
	}
}

func (s *session) isDead() bool {
	select {
	case <-s.dead:
		return true
	default:
		return false
	}
}

// pumpFromDTLS hands every datagram a DTLS client's pion connection
// decrypts to ENet, once its handshake is done.
func (s *session) pumpFromDTLS() {
	defer s.r.wg.Done()
	select {
	case <-s.ready:
	case <-s.dead:
		return
	}
	buf := make([]byte, maxDatagram)
	for fails := 0; fails < 100; {
		n, err := s.dc.Read(buf)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || s.isDead() {
				break
			}
			s.r.garbage.Add(1)
			fails++
			continue
		}
		fails = 0
		if s.r.link != nil {
			if !s.r.link.Push(s.local.Port(), buf[:n]) {
				s.r.garbage.Add(1)
			}
			continue
		}
		if _, err := s.sock.Write(buf[:n]); err != nil && errors.Is(err, net.ErrClosed) {
			return
		}
	}
	// The remote closed the connection (or kept sending errors): ENet
	// will see nothing more from it.
	s.r.drop(s)
}

// close releases the session's sockets; its goroutines return.
func (s *session) close() {
	s.closeOnce.Do(func() {
		close(s.dead)
		if rl := s.rl.Load(); rl != nil {
			// close_notify (a warning alert) in the record layer's numbers,
			// which the remote's replay window follows; pion's, below, may
			// be too old for it by now.
			if rec, ok := rl.seal(nil, contentAlert, []byte{1, 0}); ok {
				s.r.sendPublic(rec, s.remote)
			}
		}
		if s.dc != nil {
			_ = s.dc.Close() // close_notify, once handshaken
			s.vc.Close()
		}
		if s.sock != nil {
			if s.r.link != nil {
				s.r.link.Mark(s.local.Port(), false)
			}
			s.sock.Close()
		}
		s.pumpFD.close()
	})
}

// fromENet takes a datagram ENet sent this DTLS session through the Link
// (on the game loop; b is reused afterwards): encrypted and sent at once
// once the handshake is done, kept until then (a client's handshake starts
// here, on ENet's first send, on a goroutine of its own).
func (s *session) fromENet(b []byte) {
	s.earlyMu.Lock()
	if !s.direct {
		if len(s.early) < maxEarly {
			s.early = append(s.early, append([]byte(nil), b...))
		} else {
			s.r.garbage.Add(1)
		}
		s.earlyMu.Unlock()
		s.earlyOnce.Do(func() {
			s.r.wg.Add(1)
			go s.finishEarly()
		})
		return
	}
	s.earlyMu.Unlock()
	if rl := s.rl.Load(); rl != nil {
		s.r.sealInto(s.r.pump.toPublic, s, rl, b)
		return
	}
	if s.dc != nil {
		_, _ = s.dc.Write(b) // fails only once the session is over
	}
}

// clientHandshake runs a client's DTLS handshake to its end and marks the
// session established; false means it failed and the session is dropped.
func (s *session) clientHandshake() bool {
	ctx, cancel := context.WithTimeout(s.r.ctx, s.r.cfg.Tuning.HandshakeTimeout)
	err := s.dc.HandshakeContext(ctx)
	cancel()
	if err != nil {
		if s.r.ctx.Err() == nil {
			s.r.hsFailed.Add(1)
			s.r.fail(err)
		}
		s.r.drop(s)
		return false
	}
	s.handshaken()
	s.r.established(s)
	close(s.ready)
	return true
}

// finishEarly completes a client's handshake (or waits for a server's),
// then sends what ENet sent meanwhile, in order, and lets
// fromENet send directly.
func (s *session) finishEarly() {
	defer s.r.wg.Done()
	if !s.r.cfg.Server && !s.established.Load() {
		if !s.clientHandshake() {
			return
		}
	} else {
		select {
		case <-s.ready:
		case <-s.dead:
			return
		}
	}
	s.earlyMu.Lock()
	defer s.earlyMu.Unlock()
	for _, b := range s.early {
		if !s.toRemote(b) {
			break
		}
	}
	s.flushOut()
	s.early, s.direct = nil, true
}

func nowNano() int64 { return time.Now().UnixNano() }
