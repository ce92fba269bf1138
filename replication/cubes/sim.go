// Package cubes is a benchmark scene after Glenn Fiedler's "Snapshot
// Compression": 901 cubes on a plane, one of them a player that rolls
// through the others and knocks them about. It exists to measure
// replication bandwidth with generic codecs; it is deterministic.
package cubes

import (
	"math"
	"math/rand/v2"
)

// pushRadius is how far from the player cubes get knocked (metres).
const pushRadius = 4

// Count is the number of cubes, as in the article's scene.
const Count = 901

// Cube is one cube's replicated state.
type Cube struct {
	X, Y, Z    float64 // metres; Z is height
	Qx, Qy, Qz float64 // orientation quaternion (x, y, z, w)
	Qw         float64
}

// Scene simulates the cubes. Not safe for concurrent use.
type Scene struct {
	Cubes []Cube
	vel   [][3]float64
	spin  [][3]float64
	rng   *rand.Rand
	t     float64
	// Moving makes the player roll through the field; false leaves every
	// cube at rest.
	Moving bool
}

// New lays the cubes on a 30x30 grid with the player (cube 0) beside it.
func New(seed uint64) *Scene {
	s := &Scene{
		Cubes: make([]Cube, Count),
		vel:   make([][3]float64, Count),
		spin:  make([][3]float64, Count),
		rng:   rand.New(rand.NewPCG(seed, seed+1)),
	}
	for i := range s.Cubes {
		c := &s.Cubes[i]
		c.Qw = 1
		c.Z = 0.5
		if i > 0 {
			c.X = float64((i-1)%30)*1.5 - 22
			c.Y = float64((i-1)/30)*1.5 - 22
		}
	}
	return s
}

// Step advances the scene by one 60 Hz tick.
func (s *Scene) Step() {
	const dt = 1.0 / 60
	s.t += dt
	if s.Moving {
		p := &s.Cubes[0]
		p.X = 18 * math.Cos(s.t*0.4)
		p.Y = 18 * math.Sin(s.t*0.7)
		rotate(p, 2*dt, 1.3*dt, 0)
	}
	player := s.Cubes[0]
	for i := 1; i < len(s.Cubes); i++ {
		c := &s.Cubes[i]
		v, w := &s.vel[i], &s.spin[i]
		if s.Moving {
			dx, dy := c.X-player.X, c.Y-player.Y
			if d := math.Hypot(dx, dy); d < pushRadius && d > 0 {
				push := (pushRadius - d) * 6
				v[0] += dx / d * push * dt
				v[1] += dy / d * push * dt
				v[2] += push * dt
				w[0] += (s.rng.Float64() - 0.5) * push * dt
				w[1] += (s.rng.Float64() - 0.5) * push * dt
			}
		}
		if v[0] == 0 && v[1] == 0 && v[2] == 0 && w[0] == 0 && w[1] == 0 {
			continue
		}
		v[2] -= 9.8 * dt
		c.X += v[0] * dt
		c.Y += v[1] * dt
		c.Z += v[2] * dt
		if c.Z < 0.5 {
			c.Z = 0.5
			v[2] = -v[2] * 0.3
			v[0] *= 0.9
			v[1] *= 0.9
			w[0] *= 0.8
			w[1] *= 0.8
		}
		rotate(c, w[0]*dt, w[1]*dt, 0)
		if math.Abs(v[0])+math.Abs(v[1])+math.Abs(v[2]) < 0.05 && math.Abs(w[0])+math.Abs(w[1]) < 0.05 && c.Z < 0.51 {
			*v, *w = [3]float64{}, [3]float64{}
			c.Z = 0.5
		}
	}
}

// rotate turns a cube by small angles about x and y.
func rotate(c *Cube, ax, ay, az float64) {
	// q' = q + 0.5 * (0, ax, ay, az) * q, then renormalise.
	x, y, z, w := c.Qx, c.Qy, c.Qz, c.Qw
	c.Qx += 0.5 * (ax*w + ay*z - az*y)
	c.Qy += 0.5 * (ay*w + az*x - ax*z)
	c.Qz += 0.5 * (az*w + ax*y - ay*x)
	c.Qw += 0.5 * (-ax*x - ay*y - az*z)
	n := math.Sqrt(c.Qx*c.Qx + c.Qy*c.Qy + c.Qz*c.Qz + c.Qw*c.Qw)
	c.Qx, c.Qy, c.Qz, c.Qw = c.Qx/n, c.Qy/n, c.Qz/n, c.Qw/n
}
