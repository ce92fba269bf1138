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

// Ships and their differences from a baseline come back exactly, the
// heading across its wrap; a snapshot's full-rate turn takes 4 bytes
// instead of 8, an unchanged ship one.
func TestShipCodecRoundTrips(t *testing.T) {
	var c ShipCodec
	values := []ShipData{{}, {Owner: 7, Angle: 65535, Color: 3, Thrust: 1}, {Owner: 7, Angle: 2, Color: 3},
		{Owner: 7, Angle: 32768, Color: 3}, {Owner: 1<<32 - 1, Angle: 1234, Color: 255, Thrust: 255}}
	for _, base := range values {
		for _, v := range values {
			var got ShipData
			if err := c.Decode(c.Append(nil, &v), &got); err != nil || got != v {
				t.Fatalf("%v: decoded %v, %v", v, got, err)
			}
			if err := c.DecodeDelta(c.AppendDelta(nil, &base, &v), &base, &got); err != nil || got != v {
				t.Fatalf("%v against %v: decoded %v, %v", v, base, got, err)
			}
		}
	}
	base := ShipData{Owner: 9, Angle: 100, Color: 2, Thrust: 1}
	if n := len(c.AppendDelta(nil, &base, &base)); n != 1 {
		t.Errorf("an unchanged ship takes %d bytes, want 1", n)
	}
	turned := base
	turned.Angle -= ToAngle(shipTurnRate * SnapshotEvery / TickRate) // through the wrap
	if n := len(c.AppendDelta(nil, &base, &turned)); n != 4 {
		t.Errorf("a snapshot's turn takes %d bytes, want 4", n)
	}
}

// Links and their differences come back exactly; a round trip that moved
// a few milliseconds takes one byte.
func TestLinkCodecRoundTrips(t *testing.T) {
	var c LinkCodec
	values := []LinkData{{}, {RTTMillis: 35, LossPermille: 12}, {RTTMillis: 38, LossPermille: 12}, {RTTMillis: 65535, LossPermille: 1000}}
	for _, base := range values {
		for _, v := range values {
			var got LinkData
			if err := c.Decode(c.Append(nil, &v), &got); err != nil || got != v {
				t.Fatalf("%v: decoded %v, %v", v, got, err)
			}
			if err := c.DecodeDelta(c.AppendDelta(nil, &base, &v), &base, &got); err != nil || got != v {
				t.Fatalf("%v against %v: decoded %v, %v", v, base, got, err)
			}
		}
	}
	if n := len(c.AppendDelta(nil, &values[1], &values[2])); n != 1 {
		t.Errorf("a 3 ms change takes %d bytes, want 1", n)
	}
}

// FuzzShipCodec feeds network bytes to both decoders: they reject or
// decode, never panic, and what they accept re-encodes to a value that
// decodes the same.
func FuzzShipCodec(f *testing.F) {
	var c ShipCodec
	f.Add([]byte{1, 0, 0, 0, 2, 3, 4, 5}, uint32(1), uint16(0x302), uint8(4), uint8(5))
	f.Add(c.AppendDelta(nil, &ShipData{Owner: 3, Angle: 10}, &ShipData{Owner: 3, Angle: 64000, Thrust: 1}), uint32(3), uint16(10), uint8(0), uint8(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint32(1<<32-1), uint16(65535), uint8(255), uint8(255))
	f.Fuzz(func(t *testing.T, src []byte, owner uint32, angle uint16, color, thrust uint8) {
		var v ShipData
		if c.Decode(src, &v) == nil {
			var again ShipData
			if err := c.Decode(c.Append(nil, &v), &again); err != nil || again != v {
				t.Fatalf("%v re-decoded as %v, %v", v, again, err)
			}
		}
		base := ShipData{Owner: owner, Angle: angle, Color: color, Thrust: thrust}
		if c.DecodeDelta(src, &base, &v) == nil {
			var again ShipData
			if err := c.DecodeDelta(c.AppendDelta(nil, &base, &v), &base, &again); err != nil || again != v {
				t.Fatalf("%v against %v re-decoded as %v, %v", v, base, again, err)
			}
		}
	})
}

// FuzzLinkCodec is FuzzShipCodec for LinkCodec.
func FuzzLinkCodec(f *testing.F) {
	var c LinkCodec
	f.Add([]byte{1, 2, 3, 4}, uint16(0), uint16(0))
	f.Add(c.AppendDelta(nil, &LinkData{RTTMillis: 35}, &LinkData{RTTMillis: 90, LossPermille: 3}), uint16(35), uint16(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff}, uint16(65535), uint16(65535))
	f.Fuzz(func(t *testing.T, src []byte, rtt, loss uint16) {
		var v LinkData
		if c.Decode(src, &v) == nil {
			var again LinkData
			if err := c.Decode(c.Append(nil, &v), &again); err != nil || again != v {
				t.Fatalf("%v re-decoded as %v, %v", v, again, err)
			}
		}
		base := LinkData{RTTMillis: rtt, LossPermille: loss}
		if c.DecodeDelta(src, &base, &v) == nil {
			var again LinkData
			if err := c.DecodeDelta(c.AppendDelta(nil, &base, &v), &base, &again); err != nil || again != v {
				t.Fatalf("%v against %v re-decoded as %v, %v", v, base, again, err)
			}
		}
	})
}
