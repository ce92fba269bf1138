// Package fastlz implements the level 1 block format of FastLZ, the
// byte-aligned LZ77 compressor that Godot 3 uses for ENet datagrams
// (NetworkedMultiplayerENet.COMPRESS_FASTLZ).
//
// A level 1 block is a sequence of instructions, each starting with a control
// byte whose top three bits say what it is:
//
//	000LLLLL <L+1 literal bytes>    literal run of 1..32 bytes
//	LLLOOOOO OOOOOOOO               match, LLL = 1..6: copy LLL+2 bytes (3..8)
//	111OOOOO EEEEEEEE OOOOOOOO      long match: copy E+9 bytes (9..264)
//
// A match copies from distance ((first byte & 31) << 8 | last byte) + 1
// (1..8192) back in the output produced so far; when the distance is shorter
// than the length the copy overlaps itself and repeats the last bytes, which
// is how runs are encoded. The top three bits of a block's first byte are the
// FastLZ level marker (0 for level 1, 1 for level 2), so the first
// instruction is always a literal run. The block has no header, length or
// checksum: it ends where its bytes end.
//
// Compress emits blocks that the reference C decoder (fastlz_decompress,
// from FastLZ 0.1.0 as vendored by Godot 3.2 as well as later releases)
// accepts, and Decompress accepts everything the reference level 1 compressor
// (fastlz_compress_level(1, ...), and fastlz_compress for inputs under 64 KiB)
// emits. The bytes Compress produces are not always the bytes the C
// compressor would produce for the same input, which the format does not
// require.
//
// Godot quirk, not handled here: Godot's Compression::compress zero-pads
// inputs shorter than 16 bytes to 16 bytes before calling fastlz_compress,
// and its decompress decodes into a 16-byte scratch buffer when the caller's
// maximum is under 16. A peer talking to Godot that wants byte-identical
// behaviour pads such inputs itself before calling Compress, and expects
// decoded datagrams of at least 16 bytes, trailing zeros included.
package fastlz

import (
	"encoding/binary"
	"errors"
	"math"
	"math/bits"
)

// Errors returned by Decompress. Test for them with errors.Is: the errors
// Decompress returns for bad instructions wrap ErrCorrupt with a more precise
// message.
var (
	// ErrCorrupt reports a block that is not valid level 1 data: an
	// instruction cut short by the end of the input, or a match reaching
	// back before the start of the output.
	ErrCorrupt = errors.New("fastlz: corrupt input")
	// ErrTooLarge reports a block that decodes to more than the maximum
	// size the caller allowed.
	ErrTooLarge = errors.New("fastlz: decompressed data exceeds the size limit")
	// ErrUnsupportedLevel reports a block whose level marker (the top three
	// bits of its first byte) is not level 1; level 2 blocks, which the C
	// fastlz_compress produces for inputs of 64 KiB and more, are among them.
	ErrUnsupportedLevel = errors.New("fastlz: not a level 1 block")

	errTruncated = wrapCorrupt("truncated instruction")
	errDistance  = wrapCorrupt("match distance reaches before the start of the output")
)

// corruptError is an ErrCorrupt with a more precise message, allocated once.
type corruptError struct{ msg string }

func wrapCorrupt(msg string) error { return &corruptError{msg: "fastlz: corrupt input: " + msg} }

func (e *corruptError) Error() string { return e.msg }
func (e *corruptError) Unwrap() error { return ErrCorrupt }

// Format limits of level 1.
const (
	maxCopy     = 32   // longest literal run: 000LLLLL holds 0..31 for 1..32
	maxLen      = 264  // longest match one instruction holds: 255 + 9
	maxDistance = 8192 // farthest back a match reaches: 13 bits, biased by 1
	minMatch    = 3    // shortest match: length field 1 means 3 bytes
)

// Compressor tuning. None of it is part of the format.
const (
	// maxCompressDistance is the farthest back Compress looks for a match.
	// The reference compressor never uses distance 8192 (it checks
	// distance < 8192), so neither do we, staying within what every decoder
	// has been exercised with.
	maxCompressDistance = maxDistance - 1
	// inputMargin: no match starts within the last inputMargin bytes, as in
	// the reference compressor; inputs shorter than this+1 become one or
	// two literal runs. It also keeps the 4- and 8-byte loads in bounds.
	inputMargin = 13
	// tailLiterals: a match stops at least this many bytes before the end
	// of the input, so every block ends with a literal run, as the
	// reference compressor's blocks do.
	tailLiterals = 2
	// Hash table sizes, in bits. Small inputs use a small table so that
	// clearing it does not dominate the cost of compressing a datagram.
	smallTableBits = 11
	largeTableBits = 13 // HASH_LOG of the reference compressor
	// skipLog: after 1<<skipLog bytes without a match the search steps two
	// bytes at a time, then three, and so on; it restarts at one byte after
	// each match. This bounds the time spent on incompressible data.
	skipLog = 6
)

// MaxCompressedLen returns the largest number of bytes Compress can append
// for an input of n bytes: all literals, one control byte per 32 of them,
// plus slack for the extra literal runs matches may split off. n must not be
// negative.
func MaxCompressedLen(n int) int {
	return n + n/maxCopy + 2
}

// Compress appends the level 1 FastLZ block for src to dst and returns the
// extended slice. The result is deterministic: the same src always produces
// the same bytes. An empty src appends nothing, as the reference compressor
// returns 0 bytes for it. Inputs of fewer than 14 bytes become literal runs
// only; for fewer than 4 bytes that is one run, byte for byte what the
// reference compressor emits.
//
// Compress grows dst at most once, to len(dst)+MaxCompressedLen(len(src)),
// and allocates nothing else: its hash table lives on the stack. It holds no
// shared state and is safe for concurrent use.
func Compress(dst, src []byte) []byte {
	dst = grow(dst, MaxCompressedLen(len(src)))
	switch {
	case len(src) <= inputMargin:
		return emitLiterals(dst, src)
	case len(src) <= 1<<smallTableBits:
		return compressSmall(dst, src)
	default:
		return compressLarge(dst, src)
	}
}

// grow returns b with room for at least n more bytes.
func grow(b []byte, n int) []byte {
	if cap(b)-len(b) >= n {
		return b
	}
	nb := make([]byte, len(b), len(b)+n)
	copy(nb, b)
	return nb
}

// compressSmall and compressLarge give the hash table a stack frame of its
// own, sized for the input, so that a small datagram neither clears nor
// reserves stack for the big table.
//
//go:noinline
func compressSmall(dst, src []byte) []byte {
	var table [1 << smallTableBits]uint16
	return compressBlock(dst, src, table[:], 32-smallTableBits)
}

//go:noinline
func compressLarge(dst, src []byte) []byte {
	var table [1 << largeTableBits]uint16
	return compressBlock(dst, src, table[:], 32-largeTableBits)
}

// compressBlock is the match finder. len(src) must exceed inputMargin and
// len(table) must be 1<<(32-shift).
//
// The table maps a hash of three bytes to the low 16 bits of the last
// position with that hash. Positions wrap at 64 KiB, and the table starts
// zeroed, so an entry is only a guess: the distance it implies is used only
// if it is in range and the bytes there really match, which is what makes
// the output valid whatever the table holds.
func compressBlock(dst, src []byte, table []uint16, shift uint) []byte {
	n := len(src)
	sLimit := n - inputMargin  // matches start before this
	mLimit := n - tailLiterals // and end at or before this
	nextEmit := 0              // first byte not yet emitted
	s := 1                     // byte 0 is always a literal: the level marker lives there

	for s < sLimit {
		cur := binary.LittleEndian.Uint32(src[s:])
		h := hash3(cur, shift)
		d := (s - int(table[h])) & 0xffff
		table[h] = uint16(s)
		if d == 0 || d > maxCompressDistance || d > s ||
			(binary.LittleEndian.Uint32(src[s-d:])^cur)&0xffffff != 0 {
			s += 1 + (s-nextEmit)>>skipLog
			continue
		}

		end := extendMatch(src, s+minMatch, d, mLimit)
		dst = emitLiterals(dst, src[nextEmit:s])
		dst = emitMatch(dst, end-s, d)
		nextEmit = end
		s = end
		// Remember the two positions just before the end of the match,
		// where the next repeat of this data is likely to start.
		if s < sLimit {
			table[hash3(binary.LittleEndian.Uint32(src[s-2:]), shift)] = uint16(s - 2)
			table[hash3(binary.LittleEndian.Uint32(src[s-1:]), shift)] = uint16(s - 1)
		}
	}
	return emitLiterals(dst, src[nextEmit:])
}

// hash3 hashes the low three bytes of u into 32-shift bits.
func hash3(u uint32, shift uint) uint32 {
	return (u << 8) * 0x9e3779b1 >> shift
}

// extendMatch returns where a match at distance d that is known to hold up
// to e stops: the first i >= e with src[i] != src[i-d], or limit.
func extendMatch(src []byte, e, d, limit int) int {
	for e+8 <= limit {
		x := binary.LittleEndian.Uint64(src[e:]) ^ binary.LittleEndian.Uint64(src[e-d:])
		if x != 0 {
			return e + bits.TrailingZeros64(x)>>3
		}
		e += 8
	}
	for e < limit && src[e] == src[e-d] {
		e++
	}
	return e
}

// emitLiterals appends lit as literal runs of at most 32 bytes.
func emitLiterals(dst, lit []byte) []byte {
	for len(lit) > maxCopy {
		dst = append(dst, maxCopy-1)
		dst = append(dst, lit[:maxCopy]...)
		lit = lit[maxCopy:]
	}
	if len(lit) > 0 {
		dst = append(dst, byte(len(lit)-1))
		dst = append(dst, lit...)
	}
	return dst
}

// emitMatch appends a match of length >= 3 bytes at distance d (1..8192).
// Matches longer than one instruction holds are split the way the reference
// compressor splits them: 262-byte pieces while more than 264 remain, so the
// last piece is never shorter than 3 bytes.
func emitMatch(dst []byte, length, d int) []byte {
	d--
	hi, lo := byte(d>>8), byte(d)
	for length > maxLen {
		dst = append(dst, 7<<5|hi, maxLen-2-9, lo)
		length -= maxLen - 2
	}
	if length < 9 {
		return append(dst, byte(length-2)<<5|hi, lo)
	}
	return append(dst, 7<<5|hi, byte(length-9), lo)
}

// Decompress decodes the level 1 block src, appends the result to dst and
// returns the extended slice. It never appends more than maxSize bytes
// (a negative maxSize counts as 0), and never allocates room for more than
// len(dst)+maxSize bytes.
//
// src may come from anyone: Decompress checks every instruction, never reads
// or writes out of bounds and never panics. It returns ErrUnsupportedLevel
// when the level marker in the first byte is not level 1, ErrTooLarge when
// the output would exceed maxSize, and an error wrapping ErrCorrupt when an
// instruction is truncated or a match reaches back before the start of this
// block's output (the bytes already in dst are not part of it). On error it
// returns dst unchanged. An empty src decodes to nothing, as the reference
// compressor encodes an empty input as nothing.
//
// The reference decoder of FastLZ 0.5 silently ignores one stray byte after
// the last instruction; Decompress rejects it as truncated, as FastLZ 0.1.0
// does. No compressor emits such a byte.
//
// Decompress holds no shared state and is safe for concurrent use.
func Decompress(dst, src []byte, maxSize int) ([]byte, error) {
	if len(src) == 0 {
		return dst, nil
	}
	if src[0]>>5 != 0 {
		return dst, ErrUnsupportedLevel
	}
	maxSize = max(maxSize, 0)
	base := len(dst)
	limit := math.MaxInt // position in out that decoding must not pass
	if maxSize <= math.MaxInt-base {
		limit = base + maxSize
	}

	out := dst
	ip := 0
	for ip < len(src) {
		ctrl := int(src[ip])
		ip++
		pos := len(out)

		if ctrl < 32 { // literal run
			n := ctrl + 1
			if n > len(src)-ip {
				return dst, errTruncated
			}
			if n > limit-pos {
				return dst, ErrTooLarge
			}
			if cap(out)-pos < n {
				out = growOutput(out, n, limit, len(src))
			}
			out = append(out, src[ip:ip+n]...)
			ip += n
			continue
		}

		length := ctrl>>5 + 2
		if length == 9 { // long match: one more length byte
			if ip >= len(src) {
				return dst, errTruncated
			}
			length += int(src[ip])
			ip++
		}
		if ip >= len(src) {
			return dst, errTruncated
		}
		d := ((ctrl&31)<<8 | int(src[ip])) + 1
		ip++
		if d > pos-base {
			return dst, errDistance
		}
		if length > limit-pos {
			return dst, ErrTooLarge
		}
		if cap(out)-pos < length {
			out = growOutput(out, length, limit, len(src))
		}
		out = out[:pos+length]
		from := pos - d
		if d >= length {
			copy(out[pos:], out[from:from+length])
			continue
		}
		// Overlapping copy: out[from:pos] repeats with period d, and so
		// does every multiple of it, so copy ever longer stretches.
		for length > 0 {
			k := copy(out[pos:pos+length], out[from:pos])
			pos += k
			length -= k
		}
	}
	return out, nil
}

// growOutput returns out with room for n more bytes, never with a capacity
// beyond limit (which is at least len(out)+n). It guesses generously so that
// a whole datagram usually needs a single allocation.
func growOutput(out []byte, n, limit, srcLen int) []byte {
	c := max(2*cap(out), len(out)+n, len(out)+2*srcLen+64)
	c = min(c, limit)
	nb := make([]byte, len(out), c)
	copy(nb, out)
	return nb
}
