package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/selfsign"
)

// tapConn is a pion connection's socket whose datagrams the test takes
// instead of pion, once stealing is set.
type tapConn struct {
	*net.UDPConn
	stealing atomic.Bool
	stolen   chan []byte
}

func (c *tapConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, from, err := c.UDPConn.ReadFrom(b)
		if err != nil || !c.stealing.Load() {
			return n, from, err
		}
		c.stolen <- append([]byte(nil), b[:n]...)
	}
}

// pionPair is a pion client and server, handshaken over loopback, and a
// record layer keyed from each.
type pionPair struct {
	client, server     *dtls.Conn
	clientTap          *tapConn
	serverTap          *tapConn
	clientRL, serverRL *recordLayer
}

func newPionPair(t *testing.T, suite dtls.CipherSuiteID) *pionPair {
	t.Helper()
	cert, err := selfsign.GenerateSelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	if suite == dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 {
		t.Fatal("the test certificate is ECDSA")
	}
	p := &pionPair{
		clientTap: &tapConn{UDPConn: listenLoopback(t), stolen: make(chan []byte, 16)},
		serverTap: &tapConn{UDPConn: listenLoopback(t), stolen: make(chan []byte, 16)},
	}
	suites := []dtls.CipherSuiteID{suite}
	p.server, err = dtls.Server(p.serverTap, p.clientTap.LocalAddr(), &dtls.Config{Certificates: []tls.Certificate{cert}, CipherSuites: suites})
	if err != nil {
		t.Fatal(err)
	}
	p.client, err = dtls.Client(p.clientTap, p.serverTap.LocalAddr(), &dtls.Config{InsecureSkipVerify: true, CipherSuites: suites})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.client.Close()
		p.server.Close()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- p.server.HandshakeContext(ctx) }()
	if err := p.client.HandshakeContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if p.clientRL, err = newRecordLayer(p.client); err != nil {
		t.Fatal(err)
	}
	if p.serverRL, err = newRecordLayer(p.server); err != nil {
		t.Fatal(err)
	}
	return p
}

// sealer seals application records as the client's record layer.
func (p *pionPair) sealer(t *testing.T) func(msg string) []byte {
	return func(msg string) []byte {
		t.Helper()
		rec, ok := p.clientRL.seal(nil, contentApplication, []byte(msg))
		if !ok {
			t.Fatal("seal refused")
		}
		return rec
	}
}

// steal takes the next datagram pion's peer sent to the server's socket.
func (p *pionPair) steal(t *testing.T) []byte {
	t.Helper()
	select {
	case b := <-p.serverTap.stolen:
		return b
	case <-time.After(5 * time.Second):
		t.Fatal("nothing arrived")
		return nil
	}
}

// readClient reads the pion client's next application datagram.
func (p *pionPair) readClient(t *testing.T) ([]byte, error) {
	t.Helper()
	_ = p.client.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, maxDatagram)
	n, err := p.client.Read(buf)
	return buf[:n], err
}

// The record layer reads what pion writes and pion reads what it writes,
// after pion's handshake, for every suite netburi offers; its
// close_notify ends pion's connection.
func TestRecordLayerSpeaksPionsRecords(t *testing.T) {
	for _, suite := range []dtls.CipherSuiteID{
		dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	} {
		t.Run(suite.String(), func(t *testing.T) {
			p := newPionPair(t, suite)
			p.serverTap.stealing.Store(true)
			for i, msg := range []string{"ping", "a second one", ""} {
				if _, err := p.client.Write([]byte(msg)); err != nil {
					t.Fatal(err)
				}
				raw := p.steal(t)
				pt, mine, ok := p.serverRL.open(raw)
				if !mine || !ok || string(pt) != msg {
					t.Fatalf("record %d: open gave %q mine=%v ok=%v, want %q", i, pt, mine, ok, msg)
				}
			}
			for _, msg := range []string{"pong", "and again"} {
				rec, ok := p.serverRL.seal(nil, contentApplication, []byte(msg))
				if !ok {
					t.Fatal("seal refused")
				}
				if _, err := p.serverTap.WriteTo(rec, p.clientTap.LocalAddr()); err != nil {
					t.Fatal(err)
				}
				got, err := p.readClient(t)
				if err != nil || string(got) != msg {
					t.Fatalf("pion read %q, %v; want %q", got, err, msg)
				}
			}
			rec, _ := p.serverRL.seal(nil, contentAlert, []byte{1, 0})
			if _, err := p.serverTap.WriteTo(rec, p.clientTap.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			if _, err := p.readClient(t); !errors.Is(err, io.EOF) {
				t.Fatalf("after close_notify pion read %v, want EOF", err)
			}
		})
	}
}

// The record layer's reader refuses what the network may do to records:
// replay, alteration, a record older than its window or than what pion
// had taken, another epoch, a record that is not application data (that
// one is pion's); it accepts a record overtaken by newer ones within the
// window once.
func TestRecordLayerRefusesReplaysAndForgeries(t *testing.T) {
	p := newPionPair(t, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	seal := p.sealer(t)
	open := func(rec []byte) (string, bool, bool) {
		pt, mine, ok := p.serverRL.open(append([]byte(nil), rec...))
		return string(pt), mine, ok
	}
	first, second := seal("first"), seal("second")
	if got, mine, ok := open(second); !mine || !ok || got != "second" {
		t.Fatalf("second: %q %v %v", got, mine, ok)
	}
	if got, mine, ok := open(first); !mine || !ok || got != "first" {
		t.Fatalf("first, overtaken: %q %v %v", got, mine, ok)
	}
	for name, rec := range map[string][]byte{"replayed first": first, "replayed second": second} {
		if _, mine, ok := open(rec); !mine || ok {
			t.Errorf("%s: mine=%v ok=%v, want refused", name, mine, ok)
		}
	}
	altered := seal("altered")
	altered[len(altered)-20] ^= 1
	if _, mine, ok := open(altered); !mine || ok {
		t.Errorf("altered: mine=%v ok=%v, want refused", mine, ok)
	}
	old := seal("old")
	for range replayWindow + 1 {
		if _, _, ok := open(seal("newer")); !ok {
			t.Fatal("a fresh record was refused")
		}
	}
	if _, mine, ok := open(old); !mine || ok {
		t.Errorf("a record older than the window: mine=%v ok=%v, want refused", mine, ok)
	}
	// Below the floor: numbers pion used before the record layer took over
	// (a genuine record, refused for its number alone).
	below := seal("below")
	p.serverRL.inMu.Lock()
	p.serverRL.floor = p.clientRL.seq
	p.serverRL.inMu.Unlock()
	if _, mine, ok := open(below); !mine || ok {
		t.Errorf("a number pion had already taken: mine=%v ok=%v, want refused", mine, ok)
	}
	otherEpoch := seal("epoch")
	otherEpoch[4]++
	if _, mine, _ := open(otherEpoch); mine {
		t.Error("a record of another epoch was taken as the record layer's")
	}
	alert, _ := p.clientRL.seal(nil, contentAlert, []byte{1, 0})
	if _, mine, _ := open(alert); mine {
		t.Error("an alert was taken as application data")
	}
	twoRecords := append(seal("one"), seal("two")...)
	if _, mine, _ := open(twoRecords); mine {
		t.Error("a datagram of two records was taken as one")
	}
	if _, mine, _ := open(first[:20]); mine {
		t.Error("a truncated record was taken")
	}
}

// Records that were queued for pion when the record layer took over stay
// pion's: the record layer's floor goes past them, so a replay of one
// cannot reach ENet a second time. A forged record with a far number in
// pion's queue moves the floor by takeoverSlack at most: it cannot shut
// the session out.
func TestRecordLayerRefusesWhatPionHadQueued(t *testing.T) {
	p := newPionPair(t, dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
	seal := p.sealer(t)
	queued, next := seal("queued for pion"), seal("after the takeover")
	vc := &vconn{}
	vc.noteRecords(queued)
	p.serverRL.raiseFloor(vc.highest.Load())
	if _, mine, ok := p.serverRL.open(append([]byte(nil), queued...)); !mine || ok {
		t.Errorf("a record pion had queued: mine=%v ok=%v, want refused", mine, ok)
	}
	if pt, _, ok := p.serverRL.open(append([]byte(nil), next...)); !ok || string(pt) != "after the takeover" {
		t.Errorf("the next record: %q %v", pt, ok)
	}
	forged := append([]byte(nil), queued...)
	forged[5], forged[6] = 0x7f, 0xff // a number far ahead
	vc.noteRecords(forged)
	p.serverRL.raiseFloor(vc.highest.Load())
	p.clientRL.seq = p.serverRL.startFloor + takeoverSlack
	if pt, _, ok := p.serverRL.open(seal("still in")); !ok || string(pt) != "still in" {
		t.Errorf("after a forged far number, a record takeoverSlack past the start: %q %v", pt, ok)
	}
}

// fixedRecordLayer is a record layer whose two directions share one
// AES-128-GCM key, so that it opens what it seals (no handshake).
func fixedRecordLayer(t testing.TB) *recordLayer {
	key := []byte("sixteen byte key")
	out, err := newGCM(key)
	if err != nil {
		t.Fatal(err)
	}
	in, _ := newGCM(key)
	iv := []byte{1, 2, 3, 4}
	return &recordLayer{explicitNonce: true, out: out, outIV: iv, epoch: 1, seq: 5, in: in, inIV: iv, inEpoch: 1, floor: 5}
}

// FuzzRecordLayerOpen feeds the record layer's reader (and the takeover's
// record scan) arbitrary datagrams: it never panics, and what it accepts
// has the plaintext's length and is refused when it comes again.
func FuzzRecordLayerOpen(f *testing.F) {
	rl := fixedRecordLayer(f)
	valid, _ := rl.seal(nil, contentApplication, []byte("a datagram for ENet"))
	f.Add(valid)
	f.Add(valid[:recordHeaderSize])
	f.Add([]byte{contentApplication, 0xfe, 0xfd, 0, 1, 0, 0, 0, 0, 0, 9, 0, 24})
	f.Fuzz(func(t *testing.T, b []byte) {
		// The takeover's record scan reads only b and notes only
		// encrypted (epoch above 0) records.
		var vc vconn
		vc.noteRecords(b)
		if h := vc.highest.Load(); h != 0 && h>>48 == 0 {
			t.Fatalf("noted %x, of epoch 0, from %x", h, b)
		}
		rl := fixedRecordLayer(t)
		in := append([]byte(nil), b...)
		pt, mine, ok := rl.open(in)
		if !ok {
			return
		}
		if !mine || len(pt) != len(b)-rl.overhead() {
			t.Fatalf("accepted %d bytes of plaintext from %d (mine=%v)", len(pt), len(b), mine)
		}
		if _, _, again := rl.open(append([]byte(nil), b...)); again {
			t.Fatal("the same record was accepted twice")
		}
	})
}

// Once the record layer owns a session, a datagram it does not take goes
// to pion only where pion can do no harm with it: a single alert of the
// current epoch, or a few datagrams of unencrypted handshake records (a
// lost last flight). Application data hidden in a datagram of several
// records would be decrypted by pion past the record layer's replay
// window, and each forged handshake record would make pion send an
// encrypted record with a sequence number of the record layer's own.
func TestPionGetsOnlyAlertsAndAFewRetriesAfterTheTakeover(t *testing.T) {
	rl := fixedRecordLayer(t)
	s := &session{}
	seal := func(typ byte, m string) []byte {
		b, _ := rl.seal(nil, typ, []byte(m))
		return b
	}
	app, alert := seal(contentApplication, "data"), seal(contentAlert, "\x01\x00")
	epoch0 := []byte{contentHandshake, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 9, 0, 2, 16, 0}
	for name, c := range map[string]struct {
		b    []byte
		want bool
	}{
		"a record replayed after itself":     {append(append([]byte{}, app...), app...), false},
		"application data after an alert":    {append(append([]byte{}, alert...), app...), false},
		"an alert of the current epoch":      {alert, true},
		"an alert of another epoch":          {func() []byte { b := append([]byte{}, alert...); b[4]++; return b }(), false},
		"a record cut short":                 {alert[:20], false},
		"handshake records then application": {append(append([]byte{}, epoch0...), app...), false},
	} {
		if got := s.pionMayHave(c.b, rl); got != c.want {
			t.Errorf("%s: pion may have it: %v, want %v", name, got, c.want)
		}
	}
	for i := 1; i <= maxPionRetries+3; i++ {
		if got, want := s.pionMayHave(epoch0, rl), i <= maxPionRetries; got != want {
			t.Errorf("unencrypted handshake datagram %d: pion may have it: %v, want %v", i, got, want)
		}
	}
	if maxPionRetries+1 >= seqReserve { // each retry may cost pion one number, close_notify one more
		t.Errorf("pion may retry %d times with %d numbers in reserve", maxPionRetries, seqReserve)
	}
}
