package ecsnet

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Fuzz targets for every decoder of network bytes in this package. Seed
// corpora live in testdata/fuzz; `make test` runs each briefly.

var fuzzCodecs = sync.OnceValue(func() []datagramCodec {
	// A committed dictionary (trained on simulated game payloads), so the
	// dictionary mode is fuzzed too and the corpus's dictionary-mode seeds
	// (dict-*) carry its tag: training again would give another dictionary.
	d, err := os.ReadFile("testdata/fuzz-dictionary.zdict")
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

// The dictionary-mode seeds of FuzzDecompressDatagram are real datagrams
// under the committed fuzz dictionary, so the fuzzer starts past the tag
// check and inside zstd's block decoder.
func TestFuzzDictionarySeedsDecode(t *testing.T) {
	c := fuzzCodecs()[3].(*zstdDictCodec)
	seeds, err := filepath.Glob("testdata/fuzz/FuzzDecompressDatagram/dict-*")
	must(t, err)
	if len(seeds) == 0 {
		t.Fatal("no dictionary-mode seeds")
	}
	for _, name := range seeds {
		file, err := os.ReadFile(name)
		must(t, err)
		_, lit, _ := strings.Cut(strings.TrimSpace(string(file)), "\n")
		in, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lit, "[]byte("), ")"))
		must(t, err)
		out := make([]byte, datagramLimit)
		if n := c.Decompress([]byte(in), out); n == 0 {
			t.Errorf("%s: does not decode", name)
		}
	}
}
