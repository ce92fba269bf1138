package systems

import (
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
)

// Stats counts what a network system dropped on its own account (bad
// input from connected peers shows on their RemotePeer entities).
type Stats struct {
	// NotFromServer counts payloads a client dropped because another
	// client sent them: any payload while Config.ClientRelay is off, and
	// system payloads (snapshots, ticks, welcomes, ...) always.
	NotFromServer uint64
	// PeerMalformed counts message batches from other clients (relay on)
	// that did not decode, in whole or in part.
	PeerMalformed uint64
	// SendFailed counts payloads the transport refused in the send step
	// (mostly to a peer that left after they were queued).
	SendFailed uint64
	// SharedSends counts payloads a server queued once for several
	// clients that get them byte for byte in one tick (one shared packet
	// on ENet; see transport.SendMany).
	SharedSends uint64
}

var filterEvents = filter.Contains(components.ConnectionEvent)

// rateWindow keeps about the last second of a peer's cumulative counters,
// each sample with the tick it was taken at, to turn them into per-second
// rates whatever the sampling period (Config.PeerStatsEvery).
type rateWindow struct {
	samples []rateSample
	next    int
	filled  int
}

type rateSample struct {
	tick     uint32
	counters [4]uint64
}

// newRateWindow holds a second of samples taken every `every` ticks, and
// one more for the second's start.
func newRateWindow(tickRate, every int) rateWindow {
	return rateWindow{samples: make([]rateSample, (tickRate+every-1)/every+1)}
}

func (w *rateWindow) push(tick uint32, bytesIn, bytesOut, pktsIn, pktsOut uint64) {
	if w.filled > 0 && w.samples[(w.next-1+len(w.samples))%len(w.samples)].tick == tick {
		w.next = (w.next - 1 + len(w.samples)) % len(w.samples) // sampled twice in a tick: keep the later
		w.filled--
	}
	w.samples[w.next] = rateSample{tick, [4]uint64{bytesIn, bytesOut, pktsIn, pktsOut}}
	w.next = (w.next + 1) % len(w.samples)
	w.filled = min(w.filled+1, len(w.samples))
}

// rates returns bytes in, bytes out, packets in, packets out per second
// between the oldest and the newest sample, by the ticks between them.
func (w *rateWindow) rates(tickRate int) (float64, float64, float64, float64) {
	if w.filled < 2 {
		return 0, 0, 0, 0
	}
	newest := w.samples[(w.next-1+len(w.samples))%len(w.samples)]
	oldest := w.samples[(w.next-w.filled+len(w.samples))%len(w.samples)]
	ticks := newest.tick - oldest.tick
	if ticks == 0 {
		return 0, 0, 0, 0
	}
	perSecond := float64(tickRate) / float64(ticks)
	var r [4]float64
	for i := range r {
		r[i] = float64(newest.counters[i]-oldest.counters[i]) * perSecond
	}
	return r[0], r[1], r[2], r[3]
}
