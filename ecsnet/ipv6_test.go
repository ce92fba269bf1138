package ecsnet

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"testing"
)

// transportCase configures a server and its clients for one transport.
type transportCase struct {
	name         string
	server, clnt func(*Peer)
}

// plainAndDTLS are the transports IPv6 must work on.
func plainAndDTLS(t *testing.T) []transportCase {
	cert := newTestCert(t, certOptions{})
	return []transportCase{
		{"plain", func(*Peer) {}, func(*Peer) {}},
		{"dtls", dtlsServer(t, cert), dtlsClient(t, cert.cert)},
	}
}

// A server bound to ::1 and a client connecting to the literal "::1" play
// over IPv6, plain and with DTLS; each reports the other's real IPv6
// address and public port.
func TestIPv6OnLoopback(t *testing.T) {
	for _, tc := range plainAndDTLS(t) {
		t.Run(tc.name, func(t *testing.T) {
			checkNoLeaks(t)
			n := newTestNet(t)
			srv := n.serverOn("::1", 4, tc.server)
			c := n.clientAt(srv, "::1", tc.clnt)
			n.waitEvent(c, Event{ConnectionSucceeded, 0})
			n.waitEvent(srv, Event{PeerConnected, c.UniqueID()})
			n.roundTrip(srv, c, "v6")
			if got := srv.PeerAddress(c.UniqueID()); got != "::1" {
				t.Errorf("server sees the client at %q, want ::1", got)
			}
			if got, want := srv.PeerPort(c.UniqueID()), c.LocalPort(); got != want || got == 0 {
				t.Errorf("server sees the client on port %d, the client's port is %d", got, want)
			}
			if got := c.PeerAddress(1); got != "::1" {
				t.Errorf("client sees the server at %q, want ::1", got)
			}
			if got, want := c.PeerPort(1), srv.LocalPort(); got != want {
				t.Errorf("client sees the server on port %d, want %d", got, want)
			}
		})
	}
}

// A server bound to "*" takes an IPv4 client (straight to ENet's socket)
// and an IPv6 client (through the relay) on one port, relays between them,
// and reports both real addresses.
func TestDualStackServerTakesIPv4AndIPv6Clients(t *testing.T) {
	for _, tc := range plainAndDTLS(t) {
		t.Run(tc.name, func(t *testing.T) {
			checkNoLeaks(t)
			n := newTestNet(t)
			srv := n.serverOn("*", 4, tc.server)
			v4 := n.clientAt(srv, "127.0.0.1", tc.clnt)
			v6 := n.clientAt(srv, "::1", tc.clnt)
			for _, c := range []*Peer{v4, v6} {
				n.waitEvent(c, Event{ConnectionSucceeded, 0})
				n.waitEvent(srv, Event{PeerConnected, c.UniqueID()})
			}
			n.roundTrip(srv, v4, "v4")
			n.roundTrip(srv, v6, "v6")
			send(t, v4, v6.UniqueID(), TransferReliable, "across")
			if pk := n.waitPacket(v6, "across"); pk.From != v4.UniqueID() {
				t.Errorf("relayed packet from %d, want %d", pk.From, v4.UniqueID())
			}
			for c, want := range map[*Peer]string{v4: "127.0.0.1", v6: "::1"} {
				if got := srv.PeerAddress(c.UniqueID()); got != want {
					t.Errorf("server sees a client at %q, want %q", got, want)
				}
			}
			if got, want := srv.PeerPort(v6.UniqueID()), v6.LocalPort(); got != want {
				t.Errorf("IPv6 client on port %d, its port is %d", got, want)
			}
		})
	}
}

// Host names resolve to IPv6 (AAAA) and IPv4 (A) addresses; a name with
// only an AAAA record reaches an IPv6 server.
func TestClientResolvesHostNamesToIPv6AndIPv4(t *testing.T) {
	records := map[string][]netip.Addr{
		"six.test":  {netip.MustParseAddr("::1")},
		"four.test": {netip.MustParseAddr("127.0.0.1")},
	}
	old := lookupNetIP
	lookupNetIP = func(_ context.Context, network, host string) ([]netip.Addr, error) {
		if network != "ip" {
			return nil, fmt.Errorf("asked for %s", network)
		}
		if a, ok := records[host]; ok {
			return a, nil
		}
		return nil, fmt.Errorf("no such host %s", host)
	}
	t.Cleanup(func() { lookupNetIP = old })

	n := newTestNet(t)
	srv := n.serverOn("*", 4)
	for name, want := range map[string]string{"six.test": "::1", "four.test": "127.0.0.1"} {
		c := n.clientAt(srv, name)
		n.waitEvent(c, Event{ConnectionSucceeded, 0})
		n.roundTrip(srv, c, name)
		if got := srv.PeerAddress(c.UniqueID()); got != want {
			t.Errorf("%s: server sees the client at %q, want %q", name, got, want)
		}
	}
	wantErr(t, NewPeer().CreateClient("nowhere.test", 1, 0, 0, 0), ErrCantResolve)
}

func TestSetBindIPTakesIPv6AndRejectsNonsense(t *testing.T) {
	p := NewPeer()
	for _, ok := range []string{"::1", "::", "127.0.0.1", "*", "::ffff:127.0.0.1"} {
		must(t, p.SetBindIP(ok))
	}
	for _, bad := range []string{"", "localhost", "::1%lo", "1.2.3", "[::1]"} {
		wantErr(t, p.SetBindIP(bad), ErrInvalidParameter)
	}
	// An IPv6 client bind address cannot reach an IPv4 server.
	must(t, p.SetBindIP("::1"))
	wantErr(t, p.CreateClient("127.0.0.1", 9, 0, 0, 0), ErrCantCreate)
	// A fixed client port is the relay's public port.
	n := newTestNet(t)
	srv := n.serverOn("::1", 2)
	port := freeUDPPort6(t)
	c := NewPeer()
	must(t, c.SetBindIP("::1"))
	must(t, c.CreateClient("::1", srv.LocalPort(), 0, 0, port))
	n.peers = append(n.peers, c)
	if c.LocalPort() != port {
		t.Errorf("client port %d, want %d", c.LocalPort(), port)
	}
	n.waitEvent(c, Event{ConnectionSucceeded, 0})
	n.waitEvent(srv, Event{PeerConnected, c.UniqueID()})
	if got := srv.PeerPort(c.UniqueID()); got != port {
		t.Errorf("server sees the client on port %d, want %d", got, port)
	}
	if !slices.Contains(srv.Peers(), c.UniqueID()) {
		t.Error("server does not list the client")
	}
}

func freeUDPPort6(t *testing.T) int {
	t.Helper()
	p := NewPeer()
	must(t, p.SetBindIP("::1"))
	must(t, p.CreateServer(0, 1, 0, 0))
	port := p.LocalPort()
	p.CloseConnection(0)
	if port == 0 {
		t.Fatal("no free IPv6 port")
	}
	return port
}
