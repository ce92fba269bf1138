package game

import (
	"testing"
	"time"
)

// A status line's tick times are the window's own: its median, its 99th
// percentile and its worst, and the next window starts empty.
func TestTickWindowReportsItsOwnTicks(t *testing.T) {
	w := newTickWindow(time.Hour)
	for i := 1; i <= 100; i++ {
		if w.add(time.Duration(i) * time.Millisecond) {
			t.Fatal("a status line due before its interval")
		}
	}
	tps, p50, p99, worst := w.take()
	if p50 != 50*time.Millisecond || p99 != 99*time.Millisecond || worst != 100*time.Millisecond || tps <= 0 {
		t.Errorf("p50 %v, p99 %v, max %v, %v ticks/s; want 50 ms, 99 ms, 100 ms and a rate", p50, p99, worst, tps)
	}
	w.add(time.Millisecond)
	if _, p50, _, worst := w.take(); p50 != time.Millisecond || worst != time.Millisecond {
		t.Errorf("next window: p50 %v, max %v; want only its own 1 ms tick", p50, worst)
	}
	if !newTickWindow(0).add(time.Millisecond) {
		t.Error("no status line due after its interval")
	}
}
