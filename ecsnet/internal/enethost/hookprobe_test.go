package enethost

import (
	"sync/atomic"
	"testing"
	"time"
)

// probeRuns is how many times the probe has run in this process.
func probeRuns() int64 {
	hookProbe.mu.Lock()
	defer hookProbe.mu.Unlock()
	return hookProbe.runs
}

// In this binary libenet's own send, receive and wait reach the hook, so
// the probe passes; when they go past it, as under a libenet built with
// -Bsymbolic or LTO, whose calls never use its PLT, the probe fails even
// though the hook's symbols are linked just as before.
func TestHookProbeSeesWhetherLibenetsCallsArrive(t *testing.T) {
	if got := probeHook(false); got != probeAll {
		t.Errorf("with libenet's calls reaching the hook, the probe saw %s", probeString(got))
	}
	if got := probeHook(true); got != 0 {
		t.Errorf("with libenet's calls going past the hook, the probe saw %s", probeString(got))
	}
}

// When the probe misses, no host is hooked: EnableHook gives nil, so the
// relay keeps its loopback sockets instead of pushing into a queue ENet
// would never read. Once it passes again, hosts are hooked again.
func TestHookProbeMissTurnsTheHookOff(t *testing.T) {
	SimulateHookBypass(true)
	defer SimulateHookBypass(false)
	if HookAvailable() {
		t.Fatal("HookAvailable with libenet's calls going past the hook")
	}
	h := newTestHost(t, true)
	if k := h.EnableHook(); k != nil {
		h.Destroy()
		k.Free()
		t.Fatal("EnableHook hooked a host although the probe missed")
	}
	if h.Hook() != nil {
		t.Fatal("the host keeps a hook")
	}

	SimulateHookBypass(false)
	if !HookAvailable() {
		t.Fatal("the probe still fails with libenet's calls reaching the hook")
	}
	k := h.EnableHook()
	h.Destroy()
	k.Free()
	if k == nil {
		t.Fatal("no hook once the probe passes")
	}
}

// The probe runs once per process, at the first HookAvailable or
// EnableHook, not per host and never per datagram.
func TestHookProbeRunsOnce(t *testing.T) {
	if !HookAvailable() {
		t.Fatal("no hook")
	}
	before := probeRuns()
	for range 3 {
		h := newTestHost(t, true)
		k := h.EnableHook()
		if k == nil {
			t.Fatal("no hook")
		}
		for range 10 {
			k.Push(4000, []byte{0})
		}
		var ev Event
		if _, err := h.Service(&ev, 0); err != nil {
			t.Fatal(err)
		}
		h.Destroy()
		k.Free()
	}
	if after := probeRuns(); after != before {
		t.Errorf("the probe ran %d more times for 3 hosts and 30 datagrams", after-before)
	}
}

// A relay goroutine may still Push while the owner destroys the host and
// frees its hook: the Push either lands before Free or is refused after it,
// never touches freed memory, and every refusal is counted.
func TestHookPushRacingFreeIsRefusedAndCounted(t *testing.T) {
	h := newTestHost(t, true)
	k := h.EnableHook()
	if k == nil {
		t.Fatal("no hook")
	}
	var pushed, refused atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		b := []byte{1, 2, 3}
		for {
			select {
			case <-stop:
				return
			default:
			}
			if k.Push(4000, b) {
				pushed.Add(1)
			} else {
				refused.Add(1)
			}
		}
	}()
	waitFor(t, "pushes before the host goes", func() bool { return pushed.Load() >= 100 })
	h.Destroy()
	if k.Push(4000, []byte{1}) {
		t.Error("a Push after the host's Destroy was accepted")
	}
	refused.Add(1)
	k.Free()
	freedAt := refused.Load()
	waitFor(t, "pushes refused after Free", func() bool { return refused.Load() >= freedAt+100 })
	close(stop)
	<-done

	if k.Push(4000, []byte{1}) {
		t.Error("a Push after Free was accepted")
	}
	refused.Add(1)
	k.Mark(4000, true) // does nothing, and does not crash
	if n := k.Drain(func(uint16, []byte) { t.Error("drained after Free") }); n != 0 {
		t.Errorf("drained %d after Free", n)
	}
	if in, _ := k.Counts(); in != refused.Load() {
		t.Errorf("counted %d refused pushes, want %d", in, refused.Load())
	}
	k.Free() // twice is harmless
}

// waitFor polls cond until it holds, failing after a deadline.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// probeString names what a probe saw reach the hook.
func probeString(reached int) string {
	s := ""
	for _, c := range []struct {
		bit  int
		name string
	}{{probeSend, "send"}, {probeReceive, "receive"}, {probeWait, "wait"}} {
		if reached&c.bit != 0 {
			s += " " + c.name
		}
	}
	if s == "" {
		return "nothing"
	}
	return s[1:]
}

// BenchmarkHookProbe is what the probe costs, once per process.
func BenchmarkHookProbe(b *testing.B) {
	for b.Loop() {
		if got := probeHook(false); got != probeAll {
			b.Fatalf("the probe saw %s", probeString(got))
		}
	}
}
