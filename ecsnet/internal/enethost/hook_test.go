package enethost

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

var loopback = netip.AddrFrom4([4]byte{127, 0, 0, 1})

func newTestHost(t *testing.T, bind bool) *Host {
	t.Helper()
	cfg := Config{Peers: 4, Chans: 2, NoBind: !bind}
	if bind {
		cfg.Bind = loopback
	}
	h, err := NewHost(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// The test binary links libenet dynamically, so the hook must be live: if
// it is not, every relayed peer silently falls back to loopback sockets.
func TestHookIsLiveWithDynamicLibenet(t *testing.T) {
	if !HookAvailable() {
		t.Fatal("libenet's socket calls do not reach the hook in this binary")
	}
}

// serviceUntil services the hosts, calling between after each round, until
// done reports true or the deadline passes.
func serviceUntil(t *testing.T, hosts []*Host, between func(), done func(*Host, *Event) bool) {
	t.Helper()
	end := time.Now().Add(5 * time.Second)
	for time.Now().Before(end) {
		for _, h := range hosts {
			var ev Event
			for {
				got, err := h.Service(&ev, 1)
				if err != nil {
					t.Fatal(err)
				}
				if !got {
					break
				}
				if done(h, &ev) { // a received packet goes back at the next call
					return
				}
			}
		}
		between()
	}
	t.Fatal("timed out")
}

// A hooked host whose relay marked no port talks through its socket
// exactly as before.
func TestHookedHostWithoutRelayPortsUsesItsSocket(t *testing.T) {
	srv, cl := newTestHost(t, true), newTestHost(t, false)
	k := srv.EnableHook()
	defer k.Free()
	defer srv.Destroy()
	defer cl.Destroy()
	if k == nil {
		t.Fatal("no hook")
	}
	if _, err := cl.Connect(loopback, srv.LocalPort(), 2, 0); err != nil {
		t.Fatal(err)
	}
	serviceUntil(t, []*Host{cl, srv}, func() {
		if n := k.Drain(func(uint16, []byte) {}); n != 0 {
			t.Fatalf("%d datagrams went to the out-queue with no relay port marked", n)
		}
	}, func(h *Host, ev *Event) bool { return h == srv && ev.Type == EventConnect })
}

// hookedPair is a client host and a hooked server host joined by a
// stand-in relay: a public socket the client talks to, and a session
// socket whose port stands for the client inside the server.
type hookedPair struct {
	t               *testing.T
	srv, cl         *Host
	k               *Hook
	pub, sess       *net.UDPConn
	port            uint16
	client          *net.UDPAddr
	srvPeer         Peer // the client, as the server sees it (after connect)
	pushed, drained int
	buf             []byte
}

func newHookedPair(t *testing.T) *hookedPair {
	p := &hookedPair{t: t, srv: newTestHost(t, true), cl: newTestHost(t, false), buf: make([]byte, 8192)}
	t.Cleanup(func() {
		p.cl.Destroy()
		p.srv.Destroy()
		p.k.Free()
	})
	if p.k = p.srv.EnableHook(); p.k == nil {
		t.Fatal("no hook")
	}
	var err error
	for _, c := range []**net.UDPConn{&p.pub, &p.sess} {
		if *c, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { (*c).Close() })
	}
	p.port = uint16(p.sess.LocalAddr().(*net.UDPAddr).Port)
	p.k.Mark(p.port, true)
	return p
}

// in pushes what waits on the public socket (a read for up to wait).
func (p *hookedPair) in(wait time.Duration) {
	for {
		_ = p.pub.SetReadDeadline(time.Now().Add(wait))
		n, from, err := p.pub.ReadFromUDP(p.buf)
		if err != nil {
			return
		}
		p.client = from
		if !p.k.Push(p.port, p.buf[:n]) {
			p.t.Fatal("push refused")
		}
		p.pushed++
	}
}

// read returns what the client sent to the public socket, without
// pushing it: the first datagram (waiting up to 5 s) and any right behind.
func (p *hookedPair) read() [][]byte {
	var out [][]byte
	wait := 5 * time.Second
	for {
		_ = p.pub.SetReadDeadline(time.Now().Add(wait))
		n, from, err := p.pub.ReadFromUDP(p.buf)
		if err != nil {
			if len(out) == 0 {
				p.t.Fatal("the client sent nothing")
			}
			return out
		}
		p.client = from
		out = append(out, append([]byte(nil), p.buf[:n]...))
		wait = 10 * time.Millisecond
	}
}

// out sends what the server sent to the client (the server's owner only).
func (p *hookedPair) out() {
	p.drained += p.k.Drain(func(port uint16, b []byte) {
		if port != p.port {
			p.t.Fatalf("drained a datagram for port %d, want %d", port, p.port)
		}
		if p.client != nil {
			_, _ = p.pub.WriteToUDP(b, p.client)
		}
	})
}

// connect connects the client through the stand-in relay and returns the
// client's peer and the address the server saw it at.
func (p *hookedPair) connect() (Peer, netip.AddrPort) {
	if _, err := p.cl.Connect(loopback, p.pub.LocalAddr().(*net.UDPAddr).Port, 2, 0); err != nil {
		p.t.Fatal(err)
	}
	var seen netip.AddrPort
	var peer Peer
	serviceUntil(p.t, []*Host{p.cl, p.srv}, func() { p.in(time.Millisecond); p.out() }, func(h *Host, ev *Event) bool {
		switch {
		case h == p.srv && ev.Type == EventConnect:
			a, port := ev.Peer.Addr()
			seen = netip.AddrPortFrom(a, uint16(port))
			p.srvPeer = ev.Peer
		case h == p.cl && ev.Type == EventConnect:
			peer = ev.Peer
		}
		return seen.IsValid() && peer.Valid()
	})
	return peer, seen
}

// Through the queues: a client's datagrams reach the hooked server only by
// Push, as if from the marked port, and the server's answers leave only by
// Drain; its socket sees none of them.
func TestHookCarriesAConnectionThroughTheQueues(t *testing.T) {
	p := newHookedPair(t)
	peer, seen := p.connect()
	if want := netip.AddrPortFrom(loopback, p.port); seen != want {
		t.Errorf("server saw the client at %v, want %v", seen, want)
	}
	if err := peer.SendRaw(0, FlagReliable, []byte("through the hook")); err != nil {
		t.Fatal(err)
	}
	serviceUntil(t, []*Host{p.cl, p.srv}, func() { p.in(time.Millisecond); p.out() }, func(h *Host, ev *Event) bool {
		if h == p.srv && ev.Type == EventReceive {
			if string(ev.Packet.Bytes()) != "through the hook" {
				t.Fatalf("got %q", ev.Packet.Bytes())
			}
			return true
		}
		return false
	})
	if p.pushed == 0 || p.drained == 0 {
		t.Errorf("pushed %d, drained %d: the queues were not used", p.pushed, p.drained)
	}
	_ = p.sess.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if n, _, err := p.sess.ReadFromUDP(p.buf); err == nil {
		t.Errorf("the server sent a %d-byte datagram to the session socket instead of the out-queue", n)
	}
}

// A blocking service call wakes for a Push from another goroutine at once,
// not at its timeout. The push comes only once the call is about to block
// (the hook hands on what the server just sent there, by OnFull), so the
// in-queue was empty when the wait began and only the wake can end it.
func TestHookPushWakesAWaitingService(t *testing.T) {
	p := newHookedPair(t)
	peer, _ := p.connect()
	p.in(10 * time.Millisecond) // the last acknowledgements
	p.out()
	if err := peer.SendRaw(0, FlagReliable, []byte("wake up")); err != nil {
		t.Fatal(err)
	}
	p.cl.Flush()
	wakeUp := p.read() // held back until the service call waits
	// Something for the server to send, so that its wait calls OnFull.
	if err := p.srvPeer.SendRaw(0, FlagReliable, []byte("before the wait")); err != nil {
		t.Fatal(err)
	}
	waiting := make(chan struct{}, 1)
	p.k.SetOnFull(func() {
		p.k.Drain(func(uint16, []byte) {}) // the client need not hear it
		select {
		case waiting <- struct{}{}:
		default:
		}
	})
	const timeout = 20 * time.Second // far beyond any wake; a missed one waits it out
	type result struct {
		ty   EventType
		data string
	}
	got := make(chan result, 1)
	go func() {
		var ev Event
		_, _ = p.srv.Service(&ev, uint32(timeout/time.Millisecond))
		r := result{ty: ev.Type}
		if ev.Type == EventReceive {
			r.data = string(ev.Packet.Bytes())
		}
		got <- r
	}()
	select {
	case <-waiting:
	case r := <-got:
		t.Fatalf("the service call returned (event %d) before it waited", r.ty)
	}
	for _, d := range wakeUp {
		if !p.k.Push(p.port, d) {
			t.Fatal("push refused")
		}
	}
	select {
	case r := <-got:
		if r.ty != EventReceive || r.data != "wake up" {
			t.Errorf("service returned event %d %q, want the receive of %q", r.ty, r.data, "wake up")
		}
	case <-time.After(timeout / 2):
		t.Error("the service call did not wake for the push")
		<-got // it returns at its timeout; the host must outlive the call
	}
}

// The in-queue is bounded: a flood of pushes with no service call is
// refused beyond it and counted, and an empty or oversized datagram is
// refused.
func TestHookInQueueIsBounded(t *testing.T) {
	srv := newTestHost(t, true)
	k := srv.EnableHook()
	defer k.Free()
	defer srv.Destroy()
	if k == nil {
		t.Fatal("no hook")
	}
	b := make([]byte, 1000)
	accepted := 0
	for range 1000 {
		if k.Push(4000, b) {
			accepted++
		}
	}
	if accepted == 0 || accepted >= 1000 {
		t.Fatalf("accepted %d of 1000 pushes of 1000 bytes, want a bounded number", accepted)
	}
	if in, _ := k.Counts(); in != uint64(1000-accepted) {
		t.Errorf("counted %d drops, want %d", in, 1000-accepted)
	}
	if k.Push(4000, nil) || k.Push(4000, make([]byte, 4097)) {
		t.Error("an empty or oversized datagram was accepted")
	}
}

// A blocking service call whose hook watches another socket calls the
// refill function, from inside the call, as soon as that socket is
// readable, and what refill pushes reaches ENet in the same call.
func TestHookWatchedSocketRefillsAWaitingService(t *testing.T) {
	p := newHookedPair(t)
	peer, _ := p.connect()
	p.in(10 * time.Millisecond)
	p.out()
	rc, err := p.pub.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var fd int
	_ = rc.Control(func(s uintptr) { fd = int(s) })
	refills := 0
	p.k.Watch(fd, func() {
		refills++
		p.in(time.Millisecond) // what waits on the public socket
	})
	if err := peer.SendRaw(0, FlagReliable, []byte("watched")); err != nil {
		t.Fatal(err)
	}
	p.cl.Flush() // now on the public socket; nothing else will read it
	// Unwatched, the call sees nothing and returns at its timeout.
	var ev Event
	got, err := p.srv.Service(&ev, 5000)
	if err != nil || !got || ev.Type != EventReceive || string(ev.Packet.Bytes()) != "watched" {
		t.Fatalf("service: %v %v type %d", got, err, ev.Type)
	}
	if refills == 0 {
		t.Error("refill was not called")
	}
}

// When one flush sends more than the out-queue holds, the hook hands the
// queue on (OnFull) from inside ENet's call and goes on: nothing is
// dropped.
func TestHookFullOutQueueIsHandedOnNotDropped(t *testing.T) {
	p := newHookedPair(t)
	p.connect()
	p.out()
	var sizes []int
	collect := func(_ uint16, b []byte) { sizes = append(sizes, len(b)) }
	fulls := 0
	p.k.SetOnFull(func() { fulls++; p.k.Drain(collect) })
	const packets, size = 400, 1000 // 400 kB, unreliable: no window holds it back
	for i := range packets {
		msg := make([]byte, size)
		msg[0], msg[1] = byte(i>>8), byte(i)
		if err := p.srvPeer.SendRaw(0, 0, msg); err != nil {
			t.Fatal(err)
		}
	}
	p.srv.Flush()
	p.k.Drain(collect)
	total := 0
	for _, n := range sizes {
		total += n
	}
	if fulls == 0 {
		t.Errorf("%d bytes left in %d datagrams without the queue ever filling", total, len(sizes))
	}
	if _, out := p.k.Counts(); out != 0 {
		t.Errorf("%d datagrams dropped", out)
	}
	if total < packets*size {
		t.Errorf("%d bytes came out, want at least %d", total, packets*size)
	}
}
