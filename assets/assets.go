// Package assets holds the demo's art as embedded PNG files: the bitmap
// font, ship, drone, gem and flame sprites, and the arena tile; and the
// zstd dictionary of the demo's traffic. The PNG files are drawn by package
// art and written by the generator in assets/gen; the dictionary is trained
// on a recorded session by demo/dictgen. Regenerate both with
// `go generate ./assets`.
//
// The decoded images are shared: treat them as read-only. Every function
// is safe for concurrent use.
package assets

//go:generate go run ./gen -dir .
//go:generate go run ../demo/dictgen -out demo.zdict

import (
	"bytes"
	"embed"
	"image"
	"image/png"
	"sync"
)

//go:embed *.png
var files embed.FS

//go:embed demo.zdict
var dictionary []byte

var (
	mu      sync.Mutex
	decoded = map[string]image.Image{}
)

// load decodes an embedded PNG once; the files are generated and tested,
// so a failure is a broken build and panics.
func load(name string) image.Image {
	mu.Lock()
	defer mu.Unlock()
	if img, ok := decoded[name]; ok {
		return img
	}
	data, err := files.ReadFile(name)
	if err != nil {
		panic("assets: " + err.Error())
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		panic("assets: " + name + ": " + err.Error())
	}
	decoded[name] = img
	return img
}

// Font is the bitmap font atlas (see art.CellW, art.CellH, art.FontColumns).
func Font() image.Image { return load("font.png") }

// Ships is the ship sheet: one art.ShipSize ship per art.ShipColors entry.
func Ships() image.Image { return load("ships.png") }

// Drones is the drone sheet: one art.DroneSize drone per art.DroneColors entry.
func Drones() image.Image { return load("drones.png") }

// Gem is the pickup sprite.
func Gem() image.Image { return load("gem.png") }

// Flame is the engine flame, pointing left.
func Flame() image.Image { return load("flame.png") }

// Dictionary is the zstd dictionary both ends of the demo load for
// ecsnet.CompressZstdDict, trained on the packets of a recorded demo
// session. It is shared: treat it as read-only.
func Dictionary() []byte { return dictionary }

// Tile is the arena background tile.
func Tile() image.Image { return load("tile.png") }
