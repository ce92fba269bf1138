package replication

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
)

// ClientOptions tune a Client. The zero value is usable.
type ClientOptions struct {
	// History is how many complete snapshots are kept as baselines the
	// server may encode against (besides older ones a kept snapshot was
	// encoded against); match the server's. Default 32.
	History int
	// MaxPending bounds how many incomplete snapshots are assembled at
	// once (counting whole ones that wait for their baseline); default 8.
	// One whose baseline can no longer arrive is dropped at once, not
	// left to hold a slot (see ClientStats.NoBaseline).
	MaxPending int
	// Lane is the index of the lane this Client applies (see
	// ServerOptions.Lanes); Entities, shared by the Clients of every lane of
	// one world, maps network IDs to entities. Defaults: lane 0, a map of
	// its own.
	Lane     int
	Entities *EntityMap
	// NoInterpolation makes interpolated components take each applied
	// snapshot's value at once, keeping no samples: the cheap mode of a
	// client that renders nothing (load bots, headless tools), for which
	// Interpolate does nothing.
	NoInterpolation bool
}

// EntityMap maps network IDs to a world's entities; the Clients of all of a
// world's lanes share one, so each entity exists once whichever lane spawns
// it first. Not safe for concurrent use.
type EntityMap struct{ m map[uint32]donburi.Entity }

// NewEntityMap returns an empty map.
func NewEntityMap() *EntityMap { return &EntityMap{m: map[uint32]donburi.Entity{}} }

// Entity finds the entity of a network ID.
func (m *EntityMap) Entity(id uint32) (donburi.Entity, bool) {
	e, ok := m.m[id]
	return e, ok
}

// Client assembles snapshot datagrams, rebuilds each complete snapshot from
// its baseline, and applies the newest to a world: spawning, updating and
// despawning entities by network ID, interpolating components registered
// as Interpolated.
type Client struct {
	comps    []*compInfo
	opts     ClientOptions
	states   map[uint32]*snapshot
	kept     []uint32 // ticks of states, oldest first
	pending  map[uint32]*assembly
	newest   uint32
	applied  *snapshot
	entities *EntityMap
	interp   map[uint32]*interpBuffer
	ops      []op
	spare    *snapshot
	// dead are the ticks of recent snapshots dropped because their
	// baseline can never arrive (a ring of MaxPending): a snapshot
	// against one of them can never complete either.
	dead     []uint32
	deadNext int

	stats ClientStats
}

// ClientStats count what a Client dropped.
type ClientStats struct {
	Malformed uint64 // datagrams that did not decode
	Stale     uint64 // datagrams of ticks older than the newest complete one
	// NoBaseline counts snapshots whose baseline this client no longer
	// had, or never got: given up once their parts had come, or dropped
	// at once, whole or not, when their baseline could no longer arrive
	// (older than the newest complete snapshot and not kept, or itself
	// such a snapshot).
	NoBaseline uint64
	Completed  uint64 // snapshots assembled whole and kept as baselines
}

// Stats reports the client's counters.
func (c *Client) Stats() ClientStats { return c.stats }

// assembly gathers one snapshot's datagrams; parts fill as they arrive, so
// a header claiming many parts costs nothing until they come.
type assembly struct {
	base  uint32
	count int
	parts map[int][]byte
}

// NewClient returns a replication client for reg.
func NewClient(reg *Registry, opts ClientOptions) *Client {
	if opts.History <= 0 {
		opts.History = 32
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 8
	}
	if opts.Entities == nil {
		opts.Entities = NewEntityMap()
	}
	return &Client{
		comps:    reg.freeze(),
		opts:     opts,
		states:   map[uint32]*snapshot{},
		pending:  map[uint32]*assembly{},
		applied:  &snapshot{},
		entities: opts.Entities,
		interp:   map[uint32]*interpBuffer{},
	}
}

// maxDatagram bounds a snapshot datagram a client accepts, and maxAssembly
// the parts of one snapshot (so a hostile header cannot reserve much).
const (
	maxDatagram = 64 << 10
	maxAssembly = 4096
)

// HandleSnapshot takes one snapshot datagram. It keeps p until the snapshot
// is complete and, when its baseline is newer than the newest complete
// snapshot (reordered on the way), until that baseline completes too. Bad,
// stale and unusable datagrams are counted and dropped; a snapshot whose
// baseline can no longer arrive is dropped with an error wrapping
// ErrNoBaseline. Call it from the goroutine that runs c.
func (c *Client) HandleSnapshot(p []byte) error {
	h, err := parsePartHeader(p)
	if err != nil || len(p) > maxDatagram || h.lane != c.opts.Lane {
		c.stats.Malformed++
		return fmt.Errorf("%w: snapshot header", ErrMalformed)
	}
	if h.tick <= c.newest {
		c.stats.Stale++
		return nil
	}
	if c.unreachable(h.base) {
		if !slices.Contains(c.dead, h.tick) { // counted once, not per part
			c.bury(h.tick)
			c.dropUnreachable() // those waiting for it
		}
		return fmt.Errorf("%w: tick %d needs %d, which can no longer come", ErrNoBaseline, h.tick, h.base)
	}
	a := c.pending[h.tick]
	if a == nil {
		if h.parts > maxAssembly {
			c.stats.Malformed++
			return fmt.Errorf("%w: snapshot of %d parts", ErrMalformed, h.parts)
		}
		if len(c.pending) >= c.opts.MaxPending {
			c.dropOldestPending()
		}
		a = &assembly{base: h.base, count: h.parts, parts: map[int][]byte{}}
		c.pending[h.tick] = a
	}
	if a.base != h.base || a.count != h.parts {
		c.stats.Malformed++
		delete(c.pending, h.tick)
		return fmt.Errorf("%w: parts of tick %d disagree", ErrMalformed, h.tick)
	}
	if _, dup := a.parts[h.part]; dup {
		return nil
	}
	a.parts[h.part] = p
	if len(a.parts) < a.count {
		return nil
	}
	if a.base > c.newest && c.states[a.base] == nil {
		return nil // its baseline may still come (reordered): completed after it
	}
	delete(c.pending, h.tick)
	return c.complete(h.tick, a)
}

// waiting reports whether a is whole and waits only for its baseline.
func (a *assembly) waiting() bool { return len(a.parts) == a.count }

// forget drops the pending snapshot of tick, counting it when all its parts
// had come and only its baseline was missing.
func (c *Client) forget(tick uint32) {
	if a := c.pending[tick]; a != nil && a.waiting() {
		c.stats.NoBaseline++
	}
	delete(c.pending, tick)
}

// unreachable reports whether a snapshot against base can never be
// rebuilt: its baseline is older than the newest complete snapshot and not
// kept (only newer snapshots are taken), or was dropped for the same
// reason.
func (c *Client) unreachable(base uint32) bool {
	if base == 0 {
		return false
	}
	if base < c.newest {
		return c.states[base] == nil
	}
	return slices.Contains(c.dead, base)
}

// bury drops the snapshot of tick, pending or not, whose baseline can
// never arrive, counts it, and remembers it so that snapshots against it
// are dropped too.
func (c *Client) bury(tick uint32) {
	delete(c.pending, tick)
	c.stats.NoBaseline++
	if len(c.dead) < c.opts.MaxPending {
		c.dead = append(c.dead, tick)
		return
	}
	c.dead[c.deadNext] = tick
	c.deadNext = (c.deadNext + 1) % len(c.dead)
}

// dropUnreachable drops every pending snapshot whose baseline can no
// longer arrive, at once rather than when MaxPending evicts it: it would
// hold a slot that snapshots able to complete need. Call it when newest
// advances.
func (c *Client) dropUnreachable() {
	for again := true; again; { // a drop makes snapshots against it unreachable too
		again = false
		for t, a := range c.pending {
			if c.unreachable(a.base) {
				c.bury(t)
				again = true
			}
		}
	}
}

func (c *Client) dropOldestPending() {
	oldest := uint32(math.MaxUint32)
	for t := range c.pending {
		oldest = min(oldest, t)
	}
	c.forget(oldest)
}

// complete rebuilds the snapshot of tick from its baseline and parts.
func (c *Client) complete(tick uint32, a *assembly) error {
	var base *snapshot
	if a.base != 0 {
		if base = c.states[a.base]; base == nil {
			c.stats.NoBaseline++
			return fmt.Errorf("%w: tick %d needs %d", ErrNoBaseline, tick, a.base)
		}
	}
	c.ops = c.ops[:0]
	for i := range a.count {
		var err error
		if c.ops, err = decodeEntries(a.parts[i], c.comps, c.ops); err != nil {
			c.stats.Malformed++
			return err
		}
	}
	snap := c.spare
	c.spare = nil
	if snap == nil {
		snap = &snapshot{}
	}
	if err := applyOps(snap, base, tick, c.ops, c.comps); err != nil {
		c.stats.Malformed++
		c.spare = snap
		return err
	}
	snap.base = a.base
	c.keep(snap)
	c.stats.Completed++
	for t := range c.pending {
		if t < tick {
			c.forget(t) // older snapshots are no longer worth finishing
		}
	}
	c.dropUnreachable()
	next := uint32(0)
	for t, p := range c.pending { // newer than tick: the oldest whose baseline is now here
		if p.waiting() && c.states[p.base] != nil && (next == 0 || t < next) {
			next = t
		}
	}
	if next != 0 { // a snapshot that came before its baseline (this one, or one it completed before)
		a := c.pending[next]
		delete(c.pending, next)
		return c.complete(next, a)
	}
	return nil
}

// keep adds a complete snapshot to the baselines: the newest History, and
// beside them every older one that a kept snapshot was encoded against. A
// server that keeps encoding against one baseline (the snapshot this
// client acknowledged, while its acks are lost) finds it here however many
// snapshots came since, and the client keeps at most 2 x History.
func (c *Client) keep(s *snapshot) {
	c.states[s.tick] = s
	c.kept = append(c.kept, s.tick)
	c.newest = s.tick
	if len(c.kept) <= c.opts.History {
		return
	}
	window := c.kept[len(c.kept)-c.opts.History:]
	n := 0
	for _, t := range c.kept[:len(c.kept)-c.opts.History] {
		if c.baseOfAny(t, window) {
			c.kept[n] = t
			n++
			continue
		}
		if st := c.states[t]; st != nil && st != c.applied {
			c.spare = st
		}
		delete(c.states, t)
	}
	c.kept = append(c.kept[:n], window...)
}

// baseOfAny reports whether a snapshot of ticks was encoded against tick.
func (c *Client) baseOfAny(tick uint32, ticks []uint32) bool {
	for _, t := range ticks {
		if c.states[t].base == tick {
			return true
		}
	}
	return false
}

// AckPayload is what the client sends the server each tick: the newest
// complete snapshot's tick. Nil before the first.
func (c *Client) AckPayload() []byte {
	if c.newest == 0 {
		return nil
	}
	return encodeAck(c.opts.Lane, c.newest)
}

// Newest is the tick of the newest complete snapshot (0 before any).
func (c *Client) Newest() uint32 { return c.newest }

// Entity finds the local entity of a network ID.
func (c *Client) Entity(id uint32) (donburi.Entity, bool) { return c.entities.Entity(id) }

// Latest is the value of component type ct on the entity of network ID id
// in the newest snapshot c applied: the server's value at that tick, where
// the world shows an Interpolated component between older snapshots. It
// reports false when that snapshot has no such entity or it has no such
// component on c's lane (ct not registered, or on another lane). Call it
// from the goroutine that runs c.
func Latest[T any](c *Client, ct *donburi.ComponentType[T], id uint32) (T, bool) {
	var zero T
	s := c.applied
	i, found := slices.BinarySearchFunc(s.ents, id, func(e entityState, id uint32) int { return cmp.Compare(e.id, id) })
	if !found {
		return zero, false
	}
	for k, info := range c.comps {
		if info.ctype.Id() != ct.Id() {
			continue
		}
		if s.ents[i].mask&(1<<k) == 0 {
			return zero, false
		}
		v, err := info.decode(s.value(&s.ents[i], k))
		if err != nil {
			return zero, false // checked at decode; cannot happen
		}
		return v.(T), true
	}
	return zero, false
}

// Apply brings world to the newest complete snapshot, if it is newer than
// the one applied: it spawns, despawns and updates entities, and adds and
// removes components. Interpolated components get a new sample instead of
// a new value (see Interpolate).
func (c *Client) Apply(world donburi.World) {
	s := c.states[c.newest]
	if s == nil || s.tick <= c.applied.tick {
		return
	}
	a := c.applied
	i, j := 0, 0
	for i < len(s.ents) || j < len(a.ents) {
		switch {
		case j == len(a.ents) || (i < len(s.ents) && s.ents[i].id < a.ents[j].id):
			c.spawn(world, s, &s.ents[i])
			i++
		case i == len(s.ents) || a.ents[j].id < s.ents[i].id:
			id := a.ents[j].id
			if e, ok := c.entities.m[id]; ok && world.Valid(e) {
				world.Remove(e) // another lane may have done it already
			}
			delete(c.entities.m, id)
			delete(c.interp, id)
			j++
		default:
			c.update(world, s, &s.ents[i], a, &a.ents[j])
			i++
			j++
		}
	}
	c.applied = s
}

func (c *Client) spawn(world donburi.World, s *snapshot, e *entityState) {
	ent, ok := c.entities.m[e.id]
	if !ok || !world.Valid(ent) { // else another lane spawned it first
		ent = world.Create(components.NetworkID)
		components.NetworkID.SetValue(world.Entry(ent), components.NetworkIDData{ID: e.id})
		c.entities.m[e.id] = ent
	}
	entry := world.Entry(ent)
	for m := e.mask; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		v := s.value(e, k)
		_ = c.comps[k].setValue(entry, v) // checked at decode
		if c.comps[k].lerp != nil && !c.opts.NoInterpolation {
			c.sample(e.id, k, s.tick, v)
		}
	}
}

func (c *Client) update(world donburi.World, s *snapshot, e *entityState, a *snapshot, old *entityState) {
	ent, ok := c.entities.m[e.id]
	if !ok || !world.Valid(ent) {
		return // despawned through another lane
	}
	entry := world.Entry(ent)
	for m := old.mask &^ e.mask; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		if entry.HasComponent(c.comps[k].ctype) {
			entry.RemoveComponent(c.comps[k].ctype)
		}
		if b := c.interp[e.id]; b != nil {
			b.drop(k)
		}
	}
	for m := e.mask; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		v := s.value(e, k)
		interp := c.comps[k].lerp != nil && !c.opts.NoInterpolation
		if interp && old.mask&(1<<k) != 0 {
			c.sampleSince(e.id, k, a.tick, a.value(old, k), s.tick, v)
			continue
		}
		if old.mask&(1<<k) == 0 || !bytes.Equal(v, a.value(old, k)) {
			_ = c.comps[k].setValue(entry, v)
		}
		if interp {
			c.sample(e.id, k, s.tick, v)
		}
	}
}

// interpBuffer holds recent samples of an entity's interpolated components.
type interpBuffer struct {
	samples map[int][]sample // by component index, oldest first
}

type sample struct {
	tick  uint32
	value []byte
}

func (b *interpBuffer) drop(k int) { delete(b.samples, k) }

func (c *Client) sample(id uint32, k int, tick uint32, v []byte) {
	b := c.interp[id]
	if b == nil {
		b = &interpBuffer{samples: map[int][]sample{}}
		c.interp[id] = b
	}
	ss := b.samples[k]
	if n := len(ss); n > 0 && ss[n-1].tick >= tick {
		return
	}
	if len(ss) >= 16 {
		ss = append(ss[:0], ss[len(ss)-8:]...)
	}
	b.samples[k] = append(ss, sample{tick, bytes.Clone(v)})
}

// sampleSince records a new value, first restating the previous value at
// the previous snapshot's tick when it had been resting, so motion starts
// from where the entity stood rather than being spread over the rest.
func (c *Client) sampleSince(id uint32, k int, prevTick uint32, prev []byte, tick uint32, v []byte) {
	if b := c.interp[id]; b == nil || len(b.samples[k]) == 0 || b.samples[k][len(b.samples[k])-1].tick < prevTick {
		c.sample(id, k, prevTick, prev)
	}
	c.sample(id, k, tick, v)
}

// Interpolate sets every interpolated component to its value at renderTick
// (a fractional server tick, usually the estimated server tick minus an
// interpolation delay): between the two samples around it, or the newest
// when renderTick is past it (no extrapolation).
func (c *Client) Interpolate(world donburi.World, renderTick float64) {
	for id, b := range c.interp {
		ent, ok := c.entities.m[id]
		if !ok || !world.Valid(ent) {
			continue
		}
		entry := world.Entry(ent)
		for k, ss := range b.samples {
			if len(ss) == 0 {
				continue
			}
			i := 0
			for i+1 < len(ss) && float64(ss[i+1].tick) <= renderTick {
				i++
			}
			if i+1 == len(ss) || float64(ss[i].tick) > renderTick {
				_ = c.comps[k].setValue(entry, ss[i].value)
				continue
			}
			t := (renderTick - float64(ss[i].tick)) / float64(ss[i+1].tick-ss[i].tick)
			_ = c.comps[k].lerp(entry, ss[i].value, ss[i+1].value, t)
			if i > 1 {
				b.samples[k] = append(ss[:0], ss[i-1:]...)
			}
		}
	}
}
