package game

import (
	"math"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/systems"
)

// DroneMotionData is a drone's whole flight: where it was at Tick, in
// 1/PosScale pixels, and its velocity in 1/PosScale pixels per second. A
// drone flies straight and bounces off the walls without losing speed,
// so this fixes where it is at every later tick (DroneAt): the server
// replicates it instead of the drone's position, and changes it only when
// a shot moves the drone. A drone costs its client bytes when it enters
// the view and when it is hit, not every snapshot.
type DroneMotionData struct {
	X, Y, VX, VY int16
	Tick         uint32
}

// DroneMotion is carried by drones; on clients, DroneSystem derives their
// Position from it.
var DroneMotion = donburi.NewComponentType[DroneMotionData]()

// droneOnly names the components a drone replicates: its sprite and its
// flight. Its Position stays on the server (interest management and lag
// compensation read it); clients derive theirs.
var droneOnly = []string{"demo.drone", "demo.dronemotion"}

// DroneAt is where a drone flying m is at tick (fractional ticks
// interpolate): its straight flight folded back into the arena at the
// walls, as the server moves it.
func DroneAt(m DroneMotionData, tick float64) (x, y float64) {
	dt := (tick - float64(m.Tick)) / TickRate
	fold := func(p0, v, hi float64) float64 {
		lo := droneRadius
		span := hi - droneRadius - lo
		u := math.Mod(p0/PosScale-lo+v/PosScale*dt, 2*span)
		if u < 0 {
			u += 2 * span
		}
		if u > span {
			u = 2*span - u
		}
		return lo + u
	}
	return fold(float64(m.X), float64(m.VX), ArenaW), fold(float64(m.Y), float64(m.VY), ArenaH)
}

// DronePosition is DroneAt quantized, as the server's Position.
func DronePosition(m DroneMotionData, tick float64) PositionData {
	return ToPosition(DroneAt(m, tick))
}

// DroneSystem is a client's drone system: each tick it places every
// drone where its flight puts it at the tick the client shows
// interpolated entities (systems.Network.InterpolationTick), the tick the
// server rewinds a shot to. Add Update after the network system's
// receive step.
type DroneSystem struct {
	net    *systems.Network
	drones *donburi.Query
	fresh  []donburi.Entity
}

// NewDroneSystem returns the drone system of a client network.
func NewDroneSystem(net *systems.Network) *DroneSystem {
	return &DroneSystem{net: net, drones: donburi.NewQuery(filter.Contains(DroneMotion))}
}

// Update runs one client tick.
func (d *DroneSystem) Update(e *ecs.ECS) {
	w := e.World
	tick := d.net.InterpolationTick()
	d.fresh = d.fresh[:0]
	d.drones.Each(w, func(en *donburi.Entry) {
		p := DronePosition(*DroneMotion.Get(en), tick)
		if en.HasComponent(Position) {
			Position.SetValue(en, p)
		} else {
			d.fresh = append(d.fresh, en.Entity())
		}
	})
	for _, ent := range d.fresh { // outside the query: adding changes archetypes
		p := DronePosition(*DroneMotion.Get(w.Entry(ent)), tick)
		donburi.Add(w.Entry(ent), Position, &p)
	}
}
