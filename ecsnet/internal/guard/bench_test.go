package guard

import (
	"strings"
	"testing"
)

// BenchmarkInspect is the guard's cost per datagram, as Inspect runs on
// every datagram a host receives (the cgo crossing of the hook is measured
// by ecsnet's BenchmarkReliable64 against plain go-enet).
func BenchmarkInspect(b *testing.B) {
	h := newFakeHost(64)
	h.connect(7)
	ack := []byte{1, 1, 0, 9, 0, 9, 0, 0}
	cases := []struct {
		name string
		d    []byte
	}{
		{"ack", datagram(7, false, ack)},
		{"reliable64", datagram(7, false, reliable(1, 1, strings.Repeat("x", 64)))},
		{"acks+16 reliable", datagram(7, false, ack, ack, ack, reliable(1, 1, "0123456789abcdef0123456789abcdef"),
			reliable(1, 1, "0123456789abcdef"), reliable(1, 1, "01234567"), reliable(1, 1, "0123456789abcdef0123456789abcdef"),
			reliable(1, 1, "0123456789abcdef"), reliable(1, 1, "01234567"), reliable(1, 1, "0123456789abcdef0123456789abcdef"),
			reliable(1, 1, "0123456789abcdef"), reliable(1, 1, "01234567"), reliable(1, 1, "0123456789abcdef0123456789abcdef"),
			reliable(1, 1, "0123456789abcdef"), reliable(1, 1, "01234567"), reliable(1, 1, "0123456789abcdef0123456789abcdef"),
			reliable(1, 1, "0123456789abcdef"), reliable(1, 1, "01234567"), reliable(1, 1, "0123456789abcdef0123456789abcdef"))},
		{"unreliable 1200", datagram(7, false, unreliable(2, 0, 5, strings.Repeat("y", 1200)))},
		{"connect", datagram(noPeer, false, connectCmd())},
		{"two bytes", []byte{0xCF, 0xFF}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			g := New(Config{}, 64)
			b.SetBytes(int64(len(c.d)))
			b.ReportAllocs()
			for b.Loop() {
				g.Inspect(c.d, h)
				if len(g.pending) > 0 {
					clear(g.pending)
				}
			}
		})
	}
}
