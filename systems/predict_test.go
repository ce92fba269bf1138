package systems_test

import (
	"math"
	"testing"
	"time"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/transport/memnet"
)

// The prediction scene: each client steers one ship by an input; the
// server simulates it with the same step; the owning client predicts it.

type shipInput struct{ DX, DY int8 }

type shipPos struct{ X, Y float32 }

var shipPosition = donburi.NewComponentType[shipPos]()

// shipSpeed is how far a ship moves per tick per unit of input.
const shipSpeed = 0.5

func stepShip(_ donburi.World, e *donburi.Entry, in shipInput) {
	p := shipPosition.Get(e)
	p.X += float32(in.DX) * shipSpeed
	p.Y += float32(in.DY) * shipSpeed
}

// pattern is a client's input for predicted tick t: stretches of rest and
// of flying in changing directions, the same on every run.
func pattern(t uint32) shipInput {
	switch (t / 30) % 4 {
	case 0:
		return shipInput{}
	case 1:
		return shipInput{DX: 1}
	case 2:
		return shipInput{DX: -1, DY: 1}
	}
	return shipInput{DY: -1}
}

type predScene struct {
	h      *nettest.Harness
	in     *systems.InputType[shipInput]
	ships  map[int]donburi.Entity // server: owner -> ship
	traj   map[uint32]shipPos     // server: client 0's ship by server tick
	push   func(tick uint32) float32
	smooth int
}

// maxReplay, when set before newPredScene, caps replays per frame.
var maxReplay int

func newPredScene(t *testing.T, link memnet.Link, smooth int) *predScene {
	return newPredSceneOf(t, link, smooth, 1)
}

func newPredSceneOf(t *testing.T, link memnet.Link, smooth, clients int) *predScene {
	s := &predScene{ships: map[int]donburi.Entity{}, traj: map[uint32]shipPos{}, smooth: smooth}
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, shipPosition, "ship", replication.Interpolated(func(a, b shipPos, w float64) shipPos {
		return shipPos{a.X + (b.X-a.X)*float32(w), a.Y + (b.Y-a.Y)*float32(w)}
	}))
	s.in = systems.RegisterInput(reg, "pilot", systems.InputOptions[shipInput]{Step: stepShip, SmoothTicks: smooth, MaxReplay: maxReplay})
	systems.Predict(s.in, shipPosition, systems.PredictOptions[shipPos]{
		Smooth: func(exact, wrong, right shipPos, keep float64) shipPos {
			return shipPos{exact.X + (wrong.X-right.X)*float32(keep), exact.Y + (wrong.Y-right.Y)*float32(keep)}
		},
	})
	s.h = nettest.New(t, nettest.Options{
		Registry: reg, Clients: clients, Seed: 7, Link: link,
		Config: systems.Config{SnapshotEvery: 3},
		Systems: func(i int, n *nettest.Node) {
			if i >= 0 {
				n.ECS.AddSystem(func(*ecs.ECS) { s.in.Set(n.Net, pattern(n.Net.PredictedTick())) })
				return
			}
			n.ECS.AddSystem(func(*ecs.ECS) { s.server(n) })
		},
	})
	s.h.Connect()
	return s
}

func (s *predScene) server(n *nettest.Node) {
	for _, ev := range n.Events() {
		if ev.Kind == components.EventPeerAccepted {
			e := n.World.Create(components.Replicated, shipPosition, components.Owner)
			components.Owner.SetValue(n.World.Entry(e), components.OwnerData{Peer: int32(ev.PeerID)})
			s.ships[ev.PeerID] = e
		}
	}
	tick := n.Net.Tick()
	for id, e := range s.ships {
		if !n.World.Valid(e) {
			continue
		}
		entry := n.World.Entry(e)
		in, _ := s.in.Current(n.Net, id)
		stepShip(n.World, entry, in)
		if s.push != nil {
			shipPosition.Get(entry).X += s.push(tick)
		}
		if id == s.client().Net.ID() {
			s.traj[tick] = *shipPosition.Get(entry)
		}
	}
}

func (s *predScene) client() *nettest.Node { return s.h.Clients[0] }

// ship is the client's own ship entity (false until replicated).
func (s *predScene) ship() (donburi.Entity, bool) {
	var out donburi.Entity
	found := false
	c := s.client()
	components.Owner.Each(c.World, func(e *donburi.Entry) {
		if int(components.Owner.Get(e).Peer) == c.Net.ID() {
			out, found = e.Entity(), true
		}
	})
	return out, found
}

func (s *predScene) shown() shipPos {
	e, _ := s.ship()
	return *shipPosition.Get(s.client().World.Entry(e))
}

func dist(a, b shipPos) float64 { return math.Hypot(float64(a.X-b.X), float64(a.Y-b.Y)) }

// The link of the acceptance: 150 ms round trip, 30 ms jitter and
// 5% loss each way.
var link150 = memnet.Link{Latency: 75 * time.Millisecond, Jitter: 30 * time.Millisecond, Loss: 0.05}

// At 150 ms round trip, 30 ms jitter and 5% loss each way, after the
// clock settles: at most 0.5% of inputs reach the server late; the
// owning client's ship moves in the frame its input changes; the
// client's predicted trajectory equals the server's (an exact codec and
// a deterministic step: less than any quantization step); the loss each
// end measures is within 2 points of the conditioner's 5%.
func TestPredictionAt150msWithJitterAndLoss(t *testing.T) {
	s := newPredScene(t, link150, 12)
	h, c := s.h, s.client()
	h.StepUntil(2000, "own ship replicated", func() bool { _, ok := s.ship(); return ok })
	for range 600 { // ten seconds to settle
		h.Step()
	}
	before := s.in.Stats(h.Server.Net, c.Net.ID())
	firstPredicted := map[uint32]shipPos{}
	sameFrame, moves := 0, 0
	for range 3600 {
		was := s.shown()
		h.Step()
		tick := c.Net.PredictedTick()
		e, _ := s.ship()
		if v, ok := systems.Predicted(c.Net, s.in, shipPosition, e, tick); ok {
			if _, seen := firstPredicted[tick]; !seen {
				firstPredicted[tick] = v
			}
		}
		if in := pattern(tick); in != pattern(tick-1) && in != (shipInput{}) {
			moves++
			now := s.shown()
			want := shipPos{was.X + float32(in.DX)*shipSpeed, was.Y + float32(in.DY)*shipSpeed}
			if dist(now, want) < 1e-4 {
				sameFrame++
			}
		}
	}
	after := s.in.Stats(h.Server.Net, c.Net.ID())
	taken := (after.OnTime + after.Missing) - (before.OnTime + before.Missing)
	late := after.Late - before.Late
	missing := after.Missing - before.Missing
	lead, target := c.Net.InputLead()
	t.Logf("inputs: %d taken, %d late, %d missing; lead %.2f ticks (target %.2f); %v", taken, late, missing, lead, target, s.in.PredictionStats(c.Net))
	if taken < 3500 || float64(late) > 0.005*float64(taken) || float64(missing) > 0.005*float64(taken) {
		t.Errorf("%d of %d inputs late, %d missing: want at most 0.5%%", late, taken, missing)
	}
	if moves < 20 || sameFrame != moves {
		t.Errorf("the ship moved in the frame of its input %d times of %d", sameFrame, moves)
	}

	// The trajectories: what the client first predicted for each tick the
	// server simulated, and what the client holds after reconciling.
	diff, compared := 0, 0
	for tick, v := range firstPredicted {
		if a, ok := s.traj[tick]; ok {
			compared++
			if dist(a, v) > 0 {
				diff++
			}
		}
	}
	e, _ := s.ship()
	newest := c.Net.ReplicationClient(0).Newest()
	held := 0
	for tick := newest - 200; tick <= newest; tick++ {
		v, ok := systems.Predicted(c.Net, s.in, shipPosition, e, tick)
		if !ok {
			continue
		}
		held++
		if a := s.traj[tick]; dist(a, v) != 0 {
			t.Fatalf("tick %d: client holds %v, the server had %v", tick, v, a)
		}
	}
	t.Logf("first predictions: %d of %d differed from the server's; %d reconciled ticks equal", diff, compared, held)
	if compared < 3000 || float64(diff) > 0.01*float64(compared) || held < 190 {
		t.Errorf("%d of %d first predictions differed; %d reconciled ticks compared", diff, compared, held)
	}

	sl := h.Server.Peers()[c.Net.ID()]
	_ = sl
	srvLink := linkOf(t, h.Server, c.Net.ID())
	cliLink := linkOf(t, c, 1)
	t.Logf("server sees %+v; client sees %+v", srvLink, cliLink)
	for _, l := range []components.LinkData{srvLink, cliLink} {
		if math.Abs(l.Loss-0.05) > 0.02 || l.Samples < 1000 {
			t.Errorf("loss %.4f over %d: want 0.05 ± 0.02", l.Loss, l.Samples)
		}
		if l.RTT < 130*time.Millisecond || l.RTT > 190*time.Millisecond {
			t.Errorf("RTT %v: want about 150 ms", l.RTT)
		}
	}
}

func linkOf(t *testing.T, n *nettest.Node, peer int) components.LinkData {
	t.Helper()
	var out components.LinkData
	found := false
	components.RemotePeer.Each(n.World, func(e *donburi.Entry) {
		if components.RemotePeer.Get(e).ID == peer && e.HasComponent(components.Link) {
			out, found = components.Link.GetValue(e), true
		}
	})
	if !found {
		t.Fatalf("no link component for peer %d", peer)
	}
	return out
}

// pushes runs the scene while the server pushes the client's ship 10
// units along X every 120 ticks (a misprediction the client cannot
// foresee) and reports, for each push, how many frames passed until the
// client's exact prediction agreed with the server again, and the largest
// change of the shown position from one frame to the next.
func pushes(t *testing.T, smooth int) (latencies []int, worstJump float64) {
	const push, every, count = 10, 120, 6
	s := newPredScene(t, link150, smooth)
	h, c := s.h, s.client()
	h.StepUntil(2000, "own ship replicated", func() bool { _, ok := s.ship(); return ok })
	for range 600 {
		h.Step()
	}
	start := h.Server.Net.Tick() + 60
	s.push = func(tick uint32) float32 {
		if tick >= start && (tick-start)%every == 0 && (tick-start)/every < count {
			return push
		}
		return 0
	}
	type frame struct {
		server, pred uint32
		exact, shown shipPos
	}
	var frames []frame
	prev := s.shown()
	for range count*every + 120 {
		h.Step()
		e, _ := s.ship()
		tick := c.Net.PredictedTick()
		exact, _ := systems.Predicted(c.Net, s.in, shipPosition, e, tick)
		shown := s.shown()
		worstJump = max(worstJump, dist(shown, prev))
		prev = shown
		frames = append(frames, frame{h.Server.Net.Tick(), tick, exact, shown})
	}
	for k := range uint32(count) {
		at := start + k*every
		for i, f := range frames {
			if f.server < at {
				continue
			}
			first := i
			for ; i < len(frames) && dist(frames[i].exact, s.traj[frames[i].pred]) != 0; i++ {
			}
			latencies = append(latencies, i-first)
			break
		}
	}
	return latencies, worstJump
}

// A forced misprediction (the server pushes the player) is corrected in
// the client's simulation within one round trip plus one snapshot
// interval (9 + 3 ticks at 150 ms and 20 Hz snapshots), and shown
// smoothly: no frame moves the shown ship more than two ticks of flight
// plus the push spread over SmoothTicks, where without smoothing the push
// shows as one jump.
func TestMispredictionCorrectedWithinARoundTripAndSmoothed(t *testing.T) {
	const smooth = 12
	latencies, jump := pushes(t, smooth)
	t.Logf("frames to correct each push: %v; largest frame-to-frame move %.3f", latencies, jump)
	rtt := int(math.Ceil(150.0 / (1000.0 / 60)))
	for _, l := range latencies {
		if l > rtt+3 {
			t.Errorf("a push took %d frames to correct: want at most %d", l, rtt+3)
		}
	}
	if len(latencies) != 6 {
		t.Fatalf("%d pushes measured", len(latencies))
	}
	bound := 2*math.Sqrt2*shipSpeed + 10.0/smooth + 1e-3
	if jump > bound {
		t.Errorf("the shown ship jumped %.3f in one frame: want at most %.3f", jump, bound)
	}
	_, raw := pushes(t, -1)
	if raw < 10 {
		t.Errorf("without smoothing the largest move is %.3f: the push should show as one jump", raw)
	}
}

// When the latency changes, the predicted clock follows by running a few
// percent faster or slower: each frame it advances 0, 1 or 2 ticks (never
// back), and the lead settles on the new target, the new one-way latency
// plus a little.
func TestPredictedClockFollowsLatencySmoothly(t *testing.T) {
	s := newPredScene(t, memnet.Link{Latency: 25 * time.Millisecond, Jitter: 5 * time.Millisecond}, 12)
	h, c := s.h, s.client()
	for range 600 {
		h.Step()
	}
	for _, latency := range []time.Duration{100 * time.Millisecond, 25 * time.Millisecond} {
		h.Mem.SetLink(memnet.Link{Latency: latency, Jitter: 5 * time.Millisecond})
		from, _ := c.Net.InputLead()
		tick := c.Net.PredictedTick()
		for i := range 1200 {
			h.Step()
			next := c.Net.PredictedTick()
			if d := next - tick; d > 2 {
				t.Fatalf("latency %v, frame %d: the predicted tick jumped by %d", latency, i, d)
			}
			tick = next
		}
		lead, target := c.Net.InputLead()
		t.Logf("latency %v: lead %.2f -> %.2f ticks, target %.2f", latency, from, lead, target)
		if math.Abs(lead-target) > 1 {
			t.Errorf("latency %v: lead %.2f did not settle on its target %.2f", latency, lead, target)
		}
		if want := float64(latency) / float64(time.Second/60); lead < want || lead > want+4 {
			t.Errorf("latency %v: lead %.2f ticks, want the one-way %.1f plus a few", latency, lead, want)
		}
	}
}

// With two players, each client predicts its own ship only: the other's
// is interpolated between snapshots, a few ticks behind the server, as
// replication shows it.
func TestOnlyTheOwnersShipIsPredicted(t *testing.T) {
	s := newPredSceneOf(t, memnet.Link{Latency: 50 * time.Millisecond}, 12, 2)
	h := s.h
	for range 600 {
		h.Step()
	}
	for i, c := range h.Clients {
		if n := s.in.PredictionStats(c.Net).Entities; n != 1 {
			t.Fatalf("client %d predicts %d entities, want its own ship", i, n)
		}
	}
	// Client 1's view of client 0's ship trails the server; client 0's own
	// leads it.
	owner, other := h.Clients[0], h.Clients[1]
	var own, seen shipPos
	components.Owner.Each(owner.World, func(e *donburi.Entry) {
		if int(components.Owner.Get(e).Peer) == owner.Net.ID() {
			own = *shipPosition.Get(e)
		}
	})
	components.Owner.Each(other.World, func(e *donburi.Entry) {
		if int(components.Owner.Get(e).Peer) == owner.Net.ID() {
			seen = *shipPosition.Get(e)
		}
	})
	view := other.Net.InterpolationTick()
	pt := owner.Net.PredictedTick()
	h.StepUntil(60, "the server reaches the predicted tick", func() bool { return h.Server.Net.Tick() > pt })
	if want := s.traj[pt]; own != want {
		t.Errorf("owner showed %v, the server then had %v at the predicted tick %d", own, want, pt)
	}
	lo, hi := s.traj[uint32(view)], s.traj[uint32(view)+1]
	if dist(seen, lo) > dist(lo, hi)+1e-4 || dist(seen, hi) > dist(lo, hi)+1e-4 {
		t.Errorf("the other client shows %v at tick %.2f, between %v and %v on the server", seen, view, lo, hi)
	}
}

// Prediction can be turned off and on while running: off, the own ship
// shows what replication applies (interpolated, behind the server); on
// again, it leads the server once more and matches it.
func TestPredictionTurnsOffAndOn(t *testing.T) {
	s := newPredScene(t, memnet.Link{Latency: 50 * time.Millisecond}, 12)
	h, c := s.h, s.client()
	for range 400 {
		h.Step()
	}
	s.in.SetPrediction(c.Net, false)
	for range 60 {
		h.Step()
	}
	if st := s.in.PredictionStats(c.Net); !st.Off || st.Entities != 0 {
		t.Fatalf("prediction off: %+v", st)
	}
	view := c.Net.InterpolationTick()
	lo, hi := s.traj[uint32(view)], s.traj[uint32(view)+1]
	if shown := s.shown(); dist(shown, lo) > dist(lo, hi)+1e-4 || dist(shown, hi) > dist(lo, hi)+1e-4 {
		t.Errorf("prediction off: shows %v, want the server's between %v and %v at tick %.2f", shown, lo, hi, view)
	}
	s.in.SetPrediction(c.Net, true)
	for range 60 {
		h.Step()
	}
	pt, shown := c.Net.PredictedTick(), s.shown()
	h.StepUntil(60, "the server reaches the predicted tick", func() bool { return h.Server.Net.Tick() > pt })
	if want := s.traj[pt]; shown != want {
		t.Errorf("prediction on again: shows %v, the server then had %v", shown, want)
	}
}

// MaxReplay bounds the work of one frame: with a cap below the distance
// from a snapshot to the predicted tick (about 14 ticks at 150 ms), no
// frame replays more than the cap; a longer replay goes on over the next
// frames, and the prediction still converges on the server's.
func TestReplayPerFrameIsCapped(t *testing.T) {
	maxReplay = 6
	defer func() { maxReplay = 0 }()
	s := newPredScene(t, link150, 12)
	h, c := s.h, s.client()
	start := h.Server.Net.Tick() + 600
	s.push = func(tick uint32) float32 {
		if tick > start && tick%40 == 0 {
			return 3 // a misprediction every 40 ticks
		}
		return 0
	}
	for range 600 {
		h.Step()
	}
	worst := uint64(0)
	for range 1200 {
		before := s.in.PredictionStats(c.Net).Replayed
		h.Step()
		worst = max(worst, s.in.PredictionStats(c.Net).Replayed-before)
	}
	st := s.in.PredictionStats(c.Net)
	t.Logf("largest replay in one frame: %d ticks; %+v", worst, st)
	if worst > 6 {
		t.Errorf("a frame replayed %d ticks, over the cap of 6", worst)
	}
	if st.Corrections < 25 || st.Deferred == 0 {
		t.Errorf("%d corrections, %d cut short: want the ~30 pushes corrected over several frames", st.Corrections, st.Deferred)
	}
	s.push = nil
	for range 120 {
		h.Step()
	}
	e, _ := s.ship()
	pt := c.Net.PredictedTick()
	v, _ := systems.Predicted(c.Net, s.in, shipPosition, e, pt)
	h.StepUntil(60, "the server reaches the predicted tick", func() bool { return h.Server.Net.Tick() > pt })
	if want := s.traj[pt]; v != want {
		t.Errorf("after the pushes: predicted %v for tick %d, the server had %v", v, pt, want)
	}
}
