package game

import (
	"math"

	"github.com/yohamta/donburi"
)

// ShipMotionData is a ship's exact motion in pixels and pixels per
// second, as float32: 16 bytes a snapshot, to the ship's owner only
// (replication.OwnerOnly).
type ShipMotionData struct{ X, Y, VX, VY float32 }

// ShipBody is a ship's exact motion, replicated to its owner alone so
// that it can predict it: the server steps every ship with ShipStep and
// its owner's input, and the owning client steps its own ship with the
// same function the moment it writes the input, so the ship answers the
// keys with no round trip. Other clients never receive it: they show
// ships by their interpolated Position.
var ShipBody = donburi.NewComponentType[ShipMotionData]()

// ShipStep is one tick of a ship under an input: turn, thrust, drag, the
// speed limit, rest, then motion with bounces off the walls; Position
// follows. The server and the owning client run exactly this.
func ShipStep(_ donburi.World, e *donburi.Entry, in Input) {
	const dt = 1.0 / TickRate
	sh, m := Ship.Get(e), ShipBody.Get(e)
	b := BodyData{X: float64(m.X), Y: float64(m.Y), VX: float64(m.VX), VY: float64(m.VY)}
	a := sh.Heading() + float64(max(-1, min(1, in.Turn)))*shipTurnRate*dt
	sh.Angle = ToAngle(a)
	sh.Thrust = 0
	if in.Thrust != 0 {
		sh.Thrust = 1
		b.VX += math.Cos(a) * shipAccel * dt
		b.VY += math.Sin(a) * shipAccel * dt
	}
	b.VX *= shipDrag
	b.VY *= shipDrag
	if v := math.Hypot(b.VX, b.VY); v > shipMaxSpeed {
		b.VX, b.VY = b.VX/v*shipMaxSpeed, b.VY/v*shipMaxSpeed
	}
	if math.Hypot(b.VX, b.VY) < 3 && in.Thrust == 0 {
		b.VX, b.VY = 0, 0 // come to rest rather than creep forever
	}
	b.X += b.VX * dt
	b.Y += b.VY * dt
	const r = shipRadius
	if b.X < r || b.X > ArenaW-r {
		b.X = max(r, min(ArenaW-r, b.X))
		b.VX = -b.VX * bounce
	}
	if b.Y < r || b.Y > ArenaH-r {
		b.Y = max(r, min(ArenaH-r, b.Y))
		b.VY = -b.VY * bounce
	}
	*m = ShipMotionData{float32(b.X), float32(b.Y), float32(b.VX), float32(b.VY)}
	Position.SetValue(e, ToPosition(float64(m.X), float64(m.Y)))
}

// smoothPosition shows a corrected position moved by keep of the
// correction, so a misprediction fades out instead of jumping.
func smoothPosition(exact, wrong, right PositionData, keep float64) PositionData {
	off := func(v, w, r int16) int16 {
		return int16(max(math.MinInt16, min(math.MaxInt16, math.Round(float64(v)+float64(int(w)-int(r))*keep))))
	}
	return PositionData{off(exact.X, wrong.X, right.X), off(exact.Y, wrong.Y, right.Y)}
}

// positionError is a correction's size in pixels.
func positionError(a, b PositionData) float64 {
	return math.Hypot(float64(int(a.X)-int(b.X)), float64(int(a.Y)-int(b.Y))) / PosScale
}
