package game

import (
	"testing"
)

// Positions and their differences from a baseline come back exactly,
// across the whole int16 range.
func TestPositionCodecRoundTrips(t *testing.T) {
	var c PositionCodec
	values := []PositionData{{0, 0}, {1, -1}, {8, -8}, {264, -265}, {32767, -32768}, {-32768, 32767}, {1234, 5678}}
	for _, base := range values {
		for _, v := range values {
			var got PositionData
			if err := c.Decode(c.Append(nil, &v), &got); err != nil || got != v {
				t.Fatalf("%v: decoded %v, %v", v, got, err)
			}
			delta := c.AppendDelta(nil, &base, &v)
			if err := c.DecodeDelta(delta, &base, &got); err != nil || got != v {
				t.Fatalf("%v against %v: decoded %v, %v", v, base, got, err)
			}
		}
	}
	if n := len(c.AppendDelta(nil, &values[0], &values[0])); n != 1 {
		t.Errorf("an unchanged position takes %d bytes, want 1", n)
	}
	if n := len(c.AppendDelta(nil, &PositionData{100, 100}, &PositionData{150, 40})); n != 3 {
		t.Errorf("a drone's move takes %d bytes, want 3", n)
	}
}

// FuzzPositionCodec feeds network bytes to both decoders: they reject or
// decode, never panic, and what they accept re-encodes to a value that
// decodes the same.
func FuzzPositionCodec(f *testing.F) {
	var c PositionCodec
	f.Add([]byte{1, 2, 3, 4}, int16(0), int16(0))
	f.Add(c.AppendDelta(nil, &PositionData{100, 100}, &PositionData{150, 40}), int16(100), int16(100))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff}, int16(-32768), int16(32767))
	f.Fuzz(func(t *testing.T, src []byte, bx, by int16) {
		var v PositionData
		if c.Decode(src, &v) == nil {
			var again PositionData
			if err := c.Decode(c.Append(nil, &v), &again); err != nil || again != v {
				t.Fatalf("%v re-decoded as %v, %v", v, again, err)
			}
		}
		base := PositionData{bx, by}
		if c.DecodeDelta(src, &base, &v) == nil {
			var again PositionData
			if err := c.DecodeDelta(c.AppendDelta(nil, &base, &v), &base, &again); err != nil || again != v {
				t.Fatalf("%v against %v re-decoded as %v, %v", v, base, again, err)
			}
		}
	})
}
