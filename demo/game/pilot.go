package game

import (
	"math"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
)

// InputSource decides a player's input for this tick from its client's
// view (the keyboard, a script, a bot).
type InputSource func(v *View) Input

// Pilot is a client's input system: each tick it asks its source for an
// input, stamps it with the server tick it should apply at, records it in
// an InputHistory and sends the history's batch (the last InputRedundancy
// inputs) unreliably. Add Update between the receive and send steps.
type Pilot struct {
	proto   *Protocol
	net     *systems.Network
	view    *View
	source  InputSource
	history *replication.InputHistory[Input]
	stamp   uint32
	sent    uint64
}

// NewPilot returns the input system of a client network; view reads the
// network's world.
func NewPilot(proto *Protocol, view *View, source InputSource) *Pilot {
	return &Pilot{proto: proto, net: view.Net, view: view, source: source, history: replication.NewInputHistory[Input](InputRedundancy)}
}

// Sent counts the batches sent.
func (p *Pilot) Sent() uint64 { return p.sent }

// Update runs one client tick.
func (p *Pilot) Update(*ecs.ECS) {
	if !p.net.Accepted() || !p.view.Synced() {
		return
	}
	in := p.source(p.view)
	// The tick estimate is the server's tick now; the input arrives half a
	// round trip later, so stamp it for then (the server adds InputDelay).
	stamp := p.net.Tick() + p.oneWayTicks()
	p.stamp = max(p.stamp+1, stamp)
	p.history.Record(p.stamp, in)
	if err := p.proto.Input.Send(p.net, 1, p.history.Batch()); err == nil {
		p.sent++
	}
}

// oneWayTicks is half the round trip to the server, in ticks, rounded up.
func (p *Pilot) oneWayTicks() uint32 {
	link, _ := p.view.ServerLink()
	return uint32(math.Ceil(link.Stats.RTT.Seconds() / 2 * TickRate))
}

// BotInput is a bot player: it flies towards the nearest gem, turning
// first and burning once roughly aimed.
func BotInput(v *View) Input {
	ship, ok := v.Ship(v.Self())
	if !ok {
		return Input{}
	}
	x, y := Position.Get(ship).Pixels()
	best, tx, ty := math.Inf(1), ArenaW/2.0, ArenaH/2.0
	v.gems.Each(v.World, func(en *donburi.Entry) {
		gx, gy := Position.Get(en).Pixels()
		if d := math.Hypot(gx-x, gy-y); d < best {
			best, tx, ty = d, gx, gy
		}
	})
	diff := math.Remainder(math.Atan2(ty-y, tx-x)-Ship.Get(ship).Heading(), 2*math.Pi)
	in := Input{}
	switch {
	case diff > 0.08:
		in.Turn = 1
	case diff < -0.08:
		in.Turn = -1
	}
	if math.Abs(diff) < 0.5 {
		in.Thrust = 1
	}
	return in
}
