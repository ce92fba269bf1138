// Package quant packs component values into few bits for snapshots: a bit
// writer and reader, bounded floats, angles, smallest-three quaternions,
// bit-level varints and baseline-relative integers.
//
// Game developers use it inside their component codecs: quantize a value,
// write it to a Writer, and on the client read it back from a Reader. Every
// Read function checks its input, so bytes from the network cannot panic the
// decoder: reading past the end returns ErrShort, and bits that no Write
// function produces return ErrRange.
//
// Bits are packed most significant first: writing 0b101 in 3 bits and then
// 0b00110 in 5 bits yields the single byte 0b10100110.
//
// Concurrency: a Writer or Reader belongs to one goroutine at a time. The
// codec values (Float, Angle, QuatCodec) hold no mutable state, and their
// methods and the package's functions are safe for concurrent use as long as
// each goroutine uses its own Writer or Reader.
package quant
