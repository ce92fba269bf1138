package game

import (
	"math"
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/systems/nettest"
)

// gunner turns towards the nearest drone it sees and fires once its ship
// points at it within range.
func gunner(v *View) Input {
	ship, ok := v.Ship(v.Self())
	if !ok {
		return Input{}
	}
	x, y := Position.Get(ship).Pixels()
	best, tx, ty := math.Inf(1), 0.0, 0.0
	v.drones.Each(v.World, func(en *donburi.Entry) {
		dx, dy := Position.Get(en).Pixels()
		if d := math.Hypot(dx-x, dy-y); d < best {
			best, tx, ty = d, dx, dy
		}
	})
	if math.IsInf(best, 1) {
		return Input{}
	}
	diff := math.Remainder(math.Atan2(ty-y, tx-x)-Ship.Get(ship).Heading(), 2*math.Pi)
	in := Input{}
	switch {
	case diff > 0.05:
		in.Turn = 1
	case diff < -0.05:
		in.Turn = -1
	}
	if math.Abs(diff) < math.Atan2(droneRadius, best) && best < shotRange-10 {
		in.Fire = 1
	}
	return in
}

// A player fires at the drones it sees; the server, judging each shot
// where that player saw the drones (rewound to its view tick), scores
// the hits and every client hears of each shot.
func TestShotsAtWhatThePlayerSeesHit(t *testing.T) {
	proto := DefaultProtocol
	var sim *ServerSim
	heard := 0
	h := nettest.New(t, nettest.Options{
		Registry: proto.Registry, Clients: 1,
		Config: proto.Config(Settings{BindIP: "127.0.0.1"}),
		Systems: func(i int, n *nettest.Node) {
			if i < 0 {
				sim = NewServerSim(proto, n.Net, ServerOptions{Drones: 60, Seed: 9})
				n.ECS.AddSystem(sim.Update)
				return
			}
			n.ECS.AddSystem(NewDroneSystem(n.Net).Update).AddSystem(NewPilot(proto, NewView(n.World, n.Net), gunner).Update)
		},
	})
	h.Connect()
	h.StepUntil(3000, "ten shots", func() bool {
		heard += len(proto.Shot.Received(h.Clients[0].Net))
		fired, _ := sim.Shots()
		return fired >= 10
	})
	for range 30 {
		h.Step()
		heard += len(proto.Shot.Received(h.Clients[0].Net))
	}
	fired, hits := sim.Shots()
	t.Logf("%d shots, %d hits, %d heard by the client", fired, hits, heard)
	if float64(hits) < 0.8*float64(fired) {
		t.Errorf("%d of %d aimed shots hit", hits, fired)
	}
	if heard < int(fired) {
		t.Errorf("the client heard of %d of %d shots", heard, fired)
	}
}
