package ecsnet

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// defaultWait bounds every wait for network traffic in tests.
const defaultWait = 10 * time.Second

// testNet polls a set of peers together and records what each one receives,
// so tests can wait for an outcome with a deadline instead of sleeping.
type testNet struct {
	t       testing.TB
	peers   []*Peer
	events  map[*Peer][]Event
	packets map[*Peer][]Packet
	manual  map[*Peer]bool // polled, but its queues are left for the test
	extra   []func()       // more hosts to service on every pump
	// onPoll, when set, is told the CPU time each Poll took.
	onPoll func(p *Peer, cpu time.Duration)
}

func newTestNet(t testing.TB) *testNet {
	n := &testNet{t: t, events: map[*Peer][]Event{}, packets: map[*Peer][]Packet{}, manual: map[*Peer]bool{}}
	t.Cleanup(func() {
		for _, p := range n.peers {
			p.CloseConnection(0)
		}
	})
	return n
}

// server starts a server on 127.0.0.1, port 0, after configure.
func (n *testNet) server(maxClients int, configure ...func(*Peer)) *Peer {
	n.t.Helper()
	p := NewPeer()
	for _, c := range configure {
		c(p)
	}
	must(n.t, p.SetBindIP("127.0.0.1"))
	must(n.t, p.CreateServer(0, maxClients, 0, 0))
	if p.LocalPort() == 0 {
		n.t.Fatal("server has no local port")
	}
	n.peers = append(n.peers, p)
	return p
}

// client starts a client of srv after configure, without waiting.
func (n *testNet) client(srv *Peer, configure ...func(*Peer)) *Peer {
	n.t.Helper()
	p := NewPeer()
	for _, c := range configure {
		c(p)
	}
	must(n.t, p.CreateClient("127.0.0.1", srv.LocalPort(), 0, 0, 0))
	n.peers = append(n.peers, p)
	return p
}

// connected starts a client and waits until both sides see the connection.
func (n *testNet) connected(srv *Peer, configure ...func(*Peer)) *Peer {
	n.t.Helper()
	c := n.client(srv, configure...)
	n.waitEvent(c, Event{ConnectionSucceeded, 0})
	n.waitEvent(srv, Event{PeerConnected, c.UniqueID()})
	return c
}

// pump polls every active peer once, waiting up to 1ms for traffic.
func (n *testNet) pump() {
	for _, f := range n.extra {
		f()
	}
	for _, p := range n.peers {
		if p.active {
			start := threadCPU()
			if err := p.PollWait(time.Millisecond); err != nil {
				n.t.Fatalf("poll: %v", err)
			}
			if n.onPoll != nil {
				n.onPoll(p, threadCPU()-start)
			}
		}
		if n.manual[p] {
			continue
		}
		for {
			ev, ok := p.NextEvent()
			if !ok {
				break
			}
			n.events[p] = append(n.events[p], ev)
		}
		for {
			pk, ok := p.Receive()
			if !ok {
				break
			}
			n.packets[p] = append(n.packets[p], pk)
		}
	}
}

// until pumps until cond holds or the deadline passes.
func (n *testNet) until(deadline time.Duration, what string, cond func() bool) {
	n.t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			n.t.Fatalf("timed out after %v waiting for %s", deadline, what)
		}
		n.pump()
	}
}

func (n *testNet) waitEvent(p *Peer, want Event) {
	n.t.Helper()
	n.until(defaultWait, fmt.Sprintf("event %v", want), func() bool {
		return slices.Contains(n.events[p], want)
	})
}

// waitPacket waits until p received a packet whose data is want, and
// returns it.
func (n *testNet) waitPacket(p *Peer, want string) Packet {
	n.t.Helper()
	var got Packet
	n.until(defaultWait, fmt.Sprintf("packet %q", want), func() bool {
		for _, pk := range n.packets[p] {
			if string(pk.Data) == want {
				got = pk
				return true
			}
		}
		return false
	})
	return got
}

// received lists the data of every packet p received, in order.
func (n *testNet) received(p *Peer) []string {
	var out []string
	for _, pk := range n.packets[p] {
		out = append(out, string(pk.Data))
	}
	return out
}

func (n *testNet) forget() {
	clear(n.events)
	clear(n.packets)
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func send(t testing.TB, p *Peer, target int, mode TransferMode, data string) {
	t.Helper()
	p.SetTargetPeer(target)
	p.SetTransferMode(mode)
	must(t, p.PutPacket([]byte(data)))
}

func wantErr(t testing.TB, err, sentinel error) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("got error %v, want %v", err, sentinel)
	}
}
