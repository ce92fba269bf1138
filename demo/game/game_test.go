package game

import (
	"math"
	"testing"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/systems/nettest"
)

// harness runs a demo server (with a small arena) and one client per
// source in one process, stepped tick by tick over loopback.
// Clients added later fly idle.
func harness(t *testing.T, opts ServerOptions, sources ...InputSource) (*nettest.Harness, map[int]*Scoreboard) {
	t.Helper()
	return harnessWith(t, Settings{}, opts, sources...)
}

// harnessWith is harness with the nodes' settings.
func harnessWith(t *testing.T, set Settings, opts ServerOptions, sources ...InputSource) (*nettest.Harness, map[int]*Scoreboard) {
	t.Helper()
	if set.BindIP == "" {
		set.BindIP = "127.0.0.1" // tests stay on loopback
	}
	proto := DefaultProtocol
	boards := map[int]*Scoreboard{}
	h := nettest.New(t, nettest.Options{
		Registry: proto.Registry,
		Clients:  len(sources),
		Config:   proto.Config(set),
		Systems: func(i int, n *nettest.Node) {
			if i < 0 {
				n.ECS.AddSystem(NewServerSim(proto, n.Net, opts).Update)
				return
			}
			source := idle
			if i < len(sources) {
				source = sources[i]
			}
			boards[i] = NewScoreboard(proto, n.Net)
			n.ECS.AddSystem(NewDroneSystem(n.Net).Update).AddSystem(boards[i].Update).AddSystem(NewPilot(proto, NewView(n.World, n.Net), source).Update)
		},
	})
	h.Connect()
	return h, boards
}

func idle(*View) Input { return Input{} }

func view(n *nettest.Node) *View { return NewView(n.World, n.Net) }

func shipAt(v *View, owner uint32) (x, y float64, ok bool) {
	e, ok := v.Ship(owner)
	if !ok {
		return 0, 0, false
	}
	x, y = Position.Get(e).Pixels()
	return x, y, true
}

// One client burns its engine; the other client sees that ship travel
// across the arena, while its own idle ship stays where it spawned.
func TestAnotherClientSeesAScriptedShipMove(t *testing.T) {
	burn := func(*View) Input { return Input{Thrust: 1} }
	h, _ := harness(t, ServerOptions{Drones: 40, Seed: 1}, burn, idle)
	driver := uint32(h.Clients[0].Net.ID())
	watcher := uint32(h.Clients[1].Net.ID())
	observer := view(h.Clients[1])

	var x0, y0, ox, oy float64
	h.StepUntil(600, "the watcher sees both ships", func() bool {
		var ok1, ok2 bool
		x0, y0, ok1 = shipAt(observer, driver)
		ox, oy, ok2 = shipAt(observer, watcher)
		return ok1 && ok2
	})
	n := h.StepUntil(600, "the driver's ship moves 150 px on the watcher's screen", func() bool {
		x, y, ok := shipAt(observer, driver)
		return ok && math.Hypot(x-x0, y-y0) > 150
	})
	t.Logf("moved 150 px in %d ticks", n)
	if x, y, _ := shipAt(observer, watcher); math.Hypot(x-ox, y-oy) > 0.5 {
		t.Errorf("the idle ship moved from (%.1f, %.1f) to (%.1f, %.1f)", ox, oy, x, y)
	}
	// The watcher sees (interpolated, so a little behind) what the server has.
	sx, sy, _ := shipAt(view(h.Server), driver)
	wx, wy, _ := shipAt(observer, driver)
	if d := math.Hypot(sx-wx, sy-wy); d > 60 {
		t.Errorf("watcher shows the ship %.1f px from the server's position", d)
	}
}

// A bot collects gems; every client's scoreboard, fed by reliable
// messages, agrees with the server's score.
func TestScoresReachEveryClient(t *testing.T) {
	h, boards := harness(t, ServerOptions{Drones: 10, Gems: 30, Seed: 2}, BotInput, idle)
	bot := uint32(h.Clients[0].Net.ID())
	server := view(h.Server)
	serverScore := func() uint32 {
		e, ok := server.Ship(bot)
		if !ok {
			return 0
		}
		return Player.Get(e).Score
	}
	n := h.StepUntil(3000, "the bot scores 3 gems", func() bool { return serverScore() >= 3 })
	t.Logf("3 gems in %d ticks", n)
	h.StepUntil(300, "both scoreboards agree with the server", func() bool {
		s := serverScore()
		return boards[0].Score(bot) == s && boards[1].Score(bot) == s
	})
	// A client joining later learns the score from the table the server
	// sends on acceptance.
	h.AddClient()
	h.Connect()
	h.StepUntil(300, "the late joiner's scoreboard", func() bool { return boards[2].Score(bot) == serverScore() })
}

func TestAnglesAndPositionsSurviveTheWire(t *testing.T) {
	for _, rad := range []float64{0, 1, math.Pi, -1, 2*math.Pi - 0.001} {
		got := ShipData{Angle: ToAngle(rad)}.Heading()
		if d := math.Abs(math.Remainder(got-rad, 2*math.Pi)); d > 1e-3 {
			t.Errorf("heading %v came back as %v", rad, got)
		}
	}
	x, y := ToPosition(123.4567, 687.9).Pixels()
	if math.Abs(x-123.4567) > 1.0/PosScale || math.Abs(y-687.9) > 1.0/PosScale {
		t.Errorf("position came back as %v, %v", x, y)
	}
	// Interpolating a heading goes the short way round.
	mid := lerpShip(ShipData{Angle: ToAngle(-0.2)}, ShipData{Angle: ToAngle(0.2)}, 0.5).Heading()
	if d := math.Abs(math.Remainder(mid, 2*math.Pi)); d > 1e-3 {
		t.Errorf("halfway from -0.2 to 0.2 rad is %v", mid)
	}
}

// In the dictionary mode, with the embedded dictionary on both ends, the
// arena reaches the clients, no datagram fails to decompress, and the
// server sends fewer bytes than in plain zstd for the same play.
func TestDictionaryModePlaysTheDemo(t *testing.T) {
	sent := map[ecsnet.CompressionMode]uint32{}
	for _, mode := range []ecsnet.CompressionMode{ecsnet.CompressZstd, ecsnet.CompressZstdDict} {
		h, _ := harnessWith(t, Settings{Compression: mode}, ServerOptions{Drones: 60, Seed: 2}, idle, idle)
		for _, c := range h.Clients {
			v := view(c)
			h.StepUntil(600, "the client sees the arena", func() bool {
				return v.ships.Count(v.World) == 2 && v.gems.Count(v.World) == 12 && v.drones.Count(v.World) > 0
			})
		}
		srv := peerOf(h.Server.Net)
		before := srv.Stats().BytesSent
		for range 120 {
			h.Step()
		}
		sent[mode] = srv.Stats().BytesSent - before
		for i, n := range append([]*nettest.Node{h.Server}, h.Clients...) {
			if f := peerOf(n.Net).Stats().DecompressFailed; f != 0 {
				t.Errorf("%v: node %d failed to decompress %d datagrams", mode, i, f)
			}
		}
		h.Close()
	}
	if sent[ecsnet.CompressZstdDict] >= sent[ecsnet.CompressZstd] {
		t.Errorf("120 ticks: %d bytes sent with the dictionary, %d with plain zstd", sent[ecsnet.CompressZstdDict], sent[ecsnet.CompressZstd])
	}
	t.Logf("120 ticks, server sent: zstd %d bytes, zstd_dict %d bytes", sent[ecsnet.CompressZstd], sent[ecsnet.CompressZstdDict])
}

// With interest management on, an idle player receives the drones near the
// centre of its screen and not the others (checked against the server's
// own positions), every gem wherever it is, and the server's word of how
// many entities exist and of the player's replication budget.
func TestAPlayerSeesOnlyTheDronesNearItsShip(t *testing.T) {
	t.Run("the screen's radius", func(t *testing.T) { seesOnlyNearDrones(t, 0, ViewRadius) })
	// A load test's smaller radius (demo/server -view-radius) narrows it.
	t.Run("a radius of 240 pixels", func(t *testing.T) { seesOnlyNearDrones(t, 240, 240) })
}

// seesOnlyNearDrones checks a player's drones against the server's with
// the view radius set to set (0: the default), which should be want.
func seesOnlyNearDrones(t *testing.T, set, want float64) {
	h, boards := harness(t, ServerOptions{Drones: 200, Gems: 12, Seed: 3, ViewRadius: set}, idle)
	c := view(h.Clients[0])
	self := uint32(h.Clients[0].Net.ID())
	srv := view(h.Server)
	h.StepUntil(600, "the world info and the near drones arrive", func() bool {
		return boards[0].World().Entities > 0 && c.drones.Count(c.World) > 0
	})
	for range 2 * TickRate { // settle: drones drift in and out of view
		h.Step()
	}
	sx, sy, ok := shipAt(srv, self)
	if !ok {
		t.Fatal("the server has no ship for the player")
	}
	sx, sy = Camera(sx, sy) // the view's centre: the screen's
	sx, sy = sx+ViewW/2, sy+ViewH/2
	// Drones by network ID on the server, to compare with the client's.
	near, far := map[uint32]bool{}, map[uint32]bool{}
	srv.drones.Each(srv.World, func(en *donburi.Entry) {
		x, y := Position.Get(en).Pixels()
		id := components.NetworkID.Get(en).ID
		switch d := math.Hypot(x-sx, y-sy); {
		case d < want-40: // margins: a drone moves a little in a snapshot's time
			near[id] = true
		case d > want+40:
			far[id] = true
		}
	})
	if len(near) == 0 || len(far) == 0 {
		t.Fatalf("seed gives %d drones near the ship and %d far: pick another", len(near), len(far))
	}
	seen := map[uint32]bool{}
	c.drones.Each(c.World, func(en *donburi.Entry) { seen[components.NetworkID.Get(en).ID] = true })
	for id := range far {
		if seen[id] {
			t.Errorf("the client has drone %d, beyond its view radius", id)
		}
	}
	for id := range near {
		if !seen[id] {
			t.Errorf("the client lacks drone %d, within its view radius", id)
		}
	}
	if got := c.gems.Count(c.World); got != 12 {
		t.Errorf("the client sees %d gems, want all 12", got)
	}
	info := boards[0].World()
	if want := srv.Entities(); int(info.Entities) != want {
		t.Errorf("world info says %d entities, the server has %d", info.Entities, want)
	}
	if math.Abs(float64(info.Budget)-ReplicationRate) > ReplicationRate/100 { // the lanes' shares round down
		t.Errorf("world info says a budget of %d B/s, want %d", info.Budget, ReplicationRate)
	}
	if c.Entities() >= srv.Entities() {
		t.Errorf("the client sees %d of %d entities: interest management is off", c.Entities(), srv.Entities())
	}
	t.Logf("sees %d of %d entities (%d near drones, %d far)", c.Entities(), info.Entities, len(near), len(far))
}

// Without standings (a load test's choice) no scoreboard row exists on the
// server or reaches a client, and the players' ships still do.
func TestNoStandingsLeavesOutTheScoreboardRows(t *testing.T) {
	for _, off := range []bool{false, true} {
		h, _ := harness(t, ServerOptions{Drones: 10, Gems: 4, Seed: 2, NoStandings: off}, idle, idle)
		rows := func(n *nettest.Node) int { return donburi.NewQuery(filter.Contains(Standing)).Count(n.World) }
		h.StepUntil(600, "each client has both ships", func() bool {
			for _, c := range h.Clients {
				v := view(c)
				for _, o := range h.Clients {
					if _, ok := v.Ship(uint32(o.Net.ID())); !ok {
						return false
					}
				}
			}
			return true
		})
		want := 2
		if off {
			want = 0
		}
		h.StepUntil(300, "the scoreboard rows settle", func() bool { return rows(h.Clients[0]) == want })
		if got := rows(h.Server); got != want {
			t.Errorf("NoStandings %v: the server has %d scoreboard rows, want %d", off, got, want)
		}
	}
}
