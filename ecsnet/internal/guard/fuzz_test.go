package guard

import (
	"encoding/binary"
	"testing"
)

// FuzzInspect throws arbitrary datagrams (and arbitrary "decompressed"
// commands) at a guard with connected peers: it must never panic, and
// what it passes must be something libenet can walk without running off
// the end.
func FuzzInspect(f *testing.F) {
	f.Add(datagram(0, false, reliable(1, 1, "hello")), []byte(nil))
	f.Add(datagram(noPeer, false, connectCmd()), []byte(nil))
	f.Add(datagram(noPeer, true, make([]byte, 20)), connectCmd())
	f.Add(datagram(1, true, make([]byte, 40)), fragment(1, 1, 1<<20, 0, 10, 0, "x"))
	f.Add([]byte{0xCF, 0xFF}, []byte(nil))
	f.Fuzz(func(t *testing.T, d, decompressed []byte) {
		g, h := New(Config{MaxAbuse: 2}, 4), newFakeHost(4)
		h.connect(0)
		h.connect(1)
		h.delivered[[2]int{1, 1}] = 40000
		dropped := g.Inspect(d, h)
		if dropped {
			return
		}
		hd, ok := ParseHeader(d)
		if !ok {
			t.Fatalf("passed a datagram shorter than its header: % x", d)
		}
		if hd.Compressed {
			if g.DecompressLimit() <= 0 || g.DecompressLimit() > maxMTU {
				t.Fatalf("decompress limit %d", g.DecompressLimit())
			}
			if len(decompressed) > g.DecompressLimit() {
				decompressed = decompressed[:g.DecompressLimit()]
			}
			if g.Decompressed(decompressed, h) {
				return
			}
			d = append(d[:hd.Size:hd.Size], decompressed...)
		}
		walk(t, d[hd.Size:], hd.PeerID == noPeer)
		g.Sweep(h)
		g.Abusive()
	})
}

// walk reads commands as libenet does and fails if one runs past the end.
func walk(t *testing.T, c []byte, fromNoPeer bool) {
	t.Helper()
	if fromNoPeer {
		if !isConnect(c) {
			t.Fatalf("passed from no peer: % x", c)
		}
		return
	}
	for len(c) > 0 {
		n := int(c[0] & cmdMask)
		size := commandSizes[n]
		if off := dataLengthOffset[n]; off > 0 {
			size += int(binary.BigEndian.Uint16(c[off:]))
		}
		if size == 0 || size > len(c) {
			t.Fatalf("passed a command libenet would run past: % x", c)
		}
		c = c[size:]
	}
}
