package ecsnet

// DTLS interoperability with Godot 3.2.3 (godot3-server), with a
// certificate the test makes. Skips without godot3-server unless
// NETBURI_REQUIRE_GODOT=1 (see godot_test.go).
//
// Debian's godot3-server links the system libenet, which has no DTLS, so
// its NetworkedMultiplayerENet ignores use_dtls and sends plain ENet
// (godotENetDoesDTLS checks; the dtls.gd tests skip then). Godot's DTLS
// itself (PacketPeerDTLS, DTLSServer: mbedTLS 2.16, what Godot's ENet
// DTLS sockets use) is there, so dtls_pipe.gd carries a plain ENet
// connection over it exactly as those sockets do, one ENet datagram per
// DTLS record, and the pipe tests check netburi's DTLS against it in both
// directions.

import (
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/netburi/netburi/ecsnet/internal/relay"
)

// godotENetDoesDTLS reports whether godot3-server's NetworkedMultiplayerENet
// really speaks DTLS with use_dtls on: its client's first datagram must be
// a DTLS ClientHello.
func godotENetDoesDTLS(t *testing.T) bool {
	t.Helper()
	cert := newTestCert(t, certOptions{})
	certFile, _ := cert.writePEM(t)
	sink := listenUDP(t)
	port := sink.LocalAddr().(*net.UDPAddr).Port
	startGodot(t, "Godot DTLS probe", "dtls.gd", "client", strconv.Itoa(port), certFile, "localhost")
	buf := make([]byte, 4096)
	must(t, sink.SetReadDeadline(time.Now().Add(godotWait)))
	n, _, err := sink.ReadFrom(buf)
	must(t, err)
	return relay.LooksLikeClientHello(buf[:n])
}

func requireGodotENetDTLS(t *testing.T) {
	t.Helper()
	godotBinary(t)
	if !godotENetDoesDTLS(t) {
		t.Skip("this godot3-server ignores use_dtls (built on the system libenet, which has no DTLS): its first datagram is plain ENet; see the dtls_pipe.gd tests")
	}
}

// A Godot client with dtls_verify on joins a netburi DTLS server by the
// host name its certificate names; each side gets the other's packet.
func TestGodotDTLSClientOnGoServer(t *testing.T) {
	requireGodotENetDTLS(t)
	cert := newTestCert(t, certOptions{})
	certFile, _ := cert.writePEM(t)
	n := newTestNet(t)
	srv := n.server(2, dtlsServer(t, cert))
	g := startGodot(t, "Godot DTLS client", "dtls.gd", "client", strconv.Itoa(srv.LocalPort()), certFile, "localhost")

	var godotID int
	n.until(godotWait, `"hello from godot"`, func() bool {
		g.failIfExited(t)
		for _, pk := range n.packets[srv] {
			if string(pk.Data) == "hello from godot" {
				godotID = pk.From
				return true
			}
		}
		return false
	})
	send(t, srv, godotID, TransferReliable, "hello from netburi")
	n.until(godotWait, "the Godot client to exit", g.exited)
	g.passed(t)
	g.printed(t, "PASS")
	g.printed(t, fmt.Sprintf("unique_id %d", godotID))
	if st := srv.Stats().Transport; st.HandshakesFailed != 0 {
		t.Errorf("server transport stats %+v", st)
	}
}

// A netburi client with DTLS verify on joins a Godot DTLS server, by IP
// literal and by host name.
func TestGoDTLSClientOnGodotServer(t *testing.T) {
	requireGodotENetDTLS(t)
	for _, address := range []string{"127.0.0.1", "localhost"} {
		t.Run(address, func(t *testing.T) {
			cert := newTestCert(t, certOptions{})
			certFile, keyFile := cert.writePEM(t)
			port, g := startGodotDTLSServer(t, certFile, keyFile)
			n := newTestNet(t)
			cl := NewPeer()
			dtlsClient(t, cert.cert)(cl)
			must(t, cl.CreateClient(address, port, 0, 0, 0))
			n.peers = append(n.peers, cl)
			id := cl.UniqueID()
			n.until(godotWait, `"hello from godot"`, func() bool {
				g.failIfExited(t)
				return slicesContainsData(n.packets[cl], "hello from godot")
			})
			send(t, cl, 1, TransferReliable, "hello from netburi")
			n.until(godotWait, "the Godot server to exit", g.exited)
			g.passed(t)
			g.printed(t, "PASS")
			g.printed(t, fmt.Sprintf("peer_connected %d", id))
		})
	}
}

func slicesContainsData(pks []Packet, data string) bool { return countData(pks, data) > 0 }

// startGodotDTLSServer starts dtls.gd as a DTLS server on 127.0.0.1 and
// returns its port once it listens. As startGodotServer, it hands Godot a
// port the kernel just freed (Godot 3.2.3 cannot report a port it picked)
// and tries another if Godot cannot bind it.
func startGodotDTLSServer(t *testing.T, certFile, keyFile string) (int, *godot) {
	t.Helper()
	const attempts = 3
	for attempt := 1; attempt <= attempts; attempt++ {
		port := freeUDPPort(t)
		g := startGodot(t, fmt.Sprintf("Godot DTLS server (attempt %d)", attempt), "dtls.gd", "server", strconv.Itoa(port), certFile, keyFile)
		if g.waitOutput(t, "listening on port") {
			return port, g
		}
		if g.exitCode() != 3 {
			t.Fatalf("%s did not start: %v", g.name, g.err)
		}
	}
	t.Fatalf("Godot DTLS server could not bind a port in %d attempts", attempts)
	return 0, nil
}

// A plain netburi client's ENet connection, carried by Godot's DTLS client
// (dtls_pipe.gd, verifying the server against the test's certificate and
// "localhost"), reaches a netburi DTLS server: they connect and exchange
// reliable and unreliable packets; the server sees one DTLS session with
// no failures. Disconnecting the client closes its DTLS session after
// ENet's goodbye (the public socket stays open): Godot reads close_notify.
func TestGodotDTLSPipeClientOnGoServer(t *testing.T) {
	cert := newTestCert(t, certOptions{})
	certFile, _ := cert.writePEM(t)
	n := newTestNet(t)
	srv := n.server(2, dtlsServer(t, cert))
	pipePort, g := startGodotPort(t, "Godot DTLS pipe client", func(port int) []string {
		return []string{"dtls_pipe.gd", "client", strconv.Itoa(port), strconv.Itoa(srv.LocalPort()), certFile, "localhost"}
	})
	cl := NewPeer()
	must(t, cl.CreateClient("127.0.0.1", pipePort, 0, 0, 0))
	n.peers = append(n.peers, cl)
	n.until(godotWait, "the client to connect through Godot's DTLS", func() bool {
		g.failIfExited(t)
		return slicesContainsEvent(n.events[srv], Event{PeerConnected, cl.UniqueID()}) && cl.ConnectionStatus() == Connected
	})
	n.roundTrip(srv, cl, "through godot")
	n.until(godotWait, "an unreliable packet", func() bool {
		send(t, cl, 1, TransferUnreliable, "unreliable")
		return slicesContainsData(n.packets[srv], "unreliable")
	})
	st := srv.Stats().Transport
	if st.Sessions != 1 || st.HandshakesFailed != 0 || st.PendingHandshakes != 0 {
		t.Errorf("server transport stats %+v", st)
	}
	g.printed(t, "dtls connected")
	must(t, srv.DisconnectPeer(cl.UniqueID(), true))
	n.until(godotWait, "the pipe to see close_notify and exit", g.exited)
	g.passed(t)
	g.printed(t, "PASS")
}

// A netburi DTLS client (verify on, by host name) joins a plain netburi
// server through Godot's DTLSServer (dtls_pipe.gd, cookies on): they
// connect and exchange packets. Closing the client sends close_notify and
// closes its socket; Godot then reads either (exit 0 or 2).
func TestGoDTLSClientOnGodotDTLSPipeServer(t *testing.T) {
	cert := newTestCert(t, certOptions{})
	certFile, keyFile := cert.writePEM(t)
	n := newTestNet(t)
	srv := n.server(2)
	pipePort, g := startGodotPort(t, "Godot DTLS pipe server", func(port int) []string {
		return []string{"dtls_pipe.gd", "server", strconv.Itoa(port), strconv.Itoa(srv.LocalPort()), certFile, keyFile}
	})
	cl := n.clientAtPort("localhost", pipePort, dtlsClient(t, cert.cert))
	n.until(godotWait, "the DTLS client to connect through Godot's DTLSServer", func() bool {
		g.failIfExited(t)
		return slicesContainsEvent(n.events[srv], Event{PeerConnected, cl.UniqueID()}) && cl.ConnectionStatus() == Connected
	})
	n.roundTrip(srv, cl, "through godot")
	g.printed(t, "dtls connected")
	cl.CloseConnection(10 * time.Millisecond)
	n.until(godotWait, "the pipe to see the client go and exit", g.exited)
	if code := g.exitCode(); code != 0 && code != 2 {
		t.Errorf("%s exited %d: %v", g.name, code, g.err)
	}
	t.Logf("the pipe exited %d (0: close_notify read, 2: the socket closed first)", g.exitCode())
}

func slicesContainsEvent(evs []Event, want Event) bool {
	for _, ev := range evs {
		if ev == want {
			return true
		}
	}
	return false
}

// clientAtPort starts a client of address:port without waiting.
func (n *testNet) clientAtPort(address string, port int, configure ...func(*Peer)) *Peer {
	n.t.Helper()
	p := NewPeer()
	for _, c := range configure {
		c(p)
	}
	must(n.t, p.CreateClient(address, port, 0, 0, 0))
	n.peers = append(n.peers, p)
	return p
}

// startGodotPort starts a Godot script that binds a port on 127.0.0.1
// (args builds its arguments for a port) and returns the port once it
// listens, trying another port when Godot cannot bind it (exit code 3), as
// startGodotServer does.
func startGodotPort(t *testing.T, name string, args func(port int) []string) (int, *godot) {
	t.Helper()
	const attempts = 3
	for attempt := 1; attempt <= attempts; attempt++ {
		port := freeUDPPort(t)
		a := args(port)
		g := startGodot(t, fmt.Sprintf("%s (attempt %d)", name, attempt), a[0], a[1:]...)
		if g.waitOutput(t, "listening on port") {
			return port, g
		}
		if g.exitCode() != 3 {
			t.Fatalf("%s did not start: %v", g.name, g.err)
		}
	}
	t.Fatalf("%s could not bind a port in %d attempts", name, attempts)
	return 0, nil
}
