package systems_test

import (
	"maps"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
)

// conditioned gives a peer a link conditioner with the same conditions
// both ways.
func conditioned(seed uint64, d ecsnet.LinkDirection) func(*ecsnet.Peer) error {
	return func(p *ecsnet.Peer) error {
		return p.SetLinkConditioner(ecsnet.LinkConditions{Seed: seed, Out: d, In: d})
	}
}

// degrade switches every client's link to d (they connected on a perfect
// conditioned link, so the handshake does not wait out ENet's backoff).
func degrade(t *testing.T, h *nettest.Harness, seed uint64, d ecsnet.LinkDirection) {
	t.Helper()
	for _, c := range h.Clients {
		must(t, enetPeer(c.Net).SetLinkConditioner(ecsnet.LinkConditions{Seed: seed, Out: d, In: d}))
	}
}

// At 100 ms round trip (50 ms each way on the client's link), in real
// time at 60 Hz, every client's tick stays within one of the server's.
func TestClientTickWithinOneAt100msRoundTrip(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 s in real time")
	}
	reg := systems.NewRegistry()
	h := nettest.New(t, nettest.Options{
		Registry: reg, Clients: 2, RealTime: true,
		Config: systems.Config{Transport: ecsnet.Options{BindIP: "127.0.0.1", Configure: conditioned(1, ecsnet.LinkDirection{Latency: 50 * time.Millisecond})}},
	})
	h.Connect()
	// Let the estimate settle on a few ping samples (a quarter second each).
	for range 60 {
		h.Step()
	}
	worst := 0
	for range 180 {
		h.Step()
		for _, c := range h.Clients {
			d := int(int32(c.Net.Tick() - h.Server.Net.Tick()))
			worst = max(worst, d, -d)
		}
	}
	rtt := h.Clients[0].Peers()[1].Stats.RTT
	if rtt < 90*time.Millisecond {
		t.Fatalf("measured RTT %v: the conditioner is not in the path", rtt)
	}
	if worst > 1 {
		t.Errorf("client tick strayed %d ticks from the server's at RTT %v", worst, rtt)
	}
}

// With 20% loss and reordering both ways, replication keeps up with spawns,
// changes and despawns, and converges to the server's exact state within a
// few snapshots once the loss stops.
func TestReplicationConvergesAfterLossAndReordering(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 4 s in real time")
	}
	reg := systems.NewRegistry()
	repl := replication.NewRegistry()
	replication.Register(repl, transformType, "transform")
	bad := ecsnet.LinkDirection{Loss: 0.2, Reorder: 0.2, Latency: 20 * time.Millisecond, Jitter: 10 * time.Millisecond}
	h := nettest.New(t, nettest.Options{
		Registry: reg, Clients: 2, RealTime: true,
		Config: systems.Config{Replication: repl, SnapshotEvery: 2, Transport: ecsnet.Options{BindIP: "127.0.0.1", Configure: conditioned(2, ecsnet.LinkDirection{})}},
	})
	h.Connect()
	degrade(t, h, 2, bad)
	w := h.Server.World
	var ents []donburi.Entity
	for i := range 200 { // about a dozen datagrams of full state
		e := w.Create(components.Replicated, transformType)
		transformType.SetValue(w.Entry(e), Transform{X: float32(i)})
		ents = append(ents, e)
	}
	for tick := range 180 {
		for i, e := range ents {
			if w.Valid(e) && (i+tick)%7 == 0 {
				transformType.SetValue(w.Entry(e), Transform{X: float32(i), Y: float32(tick)})
			}
		}
		if tick%15 == 0 {
			ents = append(ents, w.Create(components.Replicated, transformType))
			if victim := ents[tick%len(ents)]; w.Valid(victim) {
				w.Remove(victim)
			}
		}
		h.Step()
	}
	for _, c := range h.Clients {
		must(t, enetPeer(c.Net).SetLinkConditioner(ecsnet.LinkConditions{}))
	}
	for _, c := range h.Clients {
		// A snapshot every 2 ticks; a round trip is a few ticks.
		took := h.StepUntil(60, "convergence once the loss stops", func() bool {
			return maps.Equal(transformsByID(w), transformsByID(c.World))
		})
		t.Logf("converged %d ticks (%d snapshots) after the loss stopped", took, took/2)
	}
}

// Input is a player's input for one tick.
type Input struct {
	Tick    uint32
	Buttons uint8
}

// Under 20% loss both ways, redundant input batches deliver every tick's
// input to the server exactly once, at its tick.
func TestInputsArriveOnceEachAtTheirTickUnderLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 5 s in real time")
	}
	reg := systems.NewRegistry()
	inputs := systems.RegisterMessageCodec[replication.InputBatch[Input]](reg, "input",
		replication.BatchCodec[Input](nil), systems.Via(2, ecsnet.TransferUnreliable))
	h := nettest.New(t, nettest.Options{
		Registry: reg, Clients: 2, RealTime: true,
		Config: systems.Config{Transport: ecsnet.Options{BindIP: "127.0.0.1", Configure: conditioned(3, ecsnet.LinkDirection{})}},
	})
	h.Connect()
	degrade(t, h, 3, ecsnet.LinkDirection{Loss: 0.2})
	queue := replication.NewInputQueue[Input]()
	histories := map[int]*replication.InputHistory[Input]{}
	taken := map[int]map[uint32]int{}
	const buffer = 6 // the server runs this many ticks behind the inputs it takes
	start := h.Server.Net.Tick() + buffer + 1
	for range 300 {
		for _, c := range h.Clients {
			id := c.Net.ID()
			hist := histories[id]
			if hist == nil {
				hist = replication.NewInputHistory[Input](8)
				histories[id] = hist
			}
			tick := c.Net.Tick()
			hist.Record(tick, Input{Tick: tick, Buttons: uint8(tick)})
			must(t, inputs.Send(c.Net, 1, hist.Batch()))
		}
		h.Step()
		for _, m := range inputs.Received(h.Server.Net) {
			queue.Add(m.From, m.Value)
		}
		at := h.Server.Net.Tick() - buffer
		if at < start {
			continue
		}
		for _, c := range h.Clients {
			id := c.Net.ID()
			if v, ok := queue.Take(id, at); ok {
				// A tick the client's estimate skipped (it corrects in
				// steps) repeats the input before it; no input is ever
				// taken early.
				if v.Tick > at {
					t.Fatalf("input stamped %d taken at tick %d", v.Tick, at)
				}
				if taken[id] == nil {
					taken[id] = map[uint32]int{}
				}
				taken[id][at]++
			}
		}
	}
	for id, ticks := range taken {
		for tick, n := range ticks {
			if n != 1 {
				t.Errorf("client %d: input of tick %d taken %d times", id, tick, n)
			}
		}
		// Losing one needs eight losses in a row (0.2^8).
		if len(ticks) < 280 {
			t.Errorf("client %d: %d inputs taken of about 290", id, len(ticks))
		}
	}
}
