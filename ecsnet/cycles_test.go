package ecsnet

import (
	"os"
	"runtime"
	"testing"
	"time"
)

// A server that sees a thousand clients come and go holds no more
// goroutines or file descriptors than before.
func TestThousandConnectDisconnectCyclesLeakNothing(t *testing.T) {
	cycles := 1000
	if testing.Short() {
		cycles = 100
	}
	n := newTestNet(t)
	srv := n.server(4)
	settle := func() (goroutines, fds int) {
		runtime.GC()
		return runtime.NumGoroutine(), openFDs(t)
	}
	g0, f0 := settle()
	cl := NewPeer()
	for i := range cycles {
		must(t, cl.CreateClient("127.0.0.1", srv.LocalPort(), 0, 0, 0))
		id := cl.UniqueID()
		connected := false
		joined := false
		end := time.Now().Add(defaultWait)
		for !connected || !joined {
			if time.Now().After(end) {
				t.Fatalf("cycle %d: no connection", i)
			}
			must(t, cl.PollWait(time.Millisecond))
			must(t, srv.Poll())
			for ev, ok := cl.NextEvent(); ok; ev, ok = cl.NextEvent() {
				connected = connected || ev.Kind == ConnectionSucceeded
			}
			for ev, ok := srv.NextEvent(); ok; ev, ok = srv.NextEvent() {
				joined = joined || ev == Event{PeerConnected, id}
			}
		}
		cl.CloseConnection(0)
		left := false
		for !left {
			if time.Now().After(end) {
				t.Fatalf("cycle %d: server never saw the client leave", i)
			}
			must(t, srv.PollWait(time.Millisecond))
			for ev, ok := srv.NextEvent(); ok; ev, ok = srv.NextEvent() {
				left = left || ev == Event{PeerDisconnected, id}
			}
		}
	}
	g1, f1 := settle()
	if g1 > g0 || f1 > f0 {
		t.Errorf("after %d cycles: goroutines %d -> %d, open fds %d -> %d", cycles, g0, g1, f0, f1)
	}
	if len(srv.Peers()) != 0 {
		t.Errorf("server still lists %v", srv.Peers())
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count file descriptors: %v", err)
	}
	return len(entries)
}
