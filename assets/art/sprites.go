// Package art draws netburi's demo art procedurally: the bitmap font, the
// ships, drones, gems, engine flame and the arena tile. The generator in
// assets/gen writes these images to the PNG files package assets embeds;
// the palette is exported so the game and its tests agree on colours.
package art

import (
	"image"
	"image/color"
	"math"
)

// Sprite sizes in pixels.
const (
	ShipSize  = 32 // square; the ship points along +X
	DroneSize = 16
	GemSize   = 16
	FlameW    = 14
	FlameH    = 10
	TileSize  = 64
)

// ShipColors are the player colours: ship i of the sheet is body colour i.
var ShipColors = []color.NRGBA{
	{64, 200, 255, 255},  // cyan
	{255, 150, 40, 255},  // orange
	{140, 230, 60, 255},  // lime
	{235, 80, 200, 255},  // magenta
	{250, 220, 60, 255},  // yellow
	{240, 70, 70, 255},   // red
	{150, 110, 255, 255}, // violet
	{230, 230, 230, 255}, // white
}

// DroneColors are the drones' body colours, muted so players stand out.
var DroneColors = []color.NRGBA{
	{88, 108, 140, 255},
	{112, 92, 134, 255},
	{78, 128, 118, 255},
	{128, 118, 88, 255},
}

// GemColor is the pickup's body colour.
var GemColor = color.NRGBA{80, 255, 180, 255}

// Arena colours: the background and its grid lines.
var (
	ArenaColor = color.NRGBA{10, 12, 22, 255}
	GridColor  = color.NRGBA{22, 28, 46, 255}
)

// coverage returns how much of pixel (x, y) lies inside shape, sampled on a
// 4x4 grid, so edges are smooth and interiors exactly opaque.
func coverage(x, y int, inside func(px, py float64) bool) float64 {
	n := 0
	for sy := range 4 {
		for sx := range 4 {
			if inside(float64(x)+(float64(sx)+0.5)/4, float64(y)+(float64(sy)+0.5)/4) {
				n++
			}
		}
	}
	return float64(n) / 16
}

// paint blends colour c over pixel (x, y) with coverage a.
func paint(img *image.NRGBA, x, y int, c color.NRGBA, a float64) {
	if a <= 0 {
		return
	}
	old := img.NRGBAAt(x, y)
	oa := float64(old.A) / 255
	na := a + oa*(1-a)
	mix := func(n, o uint8) uint8 {
		return uint8(math.Round((float64(n)*a + float64(o)*oa*(1-a)) / na))
	}
	img.SetNRGBA(x, y, color.NRGBA{mix(c.R, old.R), mix(c.G, old.G), mix(c.B, old.B), uint8(math.Round(na * 255))})
}

// fill paints shape into the w x h box at (x0, y0) with colour c.
func fill(img *image.NRGBA, x0, y0, w, h int, c color.NRGBA, inside func(px, py float64) bool) {
	for y := range h {
		for x := range w {
			paint(img, x0+x, y0+y, c, coverage(x, y, inside))
		}
	}
}

func shade(c color.NRGBA, f float64) color.NRGBA {
	s := func(v uint8) uint8 { return uint8(math.Min(255, math.Round(float64(v)*f))) }
	return color.NRGBA{s(c.R), s(c.G), s(c.B), c.A}
}

// inPolygon is the even-odd rule.
func inPolygon(px, py float64, pts [][2]float64) bool {
	in := false
	for i, j := 0, len(pts)-1; i < len(pts); j, i = i, i+1 {
		xi, yi, xj, yj := pts[i][0], pts[i][1], pts[j][0], pts[j][1]
		if (yi > py) != (yj > py) && px < (xj-xi)*(py-yi)/(yj-yi)+xi {
			in = !in
		}
	}
	return in
}

// grow scales a polygon about (cx, cy).
func grow(pts [][2]float64, cx, cy, f float64) [][2]float64 {
	out := make([][2]float64, len(pts))
	for i, p := range pts {
		out[i] = [2]float64{cx + (p[0]-cx)*f, cy + (p[1]-cy)*f}
	}
	return out
}

// Ships draws the ship sheet: one ShipSize ship per colour of ShipColors,
// left to right, each a swept dart pointing right with a dark rim, a
// lighter spine and a pale canopy.
func Ships() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, ShipSize*len(ShipColors), ShipSize))
	hull := [][2]float64{{30, 16}, {5, 3}, {11, 16}, {5, 29}}
	inner := grow(hull, 15, 16, 0.78)
	spine := [][2]float64{{27, 16}, {13, 13.5}, {13, 18.5}}
	for i, c := range ShipColors {
		x0 := i * ShipSize
		fill(img, x0, 0, ShipSize, ShipSize, shade(c, 0.5), func(px, py float64) bool { return inPolygon(px, py, hull) })
		fill(img, x0, 0, ShipSize, ShipSize, c, func(px, py float64) bool { return inPolygon(px, py, inner) })
		fill(img, x0, 0, ShipSize, ShipSize, shade(c, 1.25), func(px, py float64) bool { return inPolygon(px, py, spine) })
		fill(img, x0, 0, ShipSize, ShipSize, color.NRGBA{225, 245, 255, 255}, func(px, py float64) bool {
			dx, dy := (px-19)/3.2, (py-16)/1.7
			return dx*dx+dy*dy <= 1
		})
	}
	return img
}

// Drones draws one DroneSize drone per colour of DroneColors: a disc with
// a rim and a bright core, each variant with its own markings.
func Drones() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, DroneSize*len(DroneColors), DroneSize))
	const c = DroneSize / 2
	for i, col := range DroneColors {
		x0 := i * DroneSize
		disc := func(r float64) func(px, py float64) bool {
			return func(px, py float64) bool { return math.Hypot(px-c, py-c) <= r }
		}
		fill(img, x0, 0, DroneSize, DroneSize, shade(col, 0.6), disc(6.5))
		fill(img, x0, 0, DroneSize, DroneSize, col, disc(5.3))
		switch i % 4 {
		case 0: // cross
			fill(img, x0, 0, DroneSize, DroneSize, shade(col, 0.7), func(px, py float64) bool {
				return (math.Abs(px-c) < 0.8 || math.Abs(py-c) < 0.8) && math.Hypot(px-c, py-c) < 5.3
			})
		case 1: // ring
			fill(img, x0, 0, DroneSize, DroneSize, shade(col, 0.7), func(px, py float64) bool {
				d := math.Hypot(px-c, py-c)
				return d > 3.2 && d < 4.2
			})
		case 2: // three spokes
			fill(img, x0, 0, DroneSize, DroneSize, shade(col, 0.7), func(px, py float64) bool {
				a := math.Atan2(py-c, px-c)
				s := math.Mod(a+2*math.Pi, 2*math.Pi/3)
				return math.Hypot(px-c, py-c) < 5.3 && (s < 0.25 || s > 2*math.Pi/3-0.25)
			})
		case 3: // dotted
			for k := range 4 {
				a := float64(k) * math.Pi / 2
				dx, dy := c+3.5*math.Cos(a), c+3.5*math.Sin(a)
				fill(img, x0, 0, DroneSize, DroneSize, shade(col, 0.7), func(px, py float64) bool { return math.Hypot(px-dx, py-dy) < 1.1 })
			}
		}
		fill(img, x0, 0, DroneSize, DroneSize, shade(col, 1.6), disc(1.8))
	}
	return img
}

// Gem draws the pickup: a faceted diamond with a light upper facet.
func Gem() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, GemSize, GemSize))
	outer := [][2]float64{{8, 1}, {15, 8}, {8, 15}, {1, 8}}
	fill(img, 0, 0, GemSize, GemSize, shade(GemColor, 0.55), func(px, py float64) bool { return inPolygon(px, py, outer) })
	fill(img, 0, 0, GemSize, GemSize, GemColor, func(px, py float64) bool { return inPolygon(px, py, grow(outer, 8, 8, 0.75)) })
	fill(img, 0, 0, GemSize, GemSize, color.NRGBA{210, 255, 236, 255}, func(px, py float64) bool {
		return inPolygon(px, py, [][2]float64{{8, 3.5}, {11.5, 7}, {8, 8}, {4.5, 7}})
	})
	return img
}

// Flame draws the engine flame, pointing left (behind a ship facing +X):
// white-hot at the nozzle, orange at the tip.
func Flame() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, FlameW, FlameH))
	for y := range FlameH {
		for x := range FlameW {
			t := 1 - (float64(x)+0.5)/FlameW // 0 at the nozzle (right), 1 at the tip
			a := coverage(x, y, func(px, py float64) bool {
				u := 1 - px/FlameW
				return math.Abs(py-FlameH/2.0) < (FlameH/2.0)*(1-u)
			})
			c := color.NRGBA{255, uint8(240 - 130*t), uint8(200 - 190*t), 255}
			paint(img, x, y, c, a*(1-0.5*t))
		}
	}
	return img
}

// Tile draws one arena background tile: the arena colour, a faint grid
// line along two edges (so tiles form a grid) and a few dim stars placed
// by a fixed pseudo-random sequence.
func Tile() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, TileSize, TileSize))
	for y := range TileSize {
		for x := range TileSize {
			c := ArenaColor
			if x == 0 || y == 0 {
				c = GridColor
			}
			img.SetNRGBA(x, y, c)
		}
	}
	seed := uint32(0x9e3779b9)
	next := func() int {
		seed ^= seed << 13
		seed ^= seed >> 17
		seed ^= seed << 5
		return int(seed % (TileSize - 4))
	}
	for i := range 5 {
		x, y := next()+2, next()+2
		v := uint8(60 + 25*(i%3))
		img.SetNRGBA(x, y, color.NRGBA{v, v, v + 30, 255})
	}
	return img
}
