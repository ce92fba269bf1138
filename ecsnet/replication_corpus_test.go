package ecsnet_test

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
)

// The compression corpus the issue asked for once replication existed:
// datagrams captured at ENet's compressor hook while the network system
// replicates a game like the demo's (400 drifting entities with 1/16-pixel
// int16 positions and a kind, interpolated, 20 Hz snapshots at 60 Hz) to
// four clients that send redundant inputs every tick.

type corpusPos struct{ X, Y int16 }
type corpusKind struct{ Kind, Frame uint8 }
type corpusInput struct {
	Buttons uint8
	Aim     int16
}

var (
	corpusPosType  = donburi.NewComponentType[corpusPos]()
	corpusKindType = donburi.NewComponentType[corpusKind]()
)

func captureReplication(tb testing.TB, seed uint64) [][]byte {
	reg := systems.NewRegistry()
	inputs := systems.RegisterMessageCodec[replication.InputBatch[corpusInput]](reg, "input",
		replication.BatchCodec[corpusInput](nil), systems.Via(2, ecsnet.TransferUnreliable))
	repl := replication.NewRegistry()
	replication.Register(repl, corpusPosType, "position")
	replication.Register(repl, corpusKindType, "kind")
	h := nettest.New(tb, nettest.Options{Registry: reg, Clients: 4, Config: systems.Config{Replication: repl, SnapshotEvery: 3}})
	h.Connect()
	var mu sync.Mutex
	var datagrams [][]byte
	record := func(d []byte) { mu.Lock(); datagrams = append(datagrams, d); mu.Unlock() }
	for _, n := range append([]*nettest.Node{h.Server}, h.Clients...) {
		if err := ecsnet.TapDatagrams(n.Net.Peer(), record); err != nil {
			tb.Fatal(err)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed))
	w := h.Server.World
	type mover struct {
		e      donburi.Entity
		vx, vy int16
	}
	var ms []mover
	for range 400 {
		e := w.Create(components.Replicated, corpusPosType, corpusKindType)
		corpusPosType.SetValue(w.Entry(e), corpusPos{int16(rng.IntN(16000)), int16(rng.IntN(12000))})
		corpusKindType.SetValue(w.Entry(e), corpusKind{uint8(rng.IntN(4)), 0})
		ms = append(ms, mover{e, int16(rng.IntN(33) - 16), int16(rng.IntN(33) - 16)})
	}
	hist := make([]*replication.InputHistory[corpusInput], len(h.Clients))
	for i := range hist {
		hist[i] = replication.NewInputHistory[corpusInput](8)
	}
	for tick := range 360 {
		for i := range ms {
			p := corpusPosType.Get(w.Entry(ms[i].e))
			p.X += ms[i].vx
			p.Y += ms[i].vy
			if p.X < 0 || p.X > 16000 {
				ms[i].vx = -ms[i].vx
			}
			if p.Y < 0 || p.Y > 12000 {
				ms[i].vy = -ms[i].vy
			}
			if tick%10 == 0 {
				corpusKindType.Get(w.Entry(ms[i].e)).Frame++
			}
		}
		for i, c := range h.Clients {
			hist[i].Record(c.Net.Tick(), corpusInput{Buttons: uint8(tick / 30 % 4), Aim: int16(tick * 7)})
			_ = inputs.Send(c.Net, 1, hist[i].Batch())
		}
		h.Step()
	}
	mu.Lock()
	defer mu.Unlock()
	return datagrams
}

// BenchmarkCompressionReplication reports each mode's wire/original size
// on datagrams captured from replication (dictionary trained on a capture
// with another seed).
func BenchmarkCompressionReplication(b *testing.B) {
	start := time.Now()
	train, test := captureReplication(b, 1), captureReplication(b, 2)
	b.Logf("captured %d + %d datagrams in %v", len(train), len(test), time.Since(start))
	original := 0
	for _, d := range test {
		original += len(d)
	}
	dict, err := ecsnet.TrainDictionary(train, 16<<10)
	if err != nil {
		b.Fatal(err)
	}
	for _, mode := range []ecsnet.CompressionMode{ecsnet.CompressRangeCoder, ecsnet.CompressFastLZ, ecsnet.CompressZlib, ecsnet.CompressZstd, ecsnet.CompressZstdDict} {
		b.Run("mode="+mode.String(), func(b *testing.B) {
			c, done, err := ecsnet.BenchCodec(mode, dict)
			if err != nil {
				b.Fatal(err)
			}
			defer done()
			out := make([]byte, 4096)
			wire := 0
			for range b.N {
				wire = 0
				for _, d := range test {
					if n := c.Compress(d, out[:len(d)]); n > 0 && n < len(d) {
						wire += n
					} else {
						wire += len(d)
					}
				}
			}
			b.ReportMetric(float64(wire)/float64(original), "wire/orig")
			b.ReportMetric(float64(original)/float64(len(test)), "B/datagram")
		})
	}
}
