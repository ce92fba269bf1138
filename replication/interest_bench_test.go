package replication

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/yohamta/donburi"
)

// BenchmarkInterest measures one snapshot tick on the server for 10,000
// entities spread over a 1,000 x 1,000 square and 256, 1,024 and 4,095
// clients, each viewing a circle that holds about 100 entities: with
// interest management ("interest"), with it and a budget of 1,200 bytes
// per snapshot ("interest+budget"), and without either ("all": every
// client gets every entity, encodings shared by baseline). 10% of the
// entities move every tick; clients ack with staggered lags of 0..7
// snapshots. "interest/staggered3" is what systems does with interest on
// and SnapshotEvery 3: capture every tick and serve a third of the clients
// (each on its phase), so its figure is per simulation tick. Reports ns per
// (snapshot) tick and bytes per client per second at 20 snapshots a second.
func BenchmarkInterest(b *testing.B) {
	for _, clients := range []int{256, 1024, 4095} {
		for _, mode := range []string{"all", "interest", "interest+budget", "interest/staggered3"} {
			b.Run(fmt.Sprintf("clients=%d/%s", clients, mode), func(b *testing.B) {
				benchInterest(b, 10000, clients, mode)
			})
		}
	}
}

func benchInterest(b *testing.B, entities, clients int, mode string) {
	const side = 1000.0
	radius := math.Sqrt(100 / (float64(entities) / (side * side)) / math.Pi) // ~100 entities in view
	reg := testRegistry()
	opts := ServerOptions{}
	if mode != "all" {
		opts.Interest = &Interest{Position: gridPos, CellSize: radius}
	}
	staggered := mode == "interest/staggered3"
	if mode == "interest+budget" {
		opts.SnapshotBytes = 1200
	}
	srv := NewServer(reg, opts)
	rng := rand.New(rand.NewPCG(1, 1))
	w, ents := scatter(srv, rng, entities, clients, side, radius)
	tick := uint32(0)
	step := func() int {
		tick++
		moves := entities / 10
		if staggered {
			moves /= 3 // the same motion per snapshot interval, over three ticks
		}
		for range moves {
			p := posType.Get(w.Entry(ents[rng.IntN(entities)]))
			p.X = float32(math.Mod(float64(p.X)+0.5, side))
			p.Y = float32(math.Mod(float64(p.Y)+0.25, side))
		}
		srv.Capture(w, tick)
		sent := 0
		for c := range clients {
			if staggered && (tick+uint32(c))%3 != 0 {
				continue
			}
			parts, err := srv.Datagrams(c + 2)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range parts {
				sent += len(p)
			}
			lag := uint32(c % 8)
			if staggered {
				lag *= 3 // snapshots, in ticks: still one of this client's
			}
			if tick > lag {
				_ = srv.HandleAck(c+2, encodeAck(0, tick-lag))
			}
		}
		return sent
	}
	for range 60 { // reach steady state: every client past its first full state
		step()
	}
	b.ResetTimer()
	total := 0
	for range b.N {
		total += step()
	}
	b.StopTimer()
	perSnapshot := float64(total) / float64(b.N*clients)
	if staggered {
		perSnapshot *= 3 // each client was served every third tick
	}
	b.ReportMetric(perSnapshot*20, "bytes/client/s@20Hz")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/tick")
}

// BenchmarkInterestBudgetBinds is a dense world where the budget binds,
// as in the demo with 10,000 drones: 10,000 entities, every one moving
// every tick, 256 clients each viewing about 600 of them, a budget of
// 1,600 bytes per snapshot (32 kB/s at 20 Hz), clients acknowledging with
// lags of 0 to 7 snapshots. Each snapshot carries the highest accumulated
// priorities that fit, so the budget pass ranks about 600 candidates per
// client. Reports ms per snapshot tick (every client served).
func BenchmarkInterestBudgetBinds(b *testing.B) {
	const side, entities, clients = 1000.0, 10000, 256
	radius := math.Sqrt(600 / (float64(entities) / (side * side)) / math.Pi)
	srv := NewServer(testRegistry(), ServerOptions{
		Interest:      &Interest{Position: gridPos, CellSize: radius},
		SnapshotBytes: 1600,
	})
	rng := rand.New(rand.NewPCG(1, 1))
	w, ents := scatter(srv, rng, entities, clients, side, radius)
	tick := uint32(0)
	step := func() {
		tick++
		for _, e := range ents {
			p := posType.Get(w.Entry(e))
			p.X = float32(math.Mod(float64(p.X)+0.5, side))
		}
		srv.Capture(w, tick)
		for c := range clients {
			if _, err := srv.Datagrams(c + 2); err != nil {
				b.Fatal(err)
			}
			if lag := uint32(c % 8); tick > lag {
				_ = srv.HandleAck(c+2, encodeAck(0, tick-lag))
			}
		}
	}
	for range 30 {
		step()
	}
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/tick")
}

// scatter spawns entities at random points of a side x side square in a
// new world, then adds clients to srv (IDs from 2), each viewing a circle
// of radius around a random point.
func scatter(srv *Server, rng *rand.Rand, entities, clients int, side, radius float64) (donburi.World, []donburi.Entity) {
	w := donburi.NewWorld()
	ents := make([]donburi.Entity, entities)
	for i := range ents {
		ents[i] = spawn(w, position{float32(rng.Float64() * side), float32(rng.Float64() * side)})
	}
	for c := range clients {
		srv.AddClient(c + 2)
		srv.SetView(c+2, View{X: rng.Float64() * side, Y: rng.Float64() * side, Radius: radius})
	}
	return w, ents
}
