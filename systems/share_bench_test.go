//go:build cgo && unix

package systems

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/wire"
)

type benchPos struct{ X, Y float32 }

var benchPosType = donburi.NewComponentType[benchPos]()

// BenchmarkSharedSnapshotPackets1024 times a server's snapshot tick
// (receive and send step, ENet's flush included) over loopback ENet with
// 1,024 connected clients that all get the same snapshot bytes: 100
// entities moving every tick, every client on the same baseline (the
// clients never acknowledge, so each snapshot is the full state), without
// interest management (one shared encoding) and with it (every client the
// same view: an encoding each, identical bytes). Each iteration runs one
// tick sending a packet per client (as before sharing) and one sending one
// shared packet per datagram, alternating on the same server and clients,
// and reports both.
func BenchmarkSharedSnapshotPackets1024(b *testing.B) {
	const clients = 1024
	needSockets(b, clients)
	for _, interest := range []bool{false, true} {
		b.Run(fmt.Sprintf("interest=%v", interest), func(b *testing.B) {
			reg := NewRegistry()
			RegisterComponent(reg, benchPosType, "pos")
			world := donburi.NewWorld()
			cfg := Config{Transport: ecsnet.Options{BindIP: "127.0.0.1"}, MaxClients: clients}
			if interest {
				cfg.Interest = &replication.Interest{}
			}
			srv, err := NewServer(world, reg, 0, cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(srv.Close)
			var ents []donburi.Entity
			for i := range 100 {
				e := world.Create(components.Replicated, benchPosType)
				benchPosType.SetValue(world.Entry(e), benchPos{X: float32(i)})
				ents = append(ents, e)
			}
			cls := enetClients(b, srv, clients)
			hello := encodeHello(reg.Schema())
			drain := func() {
				for _, c := range cls {
					_ = c.Poll()
					for ev, ok := c.Event(); ok; ev, ok = c.Event() {
						if ev.Kind == transport.PeerConnected {
							_ = c.Send(serverID, wire.ReliableChannel, wire.Reliable, hello)
							c.Flush()
						}
					}
					for _, ok := c.Receive(); ok; _, ok = c.Receive() {
					}
				}
			}
			accepted := func() int {
				k := 0
				for _, r := range srv.peers {
					if r.state == components.PeerConnected {
						k++
						if interest {
							srv.SetView(r.id, replication.View{Radius: 1})
						}
					}
				}
				return k
			}
			for end := time.Now().Add(60 * time.Second); accepted() < clients; {
				if time.Now().After(end) {
					b.Fatalf("%d of %d clients accepted", accepted(), clients)
				}
				srv.ReceiveStep()
				srv.SendStep()
				drain()
			}
			tick := func() time.Duration {
				for _, e := range ents {
					benchPosType.Get(world.Entry(e)).Y++
				}
				start := time.Now()
				srv.ReceiveStep()
				srv.SendStep()
				d := time.Since(start)
				drain()
				return d
			}
			shared := srv.Stats().SharedSends
			var perClient, sharedTime time.Duration
			b.ResetTimer()
			for range b.N {
				srv.noShare = true
				perClient += tick()
				srv.noShare = false
				sharedTime += tick()
			}
			b.StopTimer()
			if srv.Stats().SharedSends == shared {
				b.Fatal("no shared packet sent")
			}
			if accepted() != clients {
				b.Fatalf("%d of %d clients still connected", accepted(), clients)
			}
			b.ReportMetric(float64(perClient.Microseconds())/float64(b.N), "us/tick-packet-per-client")
			b.ReportMetric(float64(sharedTime.Microseconds())/float64(b.N), "us/tick-shared-packet")
			b.ReportMetric(sharedTime.Seconds()/perClient.Seconds(), "shared/per-client")
		})
	}
}

// BenchmarkPeerStatsENet1024 is BenchmarkPeerStats4095 on ENet over
// loopback with 1,024 clients in the same process (connected, not yet
// past the schema check: their statistics are refreshed all the same),
// where each peer's LinkStats crosses into libenet: each iteration runs
// one receive step refreshing every peer and one at the default 4 Hz (in
// turn first), each after a send step and the clients' answers.
func BenchmarkPeerStatsENet1024(b *testing.B) {
	const clients = 1024
	needSockets(b, clients)
	srv, err := NewServer(donburi.NewWorld(), NewRegistry(), 0, Config{Transport: ecsnet.Options{BindIP: "127.0.0.1"}, MaxClients: clients})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(srv.Close)
	cls := enetClients(b, srv, clients)
	drain := func() {
		for _, c := range cls {
			_ = c.Poll()
			for _, ok := c.Event(); ok; _, ok = c.Event() {
			}
		}
	}
	for end := time.Now().Add(60 * time.Second); len(srv.peers) < clients; {
		if time.Now().After(end) {
			b.Fatalf("%d of %d clients connected", len(srv.peers), clients)
		}
		srv.ReceiveStep()
		srv.SendStep()
		drain()
	}
	def := srv.cfg.PeerStatsEvery
	var everyTick, quarter time.Duration
	step := func(every int) time.Duration {
		b.StopTimer()
		srv.SendStep() // each timed step takes in a tick's traffic
		drain()
		srv.cfg.PeerStatsEvery = every
		b.StartTimer()
		start := time.Now()
		srv.ReceiveStep()
		return time.Since(start)
	}
	b.ResetTimer()
	for i := range b.N {
		if i%2 == 0 {
			everyTick += step(1)
			quarter += step(def)
		} else {
			quarter += step(def)
			everyTick += step(1)
		}
	}
	b.ReportMetric(float64(everyTick.Nanoseconds())/float64(b.N), "ns/tick-every-tick")
	b.ReportMetric(float64(quarter.Nanoseconds())/float64(b.N), "ns/tick-4Hz")
	b.ReportMetric(quarter.Seconds()/everyTick.Seconds(), "4Hz/every-tick")
}

// needSockets skips b unless the open-file limit leaves a socket for each
// of clients.
func needSockets(b *testing.B, clients int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && uint64(lim.Cur) < uint64(clients)+64 {
		b.Skipf("%d clients need a socket each: the open-file limit is %d", clients, lim.Cur)
	}
}

// enetClients starts n ENet clients of srv on loopback, closed when b
// ends; they connect as the caller polls them.
func enetClients(b *testing.B, srv *Network, n int) []transport.Transport {
	cls := make([]transport.Transport, n)
	for i := range cls {
		var err error
		if cls[i], err = (ecsnet.Options{}).Connect("127.0.0.1", srv.Transport().LocalPort(), transport.ConnectOptions{Channels: srv.cfg.ChannelCount}); err != nil {
			b.Fatal(err)
		}
	}
	b.Cleanup(func() {
		for _, c := range cls {
			c.Close()
		}
	})
	return cls
}
