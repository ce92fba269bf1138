package quant

import "fmt"

const (
	smallBits  = 4
	smallLimit = 1 << smallBits // largest zig-zag difference of the 6-bit form
)

// WriteDelta appends value as its difference from baseline, for codecs
// that know the value the client already has (its acked baseline): 1 bit
// when they are equal, 6 bits when they differ by at most 8. The difference
// wraps around like int64 arithmetic, so every pair round-trips. With z the
// difference zig-zag encoded (see WriteVarint), each difference has exactly
// one encoding:
//
//	unchanged    0                              1 bit
//	within ±8    10, then z-1 in 4 bits         6 bits
//	otherwise    11, then z-17 by WriteUvarint  7 bits or more
func WriteDelta(w *Writer, baseline, value int64) {
	z := zigzag(value - baseline)
	switch {
	case z == 0:
		w.WriteBits(0, 1)
	case z <= smallLimit:
		w.WriteBits(0b10, 2)
		w.WriteBits(z-1, smallBits)
	default:
		w.WriteBits(0b11, 2)
		WriteUvarint(w, z-smallLimit-1)
	}
}

// ReadDelta reads a value written by WriteDelta against the same baseline.
// It returns ErrShort if r runs out, and ErrRange for an encoding that
// WriteDelta never produces.
func ReadDelta(r *Reader, baseline int64) (int64, error) {
	changed, err := r.ReadBool()
	if err != nil {
		return 0, err
	}
	if !changed {
		return baseline, nil
	}
	large, err := r.ReadBool()
	if err != nil {
		return 0, err
	}
	var z uint64
	if large {
		u, err := ReadUvarint(r)
		if err != nil {
			return 0, err
		}
		if u > ^uint64(0)-smallLimit-1 {
			return 0, fmt.Errorf("quant: delta %d too large: %w", u, ErrRange)
		}
		z = u + smallLimit + 1
	} else {
		u, err := r.ReadBits(smallBits)
		if err != nil {
			return 0, err
		}
		z = u + 1
	}
	return baseline + unzigzag(z), nil
}

// AppendDeltas appends values[i] relative to baseline[i] for every i, each
// as WriteDelta writes it, in one bit stream padded to whole bytes: the
// AppendDelta of a DeltaCodec whose value is a few integer fields (a
// position's axes, quantization codes). baseline must be as long as values.
func AppendDeltas(dst []byte, baseline, values []int64) []byte {
	var w Writer
	w.Reset(dst)
	for i, v := range values {
		WriteDelta(&w, baseline[i], v)
	}
	return w.Bytes()
}

// ReadDeltas reads into values the len(values) fields AppendDeltas wrote
// in src against the same baseline. It returns ReadDelta's errors, and
// ErrRange when src holds a whole byte more than the fields need.
func ReadDeltas(src []byte, baseline, values []int64) error {
	r := NewReader(src)
	for i := range values {
		v, err := ReadDelta(r, baseline[i])
		if err != nil {
			return err
		}
		values[i] = v
	}
	if r.Remaining() >= 8 {
		return fmt.Errorf("quant: %d bytes after the deltas: %w", r.Remaining()/8, ErrRange)
	}
	return nil
}
