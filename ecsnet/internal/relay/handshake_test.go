package relay

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	pionelliptic "github.com/pion/dtls/v3/pkg/crypto/elliptic"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
)

// Test certificates, made once: an RSA key takes a while.
var (
	certOnce           sync.Once
	ecdsaCert, rsaCert tls.Certificate
)

func testCerts(t testing.TB) (ecdsaC, rsaC tls.Certificate) {
	t.Helper()
	certOnce.Do(func() {
		ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		if ecdsaCert, err = selfsign.SelfSign(ek); err != nil {
			panic(err)
		}
		if rsaCert, err = selfsign.SelfSign(rk); err != nil {
			panic(err)
		}
	})
	return ecdsaCert, rsaCert
}

// dtlsServer is a DTLS server relay in front of a UDP socket standing in
// for the ENet host.
type dtlsServer struct {
	r    *Relay
	enet *net.UDPConn
	addr netip.AddrPort // the relay's public address
}

func newDTLSServer(t *testing.T, cert tls.Certificate, cfg func(*dtls.Config), tuning Tuning) *dtlsServer {
	t.Helper()
	enet := listenLoopback(t)
	c := &dtls.Config{Certificates: []tls.Certificate{cert}, ExtendedMasterSecret: dtls.RequestExtendedMasterSecret}
	if cfg != nil {
		cfg(c)
	}
	r, err := New(Config{
		Server: true, Network: "udp4", Public: netip.MustParseAddrPort("127.0.0.1:0"),
		ENet: enet.LocalAddr().(*net.UDPAddr).AddrPort(), DTLS: c, Tuning: tuning,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return &dtlsServer{r: r, enet: enet, addr: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(r.Port()))}
}

// dial runs a pion client's handshake with the server (through via, when
// set) and returns it, or the handshake's error.
func dial(t *testing.T, to netip.AddrPort, cfg *dtls.Config) (*dtls.Conn, error) {
	t.Helper()
	conn := listenLoopback(t)
	if cfg == nil {
		cfg = &dtls.Config{}
	}
	cfg.InsecureSkipVerify = true
	cl, err := dtls.Client(conn, net.UDPAddrFromAddrPort(to), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl, cl.HandshakeContext(ctx)
}

// echo checks that msg from the client reaches "ENet" and ENet's answer
// reaches the client, and returns ENet's view of the client's address.
func (s *dtlsServer) echo(t *testing.T, cl *dtls.Conn, msg string) *net.UDPAddr {
	t.Helper()
	if _, err := cl.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxDatagram)
	_ = s.enet.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := s.enet.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != msg {
		t.Fatalf("ENet got %q, %v; want %q", buf[:n], err, msg)
	}
	if _, err := s.enet.WriteToUDP([]byte("re:"+msg), from); err != nil {
		t.Fatal(err)
	}
	_ = cl.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err = cl.Read(buf)
	if err != nil || string(buf[:n]) != "re:"+msg {
		t.Fatalf("the client got %q, %v; want %q", buf[:n], err, "re:"+msg)
	}
	return from
}

// waitStats polls the relay's counters until ok holds (or fails the test
// after five seconds).
func (s *dtlsServer) waitStats(t *testing.T, what string, ok func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := s.r.Stats()
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: never; stats %+v", what, st)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// A pion client completes the relay's own handshake with every suite
// netburi offers, with either kind of certificate, every named group and
// with or without the extended master secret; its datagrams reach ENet and
// ENet's reach it, through the relay's record layer; its close_notify ends
// the session.
func TestServerHandshakeWithPionClients(t *testing.T) {
	ec, rc := testCerts(t)
	cases := []struct {
		name  string
		cert  tls.Certificate
		suite dtls.CipherSuiteID
		curve pionelliptic.Curve
		ems   dtls.ExtendedMasterSecretType
	}{
		{"ecdsa-aes128-x25519", ec, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, pionelliptic.X25519, dtls.RequireExtendedMasterSecret},
		{"ecdsa-aes256-p256", ec, dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, pionelliptic.P256, dtls.RequireExtendedMasterSecret},
		{"ecdsa-chacha-p384", ec, dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, pionelliptic.P384, dtls.RequireExtendedMasterSecret},
		{"ecdsa-aes128-no-ems", ec, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, pionelliptic.X25519, dtls.DisableExtendedMasterSecret},
		{"rsa-aes128", rc, dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, pionelliptic.X25519, dtls.RequireExtendedMasterSecret},
		{"rsa-aes256-no-ems", rc, dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, pionelliptic.P256, dtls.DisableExtendedMasterSecret},
		{"rsa-chacha", rc, dtls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, pionelliptic.P384, dtls.RequireExtendedMasterSecret},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newDTLSServer(t, c.cert, nil, Tuning{})
			cl, err := dial(t, s.addr, &dtls.Config{
				CipherSuites: []dtls.CipherSuiteID{c.suite}, EllipticCurves: []pionelliptic.Curve{c.curve},
				ExtendedMasterSecret: c.ems,
			})
			if err != nil {
				t.Fatal(err)
			}
			if st, ok := cl.ConnectionState(); !ok || st.CipherSuiteID != c.suite {
				t.Fatalf("negotiated %v, want %v", st.CipherSuiteID, c.suite)
			}
			s.echo(t, cl, "one")
			s.echo(t, cl, "two")
			st := s.r.Stats()
			if st.Sessions != 1 || st.Pending != 0 || st.HelloVerifies != 1 || st.HandshakesFailed != 0 {
				t.Errorf("after the handshake: %+v", st)
			}
			cl.Close()
			s.waitStats(t, "the session ends with the client's close_notify", func(st Stats) bool { return st.Sessions == 0 })
		})
	}
}

// proxy sits between a client and the server and may change, drop or
// repeat the client's datagrams (toServer) or the server's (toClient).
type proxy struct {
	conn     *net.UDPConn
	server   *net.UDPAddr
	client   atomic.Pointer[net.UDPAddr]
	toServer func(b []byte) [][]byte // nil: as is
	toClient func(b []byte) [][]byte
}

func newProxy(t *testing.T, server netip.AddrPort) *proxy {
	t.Helper()
	p := &proxy{conn: listenLoopback(t), server: net.UDPAddrFromAddrPort(server)}
	return p
}

func (p *proxy) start() netip.AddrPort {
	go func() {
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := p.conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			b := append([]byte(nil), buf[:n]...)
			if from.Port == p.server.Port {
				to := p.client.Load()
				if to == nil {
					continue
				}
				out := [][]byte{b}
				if p.toClient != nil {
					out = p.toClient(b)
				}
				for _, d := range out {
					_, _ = p.conn.WriteToUDP(d, to)
				}
				continue
			}
			p.client.Store(from)
			out := [][]byte{b}
			if p.toServer != nil {
				out = p.toServer(b)
			}
			for _, d := range out {
				_, _ = p.conn.WriteToUDP(d, p.server)
			}
		}
	}()
	return p.conn.LocalAddr().(*net.UDPAddr).AddrPort()
}

// firstHandshakeType is the handshake type of a datagram's first epoch-0
// handshake record (0 if none).
func firstHandshakeType(b []byte) byte {
	if len(b) > recordHeaderSize && b[0] == contentHandshake && b[3] == 0 && b[4] == 0 {
		return b[recordHeaderSize]
	}
	return 0
}

// When the server's flights are lost, the client repeats its own and the
// server repeats its answer: the handshake completes through the loss of
// the whole first flight twice and of the last flight once.
func TestServerHandshakeRepeatsLostFlights(t *testing.T) {
	ec, _ := testCerts(t)
	s := newDTLSServer(t, ec, nil, Tuning{})
	p := newProxy(t, s.addr)
	var lostFirst, lostLast atomic.Int32
	p.toClient = func(b []byte) [][]byte {
		if firstHandshakeType(b) == handshakeServerHi && lostFirst.Add(1) <= 2 {
			return nil
		}
		if len(b) > 0 && b[0] == contentCCS && lostLast.Add(1) <= 1 {
			return nil
		}
		return [][]byte{b}
	}
	cl, err := dial(t, p.start(), &dtls.Config{FlightInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if lostFirst.Load() < 3 || lostLast.Load() < 2 {
		t.Fatalf("flights seen: first %d, last %d; the test lost nothing", lostFirst.Load(), lostLast.Load())
	}
	s.echo(t, cl, "after the losses")
}

// flipServerName changes the last byte of the server_name extension of the
// ClientHello in datagram b, reporting whether it found one.
func flipServerName(b []byte) bool {
	_, body, ok := epoch0Handshake(b)
	if !ok {
		return false
	}
	r := reader(body)
	r.take(2 + 32)
	r.vec8()
	r.vec8()
	r.vec16()
	r.vec8()
	exts, _ := r.vec16()
	for e := reader(exts); len(e) > 0; {
		typ, _ := e.take(2)
		data, ok := e.vec16()
		if !ok {
			return false
		}
		if typ[0] == 0 && typ[1] == 0 && len(data) > 0 {
			data[len(data)-1] ^= 1
			return true
		}
	}
	return false
}

// A man in the middle who changes the client's hello (here a letter of
// the server name, which the cookie does not cover) makes the two ends'
// transcripts differ, and the handshake fails. Without the extended master
// secret the keys still agree: the server reads the client's Finished,
// finds it wrong and says so (decrypt_error). With it the keys differ: the
// client's Finished does not open and is dropped, as anything undecryptable
// is (a forged record must not end someone's handshake), and the handshake
// times out on both ends.
func TestServerHandshakeDetectsATamperedHello(t *testing.T) {
	ec, _ := testCerts(t)
	for _, ems := range []dtls.ExtendedMasterSecretType{dtls.DisableExtendedMasterSecret, dtls.RequireExtendedMasterSecret} {
		s := newDTLSServer(t, ec, nil, Tuning{HandshakeTimeout: 500 * time.Millisecond})
		p := newProxy(t, s.addr)
		var sawAlert atomic.Bool
		p.toServer = func(b []byte) [][]byte {
			if ch, ok := parseClientHello(b); ok && len(ch.cookie) > 0 && !flipServerName(b) {
				t.Error("no server_name in the hello")
			}
			return [][]byte{b}
		}
		p.toClient = func(b []byte) [][]byte {
			if len(b) == recordHeaderSize+2 && b[0] == contentAlert && b[recordHeaderSize+1] == alertDecryptError {
				sawAlert.Store(true)
			}
			return [][]byte{b}
		}
		conn := listenLoopback(t)
		cl, err := dtls.Client(conn, net.UDPAddrFromAddrPort(p.start()), &dtls.Config{
			InsecureSkipVerify: true, ServerName: "tampered.example", ExtendedMasterSecret: ems,
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err = cl.HandshakeContext(ctx)
		cancel()
		cl.Close()
		if err == nil {
			t.Fatalf("ems %v: the handshake succeeded through a tampered hello", ems)
		}
		if want := ems == dtls.DisableExtendedMasterSecret; sawAlert.Load() != want {
			t.Errorf("ems %v: decrypt_error alert %v, want %v", ems, sawAlert.Load(), want)
		}
		s.waitStats(t, "the failed handshake is counted and its session gone", func(st Stats) bool {
			return st.HandshakesFailed == 1 && st.Sessions == 0
		})
	}
}

// A cookie proves only the address it was made for: the same hello from
// another port, carrying it, makes no session and is counted; a cookie
// that was changed is refused too.
func TestCookieIsBoundToTheAddress(t *testing.T) {
	ec, _ := testCerts(t)
	s := newDTLSServer(t, ec, nil, Tuning{})
	a, b := listenLoopback(t), listenLoopback(t)
	pub := net.UDPAddrFromAddrPort(s.addr)
	hello := handshakeDatagram(handshakeClientHi, clientHelloBody(nil, nil))
	if _, err := a.WriteToUDP(hello, pub); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxDatagram)
	_ = a.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := a.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	cookie, ok := helloVerifyCookie(buf[:n])
	if !ok || len(cookie) != cookieSize {
		t.Fatalf("answer %x is no HelloVerifyRequest", buf[:n])
	}
	if n >= len(hello) {
		t.Errorf("the HelloVerifyRequest (%d bytes) is not smaller than the hello (%d)", n, len(hello))
	}
	for i, send := range []struct {
		from   *net.UDPConn
		cookie []byte
	}{{b, cookie}, {a, append(append([]byte(nil), cookie[:cookieSize-1]...), cookie[cookieSize-1]^1)}} {
		if _, err := send.from.WriteToUDP(handshakeDatagram(handshakeClientHi, clientHelloBody(nil, send.cookie)), pub); err != nil {
			t.Fatal(err)
		}
		st := s.waitStats(t, "the bad cookie is counted", func(st Stats) bool { return st.BadCookies == uint64(i+1) })
		if st.Sessions != 0 || st.Pending != 0 {
			t.Fatalf("case %d: a session for a bad cookie: %+v", i, st)
		}
	}
}

// A flood of ClientHellos from many ports (as from forged addresses)
// costs the server no session: each is answered by a stateless
// HelloVerifyRequest and forgotten, and a real client joining meanwhile
// gets in.
func TestHelloFloodKeepsNoState(t *testing.T) {
	ec, _ := testCerts(t)
	s := newDTLSServer(t, ec, nil, Tuning{MaxPending: 4})
	pub := net.UDPAddrFromAddrPort(s.addr)
	const senders, each = 50, 20
	hello := handshakeDatagram(handshakeClientHi, clientHelloBody(nil, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var sent atomic.Uint64
	var peak atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		socks := make([]*net.UDPConn, senders)
		for i := range socks {
			socks[i] = listenLoopback(t)
		}
		for range each {
			for _, c := range socks {
				if ctx.Err() != nil {
					return
				}
				if _, err := c.WriteToUDP(hello, pub); err == nil {
					sent.Add(1)
				}
				if v := int64(s.r.Stats().Sessions); v > peak.Load() {
					peak.Store(v)
				}
			}
			time.Sleep(time.Millisecond) // a flood, not a burst the kernel drops
		}
	}()
	cl, err := dial(t, s.addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.echo(t, cl, "joined during the flood")
	wg.Wait()
	want := sent.Load() + 1 // and the client's
	st := s.waitStats(t, "every hello answered", func(st Stats) bool { return st.HelloVerifies+st.Garbage >= want })
	if st.HelloVerifies < want*9/10 {
		t.Errorf("%d hellos answered of %d", st.HelloVerifies, want)
	}
	if peak.Load() > 1 || st.Sessions != 1 || st.Refused != 0 {
		t.Errorf("the flood made sessions: peak %d; %+v", peak.Load(), st)
	}
}

// After the handshake, a datagram the network repeats reaches ENet once:
// the record layer's replay window drops the copy and counts it.
func TestServerSessionDropsReplayedRecords(t *testing.T) {
	ec, _ := testCerts(t)
	s := newDTLSServer(t, ec, nil, Tuning{})
	p := newProxy(t, s.addr)
	var repeat atomic.Bool
	p.toServer = func(b []byte) [][]byte {
		if repeat.Load() && len(b) > 0 && b[0] == contentApplication {
			return [][]byte{b, b, b}
		}
		return [][]byte{b}
	}
	cl, err := dial(t, p.start(), nil)
	if err != nil {
		t.Fatal(err)
	}
	before := s.r.Stats().Garbage
	repeat.Store(true)
	s.echo(t, cl, "first")
	s.echo(t, cl, "second") // a copy of "first" would arrive before it
	s.waitStats(t, "the copies are counted", func(st Stats) bool { return st.Garbage >= before+4 })
}

// A configuration the relay's handshake cannot honour is refused at New,
// with the reason.
func TestServerRefusesConfigurationsItCannotHonour(t *testing.T) {
	ec, rc := testCerts(t)
	enet := listenLoopback(t)
	for name, c := range map[string]*dtls.Config{
		"no certificate":         {},
		"client auth":            {Certificates: []tls.Certificate{ec}, ClientAuth: dtls.RequireAnyClientCert},
		"rsa key, ecdsa only":    {Certificates: []tls.Certificate{rc}, CipherSuites: []dtls.CipherSuiteID{dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}},
		"a key that cannot sign": {Certificates: []tls.Certificate{{Certificate: ec.Certificate, PrivateKey: crypto.PrivateKey("nope")}}},
	} {
		r, err := New(Config{Server: true, Network: "udp4", Public: netip.MustParseAddrPort("127.0.0.1:0"),
			ENet: enet.LocalAddr().(*net.UDPAddr).AddrPort(), DTLS: c})
		if !errors.Is(err, errDTLSConfig) {
			t.Errorf("%s: %v, want errDTLSConfig", name, err)
		}
		if r != nil {
			r.Close()
		}
	}
}

// fuzzHello is the ClientHello FuzzServerHandshake's handshakes start
// from: X25519, ECDSA with SHA-256, the extended master secret, the
// first suite netburi offers, message_seq 1 (after a HelloVerifyRequest).
func fuzzHello() []byte {
	exts := []byte{0, 10, 0, 4, 0, 2, 0, 29, 0, 13, 0, 4, 0, 2, 4, 3, 0, 23, 0, 0}
	b := clientHelloBody(nil, []byte("cookie"))
	b = append(b, byte(len(exts)>>8), byte(len(exts)))
	d := handshakeDatagram(handshakeClientHi, append(b, exts...))
	d[recordHeaderSize+5] = 1 // message_seq
	return d
}

// FuzzServerHandshake: whatever two datagrams a client sends after its
// hello, the server's handshake never panics, never reads past them,
// answers only with its own flights, and never finishes (a Finished needs
// the keys).
func FuzzServerHandshake(f *testing.F) {
	ec, _ := testCerts(f)
	creds, err := newServerCreds(&dtls.Config{Certificates: []tls.Certificate{ec}})
	if err != nil {
		f.Fatal(err)
	}
	hello := fuzzHello()
	cke := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 2, 0, 45, 16, 0, 0, 33, 0, 2, 0, 0, 0, 0, 0, 33, 32}
	cke = append(cke, bytes.Repeat([]byte{9}, 32)...)
	f.Add(cke, []byte{20, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 3, 0, 1, 1})
	f.Add(hello, []byte{21, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 3, 0, 2, 2, 40})
	f.Add(cke, append([]byte{22, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 0, 0, 40}, make([]byte, 40)...))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		ch, ok := parseClientHello(hello)
		if !ok {
			t.Fatal("the hello does not parse")
		}
		h, err := newServerHS(creds, &ch)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range [][]byte{a, b} {
			send, err := h.handle(d[:len(d):len(d)])
			if err != nil {
				return
			}
			for _, s := range send {
				if !slices.ContainsFunc(h.flight4, func(f []byte) bool { return &f[0] == &s[0] }) &&
					(h.flight6 == nil || &s[0] != &h.flight6[0]) {
					t.Fatalf("sent %x, not a flight of the server's", s)
				}
			}
		}
		if h.done {
			t.Fatal("the handshake finished without the client's Finished")
		}
	})
}

// Once a session is established, what anyone can send from its client's
// address without its keys does not end it: a copy of the client's
// cookie-bearing hello (a network duplicate, or a replay), a plaintext
// fatal alert, a forged encrypted alert. ENet's traffic goes on.
func TestEstablishedSessionIgnoresForgeries(t *testing.T) {
	ec, _ := testCerts(t)
	s := newDTLSServer(t, ec, nil, Tuning{})
	p := newProxy(t, s.addr)
	var hello atomic.Pointer[[]byte]
	p.toServer = func(b []byte) [][]byte {
		if ch, ok := parseClientHello(b); ok && len(ch.cookie) > 0 {
			c := append([]byte(nil), b...)
			hello.Store(&c)
		}
		return [][]byte{b}
	}
	cl, err := dial(t, p.start(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s.echo(t, cl, "before")
	pub := net.UDPAddrFromAddrPort(s.addr)
	forged := [][]byte{
		*hello.Load(),
		{contentAlert, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, alertFatal, alertHandshakeFailure},
		append([]byte{contentAlert, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 26}, make([]byte, 26)...),
	}
	for _, f := range forged {
		if _, err := p.conn.WriteToUDP(f, pub); err != nil {
			t.Fatal(err)
		}
	}
	s.echo(t, cl, "after")
	if st := s.r.Stats(); st.Sessions != 1 || st.HandshakesFailed != 0 {
		t.Errorf("after the forgeries: %+v", st)
	}
}

// A netburi DTLS client relay joins a netburi DTLS server relay: pion's
// client handshake against the relay's own server. Once done, the client's
// record layer has taken its application data over from pion (both ways),
// and pion is shown nothing it could deliver past the record layer's
// replay window: a datagram of two application records, genuine ones
// sealed by the server, is dropped and counted, not handed to pion.
func TestClientRelayTakesOverFromPion(t *testing.T) {
	ec, _ := testCerts(t)
	s := newDTLSServer(t, ec, nil, Tuning{})
	enetC := listenLoopback(t)
	c, err := New(Config{
		Network: "udp4", Remote: s.addr, ENet: enetC.LocalAddr().(*net.UDPAddr).AddrPort(),
		DTLS: &dtls.Config{InsecureSkipVerify: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	// ENet's first datagram starts the client's handshake.
	if _, err := enetC.WriteToUDP([]byte("connect"), net.UDPAddrFromAddrPort(c.Loopback())); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxDatagram)
	_ = s.enet.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := s.enet.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != "connect" {
		t.Fatalf("server ENet got %q, %v", buf[:n], err)
	}
	if c.client.rl.Load() == nil {
		t.Fatal("the client's record layer did not take over from pion")
	}
	if _, err := s.enet.WriteToUDP([]byte("verify_connect"), from); err != nil {
		t.Fatal(err)
	}
	_ = enetC.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := enetC.ReadFromUDP(buf); err != nil || string(buf[:n]) != "verify_connect" {
		t.Fatalf("client ENet got %q, %v", buf[:n], err)
	}

	s.r.mu.Lock()
	var srl *recordLayer
	for _, ss := range s.r.byRemote {
		srl = ss.rl.Load()
	}
	s.r.mu.Unlock()
	one, _ := srl.seal(nil, contentApplication, []byte("one"))
	two, _ := srl.seal(one, contentApplication, []byte("two"))
	before := c.Stats().Garbage
	if _, err := s.r.pub.WriteToUDPAddrPort(two, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(c.Port()))); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for c.Stats().Garbage == before {
		if time.Now().After(deadline) {
			t.Fatal("a datagram of two application records was not dropped")
		}
		time.Sleep(time.Millisecond)
	}
}

// helloWith is a cookie-bearing ClientHello (message_seq 1) with the given
// version, suites, compression methods and extensions.
func helloWith(version uint16, suites []uint16, compression []byte, exts ...[]byte) []byte {
	return helloWithCookie([]byte("cookie"), version, suites, compression, exts...)
}

func helloWithCookie(cookie []byte, version uint16, suites []uint16, compression []byte, exts ...[]byte) []byte {
	b := []byte{byte(version >> 8), byte(version)}
	b = append(b, make([]byte, 32)...)
	b = append(b, 0, byte(len(cookie)))
	b = append(b, cookie...)
	b = append(b, 0, byte(2*len(suites)))
	for _, s := range suites {
		b = append(b, byte(s>>8), byte(s))
	}
	b = append(b, byte(len(compression)))
	b = append(b, compression...)
	var all []byte
	for _, e := range exts {
		all = append(all, e...)
	}
	b = append(b, byte(len(all)>>8), byte(len(all)))
	d := handshakeDatagram(handshakeClientHi, append(b, all...))
	d[recordHeaderSize+5] = 1
	return d
}

func ext(typ uint16, data ...byte) []byte {
	return append([]byte{byte(typ >> 8), byte(typ), byte(len(data) >> 8), byte(len(data))}, data...)
}

// The server refuses a hello it cannot serve with the alert that says why,
// before making any flight; a hello it can serve gets ECDHE with the
// client's group, the extended master secret when offered, and an answer
// to the secure renegotiation signal.
func TestServerHandshakeNegotiates(t *testing.T) {
	ec, rc := testCerts(t)
	ecCreds, err := newServerCreds(&dtls.Config{Certificates: []tls.Certificate{ec}})
	if err != nil {
		t.Fatal(err)
	}
	rsaCreds, err := newServerCreds(&dtls.Config{Certificates: []tls.Certificate{rc}})
	if err != nil {
		t.Fatal(err)
	}
	emsCreds, err := newServerCreds(&dtls.Config{Certificates: []tls.Certificate{ec}, ExtendedMasterSecret: dtls.RequireExtendedMasterSecret})
	if err != nil {
		t.Fatal(err)
	}
	const ecdsaSuite, rsaSuite = 0xc02b, 0xc02f
	groups := ext(extSupportedGroups, 0, 2, 0, 23)
	ecdsaSig, rsaSig := ext(extSignatureAlgs, 0, 2, 4, 3), ext(extSignatureAlgs, 0, 2, 4, 1)
	null := []byte{0}
	for _, c := range []struct {
		name  string
		creds *serverCreds
		hello []byte
		alert byte // 0: accepted
	}{
		{"ecdsa", ecCreds, helloWith(dtls12Version, []uint16{ecdsaSuite}, null, groups, ecdsaSig), 0},
		{"rsa", rsaCreds, helloWith(dtls12Version, []uint16{ecdsaSuite, rsaSuite}, null, groups, rsaSig), 0},
		{"no groups sent: P-256", ecCreds, helloWith(dtls12Version, []uint16{ecdsaSuite}, null, ecdsaSig), 0},
		{"DTLS 1.0 only", ecCreds, helloWith(dtls10Version, []uint16{ecdsaSuite}, null, groups, ecdsaSig), alertProtocolVersion},
		{"no common suite", rsaCreds, helloWith(dtls12Version, []uint16{ecdsaSuite}, null, groups, rsaSig), alertHandshakeFailure},
		{"no common group", ecCreds, helloWith(dtls12Version, []uint16{ecdsaSuite}, null, ext(extSupportedGroups, 0, 2, 0, 25), ecdsaSig), alertHandshakeFailure},
		{"no common signature", ecCreds, helloWith(dtls12Version, []uint16{ecdsaSuite}, null, groups, rsaSig), alertHandshakeFailure},
		{"no signature_algorithms", ecCreds, helloWith(dtls12Version, []uint16{ecdsaSuite}, null, groups), alertHandshakeFailure},
		{"no null compression", ecCreds, helloWith(dtls12Version, []uint16{ecdsaSuite}, []byte{1}, groups, ecdsaSig), alertIllegalParameter},
		{"compressed points only", ecCreds, helloWith(dtls12Version, []uint16{ecdsaSuite}, null, groups, ecdsaSig, ext(extPointFormats, 1, 1)), alertIllegalParameter},
		{"renegotiation", ecCreds, helloWith(dtls12Version, []uint16{ecdsaSuite}, null, groups, ecdsaSig, ext(extRenegotiation, 1, 5)), alertHandshakeFailure},
		{"no extended master secret where required", emsCreds, helloWith(dtls12Version, []uint16{ecdsaSuite}, null, groups, ecdsaSig), alertInsufficientSecurity},
		{"record numbers near the end", ecCreds, func() []byte {
			b := helloWith(dtls12Version, []uint16{ecdsaSuite}, null, groups, ecdsaSig)
			copy(b[5:11], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xf0})
			return b
		}(), alertIllegalParameter},
	} {
		ch, ok := parseClientHello(c.hello)
		if !ok {
			t.Fatalf("%s: the hello does not parse", c.name)
		}
		h, err := newServerHS(c.creds, &ch)
		var ae *hsAlert
		switch {
		case c.alert == 0 && err != nil:
			t.Errorf("%s: refused: %v", c.name, err)
		case c.alert == 0 && len(h.flight4) == 0:
			t.Errorf("%s: no flight", c.name)
		case c.alert != 0 && (!errors.As(err, &ae) || ae.desc != c.alert):
			t.Errorf("%s: %v, want alert %d", c.name, err, c.alert)
		}
	}
	// What the ServerHello says back.
	ch, _ := parseClientHello(helloWith(dtls12Version, []uint16{ecdsaSuite, scsvRenegotiation}, null,
		ext(extSupportedGroups, 0, 4, 0, 24, 0, 29), ecdsaSig, ext(extExtendedMaster), ext(extPointFormats, 1, 0)))
	h, err := newServerHS(ecCreds, &ch)
	if err != nil {
		t.Fatal(err)
	}
	if h.priv.Curve() != ecdh.X25519() || !h.ems || h.suiteID != ecdsaSuite {
		t.Errorf("negotiated curve %v, ems %v, suite %x", h.priv.Curve(), h.ems, h.suiteID)
	}
	sh := h.flight4[0][recordHeaderSize+handshakeHeaderSize:]
	for name, e := range map[string][]byte{"renegotiation_info": {0xff, 1, 0, 1, 0}, "extended_master_secret": {0, 23, 0, 0}, "ec_point_formats": {0, 11, 0, 2, 1, 0}} {
		if !bytes.Contains(sh, e) {
			t.Errorf("the ServerHello lacks %s", name)
		}
	}
}

// One IP address, however many ports it uses, holds at most
// MaxPendingPerAddress handshakes that returned their cookie (the rest are
// refused and counted), so a machine that floods real handshakes leaves
// room for everyone else: a client from another address joins.
func TestPendingHandshakesAreBoundedPerAddress(t *testing.T) {
	ec, _ := testCerts(t)
	const perAddress = 2
	s := newDTLSServer(t, ec, nil, Tuning{MaxPendingPerAddress: perAddress, LimitLoopback: true})
	pub := net.UDPAddrFromAddrPort(s.addr)
	exts := [][]byte{ext(extSupportedGroups, 0, 2, 0, 29), ext(extSignatureAlgs, 0, 2, 4, 3)}
	buf := make([]byte, maxDatagram)
	for i := range perAddress + 3 {
		c := listenLoopback(t)
		if _, err := c.WriteToUDP(helloWithCookie(nil, dtls12Version, []uint16{0xc02b}, []byte{0}, exts...), pub); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		cookie, ok := helloVerifyCookie(buf[:n])
		if !ok {
			t.Fatalf("port %d: %x is no HelloVerifyRequest", i, buf[:n])
		}
		if _, err := c.WriteToUDP(helloWithCookie(cookie, dtls12Version, []uint16{0xc02b}, []byte{0}, exts...), pub); err != nil {
			t.Fatal(err)
		}
		want := max(0, i+1-perAddress)
		st := s.waitStats(t, "the proven hello handled", func(st Stats) bool { return st.Pending+int(st.Refused) == i+1 })
		if st.Pending > perAddress || int(st.Refused) != want {
			t.Fatalf("after %d proven hellos from one address: %+v", i+1, st)
		}
	}
	other, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	t.Cleanup(func() { other.Close() })
	cl, err := dtls.Client(other, pub, &dtls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cl.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cl.HandshakeContext(ctx); err != nil {
		t.Fatalf("a client from another address: %v", err)
	}
	s.echo(t, cl, "from elsewhere")
}
