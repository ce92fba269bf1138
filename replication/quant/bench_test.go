package quant

import (
	"math/rand/v2"
	"testing"
)

// transform is a typical replicated component: a position bounded to
// [-256, 255] x [-256, 255] x [0, 32] metres at 2 mm, and an orientation.
type transform struct {
	x, y, z float64
	rot     Quat
}

var (
	benchXY  = NewFloat(-256, 255, 1.0/512) // 18 bits
	benchZ   = NewFloat(0, 32, 1.0/512)     // 15 bits
	benchRot = QuatCodec{Bits: 9}           // 29 bits
)

func benchTransforms() []transform {
	rng := rand.New(rand.NewPCG(6, 6))
	ts := make([]transform, 1000)
	for i := range ts {
		v := normalize(Quat{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()})
		ts[i] = transform{
			x:   rng.Float64()*511 - 256,
			y:   rng.Float64()*511 - 256,
			z:   rng.Float64() * 32,
			rot: Quat{v[0], v[1], v[2], v[3]},
		}
	}
	return ts
}

func writeTransforms(w *Writer, ts []transform) {
	for _, t := range ts {
		benchXY.Write(w, t.x)
		benchXY.Write(w, t.y)
		benchZ.Write(w, t.z)
		benchRot.Write(w, t.rot)
	}
}

// BenchmarkWrite1000Transforms writes 1000 positions and quaternions into a
// reused buffer.
func BenchmarkWrite1000Transforms(b *testing.B) {
	ts := benchTransforms()
	var w Writer
	w.Reset(make([]byte, 0, 16<<10))
	b.ReportAllocs()
	for b.Loop() {
		w.Reset(w.Bytes()[:0])
		writeTransforms(&w, ts)
	}
	b.ReportMetric(float64(len(w.Bytes()))/float64(len(ts)), "bytes/value")
}

// BenchmarkRead1000Transforms reads back 1000 positions and quaternions.
func BenchmarkRead1000Transforms(b *testing.B) {
	ts := benchTransforms()
	var w Writer
	writeTransforms(&w, ts)
	data := w.Bytes()
	out := make([]transform, len(ts))
	var r Reader
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(data)
		for i := range out {
			var err error
			t := &out[i]
			if t.x, err = benchXY.Read(&r); err != nil {
				b.Fatal(err)
			}
			if t.y, err = benchXY.Read(&r); err != nil {
				b.Fatal(err)
			}
			if t.z, err = benchZ.Read(&r); err != nil {
				b.Fatal(err)
			}
			if t.rot, err = benchRot.Read(&r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(len(data))/float64(len(ts)), "bytes/value")
}
