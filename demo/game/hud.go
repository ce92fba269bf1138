package game

import (
	"fmt"
	"image/color"
	"slices"
	"time"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
)

// graphLen is how many samples a traffic graph shows (one per graphEvery
// ticks: 14 seconds).
const (
	graphLen   = 84
	graphEvery = 10
)

// hud is the panel's state: traffic history and the last connection news.
type hud struct {
	in, out []float64 // kbit/s, oldest first
	ticks   int
	fixes   [2]uint64 // prediction corrections a second ago and now
	fixRate float64   // corrections per second over the last second
	note    string
	warn    bool
}

func (h *hud) init() {
	h.in = make([]float64, 0, graphLen)
	h.out = make([]float64, 0, graphLen)
	h.note = "connecting..."
}

// sample records traffic and connection events after a client tick.
func (h *hud) sample(c *ClientNode) {
	c.events.Each(c.World, func(en *donburi.Entry) {
		ev := components.ConnectionEvent.Get(en)
		switch ev.Kind {
		case components.EventConnectionSucceeded:
			h.note, h.warn = "", false
		case components.EventConnectionFailed:
			h.note, h.warn = "could not reach the server", true
		case components.EventConnectionRejected:
			h.note, h.warn = "refused: "+ev.Reason, true
		case components.EventServerDisconnected:
			h.note, h.warn = "the server closed", true
		}
	})
	h.ticks++
	if h.ticks%TickRate == 0 {
		h.fixes[0], h.fixes[1] = h.fixes[1], c.Pilot.proto.Input.PredictionStats(c.Net).Corrections
		h.fixRate = float64(h.fixes[1] - h.fixes[0])
	}
	if h.ticks%graphEvery != 0 {
		return
	}
	p, _ := c.ServerLink()
	push := func(s []float64, v float64) []float64 {
		if len(s) == graphLen {
			s = append(s[:0], s[1:]...)
		}
		return append(s, v)
	}
	h.in = push(h.in, p.Stats.BytesInPerSecond*8/1000)
	h.out = push(h.out, p.Stats.BytesOutPerSecond*8/1000)
}

// hudWriter lays out lines of text down the panel.
type hudWriter struct {
	w    *Window
	dst  *ebiten.Image
	x, y float64
}

func (t *hudWriter) line(s string, c color.Color) {
	t.w.font.draw(t.dst, s, t.x, t.y, 2, c)
	t.y += 20
}

func (t *hudWriter) title(s string) {
	t.y += 6
	t.w.rect(t.dst, t.x, t.y+6, HUDW-16, 1, color.NRGBA{40, 60, 90, 255})
	t.w.rect(t.dst, t.x, t.y, float64(len(s))*advance(2)+8, 14, HUDPanelColor)
	t.w.font.draw(t.dst, s, t.x, t.y, 2, HUDTitleColor)
	t.y += 22
}

func onOff(b bool) string {
	if b {
		return "ON"
	}
	return "OFF"
}

func (h *hud) draw(screen *ebiten.Image, w *Window) {
	w.rect(screen, HUDX, 0, ScreenW-HUDX, ScreenH, HUDPanelColor)
	w.rect(screen, HUDX, 0, 2, ScreenH, color.NRGBA{40, 60, 90, 255})
	t := &hudWriter{w: w, dst: screen, x: HUDX + 12, y: 14}
	w.font.draw(screen, "NETBURI", t.x, t.y, 4, HUDTitleColor)
	t.y += 38
	c := w.client
	t.line(fmt.Sprintf("%s  TICK %d", w.opts.Role, c.Net.Tick()), HUDTextColor)
	if h.note != "" {
		col := color.Color(hudDimColor)
		if h.warn {
			col = hudWarnColor
		}
		t.line(h.note, col)
	}

	t.title("NETWORK")
	link, _ := c.Measured()
	t.line(fmt.Sprintf("RTT %d MS +-%d  LOSS %.1f%%", link.RTT.Milliseconds(), link.RTTVariance.Milliseconds(), link.Loss*100), HUDTextColor)
	lead, target := c.Net.InputLead()
	t.line(inputLeadLine(lead, target), HUDTextColor)
	peer := peerOf(c.Net)
	t.line(fmt.Sprintf("COMPRESS %s  DTLS %s", peer.CompressionMode(), onOff(peer.DTLSEnabled())), HUDTextColor)
	entities, world := c.Entities(), c.Scores.World()
	t.line(fmt.Sprintf("SEE %d OF %d  SNAP %d HZ", entities, world.Entities, TickRate/SnapshotEvery), HUDTextColor)
	if world.Budget > 0 {
		budget := float64(world.Budget) * 8 / 1000
		t.line(fmt.Sprintf("BUDGET %.0f KBIT/S  IN USE %.0f%%", budget, 100*last(h.in)/budget), HUDTextColor)
	}
	t.line(fmt.Sprintf("IN %7.1f  OUT %6.1f KBIT/S", last(h.in), last(h.out)), HUDTextColor)
	gw := (HUDW - 28) / 2.0
	w.graph(screen, h.in, "IN", t.x, t.y, gw, 40, GraphInColor)
	w.graph(screen, h.out, "OUT", t.x+gw+8, t.y, gw, 40, GraphOutColor)
	t.y += 58

	t.title("PLAYERS  SCORE  RTT  LOSS")
	h.players(t, c)

	t.title("VIEW")
	t.line("[I] INTERPOLATION "+onOff(w.interp), HUDTextColor)
	t.line("[R] RAW SERVER POS "+onOff(w.raw), HUDTextColor)
	t.line("[P] PREDICT OWN SHIP "+onOff(!w.unpredicted), HUDTextColor)
	ps := w.client.Pilot.proto.Input.PredictionStats(c.Net)
	t.line(fmt.Sprintf("FIXES %.0f/S  LAST ERR %.1f PX", h.fixRate, ps.LastError), HUDTextColor)

	if lc, ok := peer.LinkConditioner(); ok {
		t.title("LINK, EACH WAY")
		t.line(fmt.Sprintf("[L] LOSS %g%%", lc.In.Loss*100), HUDTextColor)
		t.line(fmt.Sprintf("[T] LATENCY %d MS", lc.In.Latency.Milliseconds()), HUDTextColor)
		t.line(fmt.Sprintf("[J] JITTER %d MS  [C] CLEAR", lc.In.Jitter.Milliseconds()), HUDTextColor)
	}
	t.y = ScreenH - 20*float64(len(hudFooter)) - 8
	for _, l := range hudFooter {
		t.line(l, hudDimColor)
	}
}

// hudFooter is the panel's last lines: the rules and the keys.
var hudFooter = []string{"DRONES DRIFT  GEMS SCORE +1", "ARROWS/WASD FLY  SPACE FIRE", "ESC QUIT"}

// inputLeadLine says how far ahead of the server the client's inputs run,
// in ticks, and the lead the clock aims for.
func inputLeadLine(lead, target float64) string {
	return fmt.Sprintf("INPUT LEAD %.1f  AIM %.1f", lead, target)
}

// hudFits reports whether a line of HUD text fits the panel's width.
func hudFits(s string) bool { return 12+float64(len(s))*advance(2) <= HUDW }

// players lists every player from their standings, near its ship or not:
// colour, name, score, round trip and loss.
func (h *hud) players(t *hudWriter, c *ClientNode) {
	type row struct {
		ship StandingData
		link LinkData
	}
	var rows []row
	c.standings.Each(c.World, func(en *donburi.Entry) {
		r := row{ship: *Standing.Get(en)}
		if en.HasComponent(Link) {
			r.link = *Link.Get(en)
		}
		rows = append(rows, r)
	})
	slices.SortFunc(rows, func(a, b row) int { return int(b.ship.Color) - int(a.ship.Color) })
	slices.Reverse(rows)
	self := uint32(c.Net.ID())
	const maxRows = 8
	for i, r := range rows {
		if i == maxRows {
			t.line(fmt.Sprintf("  +%d MORE", len(rows)-maxRows), hudDimColor)
			break
		}
		name := fmt.Sprintf("P%d", r.ship.Color+1)
		if r.ship.Owner == self {
			name = "YOU"
		}
		var op ebiten.DrawImageOptions
		op.GeoM.Scale(0.5, 0.5)
		op.GeoM.Translate(t.x, t.y-1)
		t.dst.DrawImage(t.w.ships[int(r.ship.Color)%len(t.w.ships)], &op)
		rtt := time.Duration(r.link.RTTMillis) * time.Millisecond
		t.w.font.draw(t.dst, fmt.Sprintf("%-4s %5d %4d %4.1f%%", name, c.Scores.Score(r.ship.Owner), rtt.Milliseconds(), float64(r.link.LossPermille)/10),
			t.x+22, t.y, 2, HUDTextColor)
		t.y += 20
	}
	if len(rows) == 0 {
		t.line("  (NONE YET)", hudDimColor)
	}
}

func last(s []float64) float64 {
	if len(s) == 0 {
		return 0
	}
	return s[len(s)-1]
}

// graph draws the last samples as bars, scaled to the largest (at least
// 10 kbit/s), labelled with what it shows and that scale.
func (w *Window) graph(dst *ebiten.Image, samples []float64, label string, x, y, width, height float64, c color.NRGBA) {
	w.rect(dst, x, y, width, height, color.NRGBA{8, 12, 22, 255})
	top := 10.0
	for _, v := range samples {
		top = max(top, v)
	}
	bar := width / graphLen
	for i, v := range samples {
		hgt := v / top * (height - 2)
		w.rect(dst, x+float64(i)*bar, y+height-hgt, max(1, bar-0.5), hgt, c)
	}
	w.font.draw(dst, fmt.Sprintf("%s, TOP %.0f KBIT/S", label, top), x, y+height+3, 1, hudDimColor)
}
