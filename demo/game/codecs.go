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
// ±136 (a drone's move over a few snapshots). With replication's length
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
	return quant.AppendDeltas(dst, []int64{int64(base.X), int64(base.Y)}, []int64{int64(p.X), int64(p.Y)})
}

// DecodeDelta implements replication.DeltaCodec: it rejects values out of
// int16's range and bytes beyond the two differences.
func (PositionCodec) DecodeDelta(src []byte, base, p *PositionData) error {
	var v [2]int64
	if err := quant.ReadDeltas(src, []int64{int64(base.X), int64(base.Y)}, v[:]); err != nil {
		return err
	}
	for _, a := range v {
		if a < math.MinInt16 || a > math.MaxInt16 {
			return errPosition
		}
	}
	p.X, p.Y = int16(v[0]), int16(v[1])
	return nil
}
