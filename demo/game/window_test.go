package game

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/assets/art"
	"github.com/netburi/netburi/systems"
)

// The window test runs this test binary again under xvfb-run, because
// Ebiten decides at start-up whether a display exists and must run on the
// main goroutine: TestMain turns the child into a window client.
const (
	childEnv      = "NETBURI_DEMO_WINDOW_CHILD" // the server's port
	childShotEnv  = "NETBURI_DEMO_WINDOW_SHOT"  // where the child saves its screenshot
	screenshotEnv = "NETBURI_DEMO_SCREENSHOT"   // where the test keeps the screenshot
	requireEnv    = "NETBURI_REQUIRE_XVFB"      // fail rather than skip without xvfb-run
)

func TestMain(m *testing.M) {
	if port := os.Getenv(childEnv); port != "" {
		os.Exit(windowChild(port, os.Getenv(childShotEnv)))
	}
	os.Exit(m.Run())
}

// windowChild runs the window client against the server on port and saves
// a screenshot once the other player's ship has come to rest on screen.
func windowChild(portText, shot string) int {
	port, err := strconv.Atoi(portText)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child: bad port:", err)
		return 2
	}
	if !DisplayAvailable() {
		fmt.Fprintln(os.Stderr, "child: no display")
		return 2
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	client, err := NewClientNode(DefaultProtocol, "127.0.0.1", port, Settings{}, idle)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	defer client.Net.Close()
	err = RunWindow(ctx, client, WindowOptions{
		Role:            "CLIENT",
		Screenshot:      shot,
		ScreenshotAfter: 2 * time.Second, // a few traffic samples in the graphs
		ScreenshotWhen:  remoteShipAtRest(),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		return 1
	}
	return 0
}

// remoteShipAtRest holds once another player's ship has been drawn at the
// same place, equal to the raw server position, for half a second.
func remoteShipAtRest() func(*ClientNode) bool {
	var last PositionData
	still := 0
	return func(c *ClientNode) bool {
		self := uint32(c.Net.ID())
		var other *donburi.Entry
		c.ships.Each(c.World, func(en *donburi.Entry) {
			if Ship.Get(en).Owner != self {
				other = en
			}
		})
		if other == nil {
			return false
		}
		p := *Position.Get(other)
		raw, ok := systems.Latest(c.Net, c.World, Position, other.Entity())
		if !ok || p != last || p != raw {
			last, still = p, 0
			return false
		}
		still++
		return still >= TickRate/2
	}
}

// burnBriefly burns the engine for its first 15 ticks, then drifts to a
// stop.
func burnBriefly() InputSource {
	n := 0
	return func(*View) Input {
		n++
		if n <= 15 {
			return Input{Thrust: 1}
		}
		return Input{}
	}
}

// The window client, run under Xvfb against a headless server with one
// scripted player, draws that player's ship where the server has it and
// the HUD with live traffic graphs.
func TestWindowDrawsRemoteShipAndHUD(t *testing.T) {
	xvfb, err := exec.LookPath("xvfb-run")
	if err != nil {
		if os.Getenv(requireEnv) == "1" {
			t.Fatalf("xvfb-run not found and %s=1", requireEnv)
		}
		t.Skip("xvfb-run not found (install xvfb; set " + requireEnv + "=1 to make this a failure)")
	}
	shot := os.Getenv(screenshotEnv)
	if shot == "" {
		shot = filepath.Join(os.TempDir(), "netburi-demo-window-test.png")
	}
	_ = os.Remove(shot)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := StartServer(ctx, DefaultProtocol, 0, Settings{BindIP: "127.0.0.1"}, ServerOptions{Drones: 150, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Wait()
	defer cancel()
	bots, err := StartBots(ctx, DefaultProtocol, 1, "127.0.0.1", srv.Port(), Settings{}, burnBriefly)
	if err != nil {
		t.Fatal(err)
	}
	defer bots.Wait()
	defer cancel()

	// The bot joins first, so its ship has colour 0.
	for len(srv.Status().Ships) == 0 {
		if ctx.Err() != nil {
			t.Fatal("the bot's ship never appeared on the server")
		}
		time.Sleep(20 * time.Millisecond) // polling published state, bounded by ctx
	}
	cmd := exec.CommandContext(ctx, xvfb, "-a", "-s", fmt.Sprintf("-screen 0 %dx%dx24", ScreenW, ScreenH), os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strconv.Itoa(srv.Port()), childShotEnv+"="+shot)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("window client under xvfb-run: %v\n%s", err, out)
	}
	t.Logf("window client ran %v; screenshot kept at %s", time.Since(start).Round(time.Millisecond), shot)

	// The scripted ship is at rest; find where the server has it.
	var ship ShipStatus
	var found bool
	for _, s := range srv.Status().Ships {
		if s.Color == 0 { // the first to join: the bot
			ship, found = s, true
		}
	}
	if !found || ship.Moving {
		t.Fatalf("the bot's ship on the server: found %v, %+v", found, ship)
	}
	img := loadPNG(t, shot)
	if img.Bounds() != image.Rect(0, 0, ScreenW, ScreenH) {
		t.Fatalf("screenshot is %v, want %dx%d", img.Bounds(), ScreenW, ScreenH)
	}

	// The camera follows the watcher's own ship (the second to join, so
	// colour 1), idle where it spawned.
	cx, cy := Camera(SpawnPoint(1))
	body := art.ShipColors[ship.Color]
	sx, sy := ArenaX+int(math.Round(ship.X-cx)), ArenaY+int(math.Round(ship.Y-cy))
	near := count(img, image.Rect(sx-20, sy-20, sx+20, sy+20), body, 10)
	arena := count(img, image.Rect(ArenaX, ArenaY, ArenaX+ViewW, ArenaY+ViewH), body, 10)
	t.Logf("ship colour pixels: %d around (%d, %d), %d in the arena", near, sx, sy, arena)
	if near < 40 {
		t.Errorf("the remote ship is not drawn at (%d, %d): %d pixels of its colour there", sx, sy, near)
	}
	if arena > near+20 {
		t.Errorf("%d pixels of the remote ship's colour elsewhere in the arena", arena-near)
	}

	panel := image.Rect(HUDX, 0, ScreenW, ScreenH)
	text := count(img, panel, HUDTextColor, 8)
	title := count(img, panel, HUDTitleColor, 8)
	graph := count(img, panel, GraphInColor, 8)
	t.Logf("HUD pixels: text %d, titles %d, incoming-traffic graph %d", text, title, graph)
	if text < 2000 || title < 500 {
		t.Errorf("the HUD text is missing: %d text and %d title pixels", text, title)
	}
	if graph < 100 {
		t.Errorf("the incoming traffic graph is empty: %d pixels", graph)
	}
	if c := count(img, panel, HUDPanelColor, 2); c < panel.Dx()*panel.Dy()/2 {
		t.Errorf("the HUD panel background covers only %d pixels", c)
	}
}

func loadPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// count is how many pixels in r are within tol of c on every channel.
func count(img image.Image, r image.Rectangle, c color.NRGBA, tol int) int {
	n := 0
	near := func(a uint32, b uint8) bool { d := int(a>>8) - int(b); return d <= tol && d >= -tol }
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			if near(cr, c.R) && near(cg, c.G) && near(cb, c.B) {
				n++
			}
		}
	}
	return n
}
