package replication

import (
	"bytes"
	"testing"
)

type mixed struct {
	A int8
	B uint16
	C float32
	D [3]int16
	E float64
}

type withBool struct {
	On bool
	X  float32
}

// The fast default codec writes exactly what encoding/binary would, and
// types it cannot copy safely fall back to encoding/binary.
func TestDefaultCodecMatchesEncodingBinary(t *testing.T) {
	v := mixed{-3, 513, 1.5, [3]int16{-1, 2, -3}, 2.25}
	fast := newFixedCodec[mixed]()
	slow := fixedCodec[mixed]{size: 21}
	if _, ok := fast.(rawCodec[mixed]); ok {
		t.Fatalf("a struct with padding got the raw codec")
	}
	if a, b := fast.Append(nil, &v), slow.Append(nil, &v); !bytes.Equal(a, b) {
		t.Fatalf("fast %x, binary %x", a, b)
	}
	p := position{1.25, -7}
	raw := newFixedCodec[position]()
	if _, ok := raw.(rawCodec[position]); !ok {
		t.Fatalf("a plain float pair did not get the raw codec")
	}
	enc := raw.Append(nil, &p)
	if !bytes.Equal(enc, fixedCodec[position]{size: 8}.Append(nil, &p)) {
		t.Fatalf("raw %x differs from encoding/binary", enc)
	}
	var back position
	must(t, raw.Decode(enc, &back))
	if back != p {
		t.Fatalf("round trip %v", back)
	}
	if err := raw.Decode(enc[:7], &back); err == nil {
		t.Error("short value accepted")
	}
	if _, ok := newFixedCodec[withBool]().(rawCodec[withBool]); ok {
		t.Error("a struct with a bool got the raw codec")
	}
}
