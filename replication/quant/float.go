package quant

import (
	"fmt"
	"math"
	"math/bits"
)

// maxCodeBits is the widest code a Float, Angle or QuatCodec accepts: codes
// up to 2^53 are exact in a float64, so wider ones would add no precision.
const maxCodeBits = 53

// Float quantizes values in [Min, Max] to the integer codes 0 to MaxCode,
// evenly spaced, and writes a code in Bits bits. NewFloat builds one from a
// resolution; a literal Float{Min: -1, Max: 1, Bits: 12} uses every Bits-bit
// pattern as a code.
//
// A Float is valid when Min < Max, both finite with a finite difference,
// 1 <= Bits <= 53, and MaxCode < 2^Bits. Methods panic on an invalid Float,
// as that is a bug in the caller, never in the input. Methods are safe for
// concurrent use.
type Float struct {
	Min, Max float64
	// Bits is the code's width on the wire.
	Bits int
	// MaxCode is the code for Max. Zero means 2^Bits - 1. When it is lower,
	// the codes above it are invalid and Read rejects them with ErrRange.
	MaxCode uint64
}

// NewFloat returns a Float for values in [min, max] that reproduces every
// value to within resolution/2 (give or take float64 rounding, see Step): it
// has the fewest codes whose spacing, Step, is at most resolution, and the
// fewest bits that hold them. For example
// NewFloat(-256, 255, 1.0/512) has 261633 codes in 18 bits. It panics if
// min >= max, if resolution <= 0, if any is not finite, or if more than 53
// bits would be needed.
func NewFloat(min, max, resolution float64) Float {
	if !(min < max) || !(resolution > 0) || math.IsInf(max-min, 0) || math.IsInf(resolution, 0) {
		panic(fmt.Sprintf("quant: NewFloat(%v, %v, %v): need finite min < max and resolution > 0", min, max, resolution))
	}
	steps := math.Ceil((max - min) / resolution)
	if steps >= 1<<maxCodeBits {
		panic(fmt.Sprintf("quant: NewFloat(%v, %v, %v): needs more than %d bits", min, max, resolution, maxCodeBits))
	}
	code := uint64(steps)
	return Float{Min: min, Max: max, Bits: bits.Len64(code), MaxCode: code}
}

// maxCode returns the effective MaxCode after checking that f is valid.
func (f Float) maxCode() uint64 {
	if f.Bits < 1 || f.Bits > maxCodeBits || !(f.Min < f.Max) || math.IsInf(f.Max-f.Min, 0) {
		panic(fmt.Sprintf("quant: invalid Float %+v", f))
	}
	all := uint64(1)<<f.Bits - 1
	switch {
	case f.MaxCode == 0:
		return all
	case f.MaxCode > all:
		panic(fmt.Sprintf("quant: invalid Float %+v: MaxCode needs more than Bits", f))
	}
	return f.MaxCode
}

// Step returns the distance between the values of adjacent codes. A value
// in [Min, Max] comes back from Quantize and Dequantize within Step()/2,
// give or take float64 rounding (a few units in the last place of the
// larger of |Min| and |Max|).
func (f Float) Step() float64 { return (f.Max - f.Min) / float64(f.maxCode()) }

// Quantize returns the code nearest v. Values outside [Min, Max] are clamped
// to it, and NaN gives the code for Min.
func (f Float) Quantize(v float64) uint64 {
	top := f.maxCode()
	switch {
	case !(v > f.Min): // also NaN
		return 0
	case v >= f.Max:
		return top
	}
	return uint64(math.Round((v - f.Min) / (f.Max - f.Min) * float64(top)))
}

// Dequantize returns the value of code q, in [Min, Max]. A q above MaxCode
// is treated as MaxCode; Read, which sees untrusted codes, rejects them
// instead.
func (f Float) Dequantize(q uint64) float64 {
	top := f.maxCode()
	if q >= top {
		return f.Max
	}
	return min(f.Min+float64(q)*(f.Max-f.Min)/float64(top), f.Max)
}

// Write quantizes v and appends its code to w in Bits bits.
func (f Float) Write(w *Writer, v float64) {
	w.WriteBits(f.Quantize(v), f.Bits)
}

// Read reads a code written by Write and returns its value. It returns
// ErrShort if r runs out, and ErrRange for a code above MaxCode.
func (f Float) Read(r *Reader) (float64, error) {
	top := f.maxCode()
	q, err := r.ReadBits(f.Bits)
	if err != nil {
		return 0, err
	}
	if q > top {
		return 0, fmt.Errorf("quant: Float code %d above MaxCode %d: %w", q, top, ErrRange)
	}
	return f.Dequantize(q), nil
}

// Angle quantizes an angle in radians, taken modulo 2π, to one of 2^Bits
// evenly spaced directions, so it comes back within π/2^Bits radians
// (measured around the circle). Bits must be in [1, 53]; methods panic
// otherwise, as that is a bug in the caller. Methods are safe for
// concurrent use.
type Angle struct {
	Bits int
}

func (a Angle) codes() float64 {
	if a.Bits < 1 || a.Bits > maxCodeBits {
		panic(fmt.Sprintf("quant: invalid Angle %+v", a))
	}
	return float64(uint64(1) << a.Bits)
}

// Quantize returns the code of the direction nearest v. NaN and ±Inf give
// code 0.
func (a Angle) Quantize(v float64) uint64 {
	n := a.codes()
	t := math.Mod(v, 2*math.Pi) // NaN for NaN and ±Inf
	if t < 0 {
		t += 2 * math.Pi
	}
	q := math.Round(t / (2 * math.Pi) * n)
	if !(q < n) { // a full turn, or NaN
		return 0
	}
	return uint64(q)
}

// Dequantize returns the angle of code q in [0, 2π). Only the low Bits bits
// of q count, so every q is a direction.
func (a Angle) Dequantize(q uint64) float64 {
	n := a.codes()
	return float64(q&(uint64(n)-1)) / n * 2 * math.Pi
}

// Write quantizes v and appends its code to w in Bits bits.
func (a Angle) Write(w *Writer, v float64) {
	w.WriteBits(a.Quantize(v), a.Bits)
}

// Read reads a code written by Write and returns its angle in [0, 2π). Its
// only error is ErrShort: every code is a direction.
func (a Angle) Read(r *Reader) (float64, error) {
	a.codes()
	q, err := r.ReadBits(a.Bits)
	if err != nil {
		return 0, err
	}
	return a.Dequantize(q), nil
}
