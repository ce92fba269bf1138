package replication

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
)

// BenchmarkOwnerOnly measures what registering a component OwnerOnly costs
// the server: the same world and clients, with the velocity component
// registered plainly ("plain") or OwnerOnly ("owner-only"), in the same
// run, so the ratio of the two is the cost. 10,000 entities over a
// 1,000 x 1,000 square each have a position and a velocity; each client
// owns one of them (its ship). 10% of the entities change per tick; clients
// acknowledge with lags of 0 to 7 snapshots. Scenes: "capture" captures the
// world under interest management and serves no client, which isolates
// the capture; "interest" serves 16 or 256 clients viewing about 100
// entities each (each client has its own snapshot either way); "all" has
// no interest management, so every client gets every entity and encodings
// are shared by baseline (plain: eight, one per lag; owner-only: every
// client owns its ship, so each gets an encoding of its own, a filter over
// the shared history).
// Reports ms per snapshot tick (every client served).
func BenchmarkOwnerOnly(b *testing.B) {
	for _, scene := range []string{"capture", "interest", "all"} {
		clients := []int{16, 256}
		if scene == "all" {
			clients = []int{16, 64}
		}
		for _, n := range clients {
			for _, owner := range []bool{false, true} {
				name := "plain"
				if owner {
					name = "owner-only"
				}
				b.Run(fmt.Sprintf("%s/clients=%d/velocity=%s", scene, n, name), func(b *testing.B) { benchOwnerOnly(b, scene, n, owner) })
			}
		}
	}
}

func benchOwnerOnly(b *testing.B, scene string, clients int, owner bool) {
	const side, entities = 1000.0, 10000
	reg := NewRegistry()
	Register(reg, posType, "position")
	if owner {
		Register(reg, velType, "velocity", OwnerOnly[velocity]())
	} else {
		Register(reg, velType, "velocity")
	}
	radius := math.Sqrt(100 / (float64(entities) / (side * side)) / math.Pi) // ~100 entities in view
	opts := ServerOptions{}
	if scene == "interest" || scene == "capture" {
		opts.Interest = &Interest{Position: gridPos, CellSize: radius}
	}
	srv := NewServer(reg, opts)
	w := donburi.NewWorld()
	rng := rand.New(rand.NewPCG(1, 1))
	ents := make([]donburi.Entity, entities)
	for i := range ents {
		ents[i] = spawn(w, position{float32(rng.Float64() * side), float32(rng.Float64() * side)}, velType)
		if i < clients { // client i's ship
			donburi.Add(w.Entry(ents[i]), components.Owner, &components.OwnerData{Peer: int32(i + 2)})
		}
	}
	for c := range clients {
		srv.AddClient(c + 2)
		srv.SetView(c+2, View{X: rng.Float64() * side, Y: rng.Float64() * side, Radius: radius})
	}
	tick := uint32(0)
	step := func() {
		tick++
		for range entities / 10 {
			en := w.Entry(ents[rng.IntN(entities)])
			p, v := posType.Get(en), velType.Get(en)
			v.X, v.Y = 0.5, 0.25
			p.X = float32(math.Mod(float64(p.X+v.X), side))
			p.Y = float32(math.Mod(float64(p.Y+v.Y), side))
		}
		srv.Capture(w, tick)
		for c := range clients {
			if scene == "capture" {
				break
			}
			if _, err := srv.Datagrams(c + 2); err != nil {
				b.Fatal(err)
			}
			if lag := uint32(c % 8); tick > lag {
				_ = srv.HandleAck(c+2, encodeAck(0, tick-lag))
			}
		}
	}
	for range 30 { // reach steady state: every client past its first full state
		step()
	}
	b.ResetTimer()
	for range b.N {
		step()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e6, "ms/tick")
}
