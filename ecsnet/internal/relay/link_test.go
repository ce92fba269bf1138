package relay

import (
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"
)

// fakeLink stands in for the ENet host's socket hook.
type fakeLink struct {
	watch  bool // accept Watch (then the test must call PumpIn)
	mu     sync.Mutex
	marked map[uint16]bool
	pushed [][]byte
	ports  []uint16
	sent   []fakeDatagram // what "ENet" sends, for Drain
}

type fakeDatagram struct {
	port uint16
	b    []byte
}

func newFakeLink() *fakeLink { return &fakeLink{marked: map[uint16]bool{}} }

func (l *fakeLink) Mark(port uint16, on bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.marked[port] = on
}

func (l *fakeLink) Push(port uint16, b []byte) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pushed = append(l.pushed, append([]byte(nil), b...))
	l.ports = append(l.ports, port)
	return true
}

func (l *fakeLink) Drain(fn func(port uint16, b []byte)) int {
	l.mu.Lock()
	sent := l.sent
	l.sent = nil
	l.mu.Unlock()
	for _, d := range sent {
		fn(d.port, d.b)
	}
	return len(sent)
}

func (l *fakeLink) Watch(int, func()) bool { return l.watch }

func (l *fakeLink) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.pushed)
}

// Through a Link, datagrams from a remote reach ENet in the order they
// arrived, whichever of the public socket's two readers (its goroutine,
// PumpIn) took each, or PumpIn alone where the link watches the socket; ENet's answers leave through Drain to the remote;
// the session's port is marked while it lives and unmarked when it ends.
func TestLinkKeepsTheOrderOfDatagrams(t *testing.T) {
	t.Run("goroutine and pump", func(t *testing.T) { testLinkOrder(t, false) })
	t.Run("pump alone, the link watching", func(t *testing.T) { testLinkOrder(t, true) })
}

func testLinkOrder(t *testing.T, watch bool) {
	link := newFakeLink()
	link.watch = watch
	srv, err := New(Config{Server: true, Network: "udp4", Public: netip.MustParseAddrPort("127.0.0.1:0"),
		ENet: netip.MustParseAddrPort("127.0.0.1:9"), Link: link})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	remote := listenLoopback(t)
	pub := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.Port()}
	const count = 3000
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range count {
			_, _ = remote.WriteTo(datagram(i, 40), pub)
			if i%64 == 0 {
				time.Sleep(100 * time.Microsecond) // let the socket's buffer drain
			}
		}
	}()
	end := time.Now().Add(10 * time.Second)
	for link.count() < count && time.Now().Before(end) {
		srv.PumpIn() // races the relay's goroutine for the socket
	}
	<-done
	link.mu.Lock()
	pushed, ports := link.pushed, link.ports
	link.mu.Unlock()
	if len(pushed) < count*9/10 {
		t.Fatalf("%d of %d datagrams reached ENet", len(pushed), count)
	}
	last := -1
	for k, b := range pushed {
		i := int(b[0])<<8 | int(b[1])
		if i <= last {
			t.Fatalf("datagram %d reached ENet after %d", i, last)
		}
		last = i
		if ports[k] != ports[0] {
			t.Fatalf("one remote came from ports %d and %d", ports[0], ports[k])
		}
	}
	port := ports[0]
	link.mu.Lock()
	marked := link.marked[port]
	link.sent = append(link.sent, fakeDatagram{port, []byte("answer")})
	link.mu.Unlock()
	if !marked {
		t.Error("the session's port is not marked")
	}
	srv.PumpOut()
	_ = remote.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, _, err := remote.ReadFrom(buf)
	if err != nil || string(buf[:n]) != "answer" {
		t.Fatalf("the remote read %q, %v", buf[:max(n, 0)], err)
	}
	srv.Close()
	link.mu.Lock()
	defer link.mu.Unlock()
	if link.marked[port] {
		t.Error("the session's port is still marked after the relay closed")
	}
}
