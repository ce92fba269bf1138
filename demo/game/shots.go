package game

import (
	"image/color"
	"math"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/systems"
)

// Shooting: a ship fires a beam along its heading (Input.Fire); the
// server judges what it hits where the shooter saw it, rewinding the
// drones to the tick that client was showing (lag compensation), so a
// shot aimed at a drone on screen hits it at any latency.
const (
	shotRange    = 260.0 // pixels
	shotCooldown = 15    // ticks between a ship's shots
	shotSlack    = 3.0   // pixels beyond a drone's radius that still hit
)

// Shot tells every client about a shot: who fired, from where to where
// (in Position units), and whether it hit a drone (which jumps away, and
// the shooter scores).
type Shot struct {
	Player       uint32
	FromX, FromY int16
	ToX, ToY     int16
	Hit          uint8
}

// shooting is the server's side: recent positions of every replicated
// entity (300 ms) and each ship's next allowed shot.
type shooting struct {
	history *systems.History[PositionData]
	next    map[uint32]uint32
	drones  *donburi.Query
	fired   uint64
	hits    uint64
}

func newShooting() *shooting {
	return &shooting{history: systems.NewHistory(Position, lerpPosition, 18), next: map[uint32]uint32{},
		drones: donburi.NewQuery(filter.Contains(Body, Drone))}
}

// shoot fires the ships whose owners pressed fire this tick.
func (s *ServerSim) shoot(w donburi.World, tick uint32) {
	s.shipsQ.Each(w, func(en *donburi.Entry) {
		sh := Ship.Get(en)
		in, st := s.proto.Input.Current(s.net, int(sh.Owner))
		if in.Fire == 0 || st != systems.InputOnTime || tick < s.shots.next[sh.Owner] {
			return
		}
		s.shots.next[sh.Owner] = tick + shotCooldown
		s.shots.fired++
		b := Body.Get(en)
		a := sh.Heading()
		dx, dy := math.Cos(a), math.Sin(a)
		best, hit := shotRange, (*donburi.Entry)(nil)
		s.shots.drones.Each(w, func(d *donburi.Entry) {
			p, ok := systems.Rewound(s.net, s.proto.Input, s.shots.history, int(sh.Owner), d.Entity())
			if !ok {
				return
			}
			x, y := p.Pixels()
			along := (x-b.X)*dx + (y-b.Y)*dy
			across := math.Abs((x-b.X)*dy - (y-b.Y)*dx)
			if along > 0 && along < best && across < droneRadius+shotSlack {
				best, hit = along, d
			}
		})
		shot := Shot{Player: sh.Owner, FromX: ToPosition(b.X, b.Y).X, FromY: ToPosition(b.X, b.Y).Y}
		end := ToPosition(b.X+dx*best, b.Y+dy*best)
		shot.ToX, shot.ToY = end.X, end.Y
		if hit != nil {
			shot.Hit = 1
			s.shots.hits++
			spot := s.gemSpot() // the drone flies on from elsewhere
			m := DroneMotion.Get(hit)
			*m = NewFlight(spot.X, spot.Y, float64(m.VX)/PosScale, float64(m.VY)/PosScale, tick)
			s.flyDrone(hit, tick)
			pl := Player.Get(en)
			pl.Score++
			_ = s.proto.Scored.Send(s.net, 0, Scored{Player: sh.Owner, Score: pl.Score})
		}
		_ = s.proto.Shot.Send(s.net, 0, shot)
	})
}

// Shots reports how many shots the server judged and how many hit.
func (s *ServerSim) Shots() (fired, hits uint64) { return s.shots.fired, s.shots.hits }

// shotTrace is a shot a client draws for a few frames.
type shotTrace struct {
	shot  Shot
	until uint64
}

// takeShots keeps this tick's shots for drawing (a Window's, after Step).
func (w *Window) takeShots() {
	for _, m := range w.client.Pilot.proto.Shot.Received(w.client.Net) {
		w.traces = append(w.traces, shotTrace{m.Value, w.frame + 12})
	}
	keep := w.traces[:0]
	for _, t := range w.traces {
		if t.until > w.frame {
			keep = append(keep, t)
		}
	}
	w.traces = keep
}

// drawShots draws the recent shots: bright where they hit a drone.
func (w *Window) drawShots(dst *ebiten.Image) {
	for _, t := range w.traces {
		x0, y0 := PositionData{t.shot.FromX, t.shot.FromY}.Pixels()
		x1, y1 := PositionData{t.shot.ToX, t.shot.ToY}.Pixels()
		c := color.NRGBA{120, 140, 170, 160}
		if t.shot.Hit != 0 {
			c = color.NRGBA{255, 230, 120, 255}
		}
		w.line(dst, w.ox+x0, w.oy+y0, w.ox+x1, w.oy+y1, c)
	}
}
