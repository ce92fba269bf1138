package ecsnet

import (
	"slices"
	"testing"
)

func TestClientConnectsAndBothSidesSeeEachOther(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(32)
	cl := n.client(srv)
	if cl.ConnectionStatus() != Connecting {
		t.Fatalf("client status %v before the answer, want connecting", cl.ConnectionStatus())
	}
	if id := cl.UniqueID(); id < 2 {
		t.Fatalf("client ID %d, want >= 2", id)
	}
	n.waitEvent(cl, Event{ConnectionSucceeded, 0})
	n.waitEvent(srv, Event{PeerConnected, cl.UniqueID()})

	if got, want := n.events[cl][:2], []Event{{PeerConnected, 1}, {ConnectionSucceeded, 0}}; !slices.Equal(got, want) {
		t.Errorf("client events %v, want %v", got, want)
	}
	if cl.ConnectionStatus() != Connected || srv.ConnectionStatus() != Connected {
		t.Errorf("status client %v server %v, want connected", cl.ConnectionStatus(), srv.ConnectionStatus())
	}
	if srv.UniqueID() != 1 || !srv.IsServer() || cl.IsServer() {
		t.Errorf("server ID %d IsServer %v, client IsServer %v", srv.UniqueID(), srv.IsServer(), cl.IsServer())
	}
	if got := srv.PeerAddress(cl.UniqueID()); got != "127.0.0.1" {
		t.Errorf("server sees client at %q, want 127.0.0.1", got)
	}
	if got, want := srv.PeerPort(cl.UniqueID()), cl.LocalPort(); got != want || got == 0 {
		t.Errorf("server sees client port %d, client bound %d", got, want)
	}
	if got := cl.PeerAddress(1); got != "127.0.0.1" {
		t.Errorf("client sees server at %q", got)
	}
	if got, want := cl.PeerPort(1), srv.LocalPort(); got != want {
		t.Errorf("client sees server port %d, want %d", got, want)
	}
	if got := srv.PeerAddress(12345); got != "" {
		t.Errorf("address of unknown peer %q, want empty", got)
	}
	if got := srv.Peers(); !slices.Equal(got, []int{cl.UniqueID()}) {
		t.Errorf("server peers %v", got)
	}
}
