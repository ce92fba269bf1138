package assets_test

import (
	"image"
	"image/draw"
	"testing"

	"github.com/netburi/netburi/assets"
	"github.com/netburi/netburi/assets/art"
	"github.com/netburi/netburi/ecsnet"
)

// The committed PNG files are exactly what package art draws today, so
// editing the art without running `go generate ./assets` fails here.
func TestEmbeddedFilesMatchTheGenerator(t *testing.T) {
	for _, tc := range []struct {
		name     string
		embedded image.Image
		drawn    *image.NRGBA
	}{
		{"font", assets.Font(), art.Font()},
		{"ships", assets.Ships(), art.Ships()},
		{"drones", assets.Drones(), art.Drones()},
		{"gem", assets.Gem(), art.Gem()},
		{"flame", assets.Flame(), art.Flame()},
		{"tile", assets.Tile(), art.Tile()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := image.NewNRGBA(tc.embedded.Bounds())
			draw.Draw(got, got.Bounds(), tc.embedded, tc.embedded.Bounds().Min, draw.Src)
			if got.Bounds() != tc.drawn.Bounds() {
				t.Fatalf("embedded %v, generator draws %v", got.Bounds(), tc.drawn.Bounds())
			}
			for i := range got.Pix {
				if got.Pix[i] != tc.drawn.Pix[i] {
					t.Fatalf("pixel byte %d: embedded %d, generator %d (run go generate ./assets)", i, got.Pix[i], tc.drawn.Pix[i])
				}
			}
		})
	}
}

// Every printable ASCII rune used by the HUD has a glyph, and lower case
// shares the capitals' glyphs.
func TestFontCoversTheHUDAlphabet(t *testing.T) {
	font := art.Font()
	lit := func(r rune) int {
		i := int(r - art.FirstRune)
		x0, y0 := (i%art.FontColumns)*art.CellW, (i/art.FontColumns)*art.CellH
		n := 0
		for y := range art.CellH {
			for x := range art.CellW {
				if font.NRGBAAt(x0+x, y0+y).A > 0 {
					n++
				}
			}
		}
		return n
	}
	for _, r := range "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,:;/%+-()[]#=<>?!'_|*" {
		if lit(r) == 0 {
			t.Errorf("rune %q has no glyph", r)
		}
	}
	if lit(' ') != 0 {
		t.Error("space is not blank")
	}
	if lit('k') != lit('K') {
		t.Error("lower case does not reuse the capitals")
	}
}

// Ship i of the sheet has body colour i at its centre of mass.
func TestShipSheetUsesThePalette(t *testing.T) {
	ships := art.Ships()
	for i, c := range art.ShipColors {
		if got := ships.NRGBAAt(i*art.ShipSize+14, 21); got != c {
			t.Errorf("ship %d body %v, want %v", i, got, c)
		}
	}
}

// The embedded dictionary is one a peer accepts for the dictionary mode.
func TestEmbeddedDictionaryLoads(t *testing.T) {
	d := assets.Dictionary()
	if len(d) < 1<<10 {
		t.Fatalf("dictionary of %d bytes", len(d))
	}
	if err := ecsnet.NewPeer().SetCompressionDictionary(d); err != nil {
		t.Fatal(err)
	}
}
