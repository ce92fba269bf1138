package game

import (
	"math"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/systems"
)

// InputSource decides a player's input for this tick from its client's
// view (the keyboard, a script, a bot).
type InputSource func(v *View) Input

// Pilot is a client's input system: each tick it asks its source for an
// input and writes it to the network system's input pipeline, which
// stamps it with the predicted tick, keeps it and sends the newest
// InputRedundancy inputs unreliably. Add Update between the receive and
// send steps.
type Pilot struct {
	proto  *Protocol
	net    *systems.Network
	view   *View
	source InputSource
	sent   uint64
}

// NewPilot returns the input system of a client network; view reads the
// network's world.
func NewPilot(proto *Protocol, view *View, source InputSource) *Pilot {
	return &Pilot{proto: proto, net: view.Net, view: view, source: source}
}

// Sent counts the inputs written.
func (p *Pilot) Sent() uint64 { return p.sent }

// Update runs one client tick.
func (p *Pilot) Update(*ecs.ECS) {
	if !p.net.Accepted() || !p.view.Synced() {
		return
	}
	p.proto.Input.Set(p.net, p.source(p.view))
	p.sent++
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
