package ecsnet

import (
	"encoding/binary"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netburi/netburi/ecsnet/internal/relay"
)

// A flood of ClientHellos from many source ports (as from forged
// addresses: none of them ever returns the cookie) costs a DTLS server no
// session and locks no one out. Each hello is answered by a stateless
// HelloVerifyRequest (counted) and forgotten: the server's sessions are
// only its real clients' throughout, it opens no socket for the flood, and
// its heap grows by less than floodHeapBound. Meanwhile a connected DTLS
// client receives every reliable packet the server sends, in order, and a
// new DTLS client joins.
func TestDTLSHelloFloodFromManyPortsLocksNoOneOut(t *testing.T) {
	checkNoLeaks(t)
	const (
		floodPorts    = 128
		hellosPerPort = 16
		floodBatch    = 2 // hellos sent back to back, then a millisecond's pause
		streamed      = 300
	)
	cert := newTestCert(t, certOptions{})
	n := newTestNet(t)
	srv := n.server(8, dtlsServer(t, cert), func(p *Peer) {
		p.tuning = relay.Tuning{HandshakeTimeout: time.Second}
	})
	honest := n.connected(srv, dtlsClient(t, cert.cert))
	hello := captureClientHello(t)
	target := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.LocalPort()}

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	flooders := make([]net.PacketConn, floodPorts)
	for i := range flooders {
		flooders[i] = listenUDP(t)
	}
	fdsBefore, maxFDs := openFDs(t), 0
	var floodSent atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	stop := make(chan struct{})
	go func() { // the flood: every port in turn, up to 2 hellos a millisecond
		defer wg.Done()
		for i := range hellosPerPort * floodPorts {
			if i%floodBatch == 0 {
				select {
				case <-stop:
					return
				case <-time.After(time.Millisecond):
				}
			}
			_, _ = flooders[i%floodPorts].WriteTo(hello, target)
			floodSent.Add(1)
		}
	}()
	t.Cleanup(func() { close(stop); wg.Wait() })
	defer wg.Wait() // the flood ends by itself

	// During the flood: the server streams numbered reliable packets to
	// the connected client, and a new client joins.
	late := n.client(srv, dtlsClient(t, cert.cert))
	sent, next, maxSessions := 0, 0, 0
	joinedAt := int64(-1) // hellos of the flood sent when the new client joined
	start := time.Now()
	n.until(defaultWait, "the stream and the join during the flood", func() bool {
		st := srv.Stats().Transport
		maxSessions = max(maxSessions, st.Sessions)
		maxFDs = max(maxFDs, openFDs(t))
		for range 3 {
			if sent == streamed {
				break
			}
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(sent))
			send(t, srv, honest.UniqueID(), TransferReliable, string(b[:]))
			sent++
		}
		for ; next < len(n.packets[honest]); next++ {
			pk := n.packets[honest][next]
			if got := binary.BigEndian.Uint32(pk.Data); got != uint32(next) || pk.From != 1 {
				t.Fatalf("connected client got packet %d from %d where %d was due", got, pk.From, next)
			}
		}
		if time.Since(start) > defaultWait-100*time.Millisecond {
			t.Logf("received %d of %d; late client %v (%v); %+v", next, sent, late.ConnectionStatus(), late.TransportError(), st)
		}
		if joinedAt < 0 && late.ConnectionStatus() == Connected {
			joinedAt = floodSent.Load()
		}
		return next == streamed && joinedAt >= 0
	})
	if joinedAt >= hellosPerPort*floodPorts {
		t.Errorf("the new client joined only once the flood was over")
	}
	st := srv.Stats().Transport
	t.Logf("the new client joined after %d hellos of %d; %v after the flood began: %+v", joinedAt, hellosPerPort*floodPorts, time.Since(start), st)
	if st.HelloVerifies == 0 {
		t.Errorf("no hello of the flood was answered: %+v", st)
	}
	// The new client brings its ENet socket, its relay's public and
	// loopback sockets, and the server's loopback socket for it.
	if grew := maxFDs - fdsBefore; grew > 8 {
		t.Errorf("%d more open files during the flood: hellos hold sockets", grew)
	}

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	const floodHeapBound = 32 << 20
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > floodHeapBound {
		t.Errorf("heap grew by %d MiB during the flood (bound %d MiB)", grew>>20, floodHeapBound>>20)
	}
	wg.Wait()
	n.until(defaultWait, "every hello of the flood answered", func() bool {
		st := srv.Stats().Transport
		maxSessions = max(maxSessions, st.Sessions)
		return st.HelloVerifies >= uint64(floodSent.Load())*9/10 // (the kernel may drop a few)
	})
	st = srv.Stats().Transport
	if maxSessions > 2 || st.Refused != 0 || st.Sessions != 2 || st.PendingHandshakes != 0 || len(srv.Peers()) != 2 {
		t.Errorf("after the flood: up to %d sessions (the two clients'); %+v; peers %v", maxSessions, st, srv.Peers())
	}
	n.roundTrip(srv, late, "after the flood")
	n.roundTrip(srv, honest, "after the flood")
}

// A ClientHello carrying a cookie the server did not make for its address
// (forged, or too old) makes no session: the server counts it and answers
// with a fatal alert, so that a real client stops waiting at once.
func TestDTLSServerAnswersAnOrphanedCookieWithAnAlert(t *testing.T) {
	cert := newTestCert(t, certOptions{})
	n := newTestNet(t)
	srv := n.server(2, dtlsServer(t, cert))
	hello := withCookie(t, captureClientHello(t), []byte("a cookie nobody gave"))
	c := listenUDP(t)
	_, err := c.WriteTo(hello, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.LocalPort()})
	must(t, err)
	buf := make([]byte, 2048)
	must(t, c.SetReadDeadline(time.Now().Add(defaultWait)))
	m, _, err := c.ReadFrom(buf)
	must(t, err)
	if want := append([]byte{21, 0xfe, 0xfd, 0, 0}, append(hello[5:11:11], 0, 2, 2, 40)...); string(buf[:m]) != string(want) {
		t.Errorf("answer %x, want the fatal handshake_failure alert %x", buf[:m], want)
	}
	if st := srv.Stats().Transport; st.BadCookies != 1 || st.Sessions != 0 || st.PendingHandshakes != 0 {
		t.Errorf("server transport stats %+v", st)
	}
}

// withCookie is a copy of hello, a whole ClientHello in one record, with
// cookie in place of its empty cookie.
func withCookie(t *testing.T, hello, cookie []byte) []byte {
	t.Helper()
	const body = 13 + 12
	at := body + 2 + 32
	at += 1 + int(hello[at]) // the session ID
	if hello[at] != 0 {
		t.Fatalf("hello %x already has a cookie", hello)
	}
	b := append(append(append([]byte(nil), hello[:at]...), byte(len(cookie))), cookie...)
	b = append(b, hello[at+1:]...)
	grow := func(field []byte) { // a big-endian length
		v := len(cookie)
		for i := range field {
			v += int(field[i]) << (8 * (len(field) - 1 - i))
		}
		for i := range field {
			field[i] = byte(v >> (8 * (len(field) - 1 - i)))
		}
	}
	grow(b[11:13]) // the record's length
	grow(b[14:17]) // the message's length
	grow(b[22:25]) // the fragment's length
	return b
}

// The hello flood as the other attacks run (attack_test.go's siege): from
// 128 ports, 16 hellos a round for 64 rounds, while reliable packets flow
// both ways and a DTLS client joins. Beyond the siege's checks (memory,
// CPU per Poll, order, the join), the flood leaves no session behind: the
// server's sessions are its two clients'.
func TestDTLSHelloFloodUnderSiege(t *testing.T) {
	cert := newTestCert(t, certOptions{})
	n := newTestNet(t)
	srv := n.server(8, dtlsServer(t, cert))
	honest := n.connected(srv, dtlsClient(t, cert.cert))
	hello := captureClientHello(t)
	target := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: srv.LocalPort()}
	ports := make([]net.PacketConn, 128)
	for i := range ports {
		ports[i] = listenUDP(t)
	}
	sent, most := 0, 0
	(&siege{t: t, n: n, srv: srv, honest: honest, joinConfig: []func(*Peer){dtlsClient(t, cert.cert)}}).run(func(round int) bool {
		for range 16 {
			_, err := ports[sent%len(ports)].WriteTo(hello, target)
			must(t, err)
			sent++
		}
		most = max(most, srv.Stats().Transport.Sessions)
		return round < 63
	})
	st := srv.Stats().Transport
	if most > 2 || st.Sessions != 2 || st.HelloVerifies < uint64(sent)/2 {
		t.Errorf("%d hellos: up to %d sessions during the flood, %+v", sent, most, st)
	}
}
