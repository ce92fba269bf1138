package replication

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
)

func scopedLink(t *testing.T, opts ServerOptions, clients int) *link {
	reg := testRegistry()
	l := newLink(t, reg, 0)
	l.server = NewServer(reg, opts)
	for range clients {
		l.addClient(reg)
	}
	return l
}

var gridPos = PositionOf(posType, func(p *position) (float64, float64) { return float64(p.X), float64(p.Y) })

// ids are the network IDs of a world's replicated entities.
func ids(w donburi.World) map[uint32]bool {
	out := map[uint32]bool{}
	components.NetworkID.Each(w, func(e *donburi.Entry) { out[components.NetworkID.GetValue(e).ID] = true })
	return out
}

func idOf(w donburi.World, e donburi.Entity) uint32 {
	return components.NetworkID.Get(w.Entry(e)).ID
}

func TestAClientSeesOnlyWhatIsInItsScopeUnderLoss(t *testing.T) {
	l := scopedLink(t, ServerOptions{Interest: &Interest{Position: gridPos, CellSize: 10}}, 2)
	l.loss, l.reorder = 0.3, true
	near := spawn(l.world, position{1, 1})
	far := spawn(l.world, position{100, 100})
	kept := spawn(l.world, position{50, 0}, components.Interest)
	components.Interest.Get(l.world.Entry(kept)).Keep = true
	room := spawn(l.world, position{-500, -500}, components.Interest)
	components.Interest.Get(l.world.Entry(room)).Groups = 1 << 3
	unplaced := l.world.Create(components.Replicated, velType)
	a, b := l.clients[0], l.clients[1]
	l.server.SetView(a.id, View{X: 0, Y: 0, Radius: 60})
	l.server.SetView(b.id, View{X: 100, Y: 100, Radius: 5, Groups: 1 << 3})
	for range 30 {
		l.step()
	}
	l.heal()
	id := func(e donburi.Entity) uint32 { return idOf(l.world, e) }
	want := func(c *linkClient, es ...donburi.Entity) {
		t.Helper()
		got := ids(c.world)
		if len(got) != len(es) {
			t.Fatalf("client %d has %v, want %d entities", c.id, got, len(es))
		}
		for _, e := range es {
			if !got[id(e)] {
				t.Fatalf("client %d lacks entity %d: has %v", c.id, id(e), got)
			}
		}
	}
	want(a, near, kept, unplaced)
	want(b, far, room, unplaced)

	// near leaves a's view and enters b's; kept leaves a's view but stays frozen there
	posType.Get(l.world.Entry(near)).X, posType.Get(l.world.Entry(near)).Y = 99, 99
	posType.Get(l.world.Entry(kept)).X = 70
	l.loss = 0.3
	for range 30 {
		l.step()
	}
	l.heal()
	want(a, kept, unplaced)
	want(b, far, room, unplaced, near)
	if ce, ok := a.c.Entity(id(kept)); !ok || posType.Get(a.world.Entry(ce)).X != 50 {
		t.Fatalf("kept entity should be frozen at x=50 on client %d", a.id)
	}
	// overrides beat the rules
	l.server.SetOverride(a.id, far, Always)
	l.server.SetOverride(b.id, room, Never)
	for range 3 {
		l.step()
	}
	want(a, kept, unplaced, far)
	want(b, far, unplaced, near)
	// a frozen entity is despawned when it stops existing
	l.world.Remove(kept)
	for range 3 {
		l.step()
	}
	want(a, unplaced, far)
}

func TestABudgetSpreadsChangesAndLosesNone(t *testing.T) {
	const share = 300
	l := scopedLink(t, ServerOptions{SnapshotBytes: share}, 2)
	l.loss, l.reorder = 0.2, true
	var es []donburi.Entity
	for i := range 200 {
		es = append(es, spawn(l.world, position{float32(i), 0}))
	}
	for tick := range 60 {
		for i, e := range es {
			if (i+tick)%3 == 0 {
				posType.Get(l.world.Entry(e)).Y++
			}
		}
		l.step()
		for _, c := range l.clients {
			parts, _ := l.server.Datagrams(c.id) // already acked or the same bytes again
			sum := 0
			for _, p := range parts {
				sum += len(p)
			}
			if sum > share {
				t.Fatalf("snapshot of %d bytes over a share of %d", sum, share)
			}
		}
	}
	l.loss, l.reorder = 0, false
	steps := l.stepUntilConverged(200)
	if steps < 2 {
		t.Fatalf("converged in %d steps: the budget did not bind", steps)
	}
	l.requireConverged()
}

// stepUntilConverged steps until every client matches the server, failing
// after max steps; it returns the steps taken.
func (l *link) stepUntilConverged(max int) int {
	l.t.Helper()
	for i := 1; i <= max; i++ {
		l.step()
		ok := true
		for _, c := range l.clients {
			ok = ok && l.converged(c)
		}
		if ok {
			return i
		}
	}
	l.t.Fatalf("not converged after %d steps", max)
	return 0
}

// An entity too large for one datagram is never sent, and counted, while
// the rest of the world still reaches the client: the client's state never
// disagrees with what the server believes it sent.
func TestAnOversizeEntityIsCountedNotSent(t *testing.T) {
	for share, opts := range map[int]ServerOptions{
		0:   {Interest: &Interest{}, Budget: 40},
		400: {SnapshotBytes: 400, Budget: 40},
	} {
		l := scopedLink(t, opts, 1)
		big := spawn(l.world, position{}, labelType)
		labelType.SetValue(l.world.Entry(big), label{"a label far too long to fit"})
		small := spawn(l.world, position{1, 1})
		for range 5 {
			l.step()
		}
		posType.Get(l.world.Entry(small)).X = 7
		l.step()
		l.step()
		c := l.clients[0]
		got := ids(c.world)
		if len(got) != 1 || !got[idOf(l.world, small)] {
			t.Fatalf("share %d: client holds %v, want only the small entity", share, got)
		}
		if e, _ := c.c.Entity(idOf(l.world, small)); posType.Get(c.world.Entry(e)).X != 7 {
			t.Fatalf("share %d: the small entity's change did not arrive", share)
		}
		if l.server.Stats().OversizeDrops == 0 || !errors.Is(l.server.Oversized(), ErrTooLarge) {
			t.Fatalf("share %d: oversize entity not counted (%d) or not reported (%v)", share, l.server.Stats().OversizeDrops, l.server.Oversized())
		}
	}
}

// Under a budget that fits a few entities a snapshot, an entity of high
// base priority, or one near the view's centre, has its changes sent more
// often than the many others that change as often; the others still get
// theirs through.
func TestPriorityAndDistanceOrderWhatFits(t *testing.T) {
	l := scopedLink(t, ServerOptions{SnapshotBytes: 120, Interest: &Interest{Position: gridPos, CellSize: 100}}, 1)
	c := l.clients[0]
	l.server.SetView(c.id, View{Radius: 1000})
	var es []donburi.Entity
	for i := range 40 {
		es = append(es, spawn(l.world, position{float32(500 + i), 500}, components.Interest))
	}
	vip := es[0]
	components.Interest.Get(l.world.Entry(vip)).Priority = 20
	near := spawn(l.world, position{1, 1}, components.Interest)
	es = append(es, near)
	l.stepUntilConverged(200)
	seen := map[donburi.Entity]int{}
	last := map[donburi.Entity]float32{}
	for tick := range 60 {
		for _, e := range es {
			posType.Get(l.world.Entry(e)).Y = float32(tick + 1) // everything changes, every snapshot
		}
		l.step()
		for _, e := range es {
			ce, _ := c.c.Entity(idOf(l.world, e))
			if y := posType.Get(c.world.Entry(ce)).Y; y != last[e] {
				seen[e]++
				last[e] = y
			}
		}
	}
	far := es[20]
	if seen[vip] <= 3*seen[far] || 2*seen[near] <= 3*seen[far] {
		t.Fatalf("updates in 60 snapshots: priority 20 %d, near %d, far and ordinary %d", seen[vip], seen[near], seen[far])
	}
	if seen[far] == 0 {
		t.Fatal("an ordinary entity starved")
	}
	l.stepUntilConverged(200)
}

// A view far wider than the world (or at an absurd place) costs no more
// than walking the occupied cells, and sees what it covers.
func TestAHugeViewWalksOnlyOccupiedCells(t *testing.T) {
	l := scopedLink(t, ServerOptions{Interest: &Interest{Position: gridPos, CellSize: 1}}, 2)
	spawn(l.world, position{3, 4})
	spawn(l.world, position{-3e9, 4e9})
	l.server.SetView(l.clients[0].id, View{Radius: 1e12})
	l.server.SetView(l.clients[1].id, View{X: math.Inf(1), Y: math.NaN(), Radius: math.MaxFloat64})
	l.step()
	l.step()
	if n := len(ids(l.clients[0].world)); n != 2 {
		t.Fatalf("the huge view sees %d entities, want 2", n)
	}
	if n := len(ids(l.clients[1].world)); n != 0 {
		t.Fatalf("a view at infinity sees %d entities", n)
	}
}

// A Keep entity that left a client's view stays frozen there however long
// the link is down: the server keeps the client's acknowledged snapshot
// as its baseline (no full state that would omit the entity and so
// despawn it), and only a real despawn removes it.
func TestAFrozenEntitySurvivesALongOutage(t *testing.T) {
	l, kept, frozenAt := frozenSetup(t, 0, false)
	c := l.clients[0]
	near := spawn(l.world, position{1, 1})
	l.stepUntilConvergedExcept(kept, 50)
	full := l.server.Stats().FullStates
	l.loss = 1 // nothing gets through, either way, for longer than any history
	for i := range 100 {
		posType.Get(l.world.Entry(kept)).X = float32(80 + i)
		posType.Get(l.world.Entry(near)).X = float32(i % 7)
		l.step()
	}
	l.heal()
	if x, ok := frozenAt(); !ok || x != 50 {
		t.Fatalf("after the outage: kept entity at %v (present %v), want still frozen at 50", x, ok)
	}
	if ce, _ := c.c.Entity(idOf(l.world, near)); posType.Get(c.world.Entry(ce)).X != posType.Get(l.world.Entry(near)).X {
		t.Fatal("the entity in view did not catch up after the outage")
	}
	if got := l.server.Stats().FullStates; got != full {
		t.Errorf("%d full states after the outage: the acknowledged baseline should have been kept", got-full)
	}
	l.world.Remove(kept)
	l.step()
	l.step()
	if _, ok := frozenAt(); ok {
		t.Fatal("a frozen entity outlived its despawn on the server")
	}
}

// A late joiner in a world far larger than its budget, with acks taking
// several snapshots to come back, receives the world over several
// snapshots, each within the budget and each bringing entities it does
// not have yet: nothing it received is taken back by a later snapshot
// (before its first ack, or after), and it holds the whole world after
// about as many snapshots as the world needs at the budget, plus the round
// trip.
func TestALateJoinerReceivesABigWorldProgressively(t *testing.T) {
	const share, n, lag = 300, 400, 4
	for _, in := range []*Interest{nil, {Position: gridPos, CellSize: 100}} {
		l := scopedLink(t, ServerOptions{SnapshotBytes: share, Interest: in}, 0)
		for i := range n {
			spawn(l.world, position{float32(i % 20), float32(i / 20)})
		}
		l.ackLag = lag
		c := l.addClient(testRegistry())
		l.server.SetView(c.id, View{Radius: 1000})
		had := map[uint32]bool{}
		var steps, perSnapshot int
		for steps = 1; steps <= 100; steps++ {
			l.step()
			parts, _ := l.server.Datagrams(c.id)
			if sum := bytesOf(parts); sum > share {
				t.Fatalf("snapshot %d of %d bytes over a share of %d", steps, sum, share)
			}
			got := ids(c.world)
			for id := range had {
				if !got[id] {
					t.Fatalf("interest %v, snapshot %d: entity %d was taken back (client holds %d)", in != nil, steps, id, len(got))
				}
			}
			if steps == 1 {
				perSnapshot = len(got)
			}
			had = got
			if l.converged(c) {
				break
			}
		}
		if !l.converged(c) {
			t.Fatalf("interest %v: late joiner holds %d of %d entities after %d snapshots", in != nil, len(had), n, steps)
		}
		if perSnapshot == 0 || perSnapshot >= n {
			t.Fatalf("first snapshot carried %d of %d entities: the budget did not bind", perSnapshot, n)
		}
		if most := n/perSnapshot + lag + 3; steps > most {
			t.Fatalf("interest %v: converged after %d snapshots, want at most %d (%d entities a snapshot)", in != nil, steps, most, perSnapshot)
		}
	}
}

// The same under loss, reordering and a round trip of several snapshots:
// a lost snapshot costs time, not convergence.
func TestALateJoinerConvergesUnderLoss(t *testing.T) {
	l := scopedLink(t, ServerOptions{SnapshotBytes: 300}, 0)
	for i := range 400 {
		spawn(l.world, position{float32(i), 0})
	}
	l.ackLag = 3
	l.loss, l.reorder = 0.15, true
	l.addClient(testRegistry())
	steps := l.stepUntilConverged(400)
	t.Logf("converged after %d snapshots; client %+v", steps, l.clients[0].c.Stats())
	if l.clients[0].c.Stats().NoBaseline == 0 {
		t.Fatal("no snapshot lost its baseline: the loss did not break a chain, so recovery was not tested")
	}
}

// Under a budget that cannot carry every change, with acks several
// snapshots late, what a client shows never goes back in time: a change
// it received is not undone by a later snapshot that did not carry it.
func TestABudgetNeverTakesBackAChange(t *testing.T) {
	l := scopedLink(t, ServerOptions{SnapshotBytes: 200}, 1)
	l.ackLag = 4
	c := l.clients[0]
	var es []donburi.Entity
	for i := range 60 {
		es = append(es, spawn(l.world, position{float32(i), 0}))
	}
	l.stepUntilConverged(100)
	for tick := range 80 {
		for _, e := range es {
			posType.Get(l.world.Entry(e)).Y = float32(tick + 1)
		}
		before := map[uint32]float32{}
		for _, e := range es {
			ce, _ := c.c.Entity(idOf(l.world, e))
			before[idOf(l.world, e)] = posType.Get(c.world.Entry(ce)).Y
		}
		l.step()
		for _, e := range es {
			ce, ok := c.c.Entity(idOf(l.world, e))
			if !ok || !c.world.Valid(ce) {
				t.Fatalf("snapshot %d: entity %d vanished from the client", tick, idOf(l.world, e))
			}
			if y := posType.Get(c.world.Entry(ce)).Y; y < before[idOf(l.world, e)] {
				t.Fatalf("snapshot %d: entity %d went back from y=%v to %v", tick, idOf(l.world, e), before[idOf(l.world, e)], y)
			}
		}
	}
	l.stepUntilConverged(100)
}

func bytesOf(parts [][]byte) int {
	sum := 0
	for _, p := range parts {
		sum += len(p)
	}
	return sum
}

// Snapshots chained under a budget may arrive out of order: one that
// comes before its baseline waits for it instead of being dropped, and
// both complete when the baseline does.
func TestASnapshotWaitsForItsBaselineWhenReordered(t *testing.T) {
	l := scopedLink(t, ServerOptions{SnapshotBytes: 200}, 1)
	for i := range 100 {
		spawn(l.world, position{float32(i), 0})
	}
	c := l.clients[0]
	var snaps [][][]byte
	for range 3 { // no acks: a chain of three
		l.tick++
		l.server.Capture(l.world, l.tick)
		parts, err := l.server.Datagrams(c.id)
		must(t, err)
		snaps = append(snaps, parts)
	}
	if h, _ := parsePartHeader(snaps[2][0]); h.base != 2 {
		t.Fatalf("third snapshot against %d, want a chain (against 2)", h.base)
	}
	for _, i := range []int{2, 1, 0} {
		for _, p := range snaps[i] {
			must(t, c.c.HandleSnapshot(p))
		}
	}
	if st := c.c.Stats(); c.c.Newest() != 3 || st.NoBaseline != 0 || st.Completed != 3 {
		t.Fatalf("newest %d, stats %+v: want all three complete", c.c.Newest(), st)
	}
	c.c.Apply(c.world)
	if n := len(ids(c.world)); n == 0 || n >= 100 {
		t.Fatalf("client holds %d entities after three budgeted snapshots", n)
	}
}

// Churn under every hazard at once: a budget that binds, acks several
// snapshots late, loss, reordering, entities spawning, moving through
// views, freezing and despawning. Once the link heals every client holds
// its scope at the server's values, and beyond it only frozen Keep
// entities that still exist; no datagram was ever refused as malformed.
func TestBudgetChainsConvergeUnderChurn(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		l := scopedLink(t, ServerOptions{SnapshotBytes: 250, Interest: &Interest{Position: gridPos, CellSize: 20}}, 3)
		l.rng = rand.New(rand.NewPCG(seed, 9))
		l.ackLag = int(seed) + 1
		l.loss, l.reorder = 0.1, true
		rng := rand.New(rand.NewPCG(seed, 10))
		for i, c := range l.clients {
			l.server.SetView(c.id, View{X: float64(i * 60), Radius: 50})
		}
		var es []donburi.Entity
		add := func() {
			e := spawn(l.world, position{float32(rng.IntN(200)), float32(rng.IntN(40))}, components.Interest)
			components.Interest.Get(l.world.Entry(e)).Keep = rng.IntN(5) == 0
			es = append(es, e)
		}
		for range 150 {
			add()
		}
		for range 150 {
			for _, e := range es {
				if l.world.Valid(e) && rng.IntN(4) == 0 {
					p := posType.Get(l.world.Entry(e))
					p.X += float32(rng.IntN(5) - 2)
				}
			}
			if e := es[rng.IntN(len(es))]; l.world.Valid(e) && rng.IntN(3) == 0 {
				l.world.Remove(e)
				add()
			}
			l.step()
		}
		l.loss, l.reorder = 0, false
		for _, c := range l.clients {
			c.held = nil
		}
		// the scope rules, as the server applies them: all within 50 of the view
		for i, c := range l.clients {
			steps := 0
			for ; steps < 300; steps++ {
				want, kept := map[uint32]bool{}, map[uint32]bool{}
				components.NetworkID.Each(l.world, func(e *donburi.Entry) {
					id := components.NetworkID.GetValue(e).ID
					p := posType.Get(e)
					if math.Hypot(float64(p.X)-float64(i*60), float64(p.Y)) <= 50 {
						want[id] = true
					}
					kept[id] = components.Interest.Get(e).Keep
				})
				got := ids(c.world)
				frozenOnly := true // beyond its scope, a client holds only live Keep entities
				for id := range got {
					frozenOnly = frozenOnly && (want[id] || kept[id])
				}
				if frozenOnly && subset(want, got) && sameValues(l.world, c.world, want) {
					break
				}
				l.step()
			}
			if steps == 300 {
				t.Fatalf("seed %d: client %d did not converge on its scope: has %d entities", seed, c.id, len(ids(c.world)))
			}
			if st := c.c.Stats(); st.Malformed != 0 {
				t.Fatalf("seed %d: client %d refused %d datagrams as malformed", seed, c.id, st.Malformed)
			}
		}
	}
}

func subset(a, b map[uint32]bool) bool {
	for id := range a {
		if !b[id] {
			return false
		}
	}
	return true
}

// sameValues reports whether the entities of ids hold the same state in
// both worlds.
func sameValues(server, client donburi.World, ids map[uint32]bool) bool {
	want, got := state(server), state(client)
	for id := range ids {
		if !reflect.DeepEqual(want[id], got[id]) {
			return false
		}
	}
	return true
}

// An entity that fits a datagram but not a snapshot's share under the
// budget can never be sent: the rest of the world still arrives, and the
// game learns of it through Oversized.
func TestAnEntityOverTheShareIsReported(t *testing.T) {
	l := scopedLink(t, ServerOptions{SnapshotBytes: 40}, 1)
	big := spawn(l.world, position{}, labelType)
	labelType.SetValue(l.world.Entry(big), label{"a label far too long to fit"})
	small := spawn(l.world, position{1, 1})
	l.stepUntilConvergedExcept(big, 20)
	if !errors.Is(l.server.Oversized(), ErrTooLarge) {
		t.Fatalf("Oversized() = %v, want an ErrTooLarge", l.server.Oversized())
	}
	if got := ids(l.clients[0].world); len(got) != 1 || !got[idOf(l.world, small)] {
		t.Fatalf("client holds %v, want only the small entity", got)
	}
}

// stepUntilConvergedExcept steps until every client holds the server's
// state, entity e aside (which it may or may not hold, at any value),
// failing after max steps.
func (l *link) stepUntilConvergedExcept(e donburi.Entity, max int) {
	l.t.Helper()
	for range max {
		l.step()
		id := idOf(l.world, e)
		want := state(l.world)
		delete(want, id)
		ok := true
		for _, c := range l.clients {
			got := state(c.world)
			delete(got, id)
			ok = ok && reflect.DeepEqual(want, got)
		}
		if ok {
			return
		}
	}
	l.t.Fatalf("not converged after %d steps", max)
}

// An outage of the way back only (acks lost, snapshots arriving), longer
// than either side's history: the client keeps the snapshot the server
// goes on encoding against, so once acks get through again the server
// carries on with deltas (no full state), and entities frozen on the
// client stay frozen.
func TestAFrozenEntitySurvivesAnOutageOfTheAcks(t *testing.T) {
	for _, share := range []int{0, 150} { // under a budget too, with a crowd in view
		t.Run(fmt.Sprintf("share=%d", share), func(t *testing.T) {
			l, kept, frozenAt := frozenSetup(t, share, false)
			full := l.server.Stats().FullStates
			near := spawn(l.world, position{1, 1})
			l.stepUntilConvergedExcept(kept, 50)
			l.ackLoss = 1
			for i := range 100 {
				posType.Get(l.world.Entry(kept)).X = float32(80 + i)
				posType.Get(l.world.Entry(near)).X = float32(i % 7)
				l.step()
			}
			l.ackLoss = 0
			l.stepUntilConvergedExcept(kept, 30)
			if got := l.server.Stats().FullStates; got != full {
				t.Errorf("%d full states after the outage, want none", got-full)
			}
			if x, ok := frozenAt(); !ok || x != 50 {
				t.Fatalf("after the outage: kept entity at %v (present %v), want still frozen at 50", x, ok)
			}
		})
	}
}

// A full state sent to a client that already holds state (here: before
// its first ack, a chain of snapshots under a budget that no ack ever
// confirmed, so the server starts again from nothing) restates the
// entities frozen on it, first in priority, instead of omitting (and so
// despawning) them.
func TestAFrozenEntitySurvivesAResync(t *testing.T) {
	for _, share := range []int{0, 150} {
		t.Run(fmt.Sprintf("share=%d", share), func(t *testing.T) {
			l, kept, frozenAt := frozenSetup(t, share, true)
			full := l.server.Stats().FullStates
			for range 40 {
				posType.Get(l.world.Entry(kept)).X++
				l.step()
			}
			if l.server.Stats().FullStates == full {
				t.Fatal("no full state while the acks were lost: the test does not exercise a resync")
			}
			if x, ok := frozenAt(); !ok || x != 50 {
				t.Fatalf("after resyncs: kept entity at %v (present %v), want still frozen at 50", x, ok)
			}
			l.ackLoss = 0
			l.stepUntilConvergedExcept(kept, 30)
			if x, ok := frozenAt(); !ok || x != 50 {
				t.Fatalf("after the acks came back: kept entity at %v (present %v), want still frozen at 50", x, ok)
			}
			posType.Get(l.world.Entry(kept)).X = 10 // back in view: live again
			l.step()
			l.step()
			if x, ok := frozenAt(); !ok || x != 10 {
				t.Fatalf("back in view: kept entity at %v (present %v), want 10", x, ok)
			}
		})
	}
}

// frozenSetup makes a client with a view of radius 60 at the origin (and,
// with share, a budget and a crowd of 40 entities in view), an entity kept
// frozen at x=50 once it left the view, and a reader of its x on the
// client. noAcks loses every ack from the start.
func frozenSetup(t *testing.T, share int, noAcks bool) (*link, donburi.Entity, func() (float32, bool)) {
	l := scopedLink(t, ServerOptions{Interest: &Interest{Position: gridPos, CellSize: 10}, SnapshotBytes: share}, 1)
	c := l.clients[0]
	l.server.SetView(c.id, View{Radius: 60})
	if noAcks {
		l.ackLoss = 1
	}
	kept := spawn(l.world, position{50, 0}, components.Interest)
	components.Interest.Get(l.world.Entry(kept)).Keep = true
	for i := range 40 * min(share, 1) {
		spawn(l.world, position{float32(i % 10), float32(i / 10)})
	}
	l.stepUntilConverged(50)
	keptID := idOf(l.world, kept)
	posType.Get(l.world.Entry(kept)).X = 70 // leaves the view: frozen at 50
	l.step()
	l.step()
	frozenAt := func() (float32, bool) {
		ce, ok := c.c.Entity(keptID)
		if !ok || !c.world.Valid(ce) {
			return 0, false
		}
		return posType.Get(c.world.Entry(ce)).X, true
	}
	if x, ok := frozenAt(); !ok || x != 50 {
		t.Fatalf("before the outage: kept entity at %v (present %v), want frozen at 50", x, ok)
	}
	return l, kept, frozenAt
}

// The budget ranks candidates by integer keys: a higher priority must get
// a smaller key, whatever the values.
func TestDescendingKeysReverseThePriorityOrder(t *testing.T) {
	prios := []float32{float32(math.Inf(-1)), -1e30, -2.5, -1e-30, 0, 1e-30, 0.1, 0.5, 1, 1.5, 7, 1e30, float32(math.Inf(1))}
	for i := 1; i < len(prios); i++ {
		if lo, hi := descending(prios[i-1]), descending(prios[i]); lo <= hi {
			t.Errorf("priority %v keyed %d, higher %v keyed %d: want the higher one smaller", prios[i-1], lo, prios[i], hi)
		}
	}
}

// A client that leaves gives its per-client snapshots to the next one to
// join, which still receives exactly the world: a reused snapshot carries
// nothing of its former owner's.
func TestANewcomerReusesADepartedClientsSnapshots(t *testing.T) {
	l := scopedLink(t, ServerOptions{Interest: &Interest{Position: gridPos, CellSize: 100}}, 1)
	for i := range 300 {
		spawn(l.world, position{float32(i % 20), float32(i / 20)})
	}
	first := l.clients[0]
	l.server.SetView(first.id, View{X: 5, Y: 5, Radius: 6}) // a corner of the world
	for range 2 * defaultClientHistory {
		l.step()
	}
	l.server.RemoveClient(first.id)
	l.clients = l.clients[:0]
	left := len(l.server.freeSnaps)
	if left == 0 {
		t.Fatal("the departed client left no snapshots to reuse")
	}
	c := l.addClient(testRegistry())
	l.server.SetView(c.id, View{Radius: 1000}) // everything
	for range 3 {
		l.step()
	}
	if len(l.server.freeSnaps) >= left {
		t.Fatalf("the newcomer took none of the %d snapshots left", left)
	}
	if steps := l.stepUntilConverged(100); !l.converged(c) {
		t.Fatalf("the newcomer holds %d of %d entities after %d snapshots", len(ids(c.world)), len(ids(l.world)), steps)
	}
}
