package systems_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/transport/memnet"
)

// BenchmarkPredictionReplay is a client's whole frame (receive, apply,
// reconcile, predict, send) with 1, 10 and 100 predicted entities, every
// snapshot (one a tick) judged a misprediction so that each frame restores
// the server's values and replays 8 ticks (replayed/frame reports it), and
// the same frame when predictions hold (no replay) as the baseline.
func BenchmarkPredictionReplay(b *testing.B) {
	for _, count := range []int{1, 10, 100} {
		for _, replay := range []bool{false, true} {
			name := fmt.Sprintf("entities=%d/replay=%v", count, replay)
			b.Run(name, func(b *testing.B) { benchPrediction(b, count, replay) })
		}
	}
}

func benchPrediction(b *testing.B, count int, replay bool) {
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, shipPosition, "ship")
	in := systems.RegisterInput(reg, "pilot", systems.InputOptions[shipInput]{Step: stepShip})
	opts := systems.PredictOptions[shipPos]{}
	if replay {
		opts.Within = func(shipPos, shipPos) bool { return false }
	}
	systems.Predict(in, shipPosition, opts)
	var ships []donburi.Entity
	h := nettest.New(b, nettest.Options{
		Registry: reg, Clients: 1, Seed: 1,
		// 3.5 ticks each way: a lead of about 5 and snapshots 3.5 old
		// put each snapshot 8 ticks behind the predicted tick.
		Link: memnet.Link{Latency: 58 * time.Millisecond},
		Systems: func(i int, n *nettest.Node) {
			if i >= 0 {
				n.ECS.AddSystem(func(*ecs.ECS) { in.Set(n.Net, pattern(n.Net.PredictedTick())) })
				return
			}
			n.ECS.AddSystem(func(*ecs.ECS) {
				for _, ev := range n.Events() {
					if ev.Kind == components.EventPeerAccepted {
						for range count {
							e := n.World.Create(components.Replicated, shipPosition, components.Owner)
							components.Owner.SetValue(n.World.Entry(e), components.OwnerData{Peer: int32(ev.PeerID)})
							ships = append(ships, e)
						}
					}
				}
				for id := range n.Peers() {
					v, _ := in.Current(n.Net, id)
					for _, e := range ships {
						stepShip(n.World, n.World.Entry(e), v)
					}
				}
			})
		},
	})
	h.Connect()
	c := h.Clients[0]
	for range 300 {
		h.Step()
	}
	if got := in.PredictionStats(c.Net).Entities; got != count {
		b.Fatalf("%d entities predicted, want %d", got, count)
	}
	before := in.PredictionStats(c.Net)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		h.Mem.Advance(time.Second / 60)
		h.Server.Step()
		b.StartTimer()
		c.Step()
	}
	b.StopTimer()
	after := in.PredictionStats(c.Net)
	b.ReportMetric(float64(after.Replayed-before.Replayed)/float64(count)/float64(b.N), "replayed/frame")
}
