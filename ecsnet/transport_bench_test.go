package ecsnet

import (
	"testing"
	"time"
)

// newConfiguredStream is peerStream (bench_test.go) with the server and
// client configured first.
func newConfiguredStream(b testing.TB, server, client func(*Peer)) *peerStream {
	n := newTestNet(b)
	srv := n.server(4, server)
	cl := n.connected(srv, client)
	cl.SetTransferMode(TransferReliable)
	cl.SetTargetPeer(1)
	return &peerStream{server: srv, client: cl, msg: make([]byte, benchMsgSize)}
}

// alternate runs bursts of a and b in turn and returns each one's total
// time.
func alternate(b *testing.B, a, c streamer) (ta, tc time.Duration) {
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		a.burst(b)
		mid := time.Now()
		c.burst(b)
		ta += mid.Sub(start)
		tc += time.Since(mid)
	}
	return ta, tc
}

// BenchmarkDTLSReliable64 streams bursts of 1000 reliable 64-byte messages
// through a plain pair of peers and through a DTLS pair (ECDSA P-256,
// AES-128-GCM), alternating in one run, and reports both rates and
// dtls/plain (goal >= 0.75, issue 14).
func BenchmarkDTLSReliable64(b *testing.B) {
	cert := newTestCert(b, certOptions{})
	plain := newConfiguredStream(b, func(*Peer) {}, func(*Peer) {})
	secure := newConfiguredStream(b, dtlsServer(b, cert), dtlsClient(b, cert.cert))
	tPlain, tDTLS := alternate(b, plain, secure)
	msgs := float64(b.N * benchBurst)
	b.ReportMetric(msgs/tPlain.Seconds(), "plain-msgs/s")
	b.ReportMetric(msgs/tDTLS.Seconds(), "dtls-msgs/s")
	b.ReportMetric(tPlain.Seconds()/tDTLS.Seconds(), "ratio")
}

// BenchmarkRelayReliable64 is the same stream direct on ENet's sockets and
// through a relay on both ends (an idle link conditioner), and reports
// relayed/direct (goal >= 0.9, issue 14) and the relay's cost per datagram
// it forwarded (negative when the relay's batched I/O beats ENet's own).
func BenchmarkRelayReliable64(b *testing.B) {
	perfect := func(p *Peer) { must(b, p.SetLinkConditioner(LinkConditions{})) }
	plain := newConfiguredStream(b, func(*Peer) {}, func(*Peer) {})
	relayed := newConfiguredStream(b, perfect, perfect)
	before := relayed.client.Stats().Transport
	tPlain, tRelay := alternate(b, plain, relayed)
	after := relayed.client.Stats().Transport
	// Each datagram crosses the client's relay and the server's once.
	datagrams := float64(2 * (after.DatagramsIn + after.DatagramsOut - before.DatagramsIn - before.DatagramsOut))
	msgs := float64(b.N * benchBurst)
	b.ReportMetric(msgs/tPlain.Seconds(), "direct-msgs/s")
	b.ReportMetric(msgs/tRelay.Seconds(), "relayed-msgs/s")
	b.ReportMetric(tPlain.Seconds()/tRelay.Seconds(), "ratio")
	b.ReportMetric(float64((tRelay-tPlain).Nanoseconds())/datagrams, "ns/relayed-datagram")
}

// BenchmarkDTLSHandshake connects a DTLS client to a DTLS server (ECDSA
// P-256): from CreateClient to ConnectionSucceeded, including ENet's
// connect on top; the plain connect is reported beside it.
func BenchmarkDTLSHandshake(b *testing.B) {
	cert := newTestCert(b, certOptions{})
	for _, tc := range []struct {
		name           string
		server, client func(*Peer)
	}{
		{"plain", func(*Peer) {}, func(*Peer) {}},
		{"dtls", dtlsServer(b, cert), dtlsClient(b, cert.cert)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			n := newTestNet(b)
			srv := n.server(4, tc.server)
			cl := NewPeer()
			tc.client(cl)
			for range b.N {
				must(b, cl.CreateClient("127.0.0.1", srv.LocalPort(), 0, 0, 0))
				for done := false; !done; {
					must(b, cl.PollWait(time.Millisecond))
					must(b, srv.Poll())
					for ev, ok := cl.NextEvent(); ok; ev, ok = cl.NextEvent() {
						if ev.Kind == ConnectionFailed {
							b.Fatal("connection failed")
						}
						done = done || ev.Kind == ConnectionSucceeded
					}
				}
				b.StopTimer()
				cl.CloseConnection(0)
				for range 3 {
					must(b, srv.Poll())
					for _, ok := srv.NextEvent(); ok; _, ok = srv.NextEvent() {
					}
				}
				b.StartTimer()
			}
		})
	}
}
