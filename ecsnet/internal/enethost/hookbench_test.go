package enethost

import "testing"

// BenchmarkHookDatagram is one datagram through the in-queue: a Push and
// the hooked receive that serves it to ENet (which drops it: it is shorter
// than any ENet header), one service call per 32 datagrams. It uses only
// what the hook had before its probe, so the same file measures an older
// tree as a baseline.
func BenchmarkHookDatagram(b *testing.B) {
	h, err := NewHost(Config{Peers: 4, Chans: 2, Bind: loopback})
	if err != nil {
		b.Fatal(err)
	}
	k := h.EnableHook()
	if k == nil {
		b.Fatal("no hook")
	}
	defer k.Free()
	defer h.Destroy()
	d := []byte{0, 0, 0}
	var ev Event
	n := 0
	for b.Loop() {
		if !k.Push(4000, d) {
			b.Fatal("push refused")
		}
		if n++; n%32 == 0 {
			if _, err := h.Service(&ev, 0); err != nil {
				b.Fatal(err)
			}
		}
	}
}
