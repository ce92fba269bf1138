package enethost

import (
	"os"
	"testing"
	"time"
)

// openFDs counts the process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(fds)
}

// newHosts creates count hosts on loopback, each batching its sends when
// batch, and reports how many descriptors they opened. They are destroyed
// when the test ends.
func newHosts(t *testing.T, count int, batch bool) ([]*Host, int) {
	t.Helper()
	before := openFDs(t)
	hosts := make([]*Host, count)
	for i := range hosts {
		h, err := NewHost(Config{Peers: 1, Chans: 1, Bind: loopback})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			k := h.Hook()
			h.Destroy()
			k.Free()
		})
		if batch && !h.EnableSendBatch() {
			t.Fatal("no send batch although the hook is live")
		}
		hosts[i] = h
	}
	return hosts, openFDs(t) - before
}

// A host that only batches its sends opens no descriptor beyond its
// socket: many of them open exactly as many as hosts without the hook
// (a process of many plain clients pays nothing more per client), and
// each still sends through its batch.
func TestBatchOnlyHostsOpenNoMoreDescriptorsThanPlainOnes(t *testing.T) {
	if !HookAvailable() { // the probe's throwaway host comes and goes first
		t.Fatal("the socket hook is not live")
	}
	const count = 16
	_, plain := newHosts(t, count, false)
	hosts, batching := newHosts(t, count, true)
	if plain < count {
		t.Fatalf("%d plain hosts opened %d descriptors", count, plain)
	}
	if batching != plain {
		t.Fatalf("%d batch-only hosts opened %d descriptors, %d plain hosts %d", count, batching, count, plain)
	}
	r := newRawReceiver(t)
	for i, h := range hosts {
		if _, err := h.Connect(loopback, r.port(), 1, uint32(i)); err != nil {
			t.Fatal(err)
		}
		h.Flush()
		if b := h.Hook().BatchCounts(); b.Datagrams != 1 || b.Calls != 1 {
			t.Fatalf("host %d: batch counts %+v, want its CONNECT in one call", i, b)
		}
	}
	checkInOrder(t, r.connectData(count, time.Second), upTo(count))
}

// A batch-only Hook has no queues: a Push is refused and counted, a Mark
// does nothing (the marked port is still sent to on the socket) and Watch
// is refused. EnableHook then gives the same Hook its queues and one
// eventfd, and it relays while it still batches.
func TestBatchOnlyHookGainsItsQueuesWithEnableHook(t *testing.T) {
	r := newRawReceiver(t)
	h, k := newBatchingHost(t, 3)
	if k.Push(4000, []byte{1}) {
		t.Fatal("a batch-only hook took a Push")
	}
	if in, _ := k.Counts(); in != 1 {
		t.Fatalf("%d refused Pushes counted, want 1", in)
	}
	if k.Watch(0, func() { t.Error("a batch-only hook refilled") }) {
		t.Fatal("a batch-only hook took a descriptor to watch")
	}
	k.Mark(uint16(r.port()), true)
	if _, err := h.Connect(loopback, r.port(), 1, 1); err != nil {
		t.Fatal(err)
	}
	h.Flush()
	checkInOrder(t, r.connectData(1, time.Second), []uint32{1})
	if n := k.Drain(func(uint16, []byte) { t.Error("a batch-only hook queued a send") }); n != 0 {
		t.Fatalf("drained %d", n)
	}

	before := openFDs(t)
	if got := h.EnableHook(); got != k {
		t.Fatalf("EnableHook gave %p, want the host's Hook %p", got, k)
	}
	if opened := openFDs(t) - before; opened != 1 {
		t.Fatalf("the relay's hook opened %d descriptors, want its eventfd", opened)
	}
	if h.EnableHook() != k || openFDs(t)-before != 1 {
		t.Fatal("a second EnableHook did not keep the same hook as it was")
	}
	if !k.Push(4000, []byte{1}) {
		t.Fatal("the relay's hook refused a Push")
	}
	k.Mark(uint16(r.port()), true)
	if _, err := h.Connect(loopback, r.port(), 1, 2); err != nil {
		t.Fatal(err)
	}
	h.Flush()
	var queued int
	k.Drain(func(port uint16, b []byte) {
		if int(port) == r.port() && len(b) >= 4 && b[len(b)-1] == 2 {
			queued++
		}
	})
	if queued != 1 {
		t.Fatalf("%d CONNECTs to the marked port queued, want 1", queued)
	}
	k.Mark(uint16(r.port()), false)
	sent := k.BatchCounts().Datagrams
	if _, err := h.Connect(loopback, r.port(), 1, 3); err != nil {
		t.Fatal(err)
	}
	h.Flush()
	checkInOrder(t, r.connectData(1, time.Second), []uint32{3})
	if k.BatchCounts().Datagrams != sent+1 {
		t.Fatal("the relay's hook no longer batches its other sends")
	}
}
