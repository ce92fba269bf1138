package quant

import (
	"fmt"
	"math"
)

// Quat is a rotation quaternion, W being the real part. q and -q are the
// same rotation.
type Quat struct {
	X, Y, Z, W float64
}

// QuatCodec writes unit quaternions in the smallest-three form: 2 bits for
// the index of the component with the largest magnitude, then the other
// three in Bits bits each. Those three lie in [-1/√2, +1/√2], because
// a smaller component squared plus the largest squared is at most 1; the
// largest is rebuilt from them, its sign made positive by choosing between
// q and -q. A quaternion takes 2+3*Bits bits: 29 for 9 bits, 32 for 10.
//
// Each component maps to the 2^Bits - 1 codes 0 to 2^Bits - 2, so that 0
// is exact and the identity and single-axis rotations keep their zeros; the
// remaining code is invalid and Read rejects it with ErrRange. MaxError
// gives the error bound. Bits must be in [2, 53]; methods panic otherwise,
// as that is a bug in the caller. Methods are safe for concurrent use.
type QuatCodec struct {
	Bits int
}

// maxCode returns the top valid code, which is even so that its half is the
// code for zero, after checking Bits.
func (c QuatCodec) maxCode() uint64 {
	if c.Bits < 2 || c.Bits > maxCodeBits {
		panic(fmt.Sprintf("quant: invalid QuatCodec %+v", c))
	}
	return uint64(1)<<c.Bits - 2
}

// MaxError bounds how far Read(Write(q)) lands from a unit q, in the sign
// of q that makes the largest component positive: component is the largest
// difference of any one component, and angle the rotation between the two,
// in radians. With δ = 1/(√2(2^Bits−2)), half the code spacing, the three
// small components are off by at most δ and the rebuilt one by about 3δ.
//
//	Bits  bits/quat  component  angle
//	   8         26    0.00845   0.0195 rad (1.12°)
//	   9         29    0.00419   0.00965 rad (0.553°)
//	  10         32    0.00209   0.00481 rad (0.276°)
//	  12         38    0.00052   0.00120 rad (0.069°)
//
// Below 4 bits it returns the trivial bounds 2 and π.
func (c QuatCodec) MaxError() (component, angle float64) {
	delta := math.Sqrt2 / float64(c.maxCode()) / 2
	// The largest component L is at least 1/2 and the other three s satisfy
	// |s|² = 1 - L²; an error e in s moves L by (2s·e + |e|²)/(L + L'),
	// worst when L = 1/2 and s = (1/2, 1/2, 1/2): at most n/(2L - d).
	n := 3*delta + 3*delta*delta
	if delta > 0.07 || n >= 0.25 {
		return 2, math.Pi
	}
	component = n / (0.5 + math.Sqrt(0.25-n))
	chord := math.Sqrt(3*delta*delta + component*component)
	return component, 4 * math.Asin(chord/2)
}

// Write appends q in 2+3*Bits bits. q need not be exactly unit length:
// Write normalizes it first, and writes a zero or non-finite quaternion as
// the identity.
func (c QuatCodec) Write(w *Writer, q Quat) {
	top := c.maxCode()
	v := normalize(q)
	largest := 0
	for i := 1; i < 4; i++ {
		if math.Abs(v[i]) > math.Abs(v[largest]) {
			largest = i
		}
	}
	sign := 1.0
	if v[largest] < 0 {
		sign = -1
	}
	half := float64(top / 2)
	w.WriteBits(uint64(largest), 2)
	for i, x := range v {
		if i == largest {
			continue
		}
		k := math.Round(sign * x * half * math.Sqrt2) // x / (1/√2) * half
		w.WriteBits(uint64(max(-half, min(half, k))+half), c.Bits)
	}
}

// Read reads a quaternion written by Write and returns it at unit length,
// with the component Write found largest not negative. It returns ErrShort if r runs out and
// ErrRange for the invalid code 2^Bits - 1.
func (c QuatCodec) Read(r *Reader) (Quat, error) {
	top := c.maxCode()
	idx, err := r.ReadBits(2)
	if err != nil {
		return Quat{}, err
	}
	half := float64(top / 2)
	scale := 1 / (half * math.Sqrt2) // code - half to component
	var v [4]float64
	sum := 0.0
	for i := range v {
		if i == int(idx) {
			continue
		}
		k, err := r.ReadBits(c.Bits)
		if err != nil {
			return Quat{}, err
		}
		if k > top {
			return Quat{}, fmt.Errorf("quant: quaternion component code %d above %d: %w", k, top, ErrRange)
		}
		v[i] = (float64(k) - half) * scale
		sum += v[i] * v[i]
	}
	v[idx] = math.Sqrt(max(0, 1-sum))
	inv := 1 / math.Sqrt(sum+v[idx]*v[idx])
	return Quat{v[0] * inv, v[1] * inv, v[2] * inv, v[3] * inv}, nil
}

// normalize returns q's components at unit length, or the identity if q is
// zero or not finite.
func normalize(q Quat) [4]float64 {
	v := [4]float64{q.X, q.Y, q.Z, q.W}
	m := max(math.Abs(v[0]), math.Abs(v[1]), math.Abs(v[2]), math.Abs(v[3]))
	if !(m > 0) || math.IsInf(m, 0) { // max is NaN if any is NaN
		return [4]float64{0, 0, 0, 1}
	}
	if m < 0x1p-500 || m > 0x1p500 { // squares would underflow or overflow
		for i := range v {
			v[i] /= m
		}
	}
	inv := 1 / math.Sqrt(v[0]*v[0]+v[1]*v[1]+v[2]*v[2]+v[3]*v[3])
	for i := range v {
		v[i] *= inv
	}
	return v
}
