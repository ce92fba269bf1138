package game

import (
	"math"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/systems"
)

// DroneMotionData is a drone's whole flight, in 1/PosScale pixels: VX,
// VY is its velocity per second and X, Y its phase, where it was at tick
// 0 on each axis unfolded at the walls (a ring twice the arena's span,
// from droneRadius). A drone flies straight and bounces off the walls
// without losing speed, so this fixes where it is at every tick (DroneAt):
// the server replicates it instead of the drone's position, 8 bytes sent
// when the drone enters a view, and changes it only when a shot moves the
// drone. Make one with NewFlight. (A phase fits int16 while the arena is
// at most 2,061 pixels on a side at 1/8 pixel.)
type DroneMotionData struct{ X, Y, VX, VY int16 }

// DroneMotion is carried by drones; on clients, DroneSystem derives their
// Position from it.
var DroneMotion = donburi.NewComponentType[DroneMotionData]()

// droneOnly names the components a drone replicates: its sprite and its
// flight. Its Position stays on the server (interest management and lag
// compensation read it); clients derive theirs.
var droneOnly = []string{"demo.drone", "demo.dronemotion"}

// droneSpan is the distance a drone's centre travels between two walls.
func droneSpan(size float64) float64 { return size - 2*droneRadius }

// NewFlight is the flight of a drone at x, y (pixels) at tick, moving at
// vx, vy pixels per second.
func NewFlight(x, y, vx, vy float64, tick uint32) DroneMotionData {
	m := DroneMotionData{VX: int16(math.Round(vx * PosScale)), VY: int16(math.Round(vy * PosScale))}
	phase := func(p float64, v int16, size float64) int16 { // from the velocity as sent
		ring := 2 * droneSpan(size) * PosScale
		u := math.Mod(math.Round((p-droneRadius)*PosScale-float64(v)*float64(tick)/TickRate), ring)
		if u < 0 {
			u += ring
		}
		return int16(u)
	}
	m.X, m.Y = phase(x, m.VX, ArenaW), phase(y, m.VY, ArenaH)
	return m
}

// DroneAt is where a drone flying m is at tick (fractional ticks
// interpolate): its straight flight folded back into the arena at the
// walls, as the server moves it.
func DroneAt(m DroneMotionData, tick float64) (x, y float64) {
	t := tick / TickRate
	fold := func(phase, v, size float64) float64 {
		span := droneSpan(size)
		u := math.Mod(phase/PosScale+v/PosScale*t, 2*span)
		if u < 0 {
			u += 2 * span
		}
		if u > span {
			u = 2*span - u
		}
		return droneRadius + u
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
