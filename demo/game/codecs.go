package game

import (
	"encoding/binary"
	"errors"
	"math"

	"github.com/netburi/netburi/replication/quant"
)

// PositionCodec carries a PositionData as two little-endian int16s, or,
// against the client's baseline (replication.DeltaCodec), as each axis's
// difference: 1 bit unchanged, 6 bits within ±8 units, 12 bits within
// ±264 (a drone's move over a few snapshots). With replication's length
// byte a moving drone's delta takes as many bytes as its position, but
// small differences repeat where positions do not, so every compression
// mode shrinks snapshots further (BENCHMARKS.md, the demo under load).
// Any goroutine may use it.
type PositionCodec struct{}

var errPosition = errors.New("demo: malformed position")

// Append implements replication.Codec.
func (PositionCodec) Append(dst []byte, p *PositionData) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, uint16(p.X))
	return binary.LittleEndian.AppendUint16(dst, uint16(p.Y))
}

// Decode implements replication.Codec.
func (PositionCodec) Decode(src []byte, p *PositionData) error {
	if len(src) != 4 {
		return errPosition
	}
	p.X = int16(binary.LittleEndian.Uint16(src))
	p.Y = int16(binary.LittleEndian.Uint16(src[2:]))
	return nil
}

// AppendDelta implements replication.DeltaCodec.
func (PositionCodec) AppendDelta(dst []byte, base, p *PositionData) []byte {
	var w quant.Writer
	w.Reset(dst)
	quant.WriteDelta(&w, int64(base.X), int64(p.X))
	quant.WriteDelta(&w, int64(base.Y), int64(p.Y))
	return w.Bytes()
}

// DecodeDelta implements replication.DeltaCodec: it rejects values out of
// int16's range and bytes beyond the two differences.
func (PositionCodec) DecodeDelta(src []byte, base, p *PositionData) error {
	r := quant.NewReader(src)
	axis := func(b int16) (int16, error) {
		v, err := quant.ReadDelta(r, int64(b))
		if err != nil {
			return 0, err
		}
		if v < math.MinInt16 || v > math.MaxInt16 {
			return 0, errPosition
		}
		return int16(v), nil
	}
	x, err := axis(base.X)
	if err != nil {
		return err
	}
	y, err := axis(base.Y)
	if err != nil {
		return err
	}
	if r.Remaining() >= 8 {
		return errPosition // a whole byte more than the differences need
	}
	p.X, p.Y = x, y
	return nil
}
