package game

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/assets"
	"github.com/netburi/netburi/assets/art"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/systems"
)

// Screen layout in pixels: the view of the arena, ViewW by ViewH, at
// (ArenaX, ArenaY), the HUD panel from HUDX to the right edge.
const (
	ScreenW = 1280
	ScreenH = 720
	ArenaX  = 16
	ArenaY  = 16
	ViewW   = 864
	ViewH   = 688
	HUDX    = ArenaX + ViewW + 16
	HUDW    = ScreenW - 16 - HUDX
)

// HUD colours, exported for tests that look for the HUD in screenshots.
var (
	HUDTextColor  = color.NRGBA{205, 222, 240, 255}
	HUDTitleColor = color.NRGBA{110, 200, 255, 255}
	HUDPanelColor = color.NRGBA{16, 22, 36, 255}
	GraphInColor  = color.NRGBA{80, 220, 160, 255}
	GraphOutColor = color.NRGBA{250, 170, 70, 255}
	hudDimColor   = color.NRGBA{120, 135, 160, 255}
	hudWarnColor  = color.NRGBA{255, 120, 100, 255}
)

// WindowOptions configure the Ebiten client.
type WindowOptions struct {
	// Role is shown in the HUD ("listen server", "client").
	Role string
	// Screenshot, when set, saves the screen to this PNG file once
	// ScreenshotAfter has passed and ScreenshotWhen (if set) holds, and
	// closes the window.
	Screenshot      string
	ScreenshotAfter time.Duration
	ScreenshotWhen  func(*ClientNode) bool
}

// Window is the Ebiten game of one client: it steps the client's world in
// Update (one network tick per Ebiten tick) and draws it.
type Window struct {
	ctx    context.Context
	client *ClientNode
	opts   WindowOptions

	interp, raw bool // interpolated positions; raw server positions beside them
	unpredicted bool // the own ship interpolated like the others, not predicted
	traces      []shotTrace
	hud         hud
	ox, oy      float64 // the screen position of the arena's corner this frame

	font   *bitmapFont
	pixel  *ebiten.Image
	tile   *ebiten.Image
	ships  []*ebiten.Image
	drones []*ebiten.Image
	gem    *ebiten.Image
	flame  *ebiten.Image

	start   time.Time
	shotErr error
	shot    bool
	frame   uint64
}

// NewWindow returns the game of client, which it steps from now on: the
// caller must not touch the client until RunGame returns.
func NewWindow(ctx context.Context, client *ClientNode, opts WindowOptions) *Window {
	w := &Window{ctx: ctx, client: client, opts: opts, interp: true, font: newBitmapFont(), start: time.Now()}
	w.pixel = ebiten.NewImage(1, 1)
	w.pixel.Fill(color.White)
	w.tile = ebiten.NewImageFromImage(assets.Tile())
	sheet := ebiten.NewImageFromImage(assets.Ships())
	for i := range art.ShipColors {
		w.ships = append(w.ships, sheet.SubImage(image.Rect(i*art.ShipSize, 0, (i+1)*art.ShipSize, art.ShipSize)).(*ebiten.Image))
	}
	drones := ebiten.NewImageFromImage(assets.Drones())
	for i := range art.DroneColors {
		w.drones = append(w.drones, drones.SubImage(image.Rect(i*art.DroneSize, 0, (i+1)*art.DroneSize, art.DroneSize)).(*ebiten.Image))
	}
	w.gem = ebiten.NewImageFromImage(assets.Gem())
	w.flame = ebiten.NewImageFromImage(assets.Flame())
	w.hud.init()
	return w
}

// RunWindow opens the window and runs until it is closed, ctx is done or
// the screenshot is taken. It must be called from the main goroutine.
func RunWindow(ctx context.Context, client *ClientNode, opts WindowOptions) error {
	w := NewWindow(ctx, client, opts)
	ebiten.SetWindowSize(ScreenW, ScreenH)
	ebiten.SetWindowTitle("netburi demo")
	ebiten.SetWindowResizingMode(ebiten.WindowResizingModeEnabled)
	ebiten.SetRunnableOnUnfocused(true)
	if err := ebiten.RunGame(w); err != nil {
		return err
	}
	if opts.Screenshot != "" && !w.shot {
		return fmt.Errorf("the window closed before the screenshot was due (%v)", context.Cause(ctx))
	}
	return w.shotErr
}

// DisplayAvailable reports whether a window can open: on Linux and the
// BSDs an X11 or Wayland display must be named in the environment.
func DisplayAvailable() bool {
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}

// KeyboardInput steers with the arrow keys or WASD.
func KeyboardInput(*View) Input {
	var in Input
	if ebiten.IsKeyPressed(ebiten.KeyArrowLeft) || ebiten.IsKeyPressed(ebiten.KeyA) {
		in.Turn--
	}
	if ebiten.IsKeyPressed(ebiten.KeyArrowRight) || ebiten.IsKeyPressed(ebiten.KeyD) {
		in.Turn++
	}
	if ebiten.IsKeyPressed(ebiten.KeyArrowUp) || ebiten.IsKeyPressed(ebiten.KeyW) {
		in.Thrust = 1
	}
	if ebiten.IsKeyPressed(ebiten.KeySpace) {
		in.Fire = 1
	}
	return in
}

// Update steps the client one tick and handles the view and link keys.
func (w *Window) Update() error {
	if w.ctx.Err() != nil || w.shot || inpututil.IsKeyJustPressed(ebiten.KeyEscape) {
		return ebiten.Termination
	}
	if inpututil.IsKeyJustPressed(ebiten.KeyI) {
		w.interp = !w.interp
	}
	if inpututil.IsKeyJustPressed(ebiten.KeyR) {
		w.raw = !w.raw
	}
	if inpututil.IsKeyJustPressed(ebiten.KeyP) {
		w.unpredicted = !w.unpredicted
		w.client.Pilot.proto.Input.SetPrediction(w.client.Net, !w.unpredicted)
	}
	w.linkKeys()
	w.client.Step()
	w.takeShots()
	w.hud.sample(w.client)
	w.frame++
	return nil
}

// linkKeys cycles the link conditioner's loss (L), latency (T) and jitter
// (J), each way, and clears it (C).
func (w *Window) linkKeys() {
	peer := peerOf(w.client.Net)
	c, ok := peer.LinkConditioner()
	if !ok {
		return
	}
	changed := true
	switch {
	case inpututil.IsKeyJustPressed(ebiten.KeyL):
		c.In.Loss = nextLevel(c.In.Loss, []float64{0, 0.02, 0.05, 0.1, 0.2})
	case inpututil.IsKeyJustPressed(ebiten.KeyT):
		c.In.Latency = time.Duration(nextLevel(c.In.Latency.Seconds(), []float64{0, 0.025, 0.05, 0.1, 0.2}) * float64(time.Second))
	case inpututil.IsKeyJustPressed(ebiten.KeyJ):
		c.In.Jitter = time.Duration(nextLevel(c.In.Jitter.Seconds(), []float64{0, 0.005, 0.015, 0.03}) * float64(time.Second))
	case inpututil.IsKeyJustPressed(ebiten.KeyC):
		c.In = ecsnet.LinkDirection{}
	default:
		changed = false
	}
	if changed {
		c.Out = c.In
		if err := peer.SetLinkConditioner(c); err != nil {
			w.hud.note = err.Error()
		}
	}
}

// nextLevel is the first level above v, wrapping to the first.
func nextLevel(v float64, levels []float64) float64 {
	for _, l := range levels {
		if l > v+1e-9 {
			return l
		}
	}
	return levels[0]
}

// Layout fixes the logical screen; Ebiten scales it to the window.
func (w *Window) Layout(int, int) (int, int) { return ScreenW, ScreenH }

// Draw draws the arena and the HUD, then takes the screenshot if due.
func (w *Window) Draw(screen *ebiten.Image) {
	screen.Fill(color.NRGBA{6, 8, 14, 255})
	w.drawArena(screen)
	w.hud.draw(screen, w)
	if w.opts.Screenshot != "" && !w.shot && time.Since(w.start) >= w.opts.ScreenshotAfter &&
		(w.opts.ScreenshotWhen == nil || w.opts.ScreenshotWhen(w.client)) {
		w.shot = true
		w.shotErr = saveScreenshot(screen, w.opts.Screenshot)
	}
}

func saveScreenshot(screen *ebiten.Image, path string) error {
	b := screen.Bounds()
	img := image.NewRGBA(b)
	screen.ReadPixels(img.Pix)
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("screenshot: %w", err)
	}
	return errors.Join(png.Encode(f, img), f.Close())
}

func (w *Window) rect(dst *ebiten.Image, x, y, width, height float64, c color.Color) {
	var op ebiten.DrawImageOptions
	op.GeoM.Scale(width, height)
	op.GeoM.Translate(x, y)
	op.ColorScale.ScaleWithColor(c)
	dst.DrawImage(w.pixel, &op)
}

// sprite draws img centred on (x, y), rotated by angle.
func sprite(dst, img *ebiten.Image, x, y, angle float64, alpha float32) {
	var op ebiten.DrawImageOptions
	b := img.Bounds()
	op.GeoM.Translate(-float64(b.Dx())/2, -float64(b.Dy())/2)
	op.GeoM.Rotate(angle)
	op.GeoM.Translate(x, y)
	op.ColorScale.ScaleAlpha(alpha)
	op.Filter = ebiten.FilterLinear
	dst.DrawImage(img, &op)
}

// Camera is the arena's top-left corner on screen for a player whose ship
// is at (x, y): the view centred on the ship, kept inside the arena.
func Camera(x, y float64) (cx, cy float64) {
	return max(0, min(ArenaW-ViewW, x-ViewW/2)), max(0, min(ArenaH-ViewH, y-ViewH/2))
}

func (w *Window) drawArena(screen *ebiten.Image) {
	arena := screen.SubImage(image.Rect(ArenaX, ArenaY, ArenaX+ViewW, ArenaY+ViewH)).(*ebiten.Image)
	// The camera follows this player's ship (the arena's centre before it
	// has one); (ox, oy) maps arena pixels to the screen.
	cx, cy := Camera(ArenaW/2, ArenaH/2)
	if own, ok := w.client.Ship(w.client.Self()); ok {
		cx, cy = Camera(Position.Get(own).Pixels())
	}
	w.ox, w.oy = ArenaX-math.Round(cx), ArenaY-math.Round(cy)
	ox, oy := w.ox, w.oy
	var op ebiten.DrawImageOptions
	t := art.TileSize
	for y := int(cy) / t * t; y < int(cy)+ViewH && y < ArenaH; y += t {
		for x := int(cx) / t * t; x < int(cx)+ViewW && x < ArenaW; x += t {
			op.GeoM.Reset()
			op.GeoM.Translate(ox+float64(x), oy+float64(y))
			arena.DrawImage(w.tile, &op)
		}
	}
	border := color.NRGBA{60, 80, 120, 255} // the arena's walls, where in view
	w.rect(arena, ox-2, oy-2, ArenaW+4, 2, border)
	w.rect(arena, ox-2, oy+ArenaH, ArenaW+4, 2, border)
	w.rect(arena, ox-2, oy, 2, ArenaH, border)
	w.rect(arena, ox+ArenaW, oy, 2, ArenaH, border)

	world := w.client.World
	spin := float64(w.frame) / TickRate
	w.client.gems.Each(world, func(en *donburi.Entry) {
		x, y := Position.Get(en).Pixels()
		sprite(arena, w.gem, ox+x, oy+y+2*math.Sin(spin*3+x), 0, 1)
	})
	w.client.drones.Each(world, func(en *donburi.Entry) {
		x, y := Position.Get(en).Pixels()
		sprite(arena, w.drones[int(Drone.Get(en).Kind)%len(w.drones)], ox+x, oy+y, spin*0.7, 1)
	})
	self := uint32(w.client.Net.ID())
	w.client.ships.Each(world, func(en *donburi.Entry) {
		sh := Ship.Get(en)
		img := w.ships[int(sh.Color)%len(w.ships)]
		x, y := Position.Get(en).Pixels()
		rx, ry := x, y // the newest snapshot's, not interpolated
		if p, ok := systems.Latest(w.client.Net, world, Position, en.Entity()); ok {
			rx, ry = p.Pixels()
		}
		if !w.interp && (sh.Owner != self || w.unpredicted) {
			x, y = rx, ry // raw snapshots only: the ship steps 20 times a second
		}
		if w.raw && (rx != x || ry != y) {
			sprite(arena, img, ox+rx, oy+ry, sh.Heading(), 0.35)
			w.line(arena, ox+rx, oy+ry, ox+x, oy+y, color.NRGBA{255, 255, 255, 90})
		}
		a := sh.Heading()
		if sh.Thrust != 0 {
			fx, fy := x-math.Cos(a)*18, y-math.Sin(a)*18
			sprite(arena, w.flame, ox+fx, oy+fy, a, 0.6+0.4*float32(w.frame%4)/3)
		}
		sprite(arena, img, ox+x, oy+y, a, 1)
		label, c := fmt.Sprintf("P%d", sh.Color+1), color.Color(hudDimColor)
		if sh.Owner == self {
			label, c = "YOU", HUDTextColor
		}
		w.font.draw(arena, label, ox+x-advance(1)*float64(len(label))/2, oy+y-28, 1, c)
	})
	w.drawShots(arena)
}

// line draws a thin line of small squares.
func (w *Window) line(dst *ebiten.Image, x0, y0, x1, y1 float64, c color.Color) {
	n := int(math.Hypot(x1-x0, y1-y0) / 3)
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(max(n, 1))
		w.rect(dst, x0+(x1-x0)*t-0.5, y0+(y1-y0)*t-0.5, 1, 1, c)
	}
}
