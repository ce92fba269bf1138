package fixedcodec

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
)

type pair struct{ X, Y float32 }

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

// The fast codec writes exactly what encoding/binary would, and types it
// cannot copy safely (padding, bools) get encoding/binary itself.
func TestDefaultCodecMatchesEncodingBinary(t *testing.T) {
	v := mixed{-3, 513, 1.5, [3]int16{-1, 2, -3}, 2.25}
	c, size, ok := New[mixed]()
	if !ok || size != 21 {
		t.Fatalf("mixed: ok %v size %d", ok, size)
	}
	if _, fast := c.(raw[mixed]); fast {
		t.Fatal("a struct with padding got the raw codec")
	}
	if a, b := c.Append(nil, &v), (portable[mixed]{size: 21}).Append(nil, &v); !bytes.Equal(a, b) {
		t.Fatalf("%x vs %x", a, b)
	}
	p := pair{1.25, -7}
	rc, _, _ := New[pair]()
	if _, fast := rc.(raw[pair]); !fast {
		t.Fatal("a plain float pair did not get the raw codec")
	}
	enc := rc.Append(nil, &p)
	if !bytes.Equal(enc, (portable[pair]{size: 8}).Append(nil, &p)) {
		t.Fatalf("raw %x differs from encoding/binary", enc)
	}
	var back pair
	if err := rc.Decode(enc, &back); err != nil || back != p {
		t.Fatalf("round trip %v %v", back, err)
	}
	if err := rc.Decode(enc[:7], &back); !errors.Is(err, ErrSize) {
		t.Errorf("short value: %v", err)
	}
	if c, _, _ := New[withBool](); reflect.TypeOf(c) == reflect.TypeOf(raw[withBool]{}) {
		t.Error("a struct with a bool got the raw codec")
	}
	if _, _, ok := New[[]byte](); ok {
		t.Error("a slice counted as fixed-size")
	}
}

func TestSignatureTellsLayoutsApart(t *testing.T) {
	type a struct{ X, Y float32 }
	type b struct{ X, Y float64 }
	type c struct{ Y, X float32 }
	sa, sb, sc := Signature(reflect.TypeOf(a{})), Signature(reflect.TypeOf(b{})), Signature(reflect.TypeOf(c{}))
	if sa == sb || sa == sc {
		t.Errorf("signatures collide: %s %s %s", sa, sb, sc)
	}
}
