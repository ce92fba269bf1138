package ecsnet

import (
	"slices"
	"testing"
	"time"
)

// shortTimeout makes a refused or unanswered client give up in about a
// second instead of ENet's default 5 to 30.
func shortTimeout(t *testing.T) func(*Peer) {
	return func(p *Peer) { must(t, p.SetTimeout(4, 300*time.Millisecond, time.Second)) }
}

func TestRefusingServerResetsNewClientsSilently(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(4)
	first := n.connected(srv)
	srv.SetRefuseNewConnections(true)
	late := n.client(srv, shortTimeout(t))
	// As in Godot: ENet's handshake completed, so the refused client first
	// believes it is connected, then loses the server.
	n.waitEvent(late, Event{ServerDisconnected, 1})
	if got, want := n.events[late], []Event{{PeerConnected, 1}, {ConnectionSucceeded, 0}, {ServerDisconnected, 1}}; !slices.Equal(got, want) {
		t.Errorf("refused client events %v, want %v", got, want)
	}
	if late.ConnectionStatus() != Disconnected {
		t.Errorf("refused client status %v", late.ConnectionStatus())
	}
	if got := srv.Peers(); !slices.Equal(got, []int{first.UniqueID()}) {
		t.Errorf("server peers %v, want only the first client", got)
	}
	if srv.Stats().RefusedConnections != 1 {
		t.Errorf("refused count %d, want 1", srv.Stats().RefusedConnections)
	}
	for _, ev := range n.events[srv] {
		if ev.Kind == PeerConnected && ev.PeerID != first.UniqueID() {
			t.Errorf("server raised %v for a refused client", ev)
		}
	}

	// CreateServer turns refusing off again, as Godot does.
	srv.CloseConnection(0)
	must(t, srv.CreateServer(0, 4, 0, 0))
	if srv.RefuseNewConnections() {
		t.Error("a new server still refuses connections")
	}
	n.connected(srv)
}

func TestMaxClientsIsEnforced(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(1)
	n.connected(srv)
	extra := n.client(srv, shortTimeout(t))
	n.waitEvent(extra, Event{ConnectionFailed, 0})
	if got := n.events[extra]; !slices.Equal(got, []Event{{ConnectionFailed, 0}}) {
		t.Errorf("client past the limit saw %v, want only connection_failed", got)
	}
	if extra.ConnectionStatus() != Disconnected || len(srv.Peers()) != 1 {
		t.Errorf("status %v, server peers %v", extra.ConnectionStatus(), srv.Peers())
	}
}

func TestCreateServerTakesUpTo4095Clients(t *testing.T) {
	p := NewPeer()
	must(t, p.SetBindIP("127.0.0.1"))
	wantErr(t, p.CreateServer(0, 4096, 0, 0), ErrInvalidParameter)
	must(t, p.CreateServer(0, 4095, 0, 0))
	p.CloseConnection(0)
}

func TestDisconnectPeerNowRaisesEventsAtOnce(t *testing.T) {
	n := newTestNet(t)
	srv, a, b, _ := threeClients(t, n)
	ia := a.UniqueID()
	must(t, srv.DisconnectPeer(ia, true))
	// No ENet event follows a disconnect-now, so the server raises it itself.
	if ev, ok := srv.NextEvent(); !ok || ev != (Event{PeerDisconnected, ia}) {
		t.Fatalf("server's next event %v %v, want peer_disconnected(%d) at once", ev, ok, ia)
	}
	n.waitEvent(b, Event{PeerDisconnected, ia})
	n.waitEvent(a, Event{ServerDisconnected, 1})
	if slices.Contains(srv.Peers(), ia) {
		t.Error("server still lists the client")
	}
	wantErr(t, srv.DisconnectPeer(ia, true), ErrInvalidParameter)
}

func TestDisconnectPeerLaterDeliversQueuedPacketsFirst(t *testing.T) {
	n := newTestNet(t)
	srv, a, b, _ := threeClients(t, n)
	ia := a.UniqueID()
	for _, s := range []string{"one", "two", "three"} {
		send(t, srv, ia, TransferReliable, s)
	}
	must(t, srv.DisconnectPeer(ia, false))
	n.waitEvent(a, Event{ServerDisconnected, 1})
	if got := n.received(a); !slices.Equal(got, []string{"one", "two", "three"}) {
		t.Errorf("client got %v before leaving, want all three", got)
	}
	n.waitEvent(srv, Event{PeerDisconnected, ia})
	n.waitEvent(b, Event{PeerDisconnected, ia})
}

func TestCloseConnectionTellsPeersAndResets(t *testing.T) {
	n := newTestNet(t)
	srv, a, b, c := threeClients(t, n)
	ia := a.UniqueID()
	send(t, srv, ia, TransferReliable, "unread")
	n.until(defaultWait, "a packet waiting", func() bool { return a.AvailablePacketCount() > 0 || len(n.packets[a]) > 0 })

	a.CloseConnection(time.Millisecond)
	if a.ConnectionStatus() != Disconnected || a.UniqueID() != 1 || a.AvailablePacketCount() != 0 {
		t.Errorf("closed client: status %v id %d packets %d", a.ConnectionStatus(), a.UniqueID(), a.AvailablePacketCount())
	}
	if _, ok := a.NextEvent(); ok {
		t.Error("closing raised an event")
	}
	wantErr(t, a.Poll(), ErrUnconfigured)
	n.waitEvent(srv, Event{PeerDisconnected, ia})
	n.waitEvent(b, Event{PeerDisconnected, ia})

	srv.CloseConnection(time.Millisecond)
	n.waitEvent(b, Event{ServerDisconnected, 1})
	n.waitEvent(c, Event{ServerDisconnected, 1})
	if b.ConnectionStatus() != Disconnected {
		t.Errorf("client of a closed server: %v", b.ConnectionStatus())
	}
	// A closed peer can start again.
	must(t, srv.CreateServer(0, 4, 0, 0))
	n.connected(srv)
}

func TestPacketsReceivedBeforeTheServerLeftStayReadable(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(2)
	cl := n.connected(srv)
	n.manual[cl] = true
	send(t, srv, 0, TransferReliable, "goodbye")
	srv.Flush()
	n.until(defaultWait, "packet", func() bool { return cl.AvailablePacketCount() == 1 })
	srv.CloseConnection(time.Millisecond)
	n.until(defaultWait, "server gone", func() bool { return cl.ConnectionStatus() == Disconnected })
	if data, err := cl.GetPacket(); err != nil || string(data) != "goodbye" {
		t.Errorf("got %q, %v", data, err)
	}
}
