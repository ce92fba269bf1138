package metrics_test

import (
	"testing"
	"time"
)

// BenchmarkPublish is one snapshot of a server with 16 clients: what the
// game loop pays every PublishEvery ticks.
func BenchmarkPublish(b *testing.B) {
	s := serveB(b, 16)
	for b.Loop() {
		s.m.Publish()
	}
}

// BenchmarkObserveTick is the per-tick cost of the tick histogram.
func BenchmarkObserveTick(b *testing.B) {
	s := serveB(b, 1)
	for b.Loop() {
		s.m.ObserveTick(time.Millisecond)
	}
}
