package game

import (
	"image"
	"image/color"
	"strings"

	"github.com/hajimehoshi/ebiten/v2"

	"github.com/netburi/netburi/assets"
	"github.com/netburi/netburi/assets/art"
)

// bitmapFont draws text with the embedded glyph atlas.
type bitmapFont struct {
	glyphs []*ebiten.Image // by rune - art.FirstRune
}

func newBitmapFont() *bitmapFont {
	atlas := ebiten.NewImageFromImage(assets.Font())
	f := &bitmapFont{}
	for r := art.FirstRune; r <= art.LastRune; r++ {
		i := int(r - art.FirstRune)
		x, y := (i%art.FontColumns)*art.CellW, (i/art.FontColumns)*art.CellH
		f.glyphs = append(f.glyphs, atlas.SubImage(image.Rect(x, y, x+art.CellW, y+art.CellH)).(*ebiten.Image))
	}
	return f
}

// advance is the width of one character at scale.
func advance(scale float64) float64 { return art.CellW * scale }

// draw writes s with its top left at (x, y), each glyph pixel scale
// screen pixels, in colour c. Runes without a glyph print as '?'.
func (f *bitmapFont) draw(dst *ebiten.Image, s string, x, y, scale float64, c color.Color) {
	var op ebiten.DrawImageOptions
	for _, r := range strings.ToUpper(s) {
		if r != ' ' {
			if r < art.FirstRune || r > art.LastRune {
				r = '?'
			}
			op.GeoM.Reset()
			op.GeoM.Scale(scale, scale)
			op.GeoM.Translate(x, y)
			op.ColorScale.Reset()
			op.ColorScale.ScaleWithColor(c)
			dst.DrawImage(f.glyphs[r-art.FirstRune], &op)
		}
		x += advance(scale)
	}
}
