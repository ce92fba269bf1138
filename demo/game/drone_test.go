package game

import (
	"math"
	"testing"
)

// A drone's flight, evaluated at any tick, is where stepping it tick by
// tick and bouncing off the walls puts it: inside the arena, never
// slowing, so clients derive every drone's position from the motion the
// server sent once.
func TestADroneFlightIsWhereSteppingPutsIt(t *testing.T) {
	for _, m := range []DroneMotionData{
		{X: 100 * PosScale, Y: 200 * PosScale, VX: 73 * PosScale, VY: -41 * PosScale, Tick: 10},
		{X: (ArenaW - 8) * PosScale, Y: 8 * PosScale, VX: 55 * PosScale, VY: -60 * PosScale, Tick: 0},
		{X: 900 * PosScale, Y: 700 * PosScale, VX: 0, VY: 18 * PosScale, Tick: 1 << 20},
	} {
		x, y := float64(m.X)/PosScale, float64(m.Y)/PosScale
		vx, vy := float64(m.VX)/PosScale, float64(m.VY)/PosScale
		for tick := m.Tick; tick < m.Tick+200*TickRate; tick++ { // 200 s: many bounces
			gx, gy := DroneAt(m, float64(tick))
			if math.Abs(gx-x) > 1e-6 || math.Abs(gy-y) > 1e-6 {
				t.Fatalf("%+v at tick %d: at %.3f,%.3f, stepping says %.3f,%.3f", m, tick, gx, gy, x, y)
			}
			if gx < droneRadius || gx > ArenaW-droneRadius || gy < droneRadius || gy > ArenaH-droneRadius {
				t.Fatalf("%+v at tick %d: %.3f,%.3f is outside the arena", m, tick, gx, gy)
			}
			x, y = x+vx/TickRate, y+vy/TickRate
			if x < droneRadius {
				x, vx = 2*droneRadius-x, -vx
			}
			if x > ArenaW-droneRadius {
				x, vx = 2*(ArenaW-droneRadius)-x, -vx
			}
			if y < droneRadius {
				y, vy = 2*droneRadius-y, -vy
			}
			if y > ArenaH-droneRadius {
				y, vy = 2*(ArenaH-droneRadius)-y, -vy
			}
		}
	}
}
