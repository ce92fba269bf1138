package ecsnet

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/netburi/netburi/ecsnet/internal/relay"
)

// DTLS clients join a DTLS server with ECDSA and RSA certificates, by IP
// literal and by host name, and every transfer mode gets through both
// ways; the server sees the clients' real addresses.
func TestDTLSPeersExchangeInEveryMode(t *testing.T) {
	for _, tc := range []struct {
		name, address string
		rsa           bool
	}{
		{"ecdsa by ip", "127.0.0.1", false},
		{"rsa by ip", "127.0.0.1", true},
		{"ecdsa by name", "localhost", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkNoLeaks(t)
			cert := newTestCert(t, certOptions{rsa: tc.rsa})
			n := newTestNet(t)
			srv := n.server(4, dtlsServer(t, cert))
			a := n.clientAt(srv, tc.address, dtlsClient(t, cert.cert))
			b := n.clientAt(srv, tc.address, dtlsClient(t, cert.cert))
			for _, c := range []*Peer{a, b} {
				n.waitEvent(c, Event{ConnectionSucceeded, 0})
				n.waitEvent(srv, Event{PeerConnected, c.UniqueID()})
			}
			n.roundTrip(srv, a, "a")
			for _, mode := range []TransferMode{TransferUnreliable, TransferUnreliableOrdered, TransferReliable} {
				want := "to b " + mode.String()
				n.until(defaultWait, want, func() bool {
					send(t, a, b.UniqueID(), mode, want) // unreliable: again until it arrives
					return slices.Contains(n.received(b), want)
				})
			}
			if got, want := srv.PeerAddress(a.UniqueID()), "127.0.0.1"; got != want {
				t.Errorf("server sees a at %q, want %q", got, want)
			}
			if got, want := srv.PeerPort(a.UniqueID()), a.LocalPort(); got != want {
				t.Errorf("server sees a on port %d, a's port is %d", got, want)
			}
			st := srv.Stats().Transport
			if !st.Relayed || st.Sessions != 2 || st.PendingHandshakes != 0 || st.HandshakesFailed != 0 {
				t.Errorf("server transport stats %+v", st)
			}
		})
	}
}

func TestDTLSSettings(t *testing.T) {
	p := NewPeer()
	if p.DTLSEnabled() || !p.DTLSVerify() {
		t.Fatalf("defaults: enabled %v verify %v, want false and true", p.DTLSEnabled(), p.DTLSVerify())
	}
	cert := newTestCert(t, certOptions{})
	other := newTestCert(t, certOptions{})

	// A server needs a key and a certificate that match.
	must(t, p.SetBindIP("127.0.0.1"))
	must(t, p.SetDTLSEnabled(true))
	wantErr(t, p.CreateServer(0, 4, 0, 0), ErrInvalidParameter)
	must(t, p.SetDTLSCertificate(cert.cert))
	wantErr(t, p.CreateServer(0, 4, 0, 0), ErrInvalidParameter)
	must(t, p.SetDTLSKey(other.key))
	wantErr(t, p.CreateServer(0, 4, 0, 0), ErrInvalidParameter)
	must(t, p.SetDTLSKey(cert.key))
	must(t, p.CreateServer(0, 4, 0, 0))
	defer p.CloseConnection(0)

	for name, err := range map[string]error{
		"enabled":     p.SetDTLSEnabled(false),
		"verify":      p.SetDTLSVerify(false),
		"certificate": p.SetDTLSCertificate(nil),
		"key":         p.SetDTLSKey(nil),
	} {
		if !errors.Is(err, ErrAlreadyInUse) {
			t.Errorf("SetDTLS%s while active: %v, want already in use", name, err)
		}
	}

	// The PEM helper reads what the test wrote, as Godot would.
	for _, rsa := range []bool{false, true} {
		c := newTestCert(t, certOptions{rsa: rsa})
		certFile, keyFile := c.writePEM(t)
		gotCert, gotKey, err := LoadDTLSFiles(certFile, keyFile)
		must(t, err)
		if !gotCert.Equal(c.cert) || !gotKey.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(c.key.Public()) {
			t.Errorf("rsa %v: loaded certificate or key differs", rsa)
		}
		if _, k, err := LoadDTLSFiles(certFile, ""); err != nil || k != nil {
			t.Errorf("certificate only: key %v, %v", k, err)
		}
		_, _, err = LoadDTLSFiles(keyFile, keyFile) // no CERTIFICATE block
		wantErr(t, err, ErrInvalidParameter)
		_, _, err = LoadDTLSFiles(certFile, certFile) // no key
		wantErr(t, err, ErrInvalidParameter)
	}
}

// A client that cannot verify the server fails at once with
// ConnectionFailed and says why; the server and its other client go on.
func TestDTLSClientFailsCleanlyOnBadCertificates(t *testing.T) {
	good := newTestCert(t, certOptions{})
	expired := newTestCert(t, certOptions{notBefore: time.Now().Add(-48 * time.Hour), notAfter: time.Now().Add(-24 * time.Hour)})
	otherName := newTestCert(t, certOptions{dnsNames: []string{"elsewhere.example"}})
	stranger := newTestCert(t, certOptions{})
	for _, tc := range []struct {
		name    string
		server  testCert
		trust   *x509.Certificate // nil: system roots
		address string
		want    string // in the error
	}{
		{"wrong CA", good, stranger.cert, "127.0.0.1", "certificate"},
		{"system roots", good, nil, "127.0.0.1", "certificate"},
		{"wrong host name", good, good.cert, "localhost", "certificate"}, // cert for 127.0.0.1 only below
		{"expired", expired, expired.cert, "127.0.0.1", "expired"},
		{"other name", otherName, otherName.cert, "localhost", "certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkNoLeaks(t)
			srvCert := tc.server
			if tc.name == "wrong host name" {
				srvCert = newTestCert(t, certOptions{ips: []net.IP{net.IPv4(127, 0, 0, 1)}})
				tc.trust = srvCert.cert
			}
			n := newTestNet(t)
			srv := n.server(4, dtlsServer(t, srvCert))
			var honest *Peer
			{
				honest = n.clientAt(srv, "127.0.0.1", dtlsClient(t, nil), func(p *Peer) { must(t, p.SetDTLSVerify(false)) })
				n.waitEvent(honest, Event{ConnectionSucceeded, 0})
			}
			// It fails on the certificate itself (the error below says so),
			// not after a handshake or connect timeout.
			bad := n.clientAt(srv, tc.address, dtlsClient(t, tc.trust))
			n.waitEvent(bad, Event{ConnectionFailed, 0})
			if got := n.events[bad]; !slices.Equal(got, []Event{{ConnectionFailed, 0}}) {
				t.Errorf("bad client events %v", got)
			}
			if err := bad.TransportError(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("transport error %v, want one about %q", err, tc.want)
			}
			if bad.ConnectionStatus() != Disconnected {
				t.Errorf("bad client status %v", bad.ConnectionStatus())
			}
			if honest != nil {
				n.roundTrip(srv, honest, "after")
			}
			// Verify off accepts the same server.
			must(t, bad.SetDTLSVerify(false))
			must(t, bad.CreateClient(tc.address, srv.LocalPort(), 0, 0, 0))
			n.waitEvent(bad, Event{ConnectionSucceeded, 0})
			n.waitEvent(srv, Event{PeerConnected, bad.UniqueID()})
			n.roundTrip(srv, bad, "unverified")
		})
	}
}

// A plaintext client of a DTLS server and a DTLS client of a plaintext
// server both fail; the DTLS server counts the plaintext datagrams as
// garbage and its DTLS client keeps playing.
func TestDTLSAndPlaintextDoNotMix(t *testing.T) {
	checkNoLeaks(t)
	cert := newTestCert(t, certOptions{})
	n := newTestNet(t)
	srv := n.server(4, dtlsServer(t, cert))
	honest := n.connected(srv, dtlsClient(t, cert.cert))

	plain := n.client(srv, shortTimeout(t))
	n.waitEvent(plain, Event{ConnectionFailed, 0})
	if g := srv.Stats().Transport.Garbage; g == 0 {
		t.Error("the DTLS server counted no garbage")
	}
	n.roundTrip(srv, honest, "still")

	plainSrv := n.server(4)
	dc := n.client(plainSrv, dtlsClient(t, cert.cert), func(p *Peer) { p.tuning.HandshakeTimeout = 500 * time.Millisecond })
	n.waitEvent(dc, Event{ConnectionFailed, 0})
	if err := dc.TransportError(); err == nil {
		t.Error("no transport error for a handshake nobody answered")
	}
	if len(plainSrv.Peers()) != 0 {
		t.Errorf("plain server has peers %v", plainSrv.Peers())
	}
}

// The server answers a ClientHello without a cookie with a stateless
// HelloVerifyRequest and keeps nothing for it: a flood of hellos from many
// addresses leaves no pending handshake. Remotes that return the cookie
// (so receive at their address) but never finish their handshake are held
// to MaxPending (the rest refused, counted) and expire after
// HandshakeTimeout, while the connected client keeps playing; a new client
// joins afterwards. Garbage datagrams are dropped and counted.
func TestDTLSServerBoundsHalfOpenHandshakes(t *testing.T) {
	checkNoLeaks(t)
	cert := newTestCert(t, certOptions{})
	n := newTestNet(t)
	const maxPending = 8
	srv := n.server(8, dtlsServer(t, cert), func(p *Peer) {
		p.tuning = relay.Tuning{MaxPending: maxPending, HandshakeTimeout: 600 * time.Millisecond, PendingTimeout: 600 * time.Millisecond}
	})
	honest := n.connected(srv, dtlsClient(t, cert.cert))
	hello := captureClientHello(t)
	target := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.LocalPort()}

	// askCookie sends the hello from c and returns the cookie of the
	// HelloVerifyRequest (handshake type 3) that answers it.
	askCookie := func(c net.PacketConn) []byte {
		t.Helper()
		_, err := c.WriteTo(hello, target)
		must(t, err)
		reply := make([]byte, 2048)
		must(t, c.SetReadDeadline(time.Now().Add(defaultWait)))
		for {
			m, _, err := c.ReadFrom(reply)
			must(t, err)
			if m > 13+12+3 && reply[0] == 22 && reply[13] == 3 && m == 13+12+3+int(reply[13+12+2]) {
				return append([]byte(nil), reply[13+12+3:m]...)
			}
		}
	}
	askCookie(listenUDP(t))

	// Garbage: nothing like a hello.
	junk := listenUDP(t)
	for _, g := range [][]byte{{}, {0}, []byte("GET / HTTP/1.1"), append([]byte{23, 0xfe, 0xfd}, make([]byte, 40)...), hello[:20]} {
		_, err := junk.WriteTo(g, target)
		must(t, err)
	}
	n.until(defaultWait, "garbage counted", func() bool { return srv.Stats().Transport.Garbage >= 5 })

	// The flood: 40 addresses, each with one hello, none returning the cookie.
	maxSeen := 0
	for range 40 {
		c := listenUDP(t)
		_, err := c.WriteTo(hello, target)
		must(t, err)
	}
	n.until(defaultWait, "the flood answered", func() bool {
		st := srv.Stats().Transport
		maxSeen = max(maxSeen, st.PendingHandshakes)
		return st.HelloVerifies >= 41
	})
	if maxSeen != 0 {
		t.Errorf("hellos without a returned cookie made %d pending handshakes", maxSeen)
	}
	// Remotes that return the cookie and stop there: at most maxPending
	// are kept.
	const proven = maxPending + 4
	for range proven {
		c := listenUDP(t)
		_, err := c.WriteTo(withCookie(t, hello, askCookie(c)), target)
		must(t, err)
	}
	n.until(defaultWait, "the proven remotes bounded", func() bool {
		st := srv.Stats().Transport
		maxSeen = max(maxSeen, st.PendingHandshakes)
		return st.Refused >= proven-maxPending
	})
	n.roundTrip(srv, honest, "during the half-open handshakes")
	n.until(defaultWait, "half-open handshakes to expire", func() bool {
		st := srv.Stats().Transport
		maxSeen = max(maxSeen, st.PendingHandshakes)
		return st.PendingHandshakes == 0
	})
	if maxSeen > maxPending {
		t.Errorf("%d pending handshakes, cap %d", maxSeen, maxPending)
	}
	st := srv.Stats().Transport
	if st.Refused != proven-maxPending || st.HandshakesFailed != maxPending || st.Sessions != 1 {
		t.Errorf("after the flood: %+v", st)
	}
	late := n.connected(srv, dtlsClient(t, cert.cert))
	n.roundTrip(srv, late, "late")
	n.roundTrip(srv, honest, "after the flood")
}

func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	must(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

// captureClientHello returns the first datagram a pion DTLS client sends.
func captureClientHello(t *testing.T) []byte {
	t.Helper()
	sink := listenUDP(t)
	conn := listenUDP(t)
	cl, err := dtls.Client(conn, sink.LocalAddr(), &dtls.Config{InsecureSkipVerify: true, CipherSuites: dtlsSuites, LoggerFactory: quietLogs()})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = cl.HandshakeContext(ctx)
	}()
	buf := make([]byte, 2048)
	must(t, sink.SetReadDeadline(time.Now().Add(defaultWait)))
	n, _, err := sink.ReadFrom(buf)
	cancel()
	<-done
	cl.Close()
	must(t, err)
	if !relay.LooksLikeClientHello(buf[:n]) {
		t.Fatalf("captured %x is not a ClientHello", buf[:n])
	}
	return buf[:n]
}

// DTLS clients connect and close one after another on a server with two
// slots: each connects at once, because each goodbye reaches the server
// and frees its slot (a lost one would hold the slot until ENet's
// timeout). Nothing leaks.
func TestDTLSClientsComeAndGoWithoutStalls(t *testing.T) {
	checkNoLeaks(t)
	cert := newTestCert(t, certOptions{})
	n := newTestNet(t)
	srv := n.server(2, dtlsServer(t, cert))
	n.manual[srv] = true
	cl := NewPeer()
	dtlsClient(t, cert.cert)(cl)
	for i := range 30 {
		start := time.Now()
		must(t, cl.CreateClient("127.0.0.1", srv.LocalPort(), 0, 0, 0))
		for connected := false; !connected; {
			// A slot held by a lost goodbye frees only at ENet's peer
			// timeout (5 s at the least); a busy machine can take a
			// second or two for a handshake.
			if time.Since(start) > 4*time.Second {
				t.Fatalf("connection %d stalled; server peers %v", i, srv.Peers())
			}
			must(t, cl.PollWait(time.Millisecond))
			must(t, srv.Poll())
			for ev, ok := cl.NextEvent(); ok; ev, ok = cl.NextEvent() {
				connected = connected || ev.Kind == ConnectionSucceeded
			}
		}
		cl.CloseConnection(0)
		must(t, srv.Poll())
	}
	n.until(defaultWait, "the server to see every client leave", func() bool {
		return len(srv.Peers()) == 0 && srv.Stats().Transport.Sessions == 0
	})
}

// A DTLS server behind a lossy, jittery, duplicating link (its conditioner
// delivers on a goroutine of its own, beside the socket's reader): every
// client's handshake still completes (the lost flights are repeated),
// duplicated records reach ENet once, and reliable packets arrive in order.
func TestDTLSHandshakesThroughALossyLink(t *testing.T) {
	cert := newTestCert(t, certOptions{})
	n := newTestNet(t)
	lossy := LinkDirection{Loss: 0.1, Latency: 5 * time.Millisecond, Jitter: 5 * time.Millisecond, Duplicate: 0.1}
	srv := n.server(8, dtlsServer(t, cert), func(p *Peer) {
		must(t, p.SetLinkConditioner(LinkConditions{Seed: 7, In: lossy, Out: lossy}))
	})
	clients := make([]*Peer, 4)
	for i := range clients {
		clients[i] = n.client(srv, dtlsClient(t, cert.cert))
	}
	for _, c := range clients {
		n.waitEvent(c, Event{ConnectionSucceeded, 0})
		n.waitEvent(srv, Event{PeerConnected, c.UniqueID()})
	}
	for i, c := range clients {
		for k := range 20 {
			send(t, srv, c.UniqueID(), TransferReliable, fmt.Sprintf("%d:%d", i, k))
		}
	}
	for i, c := range clients {
		n.until(defaultWait, "every reliable packet", func() bool { return len(n.received(c)) >= 20 })
		for k, got := range n.received(c)[:20] {
			if want := fmt.Sprintf("%d:%d", i, k); got != want {
				t.Fatalf("client %d got %q where %q was due", i, got, want)
			}
		}
	}
	if st := srv.Stats().Transport; st.Sessions != len(clients) || st.PendingHandshakes != 0 {
		t.Errorf("server transport stats %+v", st)
	}
}
