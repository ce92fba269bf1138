// Command gen draws the demo's art (package art) and writes it as PNG
// files into the assets directory, which package assets embeds. Run it
// from the assets directory with `go generate` (or `go run ./gen`).
package main

import (
	"flag"
	"image"
	"image/png"
	"log"
	"os"
	"path/filepath"

	"github.com/netburi/netburi/assets/art"
)

func main() {
	dir := flag.String("dir", ".", "directory to write the PNG files to")
	flag.Parse()
	for name, img := range map[string]image.Image{
		"font.png":   art.Font(),
		"ships.png":  art.Ships(),
		"drones.png": art.Drones(),
		"gem.png":    art.Gem(),
		"flame.png":  art.Flame(),
		"tile.png":   art.Tile(),
	} {
		if err := write(filepath.Join(*dir, name), img); err != nil {
			log.Fatal(err)
		}
	}
}

func write(path string, img image.Image) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
