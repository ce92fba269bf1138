package replication

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
)

type position struct{ X, Y float32 }
type velocity struct{ X, Y float32 }
type label struct{ Text string }

type labelCodec struct{}

func (labelCodec) Append(dst []byte, v *label) []byte { return append(dst, v.Text...) }
func (labelCodec) Decode(src []byte, v *label) error {
	if len(src) > 32 {
		return fmt.Errorf("label of %d bytes", len(src))
	}
	v.Text = string(src)
	return nil
}

var (
	posType   = donburi.NewComponentType[position]()
	velType   = donburi.NewComponentType[velocity]()
	labelType = donburi.NewComponentType[label]()
)

func testRegistry() *Registry {
	r := NewRegistry()
	Register(r, posType, "position")
	Register(r, velType, "velocity")
	Register(r, labelType, "label", WithCodec[label](labelCodec{}))
	return r
}

// link connects a server to clients in memory, optionally losing,
// duplicating and reordering datagrams with a seeded generator.
type link struct {
	t       *testing.T
	server  *Server
	world   donburi.World
	clients []*linkClient
	tick    uint32
	loss    float64
	reorder bool
	rng     *rand.Rand
	// ackLag, when positive, delays each ack by that many steps (a round
	// trip of several snapshots); acks holds them until due.
	ackLag int
	acks   []heldAck
	// ackLoss, when set, loses acks only (an outage one way)
	ackLoss float64
}

type heldAck struct {
	due uint32
	c   *linkClient
	p   []byte
}

type linkClient struct {
	id    int
	c     *Client
	world donburi.World
	held  [][]byte // reordered datagrams delivered next tick
}

func newLink(t *testing.T, reg *Registry, clients int) *link {
	l := &link{t: t, server: NewServer(reg, ServerOptions{}), world: donburi.NewWorld(), rng: rand.New(rand.NewPCG(1, 2))}
	for range clients {
		l.addClient(reg)
	}
	return l
}

func (l *link) addClient(reg *Registry) *linkClient {
	c := &linkClient{id: len(l.clients) + 2, c: NewClient(reg, ClientOptions{}), world: donburi.NewWorld()}
	l.server.AddClient(c.id)
	l.clients = append(l.clients, c)
	return c
}

func (l *link) lost() bool { return l.loss > 0 && l.rng.Float64() < l.loss }

// step captures a snapshot, delivers it (and acks back) through the link,
// and applies it on every client.
func (l *link) step() {
	l.capture()
	l.deliver()
}

// capture captures the next tick's snapshot on the server.
func (l *link) capture() {
	l.tick++
	due := l.acks[:0]
	for _, a := range l.acks {
		if a.due > l.tick {
			due = append(due, a)
		} else if err := l.server.HandleAck(a.c.id, a.p); err != nil {
			l.t.Fatal(err)
		}
	}
	l.acks = due
	l.server.Capture(l.world, l.tick)
}

// deliver carries the current snapshot to every client and its ack back.
func (l *link) deliver() {
	for _, c := range l.clients {
		parts, err := l.server.Datagrams(c.id)
		if err != nil {
			l.t.Fatal(err)
		}
		deliver := c.held
		c.held = nil
		for _, p := range parts {
			switch {
			case l.lost():
			case l.reorder && l.rng.IntN(4) == 0:
				c.held = append(c.held, p)
			default:
				deliver = append(deliver, p)
			}
		}
		for _, p := range deliver {
			// a missing baseline is ordinary under loss (a lost link of
			// a chain under a budget); anything else is a bug
			if err := c.c.HandleSnapshot(p); err != nil && !errors.Is(err, ErrNoBaseline) {
				l.t.Fatalf("client %d: %v", c.id, err)
			}
		}
		c.c.Apply(c.world)
		if ack := c.c.AckPayload(); ack != nil && !l.lost() && !(l.ackLoss > 0 && l.rng.Float64() < l.ackLoss) {
			if l.ackLag > 0 {
				l.acks = append(l.acks, heldAck{l.tick + uint32(l.ackLag), c, ack})
			} else if err := l.server.HandleAck(c.id, ack); err != nil {
				l.t.Fatal(err)
			}
		}
	}
}

// state maps each replicated entity's network ID to its replicated
// components, for comparing worlds.
func state(w donburi.World) map[uint32]map[string]any {
	out := map[uint32]map[string]any{}
	components.NetworkID.Each(w, func(e *donburi.Entry) {
		m := map[string]any{}
		if e.HasComponent(posType) {
			m["position"] = posType.GetValue(e)
		}
		if e.HasComponent(velType) {
			m["velocity"] = velType.GetValue(e)
		}
		if e.HasComponent(labelType) {
			m["label"] = labelType.GetValue(e)
		}
		out[components.NetworkID.GetValue(e).ID] = m
	})
	return out
}

func (l *link) converged(c *linkClient) bool {
	return reflect.DeepEqual(state(l.world), state(c.world))
}

// heal makes the link perfect, drops what it held back, and steps twice:
// one delivered snapshot against an acknowledged baseline (or full state)
// is exact, so two clean ticks suffice, one to deliver and one more for an
// ack that was in flight.
func (l *link) heal() {
	l.loss, l.reorder = 0, false
	for _, c := range l.clients {
		c.held = nil
	}
	l.step()
	l.step()
}

func (l *link) requireConverged() {
	l.t.Helper()
	for _, c := range l.clients {
		if !l.converged(c) {
			l.t.Fatalf("client %d differs from the server:\nserver %v\nclient %v", c.id, state(l.world), state(c.world))
		}
	}
}

// requireConvergedWith also compares one more component, read by get.
func (l *link) requireConvergedWith(get func(*donburi.Entry) any) {
	l.t.Helper()
	l.requireConverged()
	want := map[uint32]any{}
	components.NetworkID.Each(l.world, func(e *donburi.Entry) { want[components.NetworkID.GetValue(e).ID] = get(e) })
	for _, c := range l.clients {
		components.NetworkID.Each(c.world, func(e *donburi.Entry) {
			id := components.NetworkID.GetValue(e).ID
			if got := get(e); !reflect.DeepEqual(got, want[id]) {
				l.t.Fatalf("client %d entity %d: %v, server %v", c.id, id, got, want[id])
			}
		})
	}
}

func spawn(w donburi.World, p position, extra ...donburi.IComponentType) donburi.Entity {
	e := w.Create(append([]donburi.IComponentType{components.Replicated, posType}, extra...)...)
	posType.SetValue(w.Entry(e), p)
	return e
}

func TestSpawnChangeAddRemoveAndDespawnReachEveryClient(t *testing.T) {
	l := newLink(t, testRegistry(), 3)
	a := spawn(l.world, position{1, 2})
	b := spawn(l.world, position{3, 4}, velType)
	velType.SetValue(l.world.Entry(b), velocity{5, 6})
	local := l.world.Create(posType) // not tagged: stays on the server
	_ = local
	l.step()
	l.requireConverged()
	if n := len(state(l.clients[0].world)); n != 2 {
		t.Fatalf("client has %d replicated entities, want 2", n)
	}

	posType.SetValue(l.world.Entry(a), position{10, 20})
	l.step()
	l.requireConverged()

	donburi.Add(l.world.Entry(a), labelType, &label{"hero"})
	l.world.Entry(b).RemoveComponent(velType)
	l.step()
	l.requireConverged()

	l.world.Remove(a)
	l.step()
	l.requireConverged()
	if _, ok := l.clients[1].c.Entity(1); ok {
		t.Error("client still maps the despawned entity")
	}
}

func TestUnchangedEntitiesCostNothingOnceAcknowledged(t *testing.T) {
	l := newLink(t, testRegistry(), 1)
	for i := range 500 {
		spawn(l.world, position{float32(i), 0})
	}
	l.step() // full state
	l.step() // first delta against the ack
	parts, _ := l.server.Datagrams(l.clients[0].id)
	l.tick++
	l.server.Capture(l.world, l.tick)
	parts, _ = l.server.Datagrams(l.clients[0].id)
	if len(parts) != 1 || len(parts[0]) != headerLen {
		t.Errorf("an unchanged world of 500 entities costs %d datagrams, first %d bytes; want one bare header", len(parts), len(parts[0]))
	}
}

func TestLargeSnapshotsSplitUnderTheBudget(t *testing.T) {
	l := newLink(t, testRegistry(), 1)
	for i := range 3000 {
		e := spawn(l.world, position{float32(i), float32(i)}, labelType)
		labelType.SetValue(l.world.Entry(e), label{fmt.Sprintf("npc-%d", i)})
	}
	l.tick++
	l.server.Capture(l.world, l.tick)
	parts, err := l.server.Datagrams(l.clients[0].id)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) < 2 {
		t.Fatalf("full state of 3000 entities fit %d datagram", len(parts))
	}
	for i, p := range parts {
		if len(p) > 1200 {
			t.Errorf("part %d is %d bytes", i, len(p))
		}
	}
	for _, p := range parts[:len(parts)-1] {
		must(t, l.clients[0].c.HandleSnapshot(p))
	}
	if l.clients[0].c.Newest() != 0 {
		t.Error("an incomplete snapshot counted as complete")
	}
	must(t, l.clients[0].c.HandleSnapshot(parts[len(parts)-1]))
	l.clients[0].c.Apply(l.clients[0].world)
	l.requireConverged()
}

func TestLateJoinerGetsTheWholeWorld(t *testing.T) {
	reg := testRegistry()
	l := newLink(t, reg, 1)
	for i := range 50 {
		spawn(l.world, position{float32(i), 1})
	}
	for range 10 {
		l.step()
	}
	late := l.addClient(reg)
	l.step()
	if !l.converged(late) {
		t.Fatal("late joiner did not get the world")
	}
}

func TestLossAndReorderingConvergeOnceTheLinkHeals(t *testing.T) {
	reg := testRegistry()
	l := newLink(t, reg, 4)
	l.loss, l.reorder = 0.2, true
	var ents []donburi.Entity
	for range 20 {
		ents = append(ents, spawn(l.world, position{}))
	}
	rng := rand.New(rand.NewPCG(7, 7))
	for tick := range 300 {
		for _, e := range ents {
			if l.world.Valid(e) && rng.IntN(10) == 0 {
				posType.SetValue(l.world.Entry(e), position{float32(tick), rng.Float32()})
			}
		}
		if tick%10 == 0 { // churn: spawns and despawns while datagrams are lost
			ents = append(ents, spawn(l.world, position{float32(tick), 0}))
			if victim := ents[rng.IntN(len(ents))]; l.world.Valid(victim) {
				l.world.Remove(victim)
			}
		}
		l.step()
	}
	l.heal()
	l.requireConverged()
}

func TestExpiredBaselineFallsBackToFullState(t *testing.T) {
	l := newLink(t, testRegistry(), 1)
	spawn(l.world, position{1, 1})
	l.step()
	c := l.clients[0]
	acked := l.server.Acked(c.id)
	// The client hears nothing for longer than the history.
	for range 40 {
		l.tick++
		l.server.Capture(l.world, l.tick)
	}
	parts, _ := l.server.Datagrams(c.id)
	h, err := parsePartHeader(parts[0])
	must(t, err)
	if acked == 0 || h.base != 0 {
		t.Fatalf("acked %d, snapshot baseline %d: want full state once the ack is out of the history", acked, h.base)
	}
	// And while the baseline is still held, it is used.
	l.step()
	l.tick++
	l.server.Capture(l.world, l.tick)
	parts, _ = l.server.Datagrams(c.id)
	if h, _ = parsePartHeader(parts[0]); h.base == 0 {
		t.Error("a fresh ack was not used as the baseline")
	}
}

func TestInterpolationMovesSmoothlyBetweenSnapshots(t *testing.T) {
	r := NewRegistry()
	lerp := func(a, b position, t float64) position {
		return position{a.X + (b.X-a.X)*float32(t), a.Y + (b.Y-a.Y)*float32(t)}
	}
	Register(r, posType, "position", Interpolated(lerp))
	l := newLink(t, r, 1)
	e := spawn(l.world, position{0, 0})
	l.step() // tick 1: x = 0
	posType.SetValue(l.world.Entry(e), position{10, 0})
	l.step() // tick 2: x = 10
	c := l.clients[0]
	ent, _ := c.c.Entity(1)
	x := func(render float64) float32 {
		c.c.Interpolate(c.world, render)
		return posType.GetValue(c.world.Entry(ent)).X
	}
	if got := x(1.5); got != 5 {
		t.Errorf("halfway between ticks 1 and 2: x = %v, want 5", got)
	}
	if got := x(3); got != 10 {
		t.Errorf("past the newest sample: x = %v, want 10 (no extrapolation)", got)
	}
}

// A client without interpolation (the cheap mode of load bots) shows each
// applied snapshot's value at once and keeps no samples, so Interpolate
// leaves the world as it is; Completed counts the snapshots it assembled.
func TestNoInterpolationShowsEachSnapshotAtOnce(t *testing.T) {
	r := NewRegistry()
	Register(r, posType, "position", Interpolated(func(a, b position, t float64) position {
		return position{a.X + (b.X-a.X)*float32(t), a.Y + (b.Y-a.Y)*float32(t)}
	}))
	l := newLink(t, r, 0)
	c := &linkClient{id: 2, c: NewClient(r, ClientOptions{NoInterpolation: true}), world: donburi.NewWorld()}
	l.server.AddClient(c.id)
	l.clients = append(l.clients, c)
	e := spawn(l.world, position{0, 0})
	l.step()
	posType.SetValue(l.world.Entry(e), position{10, 4})
	l.step()
	ent, ok := c.c.Entity(1)
	if !ok {
		t.Fatal("the entity did not spawn")
	}
	if shown := posType.GetValue(c.world.Entry(ent)); shown != (position{10, 4}) {
		t.Fatalf("world shows %v after the second snapshot, want {10 4}", shown)
	}
	c.c.Interpolate(c.world, 1.5)
	if shown := posType.GetValue(c.world.Entry(ent)); shown != (position{10, 4}) {
		t.Errorf("Interpolate moved the entity to %v; want it left at {10 4}", shown)
	}
	if len(c.c.interp) != 0 {
		t.Errorf("%d entities have interpolation samples, want none", len(c.c.interp))
	}
	if got := c.c.Stats().Completed; got != 2 {
		t.Errorf("Completed = %d after two snapshots, want 2", got)
	}
}

// Latest gives the newest applied snapshot's value, the server's own, while
// the world shows an interpolated component between older snapshots; it
// knows nothing of entities or components that snapshot lacks.
func TestLatestIsTheServersValueBeforeInterpolation(t *testing.T) {
	r := NewRegistry()
	Register(r, posType, "position", Interpolated(func(a, b position, t float64) position {
		return position{a.X + (b.X-a.X)*float32(t), a.Y + (b.Y-a.Y)*float32(t)}
	}))
	Register(r, labelType, "label", WithCodec[label](labelCodec{}))
	l := newLink(t, r, 1)
	e := spawn(l.world, position{0, 0})
	l.step()
	posType.SetValue(l.world.Entry(e), position{10, 4})
	l.step()
	c := l.clients[0]
	ent, _ := c.c.Entity(1)
	c.c.Interpolate(c.world, 1.5)
	if shown := posType.GetValue(c.world.Entry(ent)); shown != (position{5, 2}) {
		t.Fatalf("world shows %v halfway, want {5 2}", shown)
	}
	if got, ok := Latest(c.c, posType, 1); !ok || got != (position{10, 4}) {
		t.Errorf("Latest = %v, %v; want the snapshot's {10 4}", got, ok)
	}
	if got, ok := Latest(c.c, posType, 99); ok {
		t.Errorf("Latest of an unknown network ID = %v, true", got)
	}
	if _, ok := Latest(c.c, labelType, 1); ok {
		t.Error("Latest found a label the entity does not have")
	}
	if _, ok := Latest(c.c, velType, 1); ok {
		t.Error("Latest found a component type that is not registered")
	}
	donburi.Add(l.world.Entry(e), labelType, &label{"hi"})
	l.step()
	if got, ok := Latest(c.c, labelType, 1); !ok || got.Text != "hi" {
		t.Errorf("Latest label = %q, %v; want \"hi\"", got.Text, ok)
	}
	l.world.Remove(e)
	l.step()
	if got, ok := Latest(c.c, posType, 1); ok {
		t.Errorf("Latest of a despawned entity = %v, true", got)
	}
}

func TestHostileSnapshotsAreDroppedAndCounted(t *testing.T) {
	reg := testRegistry()
	l := newLink(t, reg, 1)
	spawn(l.world, position{1, 2})
	l.tick++
	l.server.Capture(l.world, l.tick)
	parts, _ := l.server.Datagrams(l.clients[0].id)
	good := parts[0]
	c := NewClient(reg, ClientOptions{})
	bad := map[string][]byte{
		"short":           good[:5],
		"zero parts":      append(append([]byte{}, good[:12]...), 0, 0),
		"truncated value": good[:len(good)-3],
		"empty update":    append(append([]byte{}, good[:headerLen]...), 1, opUpdate<<6),
		"mask beyond":     append(append([]byte{}, good[:headerLen]...), 1, opSpawn<<6|maskInline, 0x7f),
		"id gap zero":     append(append([]byte{}, good[:headerLen]...), 0, opDespawn<<6),
		"despawn unknown": append(append([]byte{}, good[:headerLen]...), 5, opDespawn<<6),
		"despawn w/ mask": append(append([]byte{}, good[:headerLen]...), 1, opDespawn<<6|1),
		"another lane":    append([]byte{kindSnapshot, 1}, good[2:]...),
	}
	for name, p := range bad {
		if err := c.HandleSnapshot(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if c.Stats().Malformed+c.Stats().NoBaseline != uint64(len(bad)) {
		t.Errorf("counted %d malformed and %d without baseline for %d bad datagrams", c.Stats().Malformed, c.Stats().NoBaseline, len(bad))
	}
	must(t, c.HandleSnapshot(good))
	if c.Newest() != l.tick {
		t.Error("a good snapshot after bad ones was not taken")
	}
	// A snapshot whose baseline never comes waits for it among the
	// pending (bounded by MaxPending) and is counted once given up.
	must(t, c.HandleSnapshot(withTicks(good, 9, 8)))
	if c.Newest() != l.tick || c.Stats().NoBaseline != 0 {
		t.Fatalf("newest %d, %+v: a snapshot of an unknown baseline was taken or dropped at once", c.Newest(), c.Stats())
	}
	must(t, c.HandleSnapshot(withTicks(good, 10, 0)))
	if c.Newest() != 10 || c.Stats().NoBaseline != 1 {
		t.Fatalf("newest %d, %+v: want tick 10 taken and tick 9 given up", c.Newest(), c.Stats())
	}
	// One whose baseline is older than the newest complete snapshot, and
	// not kept, can never complete: dropped at once.
	if err := c.HandleSnapshot(withTicks(good, 12, 3)); !errors.Is(err, ErrNoBaseline) || c.Stats().NoBaseline != 2 {
		t.Fatalf("a snapshot against a baseline never held: %v, %+v", err, c.Stats())
	}
}

// withTicks rewrites a single-part datagram's tick and baseline.
func withTicks(p []byte, tick, base uint32) []byte {
	q := append([]byte{}, p...)
	binary.LittleEndian.PutUint32(q[2:], tick)
	binary.LittleEndian.PutUint32(q[6:], base)
	return q
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
