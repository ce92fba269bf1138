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
