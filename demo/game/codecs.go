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
// ±136 (a ship's move in a snapshot, at up to 330 pixels a second, is
// within ±132 units of 1/8 pixel). Small differences also repeat where
// positions do not, so every compression mode shrinks snapshots further
// (BENCHMARKS.md, the demo under load). Any goroutine may use it.
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

// ShipCodec carries a ShipData as its eight bytes (owner u32, heading u16,
// colour, thrust, little-endian), or against the client's baseline
// (replication.DeltaCodec) as each field's difference, the heading's the
// short way round: 1 bit for each unchanged field (the owner and colour
// never change), so a ship that only turns takes 2 to 4 bytes instead of
// 8. Any goroutine may use it.
type ShipCodec struct{}

var errShip = errors.New("demo: malformed ship")

// Append implements replication.Codec.
func (ShipCodec) Append(dst []byte, s *ShipData) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, s.Owner)
	dst = binary.LittleEndian.AppendUint16(dst, s.Angle)
	return append(dst, s.Color, s.Thrust)
}

// Decode implements replication.Codec.
func (ShipCodec) Decode(src []byte, s *ShipData) error {
	if len(src) != 8 {
		return errShip
	}
	*s = ShipData{Owner: binary.LittleEndian.Uint32(src), Angle: binary.LittleEndian.Uint16(src[4:]), Color: src[6], Thrust: src[7]}
	return nil
}

// shipFields are a ShipData's fields for deltas; the heading is the turn
// from base, -32768 to 32767.
func shipFields(base, s *ShipData) [4]int64 {
	return [4]int64{int64(s.Owner), int64(int16(s.Angle - base.Angle)), int64(s.Color), int64(s.Thrust)}
}

// AppendDelta implements replication.DeltaCodec.
func (ShipCodec) AppendDelta(dst []byte, base, s *ShipData) []byte {
	b, v := shipFields(base, base), shipFields(base, s)
	return quant.AppendDeltas(dst, b[:], v[:])
}

// DecodeDelta implements replication.DeltaCodec: it rejects fields out of
// their types' ranges and bytes beyond the four differences.
func (ShipCodec) DecodeDelta(src []byte, base, s *ShipData) error {
	b := shipFields(base, base)
	var v [4]int64
	if err := quant.ReadDeltas(src, b[:], v[:]); err != nil {
		return err
	}
	if v[0] < 0 || v[0] > math.MaxUint32 || v[1] < math.MinInt16 || v[1] > math.MaxInt16 ||
		v[2] < 0 || v[2] > math.MaxUint8 || v[3] < 0 || v[3] > math.MaxUint8 {
		return errShip
	}
	*s = ShipData{Owner: uint32(v[0]), Angle: base.Angle + uint16(int16(v[1])), Color: uint8(v[2]), Thrust: uint8(v[3])}
	return nil
}

// LinkCodec carries a LinkData as two little-endian uint16s, or against
// the client's baseline (replication.DeltaCodec) as their differences: a
// round trip that moved a few milliseconds and an unchanged loss take one
// byte instead of four. Any goroutine may use it.
type LinkCodec struct{}

var errLink = errors.New("demo: malformed link")

// Append implements replication.Codec.
func (LinkCodec) Append(dst []byte, l *LinkData) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, l.RTTMillis)
	return binary.LittleEndian.AppendUint16(dst, l.LossPermille)
}

// Decode implements replication.Codec.
func (LinkCodec) Decode(src []byte, l *LinkData) error {
	if len(src) != 4 {
		return errLink
	}
	*l = LinkData{RTTMillis: binary.LittleEndian.Uint16(src), LossPermille: binary.LittleEndian.Uint16(src[2:])}
	return nil
}

// AppendDelta implements replication.DeltaCodec.
func (LinkCodec) AppendDelta(dst []byte, base, l *LinkData) []byte {
	return quant.AppendDeltas(dst, []int64{int64(base.RTTMillis), int64(base.LossPermille)}, []int64{int64(l.RTTMillis), int64(l.LossPermille)})
}

// DecodeDelta implements replication.DeltaCodec: it rejects values out of
// uint16's range and bytes beyond the two differences.
func (LinkCodec) DecodeDelta(src []byte, base, l *LinkData) error {
	var v [2]int64
	if err := quant.ReadDeltas(src, []int64{int64(base.RTTMillis), int64(base.LossPermille)}, v[:]); err != nil {
		return err
	}
	for _, a := range v {
		if a < 0 || a > math.MaxUint16 {
			return errLink
		}
	}
	*l = LinkData{RTTMillis: uint16(v[0]), LossPermille: uint16(v[1])}
	return nil
}
