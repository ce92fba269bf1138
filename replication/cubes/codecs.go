package cubes

import (
	"github.com/netburi/netburi/replication/quant"
)

// Position is a cube's position component.
type Position struct{ X, Y, Z float64 }

// Orientation is a cube's rotation component.
type Orientation struct{ Q quant.Quat }

// Quantization of the scene: positions to 1/512 m within the arena,
// orientations in smallest-three form with 9 bits per component.
var (
	horizontal = quant.NewFloat(-256, 256, 1.0/512)
	height     = quant.NewFloat(0, 32, 1.0/512)
	rotation   = quant.QuatCodec{Bits: 9}
)

// PositionCodec writes a position in 18+18+16 bits (7 bytes).
type PositionCodec struct{}

// Append implements replication.Codec.
func (PositionCodec) Append(dst []byte, p *Position) []byte {
	var w quant.Writer
	w.Reset(dst)
	horizontal.Write(&w, p.X)
	horizontal.Write(&w, p.Y)
	height.Write(&w, p.Z)
	return w.Bytes()
}

// Decode implements replication.Codec.
func (PositionCodec) Decode(src []byte, p *Position) error {
	r := quant.NewReader(src)
	var err error
	if p.X, err = horizontal.Read(r); err != nil {
		return err
	}
	if p.Y, err = horizontal.Read(r); err != nil {
		return err
	}
	p.Z, err = height.Read(r)
	return err
}

// OrientationCodec writes an orientation in 29 bits (4 bytes).
type OrientationCodec struct{}

// Append implements replication.Codec.
func (OrientationCodec) Append(dst []byte, o *Orientation) []byte {
	var w quant.Writer
	w.Reset(dst)
	rotation.Write(&w, o.Q)
	return w.Bytes()
}

// Decode implements replication.Codec.
func (OrientationCodec) Decode(src []byte, o *Orientation) error {
	var err error
	o.Q, err = rotation.Read(quant.NewReader(src))
	return err
}

// AppendDelta writes a position relative to the baseline's: each axis as
// the difference of their quantization codes (1 bit when unchanged, 6
// within ±8). It implements replication.DeltaCodec.
func (PositionCodec) AppendDelta(dst []byte, base, p *Position) []byte {
	var w quant.Writer
	w.Reset(dst)
	quant.WriteDelta(&w, int64(horizontal.Quantize(base.X)), int64(horizontal.Quantize(p.X)))
	quant.WriteDelta(&w, int64(horizontal.Quantize(base.Y)), int64(horizontal.Quantize(p.Y)))
	quant.WriteDelta(&w, int64(height.Quantize(base.Z)), int64(height.Quantize(p.Z)))
	return w.Bytes()
}

// DecodeDelta implements replication.DeltaCodec.
func (PositionCodec) DecodeDelta(src []byte, base, p *Position) error {
	r := quant.NewReader(src)
	axes := []struct {
		f       quant.Float
		base    float64
		decoded *float64
	}{{horizontal, base.X, &p.X}, {horizontal, base.Y, &p.Y}, {height, base.Z, &p.Z}}
	for _, a := range axes {
		code, err := quant.ReadDelta(r, int64(a.f.Quantize(a.base)))
		if err != nil {
			return err
		}
		if code < 0 || uint64(code) > a.f.MaxCode {
			return quant.ErrRange
		}
		*a.decoded = a.f.Dequantize(uint64(code))
	}
	return nil
}

// quatFields splits an encoded orientation into its largest-component index
// and three codes.
func quatFields(q quant.Quat) (index uint64, codes [3]int64) {
	var w quant.Writer
	rotation.Write(&w, q)
	r := quant.NewReader(w.Bytes())
	index, _ = r.ReadBits(2)
	for i := range codes {
		c, _ := r.ReadBits(rotation.Bits)
		codes[i] = int64(c)
	}
	return index, codes
}

// AppendDelta writes an orientation relative to the baseline's: when the
// largest component is the same one, a flag bit and the three code
// differences; otherwise the flag and the whole orientation. It implements
// replication.DeltaCodec.
func (OrientationCodec) AppendDelta(dst []byte, base, o *Orientation) []byte {
	var w quant.Writer
	w.Reset(dst)
	bi, bc := quatFields(base.Q)
	vi, vc := quatFields(o.Q)
	if bi != vi {
		w.WriteBool(true)
		rotation.Write(&w, o.Q)
		return w.Bytes()
	}
	w.WriteBool(false)
	for i := range vc {
		quant.WriteDelta(&w, bc[i], vc[i])
	}
	return w.Bytes()
}

// DecodeDelta implements replication.DeltaCodec.
func (OrientationCodec) DecodeDelta(src []byte, base, o *Orientation) error {
	r := quant.NewReader(src)
	whole, err := r.ReadBool()
	if err != nil {
		return err
	}
	if whole {
		o.Q, err = rotation.Read(r)
		return err
	}
	index, codes := quatFields(base.Q)
	var w quant.Writer
	w.WriteBits(index, 2)
	for _, c := range codes {
		v, err := quant.ReadDelta(r, c)
		if err != nil {
			return err
		}
		if v < 0 || v >= 1<<rotation.Bits {
			return quant.ErrRange
		}
		w.WriteBits(uint64(v), rotation.Bits)
	}
	o.Q, err = rotation.Read(quant.NewReader(w.Bytes()))
	return err
}
