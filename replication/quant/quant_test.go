package quant

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// write runs fn on a fresh Writer and returns the padded bytes and the
// number of bits written.
func write(fn func(w *Writer)) ([]byte, int) {
	var w Writer
	fn(&w)
	return w.Bytes(), w.BitLen()
}

func TestWriterPacksMostSignificantBitFirst(t *testing.T) {
	tests := []struct {
		name string
		fn   func(w *Writer)
		want []byte
	}{
		{"0b101 in 3 bits then 0b00110 in 5", func(w *Writer) { w.WriteBits(0b101, 3); w.WriteBits(0b00110, 5) }, []byte{0b1010_0110}},
		{"one bit is padded with zeros", func(w *Writer) { w.WriteBits(1, 1) }, []byte{0x80}},
		{"12 bits span two bytes", func(w *Writer) { w.WriteBits(0xABC, 12) }, []byte{0xAB, 0xC0}},
		{"bits above n are ignored", func(w *Writer) { w.WriteBits(0xFFFF_FFF5, 4) }, []byte{0x50}},
		{"64 bits after 4", func(w *Writer) { w.WriteBits(0xF, 4); w.WriteBits(0x0123_4567_89AB_CDEF, 64) },
			[]byte{0xF0, 0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0}},
		{"bools", func(w *Writer) { w.WriteBool(true); w.WriteBool(false); w.WriteBool(true) }, []byte{0xA0}},
		{"zero bits write nothing", func(w *Writer) { w.WriteBits(7, 0) }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := write(tt.fn); !slices.Equal(got, tt.want) {
				t.Errorf("got % x, want % x", got, tt.want)
			}
		})
	}
}

func TestReaderReadsWhatWriterWrote(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	type field struct {
		v uint64
		n int
	}
	fields := make([]field, 1000)
	var w Writer
	for i := range fields {
		n := rng.IntN(65)
		v := rng.Uint64()
		if n < 64 {
			v &= 1<<n - 1
		}
		fields[i] = field{v, n}
		w.WriteBits(v, n)
	}
	bits := w.BitLen()
	r := NewReader(w.Bytes())
	if pad := r.Remaining() - bits; pad < 0 || pad > 7 {
		t.Fatalf("%d bits written, %d to read", bits, r.Remaining())
	}
	for i, f := range fields {
		got, err := r.ReadBits(f.n)
		if err != nil || got != f.v {
			t.Fatalf("field %d: ReadBits(%d) = %#x, %v; want %#x", i, f.n, got, err, f.v)
		}
	}
	if r.Remaining() > 7 {
		t.Errorf("%d bits left after reading everything", r.Remaining())
	}
}

func TestReaderReturnsErrShortPastTheEnd(t *testing.T) {
	r := NewReader([]byte{0xA6})
	if _, err := r.ReadBits(9); !errors.Is(err, ErrShort) {
		t.Fatalf("ReadBits(9) of 8 bits: err %v, want ErrShort", err)
	}
	if v, err := r.ReadBits(3); v != 0b101 || err != nil {
		t.Fatalf("a failed read consumed bits: then ReadBits(3) = %#b, %v", v, err)
	}
	if v, err := r.ReadBits(5); v != 0b00110 || err != nil {
		t.Fatalf("ReadBits(5) = %#b, %v", v, err)
	}
	if _, err := r.ReadBool(); !errors.Is(err, ErrShort) {
		t.Errorf("ReadBool at the end: err %v, want ErrShort", err)
	}
	if v, err := r.ReadBits(0); v != 0 || err != nil {
		t.Errorf("ReadBits(0) at the end = %d, %v; want 0, nil", v, err)
	}
	if _, err := NewReader(nil).ReadBits(1); !errors.Is(err, ErrShort) {
		t.Errorf("reading nil: err %v, want ErrShort", err)
	}
}

func TestBitCountsOutside0To64Panic(t *testing.T) {
	for _, n := range []int{-1, 65} {
		for name, fn := range map[string]func(){
			"WriteBits": func() { new(Writer).WriteBits(0, n) },
			"ReadBits":  func() { _, _ = NewReader(make([]byte, 16)).ReadBits(n) },
		} {
			t.Run(fmt.Sprintf("%s(%d)", name, n), func(t *testing.T) {
				defer func() {
					if recover() == nil {
						t.Error("did not panic")
					}
				}()
				fn()
			})
		}
	}
}

func TestWriterReuseViaReset(t *testing.T) {
	var w Writer
	w.WriteBits(0x3FF, 10)
	first := w.Bytes()
	w.Reset(first[:0])
	w.WriteBits(0b101, 3)
	w.WriteBits(0b00110, 5)
	got := w.Bytes()
	if !slices.Equal(got, []byte{0xA6}) || w.BitLen() != 8 {
		t.Fatalf("after Reset: % x, %d bits; want a6, 8 bits", got, w.BitLen())
	}
	if &got[0] != &first[0] {
		t.Error("Reset(b[:0]) did not reuse b's storage")
	}

	w.Reset([]byte{0xEE})
	w.WriteBool(true)
	if got := w.Bytes(); !slices.Equal(got, []byte{0xEE, 0x80}) || w.BitLen() != 1 {
		t.Errorf("Reset(prefix): % x, %d bits; want ee 80, 1 bit", got, w.BitLen())
	}
}

func TestBytesFlushesThePartialByte(t *testing.T) {
	var w Writer
	w.WriteBits(0b11, 2)
	before := w.Bytes()
	w.WriteBits(0b11, 2)
	if got := w.Bytes(); !slices.Equal(got, []byte{0xC0, 0xC0}) {
		t.Errorf("writes after Bytes: % x, want c0 c0 (a new byte)", got)
	}
	if !slices.Equal(before, []byte{0xC0}) {
		t.Errorf("earlier Bytes result changed to % x", before)
	}
	if w.BitLen() != 4 {
		t.Errorf("BitLen %d counts padding, want 4", w.BitLen())
	}
}

func TestNewFloatPicksTheBitsForTheResolution(t *testing.T) {
	tests := []struct {
		min, max, res float64
		bits          int
		maxCode       uint64
	}{
		{-256, 255, 1.0 / 512, 18, 261632}, // positions at 2 mm
		{0, 32, 1.0 / 512, 15, 16384},
		{0, 1, 0.1, 4, 10},
		{0, 255, 1, 8, 255},
		{0, 1, 2, 1, 1},
		{-1, 1, 0.001, 11, 2000},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("[%v,%v]by%v", tt.min, tt.max, tt.res), func(t *testing.T) {
			f := NewFloat(tt.min, tt.max, tt.res)
			if f.Bits != tt.bits || f.MaxCode != tt.maxCode {
				t.Errorf("Bits %d, MaxCode %d; want %d, %d", f.Bits, f.MaxCode, tt.bits, tt.maxCode)
			}
			if f.Step() > tt.res {
				t.Errorf("Step %v coarser than resolution %v", f.Step(), tt.res)
			}
		})
	}
}

func TestFloatRoundTripsWithinHalfTheResolution(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	for _, tt := range []struct{ min, max, res float64 }{
		{-256, 255, 1.0 / 512},
		{0, 32, 0.01},
		{-1, 1, 0.001},
		{0, 1, 0.3},
		{-1e6, 1e6, 0.125},
		{1000, 1000.5, 1e-6},
	} {
		f := NewFloat(tt.min, tt.max, tt.res)
		t.Run(fmt.Sprintf("[%v,%v]by%v", tt.min, tt.max, tt.res), func(t *testing.T) {
			values := []float64{tt.min, tt.max, (tt.min + tt.max) / 2, math.Nextafter(tt.max, tt.min)}
			for range 10000 {
				values = append(values, tt.min+rng.Float64()*(tt.max-tt.min))
			}
			var w Writer
			for _, v := range values {
				f.Write(&w, v)
			}
			r := NewReader(w.Bytes())
			for _, v := range values {
				got, err := f.Read(r)
				if err != nil {
					t.Fatal(err)
				}
				if math.Abs(got-v) > tt.res/2 {
					t.Fatalf("%v came back as %v, off by %v > %v", v, got, math.Abs(got-v), tt.res/2)
				}
			}
			if got := w.BitLen(); got != len(values)*f.Bits {
				t.Errorf("%d values took %d bits, want %d each", len(values), got, f.Bits)
			}
		})
	}
}

func TestFloatEndpointsAreExact(t *testing.T) {
	f := NewFloat(-3.7, 12.1, 0.01)
	if got := f.Dequantize(f.Quantize(-3.7)); got != -3.7 {
		t.Errorf("Min came back as %v", got)
	}
	if got := f.Dequantize(f.Quantize(12.1)); got != 12.1 {
		t.Errorf("Max came back as %v", got)
	}
}

func TestFloatClampsOutOfRangeValues(t *testing.T) {
	f := NewFloat(-10, 10, 0.5)
	for _, tt := range []struct {
		v, want float64
	}{
		{-11, -10}, {1e300, 10}, {math.Inf(-1), -10}, {math.Inf(1), 10}, {math.NaN(), -10},
	} {
		if got := f.Dequantize(f.Quantize(tt.v)); got != tt.want {
			t.Errorf("%v came back as %v, want %v", tt.v, got, tt.want)
		}
	}
	if got := f.Dequantize(1 << 20); got != 10 {
		t.Errorf("Dequantize(code above MaxCode) = %v, want Max", got)
	}
}

func TestFloatReadRejectsCodesAboveMaxCode(t *testing.T) {
	f := NewFloat(0, 1, 0.1) // codes 0..10 in 4 bits
	for code := range uint64(16) {
		b, _ := write(func(w *Writer) { w.WriteBits(code, 4) })
		v, err := f.Read(NewReader(b))
		switch {
		case code <= 10 && (err != nil || math.Abs(v-float64(code)/10) > 1e-15):
			t.Errorf("code %d: %v, %v; want %v", code, v, err, float64(code)/10)
		case code > 10 && !errors.Is(err, ErrRange):
			t.Errorf("code %d: err %v, want ErrRange", code, err)
		}
	}
}

func TestFloatLiteralUsesEveryCode(t *testing.T) {
	f := Float{Min: -1, Max: 1, Bits: 12}
	if got := f.Quantize(1); got != 4095 {
		t.Errorf("Quantize(Max) = %d, want 4095", got)
	}
	if got := f.Quantize(0); got != 2048 { // 2047.5 rounds away from zero
		t.Errorf("Quantize(0) = %d, want 2048", got)
	}
	if math.Abs(f.Step()-2.0/4095) > 1e-18 {
		t.Errorf("Step %v, want 2/4095", f.Step())
	}
}

func TestInvalidFloatsPanic(t *testing.T) {
	for name, fn := range map[string]func(){
		"NewFloat min = max":      func() { NewFloat(1, 1, 0.1) },
		"NewFloat min > max":      func() { NewFloat(2, 1, 0.1) },
		"NewFloat resolution 0":   func() { NewFloat(0, 1, 0) },
		"NewFloat NaN":            func() { NewFloat(math.NaN(), 1, 0.1) },
		"NewFloat range overflow": func() { NewFloat(-math.MaxFloat64, math.MaxFloat64, 1) },
		"NewFloat over 53 bits":   func() { NewFloat(0, 1, 1e-17) },
		"Bits 0":                  func() { Float{Min: 0, Max: 1}.Quantize(0) },
		"Bits 54":                 func() { Float{Min: 0, Max: 1, Bits: 54}.Quantize(0) },
		"MaxCode too wide":        func() { _, _ = Float{Min: 0, Max: 1, Bits: 4, MaxCode: 16}.Read(NewReader(nil)) },
		"Min = Max":               func() { Float{Min: 1, Max: 1, Bits: 8}.Write(new(Writer), 1) },
		"Angle Bits 0":            func() { Angle{}.Quantize(1) },
		"QuatCodec Bits 1":        func() { QuatCodec{Bits: 1}.Write(new(Writer), Quat{W: 1}) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("did not panic")
				}
			}()
			fn()
		})
	}
}

// angleDist is the distance between two angles around the circle.
func angleDist(a, b float64) float64 {
	d := math.Mod(math.Abs(a-b), 2*math.Pi)
	return min(d, 2*math.Pi-d)
}

func TestAngleRoundTripsWithinHalfAStep(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, bits := range []int{1, 6, 9, 12, 16} {
		a := Angle{Bits: bits}
		bound := math.Pi / math.Exp2(float64(bits))
		t.Run(fmt.Sprintf("%dbits", bits), func(t *testing.T) {
			values := []float64{0, math.Pi, -math.Pi, 2 * math.Pi, math.Nextafter(2*math.Pi, 0), -1e-300, 1e6}
			for range 10000 {
				values = append(values, (rng.Float64()-0.5)*100)
			}
			var w Writer
			for _, v := range values {
				a.Write(&w, v)
			}
			r := NewReader(w.Bytes())
			for _, v := range values {
				got, err := a.Read(r)
				if err != nil {
					t.Fatal(err)
				}
				if got < 0 || got >= 2*math.Pi {
					t.Fatalf("%v came back as %v, outside [0, 2π)", v, got)
				}
				if d := angleDist(v, got); d > bound*(1+1e-9) {
					t.Fatalf("%v came back as %v, %v away > %v", v, got, d, bound)
				}
			}
		})
	}
}

func TestAngleCodes(t *testing.T) {
	a := Angle{Bits: 8}
	for _, tt := range []struct {
		v    float64
		want uint64
	}{
		{0, 0}, {math.Pi / 2, 64}, {math.Pi, 128}, {-math.Pi / 2, 192},
		{2 * math.Pi, 0}, {5 * math.Pi, 128}, {-1e-9, 0},
		{math.NaN(), 0}, {math.Inf(1), 0},
	} {
		if got := a.Quantize(tt.v); got != tt.want {
			t.Errorf("Quantize(%v) = %d, want %d", tt.v, got, tt.want)
		}
	}
	if got := a.Dequantize(64 + 256); got != math.Pi/2 {
		t.Errorf("Dequantize(64+256) = %v, want π/2 (only the low 8 bits count)", got)
	}
}

// quatError returns the largest component difference and the rotation
// angle in radians between unit quaternions want and got, taking got in the
// sign closer to want.
func quatError(want, got Quat) (component, angle float64) {
	a := [4]float64{want.X, want.Y, want.Z, want.W}
	b := [4]float64{got.X, got.Y, got.Z, got.W}
	dot := a[0]*b[0] + a[1]*b[1] + a[2]*b[2] + a[3]*b[3]
	sign := 1.0
	if dot < 0 {
		sign = -1
	}
	for i := range a {
		component = max(component, math.Abs(a[i]-sign*b[i]))
	}
	return component, 2 * math.Acos(min(1, math.Abs(dot)))
}

// testQuats returns unit quaternions spread over all rotations, plus ones
// near the worst case for smallest-three (all components about 1/2), axis
// rotations and ties.
func testQuats(rng *rand.Rand, n int) []Quat {
	s := math.Sqrt(0.5)
	qs := []Quat{
		{W: 1}, {X: 1}, {Y: -1}, {Z: 1}, {0.5, 0.5, 0.5, 0.5}, {-0.5, 0.5, -0.5, 0.5},
		{X: s, W: s}, {Y: s, Z: -s}, {X: -s, W: -s},
	}
	for i := range n {
		var q Quat
		if i%2 == 0 {
			q = Quat{rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64(), rng.NormFloat64()}
		} else {
			e := func() float64 { return 0.5 + 0.02*(rng.Float64()-0.5) }
			q = Quat{e(), e(), e(), e()}
		}
		v := normalize(q)
		qs = append(qs, Quat{v[0], v[1], v[2], v[3]})
	}
	return qs
}

func TestQuatRoundTripsWithinMaxError(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	qs := testQuats(rng, 200000)
	for _, tt := range []struct {
		bits       int
		size       int     // bits per quaternion
		component  float64 // documented bounds
		angleDeg   float64
		worstAbove float64 // the bound is not loose: some error exceeds this share of it
	}{
		{bits: 9, size: 29, component: 0.00419, angleDeg: 0.553, worstAbove: 0.9},
		{bits: 10, size: 32, component: 0.00209, angleDeg: 0.276, worstAbove: 0.9},
		{bits: 12, size: 38, component: 0.00052, angleDeg: 0.069, worstAbove: 0.9},
		{bits: 4, size: 14, component: 0.2, angleDeg: 25, worstAbove: 0.5},
	} {
		c := QuatCodec{Bits: tt.bits}
		t.Run(fmt.Sprintf("%dbits", tt.bits), func(t *testing.T) {
			maxComp, maxAngle := c.MaxError()
			if maxComp > tt.component || maxAngle*180/math.Pi > tt.angleDeg {
				t.Errorf("MaxError() = %v, %v°; documented %v, %v°", maxComp, maxAngle*180/math.Pi, tt.component, tt.angleDeg)
			}
			var w Writer
			for _, q := range qs {
				c.Write(&w, q)
			}
			if got := w.BitLen(); got != len(qs)*tt.size {
				t.Errorf("%d quaternions took %d bits, want %d each", len(qs), got, tt.size)
			}
			r := NewReader(w.Bytes())
			worstComp, worstAngle := 0.0, 0.0
			for _, q := range qs {
				got, err := c.Read(r)
				if err != nil {
					t.Fatal(err)
				}
				comp, angle := quatError(q, got)
				if comp > maxComp || angle > maxAngle {
					t.Fatalf("%v came back as %v: component off by %v, angle by %v°; bounds %v, %v°",
						q, got, comp, angle*180/math.Pi, maxComp, maxAngle*180/math.Pi)
				}
				worstComp, worstAngle = max(worstComp, comp), max(worstAngle, angle)
			}
			t.Logf("worst component error %.5f (bound %.5f), worst angle %.4f° (bound %.4f°)",
				worstComp, maxComp, worstAngle*180/math.Pi, maxAngle*180/math.Pi)
			if worstComp < tt.worstAbove*maxComp || worstAngle < tt.worstAbove*maxAngle {
				t.Errorf("bounds looser than expected: worst errors %v, %v", worstComp, worstAngle)
			}
		})
	}
}

func TestQuatKeepsZerosAndTheIdentityExact(t *testing.T) {
	c := QuatCodec{Bits: 9}
	half := math.Sin(0.3)
	for _, tt := range []struct {
		name    string
		in, out Quat
	}{
		{"identity", Quat{W: 1}, Quat{W: 1}},
		{"negated identity is the same rotation", Quat{W: -1}, Quat{W: 1}},
		{"scaled input is normalized", Quat{W: 7}, Quat{W: 1}},
		{"zero becomes the identity", Quat{}, Quat{W: 1}},
		{"NaN becomes the identity", Quat{X: math.NaN(), W: 1}, Quat{W: 1}},
		{"Inf becomes the identity", Quat{X: math.Inf(-1)}, Quat{W: 1}},
		{"180° about Y", Quat{Y: -1}, Quat{Y: 1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := write(func(w *Writer) { c.Write(w, tt.in) })
			got, err := c.Read(NewReader(b))
			if err != nil || got != tt.out {
				t.Errorf("got %v, %v; want %v", got, err, tt.out)
			}
		})
	}
	// A rotation about Z keeps X and Y exactly zero, so nothing tilts.
	b, _ := write(func(w *Writer) { c.Write(w, Quat{Z: half, W: math.Cos(0.3)}) })
	if got, _ := c.Read(NewReader(b)); got.X != 0 || got.Y != 0 {
		t.Errorf("yaw-only rotation came back as %v", got)
	}
}

func TestQuatEncoding(t *testing.T) {
	// Largest is W (index 3); X, Y, Z are zero, the middle code 255 of 0..510.
	b, n := write(func(w *Writer) { QuatCodec{Bits: 9}.Write(w, Quat{W: -1}) })
	want, _ := write(func(w *Writer) {
		w.WriteBits(3, 2)
		w.WriteBits(255, 9)
		w.WriteBits(255, 9)
		w.WriteBits(255, 9)
	})
	if n != 29 || !slices.Equal(b, want) {
		t.Errorf("identity: % x in %d bits, want % x in 29", b, n, want)
	}
}

func TestQuatReadRejectsTheUnusedCode(t *testing.T) {
	c := QuatCodec{Bits: 9}
	for i := range 3 {
		b, _ := write(func(w *Writer) {
			w.WriteBits(0, 2)
			for j := range 3 {
				code := uint64(255)
				if j == i {
					code = 511
				}
				w.WriteBits(code, 9)
			}
		})
		if _, err := c.Read(NewReader(b)); !errors.Is(err, ErrRange) {
			t.Errorf("code 511 as component %d: err %v, want ErrRange", i, err)
		}
	}
}

func TestQuatReadAlwaysGivesAUnitQuaternion(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	c := QuatCodec{Bits: 10}
	b := make([]byte, 4)
	for range 10000 {
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		q, err := c.Read(NewReader(b))
		if errors.Is(err, ErrRange) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if n := math.Sqrt(q.X*q.X + q.Y*q.Y + q.Z*q.Z + q.W*q.W); math.Abs(n-1) > 1e-12 {
			t.Fatalf("% x decoded to %v of length %v", b, q, n)
		}
	}
}

func TestUvarintEncodings(t *testing.T) {
	for _, tt := range []struct {
		v    uint64
		want []byte
		bits int
	}{
		{0, []byte{0b0000_0000}, 5},                   // 0000 0
		{1, []byte{0b0001_0000}, 5},                   // 0001 0
		{15, []byte{0b1111_0000}, 5},                  // 1111 0
		{16, []byte{0b0000_1000, 0b1000_0000}, 10},    // 0000 1, 0001 0
		{300, []byte{0b1100_1001, 0b0100_0100}, 15},   // 1100 1, 0010 1, 0001 0
		{255, []byte{0b1111_1111, 0b1000_0000}, 10},   // 1111 1, 1111 0
		{1 << 63, nil, 80}, {math.MaxUint64, nil, 80}, // bytes not checked
	} {
		t.Run(fmt.Sprint(tt.v), func(t *testing.T) {
			b, n := write(func(w *Writer) { WriteUvarint(w, tt.v) })
			if n != tt.bits || (tt.want != nil && !slices.Equal(b, tt.want)) {
				t.Errorf("% 08b in %d bits, want % 08b in %d", b, n, tt.want, tt.bits)
			}
			if got, err := ReadUvarint(NewReader(b)); got != tt.v || err != nil {
				t.Errorf("read back %d, %v", got, err)
			}
		})
	}
}

func TestVarintRoundTrips(t *testing.T) {
	for _, tt := range []struct {
		v    int64
		bits int
	}{
		{0, 5}, {-1, 5}, {1, 5}, {-8, 5}, {7, 5}, {8, 10}, {-9, 10},
		{math.MaxInt64, 80}, {math.MinInt64, 80},
	} {
		b, n := write(func(w *Writer) { WriteVarint(w, tt.v) })
		got, err := ReadVarint(NewReader(b))
		if got != tt.v || err != nil || n != tt.bits {
			t.Errorf("%d: %d bits, read back %d, %v; want %d bits", tt.v, n, got, err, tt.bits)
		}
	}
}

func TestUvarintReadRejectsWhatWriteNeverWrites(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func(w *Writer)
		want error
	}{
		{"trailing zero group", func(w *Writer) { w.WriteBits(0b0001_1, 5); w.WriteBits(0b0000_0, 5) }, ErrRange},
		{"17 groups", func(w *Writer) {
			for range 16 {
				w.WriteBits(0b1111_1, 5)
			}
			w.WriteBits(0b0001_0, 5)
		}, ErrRange},
		{"truncated", func(w *Writer) { w.WriteBits(0b1111_1, 5) }, ErrShort},
		{"empty", func(w *Writer) {}, ErrShort},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := write(tt.fn)
			if _, err := ReadUvarint(NewReader(b)); !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDeltaIsShortForSmallChanges(t *testing.T) {
	for _, tt := range []struct {
		baseline, value int64
		bits            int
		want            []byte // nil: not checked
	}{
		{100, 100, 1, []byte{0b0000_0000}},     // 0
		{100, 101, 6, []byte{0b1000_0100}},     // 10 0001: z = 2
		{0, -1, 6, []byte{0b1000_0000}},        // 10 0000: z = 1
		{0, 8, 6, []byte{0b1011_1100}},         // 10 1111: z = 16
		{0, -8, 6, nil},                        // z = 15
		{0, -9, 7, []byte{0b1100_0000}},        // 11 00000: z-17 = 0
		{0, 9, 7, []byte{0b1100_0100}},         // 11 00010: z-17 = 1
		{0, 1000, 17, nil},                     // z-17 = 1983: 3 groups
		{math.MinInt64, math.MaxInt64, 6, nil}, // wraps around to -1
		{0, math.MinInt64, 82, nil},
		{math.MaxInt64, math.MinInt64, 6, nil}, // wraps around to +1
	} {
		t.Run(fmt.Sprintf("%d_to_%d", tt.baseline, tt.value), func(t *testing.T) {
			b, n := write(func(w *Writer) { WriteDelta(w, tt.baseline, tt.value) })
			if n != tt.bits || (tt.want != nil && !slices.Equal(b, tt.want)) {
				t.Errorf("% 08b in %d bits, want % 08b in %d", b, n, tt.want, tt.bits)
			}
			if got, err := ReadDelta(NewReader(b), tt.baseline); got != tt.value || err != nil {
				t.Errorf("read back %d, %v", got, err)
			}
		})
	}
}

// Several fields share one bit stream: two unchanged axes fit one byte,
// they read back exactly, and a stream that is short or a byte too long is
// refused.
func TestDeltasOfSeveralFields(t *testing.T) {
	base := []int64{100, -7, 5000}
	for _, values := range [][]int64{{100, -7, 5000}, {101, 9, 4000}, {math.MinInt64, 0, math.MaxInt64}} {
		b := AppendDeltas([]byte{0xee}, base, values)
		if b[0] != 0xee {
			t.Fatal("AppendDeltas overwrote dst")
		}
		got := make([]int64, len(values))
		if err := ReadDeltas(b[1:], base, got); err != nil || !slices.Equal(got, values) {
			t.Errorf("%v came back as %v, %v", values, got, err)
		}
		if err := ReadDeltas(append(b[1:], 0), base, got); !errors.Is(err, ErrRange) {
			t.Errorf("%v with a byte more: err %v, want ErrRange", values, err)
		}
	}
	if n := len(AppendDeltas(nil, base[:2], base[:2])); n != 1 {
		t.Errorf("two unchanged fields take %d bytes, want 1", n)
	}
	long := AppendDeltas(nil, base, []int64{0, 0, 0})
	if err := ReadDeltas(long[:len(long)-1], base, make([]int64, 3)); !errors.Is(err, ErrShort) {
		t.Errorf("cut short: err %v, want ErrShort", err)
	}
}

func TestDeltaReadErrors(t *testing.T) {
	tooLarge, _ := write(func(w *Writer) { w.WriteBits(0b11, 2); WriteUvarint(w, math.MaxUint64-16) })
	for _, tt := range []struct {
		name string
		b    []byte
		skip int // bits to skip first, to end the input mid-value
		want error
	}{
		{"difference beyond 64 bits", tooLarge, 0, ErrRange},
		{"empty", nil, 0, ErrShort},
		{"cut before the form", []byte{0b0000_0001}, 7, ErrShort},
		{"cut in the 6-bit form", []byte{0b0000_0010}, 6, ErrShort},
		{"cut in the long form", []byte{0b0000_0011}, 6, ErrShort},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(tt.b)
			if _, err := r.ReadBits(tt.skip); err != nil {
				t.Fatal(err)
			}
			if _, err := ReadDelta(r, 0); !errors.Is(err, tt.want) {
				t.Errorf("err %v, want %v", err, tt.want)
			}
		})
	}
	// The largest uvarint the third form accepts is z = 2^64 - 1.
	b, _ := write(func(w *Writer) { w.WriteBits(0b11, 2); WriteUvarint(w, math.MaxUint64-17) })
	if got, err := ReadDelta(NewReader(b), 0); got != math.MinInt64 || err != nil {
		t.Errorf("largest difference: %d, %v; want MinInt64", got, err)
	}
}
