package systems

import (
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/transport/memnet"
)

// BenchmarkPeerStats4095 times a server's receive step with 4,095
// connected peers on memnet and no traffic, which is mostly the refresh of
// the peers' statistics: each iteration runs one tick refreshing every
// peer (PeerStatsEvery 1, as before the setting) and one at the default
// 4 Hz (a share of the peers), on the same server, and reports both.
func BenchmarkPeerStats4095(b *testing.B) {
	const peers = 4095
	mem := memnet.New(1, memnet.Link{})
	srv, err := NewServer(donburi.NewWorld(), NewRegistry(), 0, Config{Transport: mem, MaxClients: peers})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	port := srv.Transport().LocalPort()
	clients := make([]transport.Transport, peers)
	for i := range clients {
		if clients[i], err = mem.Connect("", port, transport.ConnectOptions{Channels: srv.cfg.ChannelCount}); err != nil {
			b.Fatal(err)
		}
	}
	for range 3 { // connect, accept, acknowledge
		srv.ReceiveStep()
		for _, cl := range clients {
			_ = cl.Poll()
		}
	}
	srv.ReceiveStep()
	if len(srv.peers) != peers {
		b.Fatalf("%d peers connected, want %d", len(srv.peers), peers)
	}
	def := srv.cfg.PeerStatsEvery
	var everyTick, quarter time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		srv.cfg.PeerStatsEvery = 1
		start := time.Now()
		srv.ReceiveStep()
		mid := time.Now()
		srv.cfg.PeerStatsEvery = def
		srv.ReceiveStep()
		everyTick += mid.Sub(start)
		quarter += time.Since(mid)
	}
	b.ReportMetric(float64(everyTick.Nanoseconds())/float64(b.N), "ns/tick-every-tick")
	b.ReportMetric(float64(quarter.Nanoseconds())/float64(b.N), "ns/tick-4Hz")
	b.ReportMetric(quarter.Seconds()/everyTick.Seconds(), "4Hz/every-tick")
}
