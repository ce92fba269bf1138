package quant

import "fmt"

const (
	groupBits = 4
	maxGroups = 64 / groupBits
)

// WriteUvarint appends v in a form short for small numbers: v is cut into
// the fewest 4-bit groups that hold it, least significant first, each
// followed by a bit that is 1 if another group follows. 0 to 15 take 5 bits,
// up to 255 take 10, and the largest uint64 takes 16 groups, 80 bits.
func WriteUvarint(w *Writer, v uint64) {
	for v >= 1<<groupBits {
		w.WriteBits(v<<1|1, groupBits+1) // WriteBits keeps the low 5 bits
		v >>= groupBits
	}
	w.WriteBits(v<<1, groupBits+1)
}

// ReadUvarint reads a value written by WriteUvarint. It returns ErrShort if
// r runs out, and ErrRange for an encoding WriteUvarint never produces:
// more than 16 groups, or a last group of zeros after the first.
func ReadUvarint(r *Reader) (uint64, error) {
	var v uint64
	for i := range maxGroups {
		g, err := r.ReadBits(groupBits + 1)
		if err != nil {
			return 0, err
		}
		v |= g >> 1 << (groupBits * i)
		if g&1 == 0 {
			if i > 0 && g == 0 {
				return 0, fmt.Errorf("quant: varint with a trailing zero group: %w", ErrRange)
			}
			return v, nil
		}
	}
	return 0, fmt.Errorf("quant: varint longer than %d groups: %w", maxGroups, ErrRange)
}

// WriteVarint appends v zig-zag encoded (0, -1, 1, -2, 2... become 0, 1, 2,
// 3, 4...) with WriteUvarint, so that small magnitudes of either sign are
// short.
func WriteVarint(w *Writer, v int64) {
	WriteUvarint(w, zigzag(v))
}

// ReadVarint reads a value written by WriteVarint, with ReadUvarint's
// errors.
func ReadVarint(r *Reader) (int64, error) {
	u, err := ReadUvarint(r)
	return unzigzag(u), err
}

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }
