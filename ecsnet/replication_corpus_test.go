package ecsnet_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/replication/quant"
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

// fieldW and fieldH bound the corpus's positions, in 1/16 pixel.
const fieldW, fieldH = 16000, 12000

// captureReplication returns the datagrams, and how many snapshots the
// clients applied in all.
func captureReplication(tb testing.TB, seed uint64, opts ...replication.Option[corpusPos]) ([][]byte, int) {
	reg := systems.NewRegistry()
	inputs := systems.RegisterMessageCodec[replication.InputBatch[corpusInput]](reg, "input",
		replication.BatchCodec[corpusInput](nil), systems.Via(2, ecsnet.TransferUnreliable))
	systems.RegisterComponent(reg, corpusPosType, "position", opts...)
	systems.RegisterComponent(reg, corpusKindType, "kind")
	h := nettest.New(tb, nettest.Options{Registry: reg, Clients: 4, Config: systems.Config{SnapshotEvery: 3, Transport: ecsnet.Options{BindIP: "127.0.0.1"}}})
	h.Connect()
	var mu sync.Mutex
	var datagrams [][]byte
	record := func(d []byte) { mu.Lock(); datagrams = append(datagrams, d); mu.Unlock() }
	for _, n := range append([]*nettest.Node{h.Server}, h.Clients...) {
		if err := ecsnet.TapDatagrams(n.Net.Transport().(*ecsnet.Peer), record); err != nil {
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
		corpusPosType.SetValue(w.Entry(e), corpusPos{int16(rng.IntN(fieldW)), int16(rng.IntN(fieldH))})
		corpusKindType.SetValue(w.Entry(e), corpusKind{uint8(rng.IntN(4)), 0})
		ms = append(ms, mover{e, int16(rng.IntN(33) - 16), int16(rng.IntN(33) - 16)})
	}
	hist := make([]*replication.InputHistory[corpusInput], len(h.Clients))
	for i := range hist {
		hist[i] = replication.NewInputHistory[corpusInput](8)
	}
	newest := make([]uint32, len(h.Clients))
	snapshots := 0
	for tick := range 360 {
		for i := range ms {
			p := corpusPosType.Get(w.Entry(ms[i].e))
			p.X += ms[i].vx
			p.Y += ms[i].vy
			if p.X < 0 || p.X > fieldW {
				ms[i].vx = -ms[i].vx
			}
			if p.Y < 0 || p.Y > fieldH {
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
		for i, c := range h.Clients {
			if n := c.Net.ReplicationClient(0).Newest(); n != newest[i] {
				newest[i] = n
				snapshots++
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	return datagrams, snapshots
}

// BenchmarkCompressionReplication reports each mode's wire/original size
// on datagrams captured from replication (dictionary trained on a capture
// with another seed), with positions written whole or, as a game using
// delta codecs does, as differences from the client's baseline. For whole
// positions it also reports floor/orig: what the positions alone must cost a
// coder that sees one datagram at a time. Every snapshot tells a client
// where the 400 entities now are, each uniform over the field (they start
// uniform and drift at constant speeds, bouncing off its edges), so each
// costs log2(fieldW*fieldH) bits at least; predicting them from earlier
// snapshots takes a coder that knows what the client has, which is
// replication's DeltaCodec, not a datagram compressor. order0/orig is the
// datagrams' order-0 entropy, each datagram's own byte frequencies: zstd
// (with or without a dictionary) codes what it finds no match for, one
// byte at a time with one table per block, and cannot spend less than that
// on such bytes. small-wire/orig is wire/orig over the datagrams of at
// most smallDatagram bytes.
func BenchmarkCompressionReplication(b *testing.B) {
	b.Run("positions=whole", func(b *testing.B) { benchReplicationCorpus(b, true) })
	b.Run("positions=delta", func(b *testing.B) {
		benchReplicationCorpus(b, false, replication.WithCodec[corpusPos](corpusDelta{}))
	})
}

// benchReplicationCorpus measures every mode on one corpus; floors reports
// floor/orig and order0/orig (floor/orig holds for whole positions only).
func benchReplicationCorpus(b *testing.B, floors bool, opts ...replication.Option[corpusPos]) {
	start := time.Now()
	train, _ := captureReplication(b, 1, opts...)
	test, snapshots := captureReplication(b, 2, opts...)
	b.Logf("captured %d + %d datagrams in %v", len(train), len(test), time.Since(start))
	original := 0
	for _, d := range test {
		original += len(d)
	}
	floor := float64(snapshots) * 400 * math.Log2(float64(fieldW+1)*float64(fieldH+1)) / 8
	order0 := 0.0
	for _, d := range test {
		order0 += entropy0(d) / 8
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
			var wire, smallWire, smallOrig int
			for range b.N {
				wire, smallWire, smallOrig = 0, 0, 0
				for _, d := range test {
					n := c.Compress(d, out[:len(d)])
					if n <= 0 || n >= len(d) {
						n = len(d)
					}
					wire += n
					if len(d) <= smallDatagram {
						smallWire += n
						smallOrig += len(d)
					}
				}
			}
			b.ReportMetric(float64(wire)/float64(original), "wire/orig")
			b.ReportMetric(float64(smallWire)/float64(smallOrig), "small-wire/orig")
			b.ReportMetric(float64(original)/float64(len(test)), "B/datagram")
			if floors {
				b.ReportMetric(floor/float64(original), "floor/orig")
				b.ReportMetric(order0/float64(original), "order0/orig")
			}
		})
	}
}

// smallDatagram is the size up to which BenchmarkCompressionReplication
// also reports a datagram separately (small-wire/orig): acknowledgements,
// inputs and snapshots of a quiet world.
const smallDatagram = 128

// entropy0 is the order-0 empirical entropy of p in bits: the fewest bits
// any code of single bytes, fixed for all of p, spends on it.
func entropy0(p []byte) float64 {
	var count [256]int
	for _, b := range p {
		count[b]++
	}
	bits := 0.0
	for _, c := range count {
		if c > 0 {
			bits -= float64(c) * math.Log2(float64(c)/float64(len(p)))
		}
	}
	return bits
}

// Every datagram replication sends comes back unchanged through every
// mode, the dictionary mode with small and large dictionaries (whose
// matches reach far back into the dictionary, past the window its implied
// frame header declares).
func TestReplicationDatagramsRoundTripInEveryMode(t *testing.T) {
	all, _ := captureReplication(t, 3)
	train, test := all[:len(all)/2], all[len(all)/2:]
	type setup struct {
		mode ecsnet.CompressionMode
		dict int
	}
	setups := []setup{{ecsnet.CompressRangeCoder, 0}, {ecsnet.CompressFastLZ, 0}, {ecsnet.CompressZlib, 0},
		{ecsnet.CompressZstd, 0}, {ecsnet.CompressZstdDict, 4 << 10}, {ecsnet.CompressZstdDict, 64 << 10}}
	for _, s := range setups {
		var dict []byte
		if s.dict > 0 {
			var err error
			if dict, err = ecsnet.TrainDictionary(train, s.dict); err != nil {
				t.Fatal(err)
			}
		}
		c, done, err := ecsnet.BenchCodec(s.mode, dict)
		if err != nil {
			t.Fatal(err)
		}
		out, back := make([]byte, 2*4096), make([]byte, 4096)
		compressed := 0
		for i, d := range test {
			n := c.Compress(d, out)
			if n == 0 || n >= len(d) {
				continue // ENet sends it as it is
			}
			compressed++
			if m := c.Decompress(out[:n], back); !bytes.Equal(back[:m], d) {
				t.Fatalf("%v (dictionary %d): datagram %d of %d bytes came back as %d bytes", s.mode, len(dict), i, len(d), m)
			}
		}
		done()
		if compressed == 0 {
			t.Errorf("%v: no datagram compressed", s.mode)
		}
	}
}

// corpusDelta writes a corpus position as its axes' differences from the
// client's baseline (quant.WriteDelta), as a game using replication's
// delta codecs does (the demo's PositionCodec is the same).
type corpusDelta struct{}

func (corpusDelta) Append(dst []byte, p *corpusPos) []byte {
	return binary.LittleEndian.AppendUint16(binary.LittleEndian.AppendUint16(dst, uint16(p.X)), uint16(p.Y))
}

func (corpusDelta) Decode(src []byte, p *corpusPos) error {
	if len(src) != 4 {
		return errors.New("corpus position of wrong size")
	}
	p.X, p.Y = int16(binary.LittleEndian.Uint16(src)), int16(binary.LittleEndian.Uint16(src[2:]))
	return nil
}

func (corpusDelta) AppendDelta(dst []byte, base, p *corpusPos) []byte {
	return quant.AppendDeltas(dst, []int64{int64(base.X), int64(base.Y)}, []int64{int64(p.X), int64(p.Y)})
}

func (corpusDelta) DecodeDelta(src []byte, base, p *corpusPos) error {
	var v [2]int64
	err := quant.ReadDeltas(src, []int64{int64(base.X), int64(base.Y)}, v[:])
	p.X, p.Y = int16(v[0]), int16(v[1])
	return err
}
