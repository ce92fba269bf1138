package ecsnet

// DTLS interoperability with Godot 3.2.3, with a certificate the test makes.
//
// Debian's godot3-server links the system libenet, which has no DTLS: its
// NetworkedMultiplayerENet ignores use_dtls and sends plain ENet. The
// NetworkedMultiplayerENet tests here therefore run the godot3-server of
// ../shared/godot3-dtls (Godot 3.2.3 on its bundled ENet, whose use_dtls
// speaks DTLS through mbedTLS 2.16, as upstream Godot's binaries do), or the
// one $NETBURI_GODOT_DTLS names; they skip, saying so, when it is absent,
// and fail on anything else once it is there.
//
// Godot's DTLS itself (PacketPeerDTLS, DTLSServer) is in Debian's build
// too: dtls_pipe.gd carries a plain ENet connection over it exactly as
// Godot's ENet DTLS sockets do, one ENet datagram per DTLS record, and the
// pipe tests check netburi's DTLS against it in both directions with
// Debian's binary.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// godotDTLSEnv names the environment variable that may give the path of a
// godot3-server whose NetworkedMultiplayerENet speaks DTLS.
const godotDTLSEnv = "NETBURI_GODOT_DTLS"

// godotDTLSBinary finds the DTLS-speaking godot3-server: $NETBURI_GODOT_DTLS,
// else ../shared/godot3-dtls/godot3-server beside the repository's root. It
// skips the test when neither exists (a path in the variable that does not
// exist fails it).
func godotDTLSBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv(godotDTLSEnv); bin != "" {
		if _, err := os.Stat(bin); err != nil {
			t.Fatalf("%s=%s: %v", godotDTLSEnv, bin, err)
		}
		return bin
	}
	bin, err := filepath.Abs(filepath.Join("..", "..", "shared", "godot3-dtls", "godot3-server"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("Godot DTLS interoperability needs a godot3-server whose ENet speaks DTLS (Debian's does not): none at %s and %s is not set (%v)", bin, godotDTLSEnv, err)
	}
	return bin
}

// A Godot client with use_dtls and dtls_verify on joins a netburi DTLS
// server by the host name its certificate names, in each compression mode,
// and they run exchange.gd (every transfer mode, channels 1 to 3, payloads
// to 12000 bytes) through DTLS. Each side reports the other's ID as the
// other reports its own; the Godot client then closes its connection and
// the server sees it leave.
func TestGodotDTLSClientOnGoServer(t *testing.T) {
	bin := godotDTLSBinary(t)
	for _, mode := range godotCompressions {
		t.Run("compression="+mode.String(), func(t *testing.T) { testGodotDTLSClientOnGoServer(t, bin, mode, false) })
	}
	// The server's handshake signs with an RSA key too (ECDHE-RSA).
	t.Run("rsa", func(t *testing.T) { testGodotDTLSClientOnGoServer(t, bin, godotCompressions[0], true) })
}

func testGodotDTLSClientOnGoServer(t *testing.T, bin string, mode CompressionMode, rsa bool) {
	cert := newTestCert(t, certOptions{rsa: rsa})
	certFile, _ := cert.writePEM(t)
	n := newTestNet(t)
	srv := n.server(1, func(p *Peer) {
		must(t, p.SetChannelCount(4))
		must(t, p.SetCompressionMode(mode))
	}, dtlsServer(t, cert))
	g := startGodotBinary(t, bin, "Godot DTLS client", "exchange.gd",
		"client", strconv.Itoa(srv.LocalPort()), strconv.Itoa(int(mode)), "dtls", certFile, "localhost")

	var godotID int
	n.until(godotWait, "the Godot DTLS client to connect", func() bool {
		for _, ev := range n.events[srv] {
			if ev.Kind == PeerConnected {
				godotID = ev.PeerID
				return true
			}
		}
		g.failIfExited(t)
		return false
	})
	x := exchangeWithGodot(t, n, srv, godotID, g)
	n.until(godotWait, "the server to see the Godot client leave", func() bool {
		return slices.Contains(n.events[srv], Event{PeerDisconnected, godotID})
	})
	if want := []Event{{PeerConnected, godotID}, {PeerDisconnected, godotID}}; !slices.Equal(n.events[srv], want) {
		t.Errorf("server events %v, want %v", n.events[srv], want)
	}

	g.passed(t)
	g.printed(t, "use_dtls")
	g.printed(t, fmt.Sprintf("unique_id %d", godotID))
	g.printed(t, "peer_connected 1")
	g.printed(t, "closed")
	checkGodotExchange(t, mode, srv, g, x)
	st := srv.Stats().Transport
	if st.HandshakesFailed != 0 || st.Garbage != 0 || st.DatagramsIn < uint64(x.host.DatagramsReceived) {
		t.Errorf("server transport stats %+v after %d ENet datagrams in", st, x.host.DatagramsReceived)
	}
}

// A netburi DTLS client (verify on) joins a Godot server with use_dtls on,
// in each compression mode by host name (and, uncompressed, by IP literal
// too), and they run exchange.gd through DTLS. The Godot server then
// disconnects the client: both sides see it.
func TestGoDTLSClientOnGodotServer(t *testing.T) {
	bin := godotDTLSBinary(t)
	for _, mode := range godotCompressions {
		t.Run("compression="+mode.String(), func(t *testing.T) { testGoDTLSClientOnGodotServer(t, bin, mode, "localhost") })
	}
	t.Run("address=127.0.0.1", func(t *testing.T) { testGoDTLSClientOnGodotServer(t, bin, CompressNone, "127.0.0.1") })
}

func testGoDTLSClientOnGodotServer(t *testing.T, bin string, mode CompressionMode, address string) {
	cert := newTestCert(t, certOptions{})
	certFile, keyFile := cert.writePEM(t)
	port, g := startGodotPort(t, bin, "Godot DTLS server", func(port int) []string {
		return []string{"exchange.gd", "server", strconv.Itoa(port), strconv.Itoa(int(mode)), "dtls", certFile, keyFile}
	})
	n := newTestNet(t)
	cl := n.clientAtPort(address, port, func(p *Peer) {
		must(t, p.SetChannelCount(4))
		must(t, p.SetCompressionMode(mode))
	}, dtlsClient(t, cert.cert))
	clientID := cl.UniqueID()

	n.until(godotWait, "the Godot DTLS server to accept the netburi client", func() bool {
		g.failIfExited(t)
		return slices.Contains(n.events[cl], Event{ConnectionSucceeded, 0})
	})
	x := exchangeWithGodot(t, n, cl, 1, g)
	n.until(godotWait, "the client to see the server disconnect it", func() bool {
		return slices.Contains(n.events[cl], Event{ServerDisconnected, 1})
	})
	if want := []Event{{PeerConnected, 1}, {ConnectionSucceeded, 0}, {ServerDisconnected, 1}}; !slices.Equal(n.events[cl], want) {
		t.Errorf("client events %v, want %v", n.events[cl], want)
	}

	g.passed(t)
	g.printed(t, "use_dtls")
	g.printed(t, "unique_id 1")
	g.printed(t, fmt.Sprintf("peer_connected %d", clientID))
	g.printed(t, fmt.Sprintf("peer_disconnected %d", clientID))
	checkGodotExchange(t, mode, cl, g, x)
	if err := cl.TransportError(); err != nil {
		t.Errorf("transport error %v", err)
	}
}

// A netburi DTLS server disconnects a Godot DTLS client once they have
// exchanged a packet: the Godot client gets server_disconnected, the server
// PeerDisconnected for the ID Godot reports.
func TestGoDTLSServerDisconnectsGodotClient(t *testing.T) {
	bin := godotDTLSBinary(t)
	cert := newTestCert(t, certOptions{})
	certFile, _ := cert.writePEM(t)
	n := newTestNet(t)
	srv := n.server(2, dtlsServer(t, cert))
	g := startGodotBinary(t, bin, "Godot DTLS client", "dtls.gd", "client", strconv.Itoa(srv.LocalPort()), certFile, "localhost", "20000", "kicked")
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
	n.until(godotWait, "Godot to print PASS", func() bool {
		g.failIfExited(t)
		return strings.Contains(g.out.String(), "PASS")
	})
	must(t, srv.DisconnectPeer(godotID, false))
	n.until(godotWait, "the Godot client to see the disconnection and exit", g.exited)
	n.until(godotWait, "the server's PeerDisconnected", func() bool {
		return slices.Contains(n.events[srv], Event{PeerDisconnected, godotID})
	})
	g.passed(t)
	g.printed(t, fmt.Sprintf("unique_id %d", godotID))
	g.printed(t, "server_disconnected")
	if want := []Event{{PeerConnected, godotID}, {PeerDisconnected, godotID}}; !slices.Equal(n.events[srv], want) {
		t.Errorf("server events %v, want %v", n.events[srv], want)
	}
}

// refusedWithin bounds how long a refused Godot client (dtls.gd) tries.
const refusedWithin = "4000"

// A Godot client with dtls_verify on that trusts another certificate than
// the server's never connects: its handshake fails, the server counts the
// failed handshake and sees no peer, and a Godot client that trusts the
// right certificate joins the same server afterwards.
func TestGodotDTLSClientWithWrongCertificateIsRefused(t *testing.T) {
	bin := godotDTLSBinary(t)
	cert, other := newTestCert(t, certOptions{}), newTestCert(t, certOptions{})
	certFile, _ := cert.writePEM(t)
	otherFile, _ := other.writePEM(t)
	n := newTestNet(t)
	srv := n.server(2, dtlsServer(t, cert))
	port := strconv.Itoa(srv.LocalPort())

	bad := startGodotBinary(t, bin, "Godot DTLS client trusting another certificate", "dtls.gd", "client", port, otherFile, "localhost", refusedWithin)
	n.until(godotWait, "the refused Godot client to give up", bad.exited)
	if bad.exitCode() != 1 || slices.ContainsFunc(n.events[srv], func(ev Event) bool { return ev.Kind == PeerConnected }) {
		t.Fatalf("%s exited %d; server events %v", bad.name, bad.exitCode(), n.events[srv])
	}
	bad.printed(t, "use_dtls True")
	n.until(godotWait, "the server to count the failed handshake", func() bool {
		return srv.Stats().Transport.HandshakesFailed >= 1
	})
	expectGodotDTLSHello(t, n, srv, bin, certFile)
}

// A plaintext Godot client (use_dtls off) on a netburi DTLS server never
// connects: the server drops its datagrams as garbage without making a
// session for it, and a DTLS Godot client joins the same server afterwards.
func TestGodotPlainClientOnGoDTLSServerIsRefused(t *testing.T) {
	bin := godotDTLSBinary(t)
	cert := newTestCert(t, certOptions{})
	certFile, _ := cert.writePEM(t)
	n := newTestNet(t)
	srv := n.server(2, dtlsServer(t, cert))
	port := strconv.Itoa(srv.LocalPort())

	plain := startGodotBinary(t, bin, "plaintext Godot client", "dtls.gd", "client", port, certFile, "localhost", refusedWithin, "plain")
	n.until(godotWait, "the plaintext Godot client to give up", plain.exited)
	if plain.exitCode() != 1 || len(n.events[srv]) != 0 {
		t.Fatalf("%s exited %d; server events %v", plain.name, plain.exitCode(), n.events[srv])
	}
	plain.printed(t, "use_dtls False")
	if st := srv.Stats().Transport; st.Garbage == 0 || st.Sessions != 0 || st.PendingHandshakes != 0 || st.DatagramsOut != 0 {
		t.Errorf("server transport stats %+v: want the plaintext dropped as garbage, no session, nothing sent", st)
	}
	expectGodotDTLSHello(t, n, srv, bin, certFile)
}

// expectGodotDTLSHello runs dtls.gd as a client of the DTLS server srv
// (trusting certFile): it connects, each side gets the other's packet, and
// the server knows it under the ID it reports.
func expectGodotDTLSHello(t *testing.T, n *testNet, srv *Peer, bin, certFile string) {
	t.Helper()
	g := startGodotBinary(t, bin, "Godot DTLS client", "dtls.gd", "client", strconv.Itoa(srv.LocalPort()), certFile, "localhost")
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
	g.printed(t, "use_dtls True")
	g.printed(t, fmt.Sprintf("unique_id %d", godotID))
}

func slicesContainsData(pks []Packet, data string) bool { return countData(pks, data) > 0 }

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
	pipePort, g := startGodotPort(t, godotBinary(t), "Godot DTLS pipe client", func(port int) []string {
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
	g.waitOutput(t, "dtls connected") // Godot's stdout may lag the traffic
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
	pipePort, g := startGodotPort(t, godotBinary(t), "Godot DTLS pipe server", func(port int) []string {
		return []string{"dtls_pipe.gd", "server", strconv.Itoa(port), strconv.Itoa(srv.LocalPort()), certFile, keyFile}
	})
	cl := n.clientAtPort("localhost", pipePort, dtlsClient(t, cert.cert))
	n.until(godotWait, "the DTLS client to connect through Godot's DTLSServer", func() bool {
		g.failIfExited(t)
		return slicesContainsEvent(n.events[srv], Event{PeerConnected, cl.UniqueID()}) && cl.ConnectionStatus() == Connected
	})
	n.roundTrip(srv, cl, "through godot")
	g.waitOutput(t, "dtls connected") // Godot's stdout may lag the traffic
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

// startGodotPort starts a Godot script (on the binary bin) that binds a port on 127.0.0.1
// (args builds its arguments for a port) and returns the port once it
// listens, trying another port when Godot cannot bind it (exit code 3), as
// startGodotServer does.
func startGodotPort(t *testing.T, bin, name string, args func(port int) []string) (int, *godot) {
	t.Helper()
	const attempts = 3
	for attempt := 1; attempt <= attempts; attempt++ {
		port := freeUDPPort(t)
		a := args(port)
		g := startGodotBinary(t, bin, fmt.Sprintf("%s (attempt %d)", name, attempt), a[0], a[1:]...)
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
