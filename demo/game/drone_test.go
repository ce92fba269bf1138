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
	type start struct {
		x, y, vx, vy float64
		tick         uint32
	}
	for _, s := range []start{
		{100, 200, 73, -41, 10},
		{ArenaW - 8, 8, 55, -60, 0},
		{900, 700, 0, 18, 1 << 20},
		{droneRadius, ArenaH - droneRadius, -18.3, 72.9, 1<<32 - 200*TickRate - 1},
	} {
		m := NewFlight(s.x, s.y, s.vx, s.vy, s.tick)
		x, y := DroneAt(m, float64(s.tick))
		if math.Abs(x-s.x) > 1.0/PosScale || math.Abs(y-s.y) > 1.0/PosScale {
			t.Fatalf("%+v starts at %.3f,%.3f", s, x, y)
		}
		vx, vy := float64(m.VX)/PosScale, float64(m.VY)/PosScale
		if math.Abs(vx-s.vx) > 1.0/PosScale || math.Abs(vy-s.vy) > 1.0/PosScale {
			t.Fatalf("%+v flies at %.3f,%.3f", s, vx, vy)
		}
		for tick := s.tick; tick < s.tick+200*TickRate; tick++ { // 200 s: many bounces
			gx, gy := DroneAt(m, float64(tick))
			if math.Abs(gx-x) > 1e-6 || math.Abs(gy-y) > 1e-6 {
				t.Fatalf("%+v at tick %d: at %.3f,%.3f, stepping says %.3f,%.3f", s, tick, gx, gy, x, y)
			}
			if gx < droneRadius || gx > ArenaW-droneRadius || gy < droneRadius || gy > ArenaH-droneRadius {
				t.Fatalf("%+v at tick %d: %.3f,%.3f is outside the arena", s, tick, gx, gy)
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
