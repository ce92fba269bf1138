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
}

var filterEvents = filter.Contains(components.ConnectionEvent)

// rateWindow keeps the last second of cumulative counters to turn them into
// per-second rates.
type rateWindow struct {
	samples [][4]uint64
	next    int
	filled  int
}

func newRateWindow(tickRate int) rateWindow {
	return rateWindow{samples: make([][4]uint64, tickRate+1)}
}

func (w *rateWindow) push(bytesIn, bytesOut, pktsIn, pktsOut uint64) {
	w.samples[w.next] = [4]uint64{bytesIn, bytesOut, pktsIn, pktsOut}
	w.next = (w.next + 1) % len(w.samples)
	w.filled = min(w.filled+1, len(w.samples))
}

// rates returns bytes in, bytes out, packets in, packets out per second.
func (w *rateWindow) rates(tickRate int) (float64, float64, float64, float64) {
	if w.filled < 2 {
		return 0, 0, 0, 0
	}
	newest := w.samples[(w.next-1+len(w.samples))%len(w.samples)]
	oldest := w.samples[(w.next-w.filled+len(w.samples))%len(w.samples)]
	perSecond := float64(tickRate) / float64(w.filled-1)
	var r [4]float64
	for i := range r {
		r[i] = float64(newest[i]-oldest[i]) * perSecond
	}
	return r[0], r[1], r[2], r[3]
}
