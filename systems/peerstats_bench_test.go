package systems

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/transport/memnet"
	"github.com/netburi/netburi/wire"
)

// BenchmarkPeerStats4095 times a server's receive step with 4,095
// connected peers on memnet and no traffic, which is mostly the refresh of
// the peers' statistics: each iteration runs one tick refreshing every
// peer (PeerStatsEvery 1, as before the setting) and one at the default
// 4 Hz (a share of the peers), on the same server, and reports both.
func BenchmarkPeerStats4095(b *testing.B) {
	const peers = 4095
	srv, mem := memServer(b, peers)
	port := srv.Transport().LocalPort()
	clients := make([]transport.Transport, peers)
	for i := range clients {
		var err error
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

// discard is a transport whose sends cost nothing, to time the send
// step's own work.
type discard struct{ transport.Transport }

func (discard) Send(int, int, wire.TransferMode, []byte) error { return nil }

// BenchmarkGroupingUnshared4095 prices flushOutbox's grouping where it
// finds nothing to share: 4,095 clients each queued a distinct 1 KB
// payload, sent to a transport that does nothing; each iteration flushes
// once with grouping off and once on, and reports both.
func BenchmarkGroupingUnshared4095(b *testing.B) {
	const peers = 4095
	srv, _ := memServer(b, peers)
	payloads := make([][]byte, peers)
	for i := range payloads {
		payloads[i] = make([]byte, 1024)
		binary.LittleEndian.PutUint32(payloads[i], uint32(i))
	}
	srv.tr = discard{srv.tr}
	ids := make([]int, peers)
	for i := range ids {
		ids[i] = 2 + i
	}
	flush := func(share bool) time.Duration {
		for i, id := range ids {
			srv.put(id, 1, wire.Unreliable, payloads[i])
		}
		srv.noShare = !share
		start := time.Now()
		srv.flushOutbox()
		return time.Since(start)
	}
	var off, on time.Duration
	b.ResetTimer()
	for range b.N {
		off += flush(false)
		on += flush(true)
	}
	b.ReportMetric(float64(off.Nanoseconds())/float64(b.N), "ns/flush-no-grouping")
	b.ReportMetric(float64(on.Nanoseconds())/float64(b.N), "ns/flush-grouping")
}

// memServer starts a server for peers clients on a new memnet network,
// closed when b ends.
func memServer(b *testing.B, peers int) (*Network, *memnet.Network) {
	mem := memnet.New(1, memnet.Link{})
	srv, err := NewServer(donburi.NewWorld(), NewRegistry(), 0, Config{Transport: mem, MaxClients: peers})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	return srv, mem
}
