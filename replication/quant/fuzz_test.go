package quant

import (
	"errors"
	"math"
	"slices"
	"testing"
)

var (
	fuzzPos   = NewFloat(-256, 255, 1.0/512) // 18 bits, codes above 261632 invalid
	fuzzSmall = NewFloat(0, 1, 0.1)          // 4 bits, codes above 10 invalid
	fuzzAngle = Angle{Bits: 9}
	fuzzQuat9 = QuatCodec{Bits: 9}
	fuzzQuat  = QuatCodec{Bits: 10}
)

const fuzzBaseline = 1000

// decoder reads one value, checks what can be checked about it alone, and
// returns a function writing it back when Write must reproduce exactly the
// bits read (nil when it need not).
type decoder struct {
	name string
	read func(t *testing.T, r *Reader) (rewrite func(w *Writer), err error)
}

func readFloat(f Float) func(t *testing.T, r *Reader) (func(w *Writer), error) {
	return func(t *testing.T, r *Reader) (func(w *Writer), error) {
		v, err := f.Read(r)
		if err == nil && !(v >= f.Min && v <= f.Max) {
			t.Fatalf("Float.Read = %v, outside [%v, %v]", v, f.Min, f.Max)
		}
		return func(w *Writer) { f.Write(w, v) }, err
	}
}

func readQuat(c QuatCodec) func(t *testing.T, r *Reader) (func(w *Writer), error) {
	return func(t *testing.T, r *Reader) (func(w *Writer), error) {
		q, err := c.Read(r)
		if n := math.Sqrt(q.X*q.X + q.Y*q.Y + q.Z*q.Z + q.W*q.W); err == nil && !(math.Abs(n-1) < 1e-12) {
			t.Fatalf("QuatCodec.Read = %v, of length %v", q, n)
		}
		return nil, err
	}
}

var decoders = []decoder{
	{"Float18", readFloat(fuzzPos)},
	{"Float4", readFloat(fuzzSmall)},
	{"Angle", func(t *testing.T, r *Reader) (func(w *Writer), error) {
		v, err := fuzzAngle.Read(r)
		if err == nil && !(v >= 0 && v < 2*math.Pi) {
			t.Fatalf("Angle.Read = %v, outside [0, 2π)", v)
		}
		return func(w *Writer) { fuzzAngle.Write(w, v) }, err
	}},
	{"Quat9", readQuat(fuzzQuat9)},
	{"Quat10", readQuat(fuzzQuat)},
	{"Uvarint", func(t *testing.T, r *Reader) (func(w *Writer), error) {
		v, err := ReadUvarint(r)
		return func(w *Writer) { WriteUvarint(w, v) }, err
	}},
	{"Varint", func(t *testing.T, r *Reader) (func(w *Writer), error) {
		v, err := ReadVarint(r)
		return func(w *Writer) { WriteVarint(w, v) }, err
	}},
	{"Delta", func(t *testing.T, r *Reader) (func(w *Writer), error) {
		v, err := ReadDelta(r, fuzzBaseline)
		return func(w *Writer) { WriteDelta(w, fuzzBaseline, v) }, err
	}},
	{"Bool", func(t *testing.T, r *Reader) (func(w *Writer), error) {
		v, err := r.ReadBool()
		return func(w *Writer) { w.WriteBool(v) }, err
	}},
	{"Bits13", func(t *testing.T, r *Reader) (func(w *Writer), error) {
		v, err := r.ReadBits(13)
		return func(w *Writer) { w.WriteBits(v, 13) }, err
	}},
}

// decodeOne decodes one value with d from r and reports whether it
// succeeded. Failures must be ErrShort or ErrRange; successes must consume
// bits, and exactly the bits Write produces, into w, if d returns a
// rewrite.
func decodeOne(t *testing.T, d decoder, r *Reader, w *Writer) bool {
	before := *r
	rewrite, err := d.read(t, r)
	if err != nil {
		if !errors.Is(err, ErrShort) && !errors.Is(err, ErrRange) {
			t.Fatalf("%s at bit %d: unexpected error %v", d.name, before.off, err)
		}
		return false
	}
	n := r.off - before.off
	if n <= 0 {
		t.Fatalf("%s at bit %d consumed %d bits", d.name, before.off, n)
	}
	if rewrite == nil {
		return true
	}
	w.Reset(w.Bytes()[:0])
	rewrite(w)
	if w.BitLen() != n {
		t.Fatalf("%s at bit %d read %d bits, writing it back takes %d", d.name, before.off, n, w.BitLen())
	}
	again := NewReader(w.Bytes())
	for left := n; left > 0; left -= 64 {
		a, _ := before.ReadBits(min(left, 64))
		b, _ := again.ReadBits(min(left, 64))
		if a != b {
			t.Fatalf("%s at bit %d: read %#x, writing it back gives %#x", d.name, before.off, a, b)
		}
	}
	return true
}

// FuzzReader: arbitrary bytes through every Read function, each alone until
// it fails and then all of them in turn, never panic; they fail only with
// ErrShort or ErrRange, return values in their documented ranges, and
// accept only bits that the matching Write produces. Inputs are cut to
// 1 KiB, about a datagram, to keep each run fast.
func FuzzReader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		data = data[:min(len(data), 1<<10)]
		var w Writer
		for _, d := range decoders {
			r := NewReader(data)
			for decodeOne(t, d, r, &w) {
			}
		}
		r := NewReader(data)
		for i := 0; decodeOne(t, decoders[i%len(decoders)], r, &w); i++ {
		}
		// Several fields in one stream: what is accepted writes back to
		// the same values.
		base := []int64{fuzzBaseline, -fuzzBaseline, 0}
		got, again := make([]int64, 3), make([]int64, 3)
		if ReadDeltas(data, base, got) == nil {
			if err := ReadDeltas(AppendDeltas(nil, base, got), base, again); err != nil || !slices.Equal(again, got) {
				t.Fatalf("ReadDeltas = %v, rewritten and read as %v, %v", got, again, err)
			}
		}
	})
}

// FuzzRoundTrip: any values written and read back come back within the
// documented bounds (exactly, for integers), clamped or defaulted as
// documented, and the reader ends where the writer did.
func FuzzRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, x, y, angle, qx, qy, qz, qw float64, u uint64, i, base int64) {
		q := Quat{qx, qy, qz, qw}
		small := base + int64(int8(u))
		var w Writer
		fuzzPos.Write(&w, x)
		fuzzSmall.Write(&w, y)
		fuzzAngle.Write(&w, angle)
		fuzzQuat9.Write(&w, q)
		fuzzQuat.Write(&w, q)
		WriteUvarint(&w, u)
		WriteVarint(&w, i)
		WriteDelta(&w, base, i)
		WriteDelta(&w, base, small)
		r := NewReader(w.Bytes())

		for _, c := range []struct {
			f Float
			v float64
		}{{fuzzPos, x}, {fuzzSmall, y}} {
			got, err := c.f.Read(r)
			if err != nil {
				t.Fatal(err)
			}
			want := min(max(c.v, c.f.Min), c.f.Max)
			if math.IsNaN(c.v) {
				want = c.f.Min
			}
			if slack := 1e-12 * max(-c.f.Min, c.f.Max); math.Abs(got-want) > c.f.Step()/2+slack {
				t.Fatalf("%v in [%v, %v] came back as %v", c.v, c.f.Min, c.f.Max, got)
			}
		}

		gotAngle, err := fuzzAngle.Read(r)
		if err != nil {
			t.Fatal(err)
		}
		wantAngle := math.Mod(angle, 2*math.Pi)
		if math.IsNaN(wantAngle) {
			wantAngle = 0
		}
		if d := angleDist(wantAngle, gotAngle); d > math.Pi/512*(1+1e-9) {
			t.Fatalf("angle %v came back as %v", angle, gotAngle)
		}

		v := normalize(q)
		unit := Quat{v[0], v[1], v[2], v[3]}
		for _, c := range []QuatCodec{fuzzQuat9, fuzzQuat} {
			got, err := c.Read(r)
			if err != nil {
				t.Fatal(err)
			}
			comp, ang := quatError(unit, got)
			maxComp, maxAngle := c.MaxError()
			if comp > maxComp+1e-12 || ang > maxAngle+1e-9 {
				t.Fatalf("%v (unit %v) came back as %v with %d bits: component off by %v, angle by %v",
					q, unit, got, c.Bits, comp, ang)
			}
		}

		if got, err := ReadUvarint(r); got != u || err != nil {
			t.Fatalf("uvarint %d came back as %d, %v", u, got, err)
		}
		if got, err := ReadVarint(r); got != i || err != nil {
			t.Fatalf("varint %d came back as %d, %v", i, got, err)
		}
		for _, want := range []int64{i, small} {
			if got, err := ReadDelta(r, base); got != want || err != nil {
				t.Fatalf("%d against baseline %d came back as %d, %v", want, base, got, err)
			}
		}
		if left := r.Remaining(); left != len(w.Bytes())*8-w.BitLen() || left > 7 {
			t.Fatalf("%d bits left over after %d written", left, w.BitLen())
		}
	})
}
