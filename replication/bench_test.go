package replication

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/yohamta/donburi"
)

// BenchmarkServerSnapshot measures one snapshot tick on the server: 10% of
// the entities change, the server captures the world and encodes every
// client's datagrams. Clients ack with staggered delays (0..7 ticks, as
// with different round trips), so up to eight distinct baselines are
// encoded per tick. Reports ns per snapshot tick, bytes sent per client,
// and the server's heap in use after the run.
func BenchmarkServerSnapshot(b *testing.B) {
	for _, entities := range []int{1000, 10000, 50000} {
		for _, clients := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("entities=%d/clients=%d", entities, clients), func(b *testing.B) {
				benchSnapshot(b, entities, clients)
			})
		}
	}
}

func benchSnapshot(b *testing.B, entities, clients int) {
	reg := testRegistry()
	srv := NewServer(reg, ServerOptions{})
	w := donburi.NewWorld()
	ents := make([]donburi.Entity, entities)
	for i := range ents {
		ents[i] = spawn(w, position{float32(i), 0}, velType)
	}
	for c := range clients {
		srv.AddClient(c + 2)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	tick := uint32(0)
	step := func() int {
		tick++
		for range entities / 10 {
			e := w.Entry(ents[rng.IntN(entities)])
			p := posType.Get(e)
			p.X += 0.5
			p.Y += 0.25
		}
		srv.Capture(w, tick)
		sent := 0
		for c := range clients {
			parts, err := srv.Datagrams(c + 2)
			if err != nil {
				b.Fatal(err)
			}
			for _, p := range parts {
				sent += len(p)
			}
			if lag := uint32(c % 8); tick > lag {
				_ = srv.HandleAck(c+2, encodeAck(0, tick-lag))
			}
		}
		return sent
	}
	for range 40 { // fill the history and reach steady state
		step()
	}
	b.ResetTimer()
	total := 0
	for range b.N {
		total += step()
	}
	b.StopTimer()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(total)/float64(b.N*clients), "bytes/client/tick")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MiB")
	runtime.KeepAlive(w)
	runtime.KeepAlive(srv)
}
