package quant

import (
	"encoding/binary"
	"fmt"
)

// Writer appends bits to a byte slice, most significant bit first. The zero
// Writer is ready to use. A Writer is not safe for concurrent use.
type Writer struct {
	buf  []byte
	acc  uint64 // pending bits, filled from the high bit
	used int    // bits of acc in use, 0 to 63
	bits int    // bits written since the last Reset
}

// Reset discards the writer's state and makes it append to dst, keeping
// dst's contents; Reset(b[:0]) reuses b's storage.
func (w *Writer) Reset(dst []byte) {
	*w = Writer{buf: dst}
}

// WriteBits appends the low n bits of v, most significant first; higher
// bits of v are ignored. n must be in [0, 64]; other n panic, as that is a
// bug in the caller.
func (w *Writer) WriteBits(v uint64, n int) {
	checkBitCount(n)
	if n == 0 {
		return
	}
	v &= ^uint64(0) >> (64 - n)
	w.bits += n
	free := 64 - w.used
	if n < free {
		w.acc |= v << (free - n)
		w.used += n
		return
	}
	rest := n - free // bits of v that do not fit in acc
	w.buf = binary.BigEndian.AppendUint64(w.buf, w.acc|v>>rest)
	w.acc = v << (64 - rest) // 0 when rest is 0
	w.used = rest
}

// WriteBool appends one bit: 1 for true, 0 for false.
func (w *Writer) WriteBool(b bool) {
	var v uint64
	if b {
		v = 1
	}
	w.WriteBits(v, 1)
}

// BitLen reports the number of bits written since the last Reset, not
// counting the padding that Bytes adds.
func (w *Writer) BitLen() int { return w.bits }

// Bytes pads the partial last byte with zero bits and returns everything
// written, after whatever dst held at Reset. Later writes start on a new
// byte. The result shares the writer's storage: it stays intact through
// later writes, until a Reset hands that storage out again.
func (w *Writer) Bytes() []byte {
	for ; w.used > 0; w.used -= 8 {
		w.buf = append(w.buf, byte(w.acc>>56))
		w.acc <<= 8
	}
	w.acc, w.used = 0, 0
	return w.buf
}

// Reader reads bits from a byte slice in the order a Writer wrote them. It
// never panics on any input: reading past the end returns ErrShort. A Reader
// is not safe for concurrent use.
type Reader struct {
	b   []byte
	off int // bits consumed
}

// NewReader returns a Reader over b. The Reader does not modify b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Reset makes the reader start again at the first bit of b.
func (r *Reader) Reset(b []byte) { *r = Reader{b: b} }

// Remaining reports how many bits are left to read, including the zero
// padding at the end of the last byte.
func (r *Reader) Remaining() int { return len(r.b)*8 - r.off }

// ReadBits reads n bits as the low bits of an unsigned integer. If fewer
// than n bits remain it returns ErrShort and consumes nothing. n must be in
// [0, 64]; other n panic, as that is a bug in the caller.
func (r *Reader) ReadBits(n int) (uint64, error) {
	checkBitCount(n)
	if n > r.Remaining() {
		return 0, ErrShort
	}
	i, shift := r.off>>3, r.off&7
	if n <= 64-7 && i+8 <= len(r.b) { // one 8-byte load holds all n bits
		r.off += n
		return binary.BigEndian.Uint64(r.b[i:]) << shift >> (64 - n), nil
	}
	var v uint64
	for n > 0 {
		avail := 8 - r.off&7
		take := min(avail, n)
		b := uint64(r.b[r.off>>3]>>(avail-take)) & (1<<take - 1)
		v = v<<take | b
		r.off += take
		n -= take
	}
	return v, nil
}

// ReadBool reads one bit as written by WriteBool.
func (r *Reader) ReadBool() (bool, error) {
	v, err := r.ReadBits(1)
	return v == 1, err
}

func checkBitCount(n int) {
	if n < 0 || n > 64 {
		panic(fmt.Sprintf("quant: bit count %d outside [0, 64]", n))
	}
}
