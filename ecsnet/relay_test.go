package ecsnet

import (
	"slices"
	"testing"
)

// threeClients returns a relaying server and clients a < b < c by ID order
// of connection, each having seen the others.
func threeClients(t *testing.T, n *testNet, configure ...func(*Peer)) (srv, a, b, c *Peer) {
	srv = n.server(8, configure...)
	a = n.connected(srv)
	b = n.connected(srv)
	c = n.connected(srv)
	if srv.ServerRelay() {
		n.waitEvent(a, Event{PeerConnected, c.UniqueID()})
		n.waitEvent(b, Event{PeerConnected, c.UniqueID()})
	}
	return srv, a, b, c
}

// marker sends a reliable marker from p to everyone (server included) and
// waits until each of want has it; anything relayed before it on the same
// reliable channel has arrived by then.
func marker(t *testing.T, n *testNet, p *Peer, want ...*Peer) {
	t.Helper()
	send(t, p, 0, TransferReliable, "marker")
	for _, w := range want {
		n.waitPacket(w, "marker")
	}
}

func TestServerRelayDeliversByTargetWithTheOriginalSender(t *testing.T) {
	n := newTestNet(t)
	srv, a, b, c := threeClients(t, n)
	ib, ic := b.UniqueID(), c.UniqueID()
	cases := []struct {
		name   string
		from   *Peer
		target int
		want   []*Peer
	}{
		{"client broadcast", a, 0, []*Peer{srv, b, c}},
		{"client to all but one client", a, -ic, []*Peer{srv, b}},
		{"client to all but the server", a, -1, []*Peer{b, c}},
		{"client to one client", a, ib, []*Peer{b}},
		{"client to server", b, 1, []*Peer{srv}},
		{"server broadcast", srv, 0, []*Peer{a, b, c}},
		{"server to all but one", srv, -ib, []*Peer{a, c}},
		{"server to one", srv, ic, []*Peer{c}},
	}
	everyone := []*Peer{srv, a, b, c}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n.forget()
			send(t, tc.from, tc.target, TransferReliable, tc.name)
			others := slices.DeleteFunc(slices.Clone(everyone), func(p *Peer) bool { return p == tc.from })
			marker(t, n, tc.from, others...)
			for _, p := range others {
				got := slices.Contains(n.received(p), tc.name)
				if got != slices.Contains(tc.want, p) {
					t.Errorf("peer %d received=%v, want %v", p.UniqueID(), got, !got)
				}
				for _, pk := range n.packets[p] {
					if pk.From != tc.from.UniqueID() {
						t.Errorf("peer %d got a packet from %d, want %d", p.UniqueID(), pk.From, tc.from.UniqueID())
					}
				}
			}
		})
	}
}

func TestServerAnnouncesClientsToEachOther(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8)
	a := n.connected(srv)
	b := n.connected(srv)
	n.waitEvent(a, Event{PeerConnected, b.UniqueID()})
	n.waitEvent(b, Event{PeerConnected, a.UniqueID()})
	c := n.connected(srv)
	n.waitEvent(c, Event{PeerConnected, b.UniqueID()})

	// The newcomer hears of the others in ascending ID order, after the
	// server itself.
	others := []int{a.UniqueID(), b.UniqueID()}
	slices.Sort(others)
	want := []Event{{PeerConnected, 1}, {ConnectionSucceeded, 0}, {PeerConnected, others[0]}, {PeerConnected, others[1]}}
	if got := n.events[c]; !slices.Equal(got, want) {
		t.Errorf("newcomer events %v, want %v", got, want)
	}
	if got, want := c.Peers(), append([]int{1}, others...); !slices.Equal(got, want) {
		t.Errorf("newcomer knows %v, want %v", got, want)
	}

	ib := b.UniqueID()
	b.CloseConnection(0)
	n.waitEvent(srv, Event{PeerDisconnected, ib})
	n.waitEvent(a, Event{PeerDisconnected, ib})
	n.waitEvent(c, Event{PeerDisconnected, ib})
	if slices.Contains(a.Peers(), ib) {
		t.Errorf("a still knows b: %v", a.Peers())
	}
	a.SetTargetPeer(ib)
	wantErr(t, a.PutPacket([]byte("x")), ErrInvalidParameter)
}

func TestWithoutRelayClientsOnlyReachTheServer(t *testing.T) {
	n := newTestNet(t)
	srv, a, b, _ := threeClients(t, n, func(p *Peer) { p.SetServerRelay(false) })
	if got := a.Peers(); !slices.Equal(got, []int{1}) {
		t.Fatalf("without relay a knows %v, want only the server", got)
	}
	send(t, a, 0, TransferReliable, "broadcast")
	send(t, a, -1, TransferReliable, "all but the server")
	a.SetTargetPeer(b.UniqueID())
	wantErr(t, a.PutPacket([]byte("unknown to a")), ErrInvalidParameter)
	send(t, a, 1, TransferReliable, "to server")
	n.waitPacket(srv, "to server")
	if got := n.received(srv); !slices.Equal(got, []string{"to server"}) {
		t.Errorf("server got %v, want only the packet addressed to it", got)
	}
	st, err := srv.PeerStatistics(a.UniqueID())
	must(t, err)
	if st.Dropped.RelayOff != 2 {
		t.Errorf("relay-off drops %d, want 2", st.Dropped.RelayOff)
	}
	send(t, srv, 0, TransferReliable, "from server")
	n.waitPacket(b, "from server")
	if got := n.received(b); !slices.Equal(got, []string{"from server"}) {
		t.Errorf("b got %v", got)
	}
}

// The relay setting is fixed when a server starts, as Godot forbids
// changing it while active.
func TestServerRelayIsFixedAtCreation(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(4)
	srv.SetServerRelay(false)
	a := n.connected(srv)
	b := n.connected(srv)
	n.waitEvent(a, Event{PeerConnected, b.UniqueID()})
}
