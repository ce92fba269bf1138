package fastlz

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// unhex decodes a hex dump written with or without spaces.
func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// gameDatagram builds n bytes shaped like a game state update: a run of
// 39-byte little-endian entity records (id, type, flags, position,
// velocity, health) with ids counting up, positions on a coarse grid,
// velocities mostly zero and health mostly full.
func gameDatagram(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	le := binary.LittleEndian
	b := make([]byte, 0, n+39)
	for id := uint32(1000); len(b) < n; id++ {
		b = le.AppendUint32(b, id)
		b = le.AppendUint16(b, 3)      // entity type
		b = append(b, byte(r.IntN(2))) // flags
		for range 3 {                  // position
			b = le.AppendUint32(b, math.Float32bits(float32(r.IntN(400))/4))
		}
		for range 3 { // velocity
			v := float32(0)
			if r.IntN(4) == 0 {
				v = float32(r.IntN(20)) / 2
			}
			b = le.AppendUint32(b, math.Float32bits(v))
		}
		b = le.AppendUint16(b, 100) // health
	}
	return b[:n]
}

func zerosAndOnes(seed uint64, n int) []byte {
	b := randomBytes(seed, n)
	for i := range b {
		b[i] &= 1
	}
	return b
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// instructions splits a valid level 1 block into its instructions.
func instructions(t *testing.T, block []byte) [][]byte {
	t.Helper()
	var ins [][]byte
	for ip := 0; ip < len(block); {
		ctrl := block[ip]
		n := 2
		switch {
		case ctrl < 32:
			n = int(ctrl) + 2
		case ctrl>>5 == 7:
			n = 3
		}
		if ip+n > len(block) {
			t.Fatalf("instruction at %d runs past the end of the block", ip)
		}
		ins = append(ins, block[ip:ip+n])
		ip += n
	}
	return ins
}

// checkRoundTrip compresses in, checks the shape of the block, and checks
// that it decodes back to in within exactly len(in) bytes of room.
func checkRoundTrip(t *testing.T, in []byte) {
	t.Helper()
	block := Compress(nil, in)
	if len(block) > MaxCompressedLen(len(in)) {
		t.Fatalf("len %d: block of %d bytes exceeds MaxCompressedLen %d", len(in), len(block), MaxCompressedLen(len(in)))
	}
	if len(in) == 0 {
		if len(block) != 0 {
			t.Fatalf("empty input gave %x, want nothing", block)
		}
	} else {
		if block[0]>>5 != 0 {
			t.Fatalf("len %d: first byte %#x does not carry the level 1 marker", len(in), block[0])
		}
		ins := instructions(t, block)
		if last := ins[len(ins)-1]; last[0] >= 32 {
			t.Fatalf("len %d: block ends with a match %x, want a literal run", len(in), last)
		}
	}
	out, err := Decompress(nil, block, len(in))
	if err != nil {
		t.Fatalf("len %d: Decompress: %v", len(in), err)
	}
	if !bytes.Equal(out, in) {
		t.Fatalf("len %d: round trip mismatch", len(in))
	}
}

func TestRoundTrip(t *testing.T) {
	cases := map[string][]byte{
		"empty":                 {},
		"one byte":              {0x42},
		"three bytes":           []byte("abc"),
		"text":                  []byte("the quick brown fox jumps over the lazy dog, the quick brown fox"),
		"run of 600":            bytes.Repeat([]byte{'x'}, 600),
		"run longer than 3*264": make([]byte, 1000),
		"two-byte period":       bytes.Repeat([]byte{1, 2}, 700),
		"game datagram":         gameDatagram(1, 600),
		"game datagram 4096":    gameDatagram(2, 4096),
		"random 4096":           randomBytes(3, 4096),
		"random 600":            randomBytes(4, 600),
		"small table boundary":  gameDatagram(5, 1<<smallTableBits),
		"large table":           gameDatagram(6, 1<<smallTableBits+1),
		"positions wrap at 64K": gameDatagram(7, 200_000),
		"random then repeat":    append(randomBytes(8, 3000), randomBytes(8, 3000)...),
		"random zeros and ones": zerosAndOnes(9, 5000),
		"mostly zeros 4096":     append(make([]byte, 4000), randomBytes(10, 96)...),
		"random 70000":          randomBytes(11, 70_000),
	}
	for _, period := range []int{8190, 8191, 8192, 8193} {
		b := randomBytes(uint64(period), period)
		cases["period "+strconv.Itoa(period)] = append(b, b...)
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) { checkRoundTrip(t, in) })
	}
}

func TestRoundTripTinyInputs(t *testing.T) {
	for n := 1; n <= 16; n++ {
		checkRoundTrip(t, make([]byte, n))
		checkRoundTrip(t, randomBytes(uint64(n), n))
		checkRoundTrip(t, []byte("abcdefghijklmnop"[:n]))
	}
}

func TestRoundTripEveryLengthUpTo600(t *testing.T) {
	game := gameDatagram(12, 600)
	for n := 0; n <= len(game); n++ {
		checkRoundTrip(t, game[:n])
	}
}

func TestCompressInputsUnder4BytesAreOneLiteralRun(t *testing.T) {
	// The reference compressor's special case for length < 4.
	for _, in := range []string{"a", "ab", "abc"} {
		want := append([]byte{byte(len(in) - 1)}, in...)
		if got := Compress(nil, []byte(in)); !bytes.Equal(got, want) {
			t.Errorf("Compress(%q) = %x, want %x", in, got, want)
		}
	}
}

func TestCompressAppendsToDst(t *testing.T) {
	in := gameDatagram(13, 600)
	prefix := []byte("header")
	got := Compress(prefix, in)
	if !bytes.HasPrefix(got, prefix) {
		t.Fatalf("Compress did not keep dst's bytes")
	}
	if !bytes.Equal(got[len(prefix):], Compress(nil, in)) {
		t.Fatalf("block after a prefix differs from the block alone")
	}
}

func TestCompressIsDeterministic(t *testing.T) {
	in := gameDatagram(14, 3000)
	first := Compress(nil, in)
	for range 5 {
		Compress(nil, randomBytes(15, 3000)) // nothing carries over between calls
		if got := Compress(nil, in); !bytes.Equal(got, first) {
			t.Fatal("Compress gave different output for the same input")
		}
	}
}

func TestCompressFindsMatches(t *testing.T) {
	in := gameDatagram(16, 600)
	if got := len(Compress(nil, in)); got > len(in)*3/4 {
		t.Errorf("game datagram of %d bytes compressed to %d, want at most 3/4", len(in), got)
	}
	if got := len(Compress(nil, make([]byte, 4096))); got > 60 {
		t.Errorf("4096 zero bytes compressed to %d bytes, want at most 60", got)
	}
}

func TestCompressAndDecompressDoNotAllocateWithRoom(t *testing.T) {
	in := gameDatagram(17, 600)
	block := Compress(nil, in)
	cbuf := make([]byte, 0, MaxCompressedLen(len(in)))
	dbuf := make([]byte, 0, len(in))
	if n := testing.AllocsPerRun(20, func() { Compress(cbuf, in) }); n != 0 {
		t.Errorf("Compress allocated %v times per call with room in dst", n)
	}
	if n := testing.AllocsPerRun(20, func() { _, _ = Decompress(dbuf, block, len(in)) }); n != 0 {
		t.Errorf("Decompress allocated %v times per call with room in dst", n)
	}
}

// Hand-made level 1 blocks, worked out from the format, and blocks produced
// by the reference C compressor (fastlz_compress_level(1, ...)).
func TestDecompressKnownBlocks(t *testing.T) {
	// Three 33-byte entity records, cut to 96 bytes.
	game96 := unhex(t, "64 00 00 00 03 00 00 00 00 80 3e 00 00 96 41 00 00 60 40 00 00 00 00 00 00 00 00 00 00 00 00 64 00"+
		"65 00 00 00 03 00 01 00 00 f0 40 00 00 a0 41 00 00 98 40 00 00 00 00 00 00 00 00 00 00 00 00 64 00"+
		"66 00 00 00 03 00 01 00 00 60 41 00 00 50 41 00 00 04 41 00 00 00 00 00 00 00 00 00 00 00")
	game96Block := unhex(t, "05 64 00 00 00 03 00 20 00 0a 80 3e 00 00 96 41 00 00 60 40 00 e0 02 00 02 64 00 65 20 0d 05 03 00"+
		"01 00 00 f0 20 18 00 a0 20 20 00 98 20 07 e0 01 00 02 64 00 66 20 0c 60 20 00 60 20 1c 00 50 20 03"+
		"0c 04 41 00 00 00 00 00 00 00 00 00 00 00")
	maxDist := func() (block, want []byte) {
		// 8192 bytes in literal runs of 32, then a 3-byte match at the
		// farthest distance the format encodes: 0x1fff + 1 = 8192.
		want = randomBytes(18, 8192)
		for i := 0; i < len(want); i += 32 {
			block = append(block, 31)
			block = append(block, want[i:i+32]...)
		}
		block = append(block, 1<<5|0x1f, 0xff)
		return block, append(want, want[:3]...)
	}
	farBlock, farWant := maxDist()

	tests := []struct {
		name  string
		block []byte
		want  []byte
	}{
		{"literal run of 3: 000 00010", unhex(t, "02 616263"), []byte("abc")},
		{"literal run of 32: 000 11111", append([]byte{0x1f}, bytes.Repeat([]byte("z"), 32)...), bytes.Repeat([]byte("z"), 32)},
		{"two literal runs", unhex(t, "00 61 01 6263"), []byte("abc")},
		{"short match: len field 4 = 6 bytes, distance 2+1", unhex(t, "02 616263 80 02"), []byte("abcabcabc")},
		{"shortest match: 3 bytes at distance 1 is a run", unhex(t, "00 78 20 00"), []byte("xxxx")},
		{"longest short match: len field 6 = 8 bytes", unhex(t, "01 6162 c0 01"), []byte("ababababab")},
		{"long match: 111, extra 10 = 19 bytes", unhex(t, "00 78 e0 0a 00"), bytes.Repeat([]byte("x"), 20)},
		{"longest match: extra 255 = 264 bytes", unhex(t, "00 00 e0 ff 00"), make([]byte, 265)},
		{"match then literal", unhex(t, "01 6869 20 01 00 21"), []byte("hihih!")},
		{"farthest match: distance 8192", farBlock, farWant},
		{"C output for 16 zero bytes (Godot's padded tiny packet)", unhex(t, "01 0000 e0 02 01 02 000000"), make([]byte, 16)},
		{"C output for a repeated greeting", unhex(t, "05 68656c6c6f20 e0 06 05 02 6c6f21"), []byte("hello hello hello hello!")},
		{"C output for a 96-byte game datagram", game96Block, game96},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Decompress(nil, tc.block, len(tc.want))
			if err != nil {
				t.Fatalf("Decompress: %v", err)
			}
			if !bytes.Equal(got, tc.want) {
				t.Fatalf("Decompress = %x\nwant         %x", got, tc.want)
			}
		})
	}
}

func TestDecompressEmptyInputIsEmptyOutput(t *testing.T) {
	got, err := Decompress([]byte("keep"), nil, 0)
	if err != nil || string(got) != "keep" {
		t.Fatalf("Decompress(empty) = %q, %v; want dst unchanged, nil", got, err)
	}
}

func TestDecompressAppendsToDst(t *testing.T) {
	got, err := Decompress([]byte("head:"), unhex(t, "02 616263 80 02"), 9)
	if err != nil || string(got) != "head:abcabcabc" {
		t.Fatalf("Decompress = %q, %v", got, err)
	}
}

func TestDecompressErrors(t *testing.T) {
	tests := []struct {
		name   string
		dst    []byte
		block  []byte
		max    int
		target error
	}{
		{"level 2 marker", nil, unhex(t, "22 616263"), 100, ErrUnsupportedLevel},
		{"level marker 7", nil, unhex(t, "e2 616263"), 100, ErrUnsupportedLevel},
		{"literal run without its bytes", nil, unhex(t, "00"), 100, ErrCorrupt},
		{"literal run cut short", nil, unhex(t, "02 6162"), 100, ErrCorrupt},
		{"stray byte after the last instruction", nil, unhex(t, "02 616263 05"), 100, ErrCorrupt},
		{"short match without its distance byte", nil, unhex(t, "00 78 20"), 100, ErrCorrupt},
		{"long match without its length byte", nil, unhex(t, "00 78 e0"), 100, ErrCorrupt},
		{"long match without its distance byte", nil, unhex(t, "00 78 e0 05"), 100, ErrCorrupt},
		{"match reaching one byte before the start", nil, unhex(t, "00 78 20 01"), 100, ErrCorrupt},
		{"match reaching far before the start", nil, unhex(t, "00 78 3f ff"), 100, ErrCorrupt},
		{"match reaching into dst's earlier bytes", []byte("prefix"), unhex(t, "00 78 20 01"), 100, ErrCorrupt},
		{"literal run beyond maxSize", nil, unhex(t, "02 616263"), 2, ErrTooLarge},
		{"match beyond maxSize", nil, unhex(t, "00 78 20 00"), 3, ErrTooLarge},
		{"long match beyond maxSize", nil, unhex(t, "00 00 e0 ff 00"), 264, ErrTooLarge},
		{"zero maxSize", nil, unhex(t, "00 78"), 0, ErrTooLarge},
		{"negative maxSize", nil, unhex(t, "00 78"), -5, ErrTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := tc.dst
			got, err := Decompress(dst, tc.block, tc.max)
			if !errors.Is(err, tc.target) {
				t.Fatalf("Decompress error = %v, want %v", err, tc.target)
			}
			if !bytes.Equal(got, dst) || len(got) != len(dst) {
				t.Fatalf("on error Decompress returned %q, want dst %q unchanged", got, dst)
			}
		})
	}
}

func TestDecompressLimitIsExact(t *testing.T) {
	in := gameDatagram(19, 1400)
	block := Compress(nil, in)
	if _, err := Decompress(nil, block, len(in)); err != nil {
		t.Fatalf("limit = output size: %v", err)
	}
	if _, err := Decompress(nil, block, len(in)-1); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit one short of output size: %v, want ErrTooLarge", err)
	}
	if out, err := Decompress(nil, block, math.MaxInt); err != nil || !bytes.Equal(out, in) {
		t.Fatalf("limit math.MaxInt: %v", err)
	}
	if out, err := Decompress([]byte("x"), block, math.MaxInt); err != nil || !bytes.Equal(out[1:], in) {
		t.Fatalf("limit math.MaxInt after a prefix: %v", err)
	}
}

// A few bytes of long matches expand ~88 times; Decompress must stop at
// maxSize without ever making room for more.
func TestDecompressNeverExceedsMaxSize(t *testing.T) {
	bomb := []byte{0x00, 0x00}
	for range 10_000 {
		bomb = append(bomb, 0xe0, 0xff, 0x00)
	}
	for _, max := range []int{0, 1, 100, 1400, 65536} {
		out, err := Decompress(nil, bomb, max)
		if !errors.Is(err, ErrTooLarge) || out != nil {
			t.Fatalf("maxSize %d: got %d bytes, %v; want ErrTooLarge", max, len(out), err)
		}
	}

	// Random instruction streams: whatever they decode to fits in maxSize,
	// and so does the buffer that holds it.
	r := rand.New(rand.NewPCG(20, 20))
	for i := range 20_000 {
		block := randomBytes(uint64(i), 1+r.IntN(64))
		block[0] &= 31
		max := r.IntN(3000)
		out, err := Decompress(nil, block, max)
		if err != nil {
			continue
		}
		if len(out) > max || cap(out) > max {
			t.Fatalf("block %x with maxSize %d: %d bytes in a buffer of %d", block, max, len(out), cap(out))
		}
	}
}

// gameBench is the datagram the benchmarks work on.
var gameBench = gameDatagram(21, 600)

func BenchmarkCompress(b *testing.B) {
	dst := make([]byte, 0, MaxCompressedLen(len(gameBench)))
	b.SetBytes(int64(len(gameBench)))
	b.ReportAllocs()
	for b.Loop() {
		dst = Compress(dst[:0], gameBench)
	}
	b.ReportMetric(float64(len(dst))/float64(len(gameBench)), "ratio")
}

func BenchmarkDecompress(b *testing.B) {
	block := Compress(nil, gameBench)
	dst := make([]byte, 0, len(gameBench))
	b.SetBytes(int64(len(gameBench)))
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if dst, err = Decompress(dst[:0], block, len(gameBench)); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzDecompress feeds arbitrary bytes to Decompress, after a prefix in dst:
// it must not panic, must leave the prefix alone, must stay within maxSize,
// and whatever it accepts must survive a round trip through Compress.
func FuzzDecompress(f *testing.F) {
	f.Add(unhex(f, "02 616263 80 02"), 100)
	f.Add(unhex(f, "00 00 e0 ff 00"), 1000)
	f.Add(unhex(f, "22 616263"), 100)
	f.Fuzz(func(t *testing.T, block []byte, maxSize int) {
		prefix := []byte("pre")
		out, err := Decompress(prefix, block, maxSize)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupportedLevel) {
				t.Fatalf("unexpected error %v", err)
			}
			if string(out) != "pre" {
				t.Fatalf("on error dst became %q", out)
			}
			return
		}
		if string(out[:3]) != "pre" {
			t.Fatalf("dst's bytes changed to %q", out[:3])
		}
		got := out[3:]
		if len(got) > max(maxSize, 0) {
			t.Fatalf("decoded %d bytes with maxSize %d", len(got), maxSize)
		}
		again, err := Decompress(nil, block, len(got))
		if err != nil || !bytes.Equal(again, got) {
			t.Fatalf("decoding without a prefix: %v", err)
		}
		rt, err := Decompress(nil, Compress(nil, got), len(got))
		if err != nil || !bytes.Equal(rt, got) {
			t.Fatalf("round trip of decoded bytes failed: %v", err)
		}
	})
}

// FuzzRoundTrip checks that every input survives Compress then Decompress.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte("hello hello hello hello!"))
	f.Add(gameBench)
	f.Fuzz(func(t *testing.T, in []byte) {
		block := Compress(nil, in)
		if len(block) > MaxCompressedLen(len(in)) {
			t.Fatalf("block of %d bytes exceeds MaxCompressedLen(%d)", len(block), len(in))
		}
		if len(block) > 0 && block[0]>>5 != 0 {
			t.Fatalf("first byte %#x lacks the level 1 marker", block[0])
		}
		out, err := Decompress(nil, block, len(in))
		if err != nil {
			t.Fatalf("Decompress: %v", err)
		}
		if !bytes.Equal(out, in) {
			t.Fatalf("round trip mismatch")
		}
		if !bytes.Equal(Compress(nil, in), block) {
			t.Fatalf("Compress is not deterministic")
		}
	})
}
