package ecsnet

import (
	"bytes"
	"sync"
	"testing"
)

// Fuzz targets for every decoder of network bytes in this package. Seed
// corpora live in testdata/fuzz; `make test` runs each briefly.

var fuzzCodecs = sync.OnceValue(func() []datagramCodec {
	// A dictionary trained on simulated payloads (no network needed), so
	// the dictionary mode is fuzzed too.
	g := newGameSim(7, 200, arcade)
	var samples [][]byte
	for range 100 {
		g.step()
		samples = append(samples, g.state(0, 40), g.state(40, 40), g.chat(), g.input(1))
	}
	d, err := TrainDictionary(samples, 4<<10)
	if err != nil {
		panic(err)
	}
	var cs []datagramCodec
	for _, m := range []CompressionMode{CompressFastLZ, CompressZlib, CompressZstd, CompressZstdDict} {
		c, err := newDatagramCodec(m, d)
		if err != nil {
			panic(err)
		}
		cs = append(cs, c)
	}
	return cs
})

// FuzzDecompressDatagram feeds arbitrary bytes to every datagram decoder:
// none may panic or report more than its output holds.
func FuzzDecompressDatagram(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x28\xb5\x2f\xfd\x20\x05\x29\x00\x00hello"))
	f.Add([]byte("\x78\x9c\xcb\x48\xcd\xc9\xc9\x07\x00\x06\x2c\x02\x15"))
	f.Fuzz(func(t *testing.T, in []byte) {
		out := make([]byte, datagramLimit)
		for _, c := range fuzzCodecs() {
			if n := c.Decompress(in, out); n < 0 || n > len(out) {
				t.Fatalf("%T decoded %d bytes into %d", c, n, len(out))
			}
		}
	})
}

// FuzzCompressRoundTrip: whatever a codec compresses, it decompresses back
// unchanged.
func FuzzCompressRoundTrip(f *testing.F) {
	f.Add([]byte("state 1 2 3 state 1 2 3 state 1 2 3"))
	f.Add(make([]byte, 1200))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > datagramLimit {
			return
		}
		z := make([]byte, len(in)+64)
		out := make([]byte, datagramLimit)
		for _, c := range fuzzCodecs() {
			n := c.Compress(in, z)
			if n == 0 {
				continue
			}
			m := c.Decompress(z[:n], out)
			got := out[:m]
			if _, pads := c.(*fastlzCodec); pads && len(in) < 16 {
				got = got[:min(len(got), len(in))] // Godot pads short inputs to 16
			}
			if !bytes.Equal(got, in) {
				t.Fatalf("%T: round trip of %d bytes gave %d", c, len(in), m)
			}
		}
	})
}

// FuzzParseHeader: the Godot data header parser accepts exactly 8 bytes or
// more and splits them without losing any.
func FuzzParseHeader(f *testing.F) {
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{2, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff, 'h', 'i'})
	f.Add([]byte{1, 2, 3})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _, payload, ok := parseHeader(b)
		if ok != (len(b) >= headerSize) || (ok && len(payload) != len(b)-headerSize) {
			t.Fatalf("parseHeader(%d bytes) ok=%v payload %d", len(b), ok, len(payload))
		}
	})
}

// FuzzParseSystemMessage: only 8-byte ADD/REMOVE messages are accepted, and
// an accepted one encodes back to the same bytes.
func FuzzParseSystemMessage(f *testing.F) {
	f.Add(systemMessage(sysAddPeer, 5))
	f.Add(systemMessage(sysRemovePeer, 77))
	f.Add([]byte{7, 0, 0, 0, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		kind, id, ok := parseSystemMessage(b)
		if ok && !bytes.Equal(systemMessage(kind, id), b) {
			t.Fatalf("accepted %x but it encodes back as %x", b, systemMessage(kind, id))
		}
		if ok && len(b) != sysSize {
			t.Fatalf("accepted %d bytes", len(b))
		}
	})
}
