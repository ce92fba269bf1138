package ecsnet

import (
	"fmt"
	"math"
	"time"

	"github.com/netburi/netburi/ecsnet/internal/relay"
)

// LinkConditions make a peer's link lossy, slow or jittery on purpose, for
// tests and for trying a game under bad networks. A peer with a link
// conditioner sends and receives through its relay (see SetLinkConditioner),
// so the conditions act on whole UDP datagrams, DTLS records included.
type LinkConditions struct {
	// Seed starts the random streams: the same seed and the same datagrams
	// give the same losses, delays and duplicates.
	Seed uint64
	Out  LinkDirection // datagrams this peer sends
	In   LinkDirection // datagrams this peer receives
}

// LinkDirection is what the link does to datagrams going one way. The zero
// value is a perfect link.
type LinkDirection struct {
	// Loss is the probability (0..1) that a datagram is lost; with bursts,
	// the loss in the good state.
	Loss float64
	// BurstStart and BurstEnd make loss bursty (the Gilbert-Elliott
	// model): per datagram, the probability of entering the bad state and
	// of leaving it. BurstLoss is the loss in the bad state. The long-run
	// loss is (BurstEnd*Loss + BurstStart*BurstLoss) / (BurstStart+BurstEnd).
	BurstStart, BurstEnd, BurstLoss float64
	// Latency delays every datagram; Jitter adds a uniform random
	// -Jitter..+Jitter to that (never below zero), which also reorders
	// datagrams sent closer together than the jitter.
	Latency, Jitter time.Duration
	// Duplicate is the probability a datagram is delivered twice.
	Duplicate float64
	// Reorder is the probability a datagram is held back and delivered
	// right after the next one (or 50 ms late when no next one comes).
	Reorder float64
	// Bandwidth caps the link in bytes per second (0 = unlimited):
	// datagrams queue behind each other, and past a second of backlog
	// they are dropped.
	Bandwidth int
}

// SetLinkConditioner puts a link conditioner on the peer. On an inactive
// peer it applies to the next CreateServer or CreateClient, which then
// run through the relay. On an active peer it changes the conditions at
// once (it is safe while the relay's goroutines run, from the goroutine
// that owns the peer), but only if the peer was created with a
// conditioner: otherwise it fails with ErrAlreadyInUse. Out-of-range
// values (probabilities outside 0..1, negative durations or bandwidth,
// bursts that never end) fail with ErrInvalidParameter. The random
// streams restart only when Seed changes. (A netburi addition.)
func (p *Peer) SetLinkConditioner(c LinkConditions) error {
	if err := c.check(); err != nil {
		return err
	}
	if p.active {
		if p.rel == nil || !p.rel.SetConditions(c.internal()) {
			return fmt.Errorf("ecsnet: set link conditioner (the peer was created without one): %w", ErrAlreadyInUse)
		}
	}
	p.link = &c
	return nil
}

// LinkConditioner reports the peer's link conditions; ok is false when it
// has no conditioner.
func (p *Peer) LinkConditioner() (c LinkConditions, ok bool) {
	if p.link == nil {
		return LinkConditions{}, false
	}
	return *p.link, true
}

// ClearLinkConditioner removes the conditioner for the next host. It fails
// with ErrAlreadyInUse while active (set a zero LinkConditions for a
// perfect link instead).
func (p *Peer) ClearLinkConditioner() error {
	if p.active {
		return fmt.Errorf("ecsnet: clear link conditioner: %w", ErrAlreadyInUse)
	}
	p.link = nil
	return nil
}

func (c LinkConditions) internal() relay.Conditions {
	return relay.Conditions{Seed: c.Seed, Out: relay.Direction(c.Out), In: relay.Direction(c.In)}
}

func (c LinkConditions) check() error {
	for _, d := range []struct {
		name string
		LinkDirection
	}{{"out", c.Out}, {"in", c.In}} {
		for _, pr := range []struct {
			name string
			v    float64
		}{{"Loss", d.Loss}, {"BurstStart", d.BurstStart}, {"BurstEnd", d.BurstEnd}, {"BurstLoss", d.BurstLoss}, {"Duplicate", d.Duplicate}, {"Reorder", d.Reorder}} {
			if math.IsNaN(pr.v) || pr.v < 0 || pr.v > 1 {
				return fmt.Errorf("ecsnet: link conditioner %s.%s = %v (want 0..1): %w", d.name, pr.name, pr.v, ErrInvalidParameter)
			}
		}
		if d.Latency < 0 || d.Jitter < 0 || d.Bandwidth < 0 {
			return fmt.Errorf("ecsnet: link conditioner %s: negative latency, jitter or bandwidth: %w", d.name, ErrInvalidParameter)
		}
		if d.BurstStart > 0 && d.BurstEnd == 0 {
			return fmt.Errorf("ecsnet: link conditioner %s: a burst that never ends (BurstEnd 0): %w", d.name, ErrInvalidParameter)
		}
	}
	return nil
}
