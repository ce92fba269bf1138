package components

import (
	"time"

	"github.com/yohamta/donburi"
)

// OwnerData names the peer that controls an entity: the server sets it on
// an entity a client steers (register it with systems.RegisterComponent so
// clients see it). On that client, the components the game chose to
// predict are simulated locally instead of interpolated.
type OwnerData struct{ Peer int32 }

// Owner is the owning peer of a replicated entity.
var Owner = donburi.NewComponentType[OwnerData]()

// LinkData is a remote peer's link as netburi measures it from its own
// traffic, beside the transport's RemotePeerData.Stats. The network system
// keeps it on RemotePeer entities of networks that registered an input
// type (systems.RegisterInput), whose traffic it measures: a client every
// tick, a server with each client's statistics (every
// systems.Config.PeerStatsEvery ticks, the clients spread over them).
type LinkData struct {
	// Loss is the fraction (0..1) of the peer's unreliable, sequenced
	// payloads (input batches to a server, input feedback to a client)
	// that did not arrive, over the last LossWindow sequence numbers.
	Loss float64
	// RTT and RTTVariance are the smoothed round trip and its mean
	// deviation, updated as ENet does (RTT moves an eighth of the way to
	// each sample, the variance a quarter), from sequenced echoes measured
	// in ticks (so their resolution is one tick).
	RTT, RTTVariance time.Duration
	// Samples is how many sequence numbers Loss was computed over.
	Samples int
}

// Link is netburi's own measurement of a remote peer's link.
var Link = donburi.NewComponentType[LinkData]()
