package systems_test

import (
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/transport/memnet"
)

// BenchmarkServerReceiveStep4095Peers is the per-tick receive step of a
// server with 4,095 connected peers on memnet and no traffic: mostly the
// refresh of the peers' statistics, every tick (as before
// Config.PeerStatsEvery) or at the default 4 Hz, a share of the peers
// each tick.
func BenchmarkServerReceiveStep4095Peers(b *testing.B) {
	const peers = 4095
	for _, c := range []struct {
		name  string
		every int
	}{{"stats every tick", 1}, {"stats at 4 Hz", 0}} {
		b.Run(c.name, func(b *testing.B) {
			mem := memnet.New(1, memnet.Link{})
			world := donburi.NewWorld()
			srv, err := systems.NewServer(world, systems.NewRegistry(), 0, systems.Config{
				Transport: mem, MaxClients: peers, PeerStatsEvery: c.every,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(srv.Close)
			port := srv.Transport().LocalPort()
			clients := make([]transport.Transport, peers)
			for i := range clients {
				if clients[i], err = mem.Connect("", port, transport.ConnectOptions{Channels: srv.Transport().ChannelCount()}); err != nil {
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
			if got := len((&nettest.Node{World: world}).Peers()); got != peers {
				b.Fatalf("%d peers connected, want %d", got, peers)
			}
			b.ReportAllocs()
			for b.Loop() {
				srv.ReceiveStep()
			}
		})
	}
}
