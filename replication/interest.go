package replication

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"slices"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
)

// Interest turns on per-client relevance (interest management) in a
// Server: each client receives only the entities in its scope. An entity is
// in a client's scope when the client's override says Always, or unless it
// says Never, when any of these holds: the entity is Global
// (components.Interest) or has no position on the grid, it shares a group
// with the client's View, or it lies within the View's radius of the
// View's centre. Network IDs stay global: an entity has one ID whoever sees
// it.
type Interest struct {
	// Position reports where an entity is on the grid (ok false: it has no
	// position, and is relevant to every client). PositionOf builds one
	// from a component. Nil: no grid, scope by groups and overrides only.
	Position func(e *donburi.Entry) (x, y float64, ok bool)
	// CellSize is the grid's cell edge in Position's units; choose it near
	// the typical view radius. Default 64.
	CellSize float64
}

// PositionOf is an Interest.Position reading component ct through xy.
func PositionOf[T any](ct *donburi.ComponentType[T], xy func(*T) (x, y float64)) func(*donburi.Entry) (float64, float64, bool) {
	return func(e *donburi.Entry) (float64, float64, bool) {
		if !e.HasComponent(ct) {
			return 0, 0, false
		}
		x, y := xy(ct.Get(e))
		return x, y, true
	}
}

// View is one client's window on the world, set with Server.SetView. The
// zero View sees only global, unplaced and overridden entities.
type View struct {
	// Entity, when not donburi.Null and alive with a position, is the
	// view's centre (the client's ship, say); otherwise X, Y is.
	Entity donburi.Entity
	X, Y   float64
	// Radius is how far from the centre the grid makes entities relevant.
	Radius float64
	// Groups is the set of groups (rooms) the client is in, one bit each.
	Groups uint64
}

// Override is a per-client, per-entity exception to the scope rules.
type Override int8

// Overrides.
const (
	Default Override = iota // the rules decide
	Always                  // the entity is in the client's scope
	Never                   // the entity is never in the client's scope
)

// defaultClientHistory is how many per-client snapshots a scoped Server
// keeps as baselines for each client.
const defaultClientHistory = 16

// entMeta is what a scoped Server captured about an entity besides its
// state, parallel to the current snapshot's entities.
type entMeta struct {
	x, y    float64
	placed  bool
	keep    bool
	owned   bool // has a components.Owner: owner is its peer
	owner   int32
	prio    float32
	changed uint32 // the tick of the entity's last change (or spawn)
}

type cell struct{ x, y int32 }

// visEnt is an entity in a client's scope: its index in the current
// snapshot and its priority scale (1 near the view's centre), packed so
// that sorting orders by index, then by scale, highest first.
type visEnt uint64

func mkVis(idx int32, scale float32) visEnt {
	return visEnt(uint64(idx)<<32 | uint64(^math.Float32bits(scale)))
}

func (v visEnt) idx() int32     { return int32(v >> 32) }
func (v visEnt) scale() float32 { return math.Float32frombits(^uint32(v)) }

// candidate is one entry a client's snapshot may carry.
type candidate struct {
	id         uint32
	kind       byte // opSpawn, opUpdate or opDespawn
	start, end int32
	prio       float32
	send       bool
}

// plan says where an entity of a client's next snapshot comes from.
type plan struct {
	cur, base int32 // indices, -1 when absent
	cand      int32 // candidate index, -1 when none
}

// PerClient reports whether the server builds each client its own
// snapshot, which it does with Interest or SnapshotBytes set: every
// client then costs an encoding per snapshot, and nothing is shared but
// spawn entries. Otherwise clients with the same baseline and view share
// one encoding (see Server). Safe to call from any goroutine: it reads
// only the options.
func (s *Server) PerClient() bool {
	return s.opts.Interest != nil || s.opts.SnapshotBytes > 0
}

// visMask is the mask of the components of entity i of the current
// snapshot that client c may see: all of them for its owner, all but the
// OwnerOnly ones for everyone else. It filters what is encoded and what c's
// own snapshot records, so no copy of the world without OwnerOnly
// components is made.
func (s *Server) visMask(c *serverClient, i int32) uint64 {
	if m := &s.meta[i]; m.owned && int(m.owner) == c.id {
		return all
	}
	return ^s.owned
}

// SetView sets the view of a client added with AddClient (interest
// management); it takes effect at the next snapshot. Call it from the
// goroutine that drives the Server.
func (s *Server) SetView(client int, v View) {
	if c := s.clients[client]; c != nil {
		c.view = v
	}
}

// SetOverride makes entity e Always or Never in the scope of a client
// added with AddClient, or back to Default (which forgets it: set Default
// for entities the game destroys, or the override map keeps them). Call it
// from the goroutine that drives the Server.
func (s *Server) SetOverride(client int, e donburi.Entity, o Override) {
	c := s.clients[client]
	if c == nil {
		return
	}
	if o == Default {
		delete(c.over, e)
		return
	}
	if c.over == nil {
		c.over = map[donburi.Entity]Override{}
	}
	c.over[e] = o
}

// captureScope records positions, groups and settings of the current
// snapshot's entities and rebuilds the grid.
func (s *Server) captureScope(world donburi.World, prev *snapshot) {
	s.world = world
	prevMeta := s.meta
	s.meta = s.prevMeta[:0]
	s.prevMeta = prevMeta
	s.global = s.global[:0]
	for g := range s.byGroup {
		s.byGroup[g] = s.byGroup[g][:0]
	}
	for k, v := range s.grid {
		if len(v) == 0 {
			delete(s.grid, k) // empty since last time: forget the cell
		} else {
			s.grid[k] = v[:0]
		}
	}
	in := s.opts.Interest
	cur := s.current
	pj := 0
	for i, ce := range s.order {
		m := entMeta{prio: 1, changed: cur.tick}
		if ce.entry.HasComponent(components.Owner) {
			m.owned, m.owner = true, components.Owner.Get(ce.entry).Peer
		}
		if prev != nil { // unchanged since the previous capture (owner too): keep its change tick
			for pj < len(prev.ents) && prev.ents[pj].id < ce.id {
				pj++
			}
			if pj < len(prev.ents) && prev.ents[pj].id == ce.id && pj < len(prevMeta) && sameState(cur, &cur.ents[i], prev, &prev.ents[pj]) &&
				prevMeta[pj].owned == m.owned && prevMeta[pj].owner == m.owner {
				m.changed = prevMeta[pj].changed
			}
		}
		var groups uint64
		global := in == nil
		if ce.entry.HasComponent(components.Interest) {
			d := components.Interest.Get(ce.entry)
			groups, m.keep = d.Groups, d.Keep
			global = global || d.Global
			if d.Priority > 0 {
				m.prio = d.Priority
			}
		}
		if in != nil && in.Position != nil {
			m.x, m.y, m.placed = in.Position(ce.entry)
		}
		switch {
		case global || !m.placed:
			s.global = append(s.global, int32(i))
		default:
			k := s.cellOf(m.x, m.y)
			s.grid[k] = append(s.grid[k], int32(i))
		}
		for g := groups; g != 0 && !global; g &= g - 1 {
			b := bits.TrailingZeros64(g)
			s.byGroup[b] = append(s.byGroup[b], int32(i))
		}
		s.meta = append(s.meta, m)
	}
	s.spawnAt = slices.Grow(s.spawnAt[:0], len(s.order))[:len(s.order)]
	for i := range s.spawnAt {
		s.spawnAt[i] = [2]int32{-1, -1}
	}
	s.spawnBuf = s.spawnBuf[:0]
}

// sameState reports whether entity a of sa and b of sb hold the same
// components and values (an entity's values are contiguous in data).
func sameState(sa *snapshot, a *entityState, sb *snapshot, b *entityState) bool {
	if a.mask != b.mask {
		return false
	}
	if a.mask == 0 {
		return true
	}
	n := bits.OnesCount64(a.mask)
	return bytes.Equal(sa.data[a.start:sa.ends[int(a.span)+n-1]], sb.data[b.start:sb.ends[int(b.span)+n-1]])
}

func (s *Server) cellSize() float64 {
	if s.opts.Interest != nil && s.opts.Interest.CellSize > 0 {
		return s.opts.Interest.CellSize
	}
	return 64
}

func (s *Server) cellOf(x, y float64) cell {
	cs := s.cellSize()
	return cell{clampCell(x / cs), clampCell(y / cs)}
}

func clampCell(v float64) int32 {
	v = math.Floor(v)
	switch {
	case v != v:
		return 0
	case v < math.MinInt32/2:
		return math.MinInt32 / 2
	case v > math.MaxInt32/2:
		return math.MaxInt32 / 2
	}
	return int32(v)
}

// visible fills s.vis with the current entities in c's scope, sorted.
func (s *Server) visible(c *serverClient) {
	s.vis = s.vis[:0]
	cur := s.current
	if s.opts.Interest == nil {
		for i := range cur.ents {
			s.vis = append(s.vis, mkVis(int32(i), 1))
		}
		return
	}
	for _, i := range s.global {
		s.vis = append(s.vis, mkVis(i, 1))
	}
	for g := c.view.Groups; g != 0; g &= g - 1 {
		for _, i := range s.byGroup[bits.TrailingZeros64(g)] {
			s.vis = append(s.vis, mkVis(i, 1))
		}
	}
	if r := c.view.Radius; r > 0 && s.opts.Interest.Position != nil {
		x, y := c.view.X, c.view.Y
		if c.view.Entity != donburi.Null && s.world.Valid(c.view.Entity) {
			if vx, vy, ok := s.opts.Interest.Position(s.world.Entry(c.view.Entity)); ok {
				x, y = vx, vy
			}
		}
		near := func(cell []int32) {
			for _, i := range cell {
				m := &s.meta[i]
				dx, dy := m.x-x, m.y-y
				if d2 := dx*dx + dy*dy; d2 <= r*r {
					s.vis = append(s.vis, mkVis(i, float32(1-0.9*math.Sqrt(d2)/r)))
				}
			}
		}
		lo, hi := s.cellOf(x-r, y-r), s.cellOf(x+r, y+r)
		if (int64(hi.x)-int64(lo.x)+1)*(int64(hi.y)-int64(lo.y)+1) > int64(len(s.grid)) {
			for _, cell := range s.grid { // a view wider than the occupied world
				near(cell)
			}
		} else {
			for cy := lo.y; cy <= hi.y; cy++ {
				for cx := lo.x; cx <= hi.x; cx++ {
					near(s.grid[cell{cx, cy}])
				}
			}
		}
	}
	for e, o := range c.over {
		if o == Always {
			if i, ok := s.indexOf(e); ok {
				s.vis = append(s.vis, mkVis(i, 1))
			}
		}
	}
	slices.Sort(s.vis)
	s.vis = slices.CompactFunc(s.vis, func(a, b visEnt) bool { return a.idx() == b.idx() })
	for e, o := range c.over {
		if o == Never {
			if i, ok := s.indexOf(e); ok {
				if k, found := slices.BinarySearchFunc(s.vis, i, func(v visEnt, i int32) int { return cmp.Compare(v.idx(), i) }); found {
					s.vis = slices.Delete(s.vis, k, k+1)
				}
			}
		}
	}
}

// indexOf finds a world entity in the current snapshot.
func (s *Server) indexOf(e donburi.Entity) (int32, bool) {
	if s.world == nil || !s.world.Valid(e) {
		return 0, false
	}
	en := s.world.Entry(e)
	if !en.HasComponent(components.NetworkID) {
		return 0, false
	}
	return s.find(components.NetworkID.Get(en).ID)
}

func (s *Server) find(id uint32) (int32, bool) {
	i, ok := slices.BinarySearchFunc(s.current.ents, id, func(e entityState, id uint32) int { return cmp.Compare(e.id, id) })
	return int32(i), ok
}

// spawnEntry is entity i's spawn encoding for client c: the one without
// OwnerOnly components is built once per snapshot and shared by every
// client it enters; the owner's, when the entity has any, is built for it.
func (s *Server) spawnEntry(c *serverClient, i int32) []byte {
	e := &s.current.ents[i]
	vis := s.visMask(c, i)
	if e.mask&vis&s.owned != 0 { // c sees more than the shared spawn holds: its own
		s.enc.appendSpawn(s.current, e, all)
		return s.enc.entry
	}
	at := s.spawnAt[i]
	if at[0] < 0 {
		s.enc.appendSpawn(s.current, e, ^s.owned)
		at = [2]int32{int32(len(s.spawnBuf)), int32(len(s.spawnBuf) + len(s.enc.entry))}
		s.spawnBuf = append(s.spawnBuf, s.enc.entry...)
		s.spawnAt[i] = at
	}
	return s.spawnBuf[at[0]:at[1]]
}

// record finds c's own snapshot of tick, nil when it is not (or no longer)
// kept.
func (c *serverClient) record(tick uint32) *snapshot {
	for _, r := range c.sent {
		if r != nil && r.tick == tick {
			return r
		}
	}
	return nil
}

// ackScoped moves c's baseline to its snapshot of tick, which the client
// reports complete. That snapshot stays c's baseline, however old, until a
// newer one is acknowledged: the client keeps its newest complete
// snapshot, so after an outage of any length the server still encodes
// against it instead of falling back to a full state (which, omitting
// entities frozen out of scope, would despawn them on the client). Only an
// ack of a snapshot already dropped from the ring, with the pinned one too
// old for the client to still hold (more than History sends ago), loses
// the baseline.
func (s *Server) ackScoped(c *serverClient, tick uint32) {
	if r := c.record(tick); r != nil {
		c.ackRec = r
		c.lag = c.next - 1 - r.seq
		return
	}
	if c.ackRec != nil && c.next-c.ackRec.seq > s.opts.History {
		c.ackRec = nil
	}
}

// chainWindow is how many snapshots may be sent on top of the acknowledged
// one, each against the one before, before the chain is taken for broken
// (a link lost: the client cannot decode the rest, so its acks stop): twice
// the measured ack lag in snapshots, plus two.
func (s *Server) chainWindow(c *serverClient) int {
	limit := max(1, s.opts.ClientHistory-2)
	if c.lag < 0 {
		return min(limit, max(1, s.opts.ClientHistory/2))
	}
	return min(limit, 2*c.lag+2)
}

// chainAlive reports whether n, the newest snapshot sent to c, is a
// baseline the client probably has: it descends from the acknowledged
// snapshot (or from a full state) through at most chainWindow snapshots
// not acknowledged yet, all still kept.
func (s *Server) chainAlive(c *serverClient, n *snapshot) bool {
	links, limit := 0, s.chainWindow(c)
	for r := n; ; {
		if c.ackRec != nil && r.tick <= c.ackRec.tick {
			return true
		}
		if links++; links > limit {
			return false
		}
		if r.base == 0 || (c.ackRec != nil && r.base <= c.ackRec.tick) {
			return true // rooted in a full state or the acknowledged snapshot
		}
		if r = c.record(r.base); r == nil {
			return false
		}
	}
}

// scopedDatagrams builds client c's own snapshot of the current tick from
// a baseline: entities entering its scope spawn whole, those leaving
// despawn (or stay frozen, for Keep), changes go as deltas, and under a
// budget only the highest priorities that fit are sent; whatever is not
// sent keeps its baseline state in the client's snapshot, so it is sent
// later.
//
// The baseline is the snapshot c acknowledged (nothing before its first
// ack), so a snapshot decodes whatever was lost since. Under a budget that
// cannot carry everything, though, snapshots against the same
// acknowledged baseline would each carry a different share and each undo
// the last on the client (what the previous one spawned or changed is
// absent from the next), and a late joiner would get successive partial
// full states that replace each other. So while the budget binds, each
// snapshot is encoded against the one sent before it (a chain, rooted in
// the acknowledged snapshot or a full state), and so progresses to what
// was not sent yet. A lost link leaves the client unable to decode the
// rest of the chain; its acks stop advancing, and after chainWindow
// snapshots the server starts again from the acknowledged snapshot.
func (s *Server) scopedDatagrams(c *serverClient) ([][]byte, error) {
	cur := s.current
	if c.built == cur.tick && c.parts != nil {
		return c.parts, nil // asked twice in one tick: the same snapshot
	}
	s.stats.Encodes++
	var newest *snapshot
	if c.next > 0 {
		newest = c.sent[(c.next-1)%len(c.sent)]
	}
	chain := func() bool { // newest is a baseline the client probably has
		return s.opts.SnapshotBytes > 0 && newest != nil && newest != c.ackRec && s.chainAlive(c, newest)
	}
	s.visible(c)
	base := c.ackRec
	if c.saturated && chain() {
		base = newest
	}
	// A full state after the client held state (a resync: its acks name a
	// snapshot no longer kept, or a chain before the first ack broke)
	// restates the entities frozen in the newest snapshot it was sent, as
	// spawns at their frozen values, so the full state does not despawn
	// them.
	var prior *snapshot
	if base == nil {
		prior = newest
	}
	s.plan(c, base, prior)
	deferred := s.choose(c)
	if deferred && base != newest && chain() { // the budget binds: progress on the chain
		base, prior = newest, nil
		s.plan(c, base, nil)
		deferred = s.choose(c)
	}
	c.saturated = deferred
	s.remember(c)
	baseTick := uint32(0)
	if base == nil {
		s.stats.FullStates++
		base = &snapshot{}
		if prior != nil {
			base = prior // only as the source of restated frozen entities
		}
	} else {
		baseTick = base.tick
	}

	// the client's snapshot at this tick, as it will rebuild it
	snap := c.spare // the client's own evicted snapshot: its buffers fit its view
	c.spare = nil
	if snap == nil {
		snap = s.freshSnapshot(newest)
	}
	snap.reset(cur.tick)
	snap.base, snap.seq = baseTick, c.next
	s.enc.start(cur.tick, baseTick, s.opts.Budget)
	fromCur := func(i int32) {
		snap.copyVisible(cur, &cur.ents[i], s.visMask(c, i))
		snap.ents[len(snap.ents)-1].src = cur.tick
	}
	fromBase := func(j int32) {
		snap.copyEntity(base, &base.ents[j])
		snap.ents[len(snap.ents)-1].src = base.ents[j].src
	}
	for _, pl := range s.plans {
		if pl.cand < 0 {
			if pl.cur >= 0 {
				fromCur(pl.cur)
			} else {
				fromBase(pl.base)
			}
			continue
		}
		cd := &s.cands[pl.cand]
		switch {
		case cd.send && cd.kind == opDespawn:
		case cd.send && pl.cur < 0: // a frozen entity restated by a resync
			fromBase(pl.base)
		case cd.send:
			fromCur(pl.cur)
		case pl.base >= 0 && prior == nil: // unsent: the client keeps its value
			fromBase(pl.base)
		}
		if cd.send {
			s.enc.add(cd.id, s.bodies[cd.start:cd.end])
		}
	}
	parts, err := s.enc.finish() // nothing dropped: choose sent only what fits
	if err != nil {
		c.spare = snap
		return nil, err
	}
	if len(c.sent) == 0 {
		c.sent = make([]*snapshot, s.opts.ClientHistory)
	}
	slot := c.next % len(c.sent)
	c.next++
	old := c.sent[slot]
	c.sent[slot] = snap
	if old != c.ackRec { // the acknowledged snapshot stays pinned
		c.spare = old
	}
	c.built, c.parts = cur.tick, parts
	return parts, nil
}

// freshSnapshot is a snapshot to build a client's next one in when it has
// no spare of its own (its ring is still filling): one a departed client left
// behind, or a new one with room for what like (the client's newest)
// held, so that it is not grown append by append from nothing.
func (s *Server) freshSnapshot(like *snapshot) *snapshot {
	if n := len(s.freeSnaps); n > 0 {
		snap := s.freeSnaps[n-1]
		s.freeSnaps[n-1] = nil
		s.freeSnaps = s.freeSnaps[:n-1]
		return snap
	}
	if like == nil {
		return &snapshot{}
	}
	return &snapshot{
		ents: make([]entityState, 0, cap(like.ents)),
		ends: make([]int32, 0, cap(like.ends)),
		data: make([]byte, 0, cap(like.data)),
	}
}

// maxFreeSnaps bounds the snapshots departed clients leave for newcomers:
// enough for a burst of joins to reuse, not a store that churning clients
// could fill with large views.
const maxFreeSnaps = 256

// plan lists, in s.plans and s.cands, where each entity of the client's
// next snapshot (client c) comes from when it is encoded against base (nil: nothing),
// and the entries that snapshot may carry. s.vis holds the client's scope.
// With base nil and prior set (a resync), the entities frozen in prior are
// restated as spawns, first in priority.
func (s *Server) plan(c *serverClient, base, prior *snapshot) {
	resync := base == nil && prior != nil
	switch {
	case resync:
		base = prior
	case base == nil:
		base = &snapshot{}
	}
	cur := s.current
	s.cands, s.plans, s.bodies = s.cands[:0], s.plans[:0], s.bodies[:0]
	addCand := func(id uint32, kind byte, body []byte, prio float32) int32 {
		st := int32(len(s.bodies))
		s.bodies = append(s.bodies, body...)
		s.cands = append(s.cands, candidate{id: id, kind: kind, start: st, end: int32(len(s.bodies)), prio: prio})
		return int32(len(s.cands) - 1)
	}
	vi, j := 0, 0
	ck := 0 // walks cur.ents for entities only in the baseline
	for vi < len(s.vis) || j < len(base.ents) {
		var curID, baseID uint32 = math.MaxUint32, math.MaxUint32
		if vi < len(s.vis) {
			curID = cur.ents[s.vis[vi].idx()].id
		}
		if j < len(base.ents) {
			baseID = base.ents[j].id
		}
		switch {
		case curID < baseID || (resync && curID == baseID): // entering the client's scope
			v := s.vis[vi]
			p := s.meta[v.idx()].prio * v.scale()
			s.plans = append(s.plans, plan{cur: v.idx(), base: -1, cand: addCand(curID, opSpawn, s.spawnEntry(c, v.idx()), p)})
			if curID == baseID {
				j++
			}
			vi++
		case baseID < curID: // leaving it, or gone
			for ck < len(cur.ents) && cur.ents[ck].id < baseID {
				ck++
			}
			frozen := ck < len(cur.ents) && cur.ents[ck].id == baseID && s.meta[ck].keep
			switch {
			case resync && frozen: // restated whole at its frozen value
				s.enc.appendSpawn(base, &base.ents[j], all)
				s.plans = append(s.plans, plan{cur: -1, base: int32(j), cand: addCand(baseID, opSpawn, s.enc.entry, float32(math.Inf(1)))})
			case resync: // not frozen: the full state leaves it out
			case frozen:
				s.plans = append(s.plans, plan{cur: -1, base: int32(j), cand: -1})
			default:
				prio := float32(1)
				if ck < len(cur.ents) && cur.ents[ck].id == baseID {
					prio = s.meta[ck].prio
				}
				s.plans = append(s.plans, plan{cur: -1, base: int32(j), cand: addCand(baseID, opDespawn, []byte{opDespawn << 6}, prio)})
			}
			j++
		default:
			v := s.vis[vi]
			if s.meta[v.idx()].changed <= base.ents[j].src {
				s.plans = append(s.plans, plan{cur: v.idx(), base: int32(j), cand: -1}) // unchanged since the client's value
			} else if s.enc.appendUpdate(cur, &cur.ents[v.idx()], s.visMask(c, v.idx()), base, &base.ents[j], all) {
				p := s.meta[v.idx()].prio * v.scale()
				if s.sendableSize(len(s.enc.entry)) {
					s.plans = append(s.plans, plan{cur: v.idx(), base: int32(j), cand: addCand(curID, opUpdate, s.enc.entry, p)})
				} else { // an update no snapshot can carry: despawned now, it is spawned whole (which fits) next
					s.plans = append(s.plans, plan{cur: -1, base: int32(j), cand: addCand(curID, opDespawn, []byte{opDespawn << 6}, p)})
				}
			} else {
				s.plans = append(s.plans, plan{cur: v.idx(), base: int32(j), cand: -1})
			}
			vi++
			j++
		}
	}
}

// choose marks the candidates this snapshot sends: all that fit a
// datagram without a budget; under one, the highest accumulated priorities
// that fit. It reports whether the budget deferred any. It only reads c,
// so a snapshot can be planned again against another baseline.
func (s *Server) choose(c *serverClient) (deferred bool) {
	// carry the accumulated priority of still-pending entities
	k := 0
	for i := range s.cands {
		cd := &s.cands[i]
		for k < len(c.accIDs) && c.accIDs[k] < cd.id {
			k++
		}
		if k < len(c.accIDs) && c.accIDs[k] == cd.id {
			cd.prio += c.acc[k]
		}
	}
	if s.opts.SnapshotBytes <= 0 {
		for i := range s.cands {
			s.cands[i].send = s.sendable(&s.cands[i])
		}
		return false
	}
	parts := (s.opts.SnapshotBytes + s.opts.Budget - 1) / s.opts.Budget
	room := s.opts.SnapshotBytes - parts*headerLen
	total := 0
	for i := range s.cands {
		total += binary.MaxVarintLen32 + int(s.cands[i].end-s.cands[i].start)
	}
	if total <= room { // everything fits: no order needed
		for i := range s.cands {
			s.cands[i].send = s.sendable(&s.cands[i])
		}
		return false
	}
	// Highest priority first, then lowest ID: candidates are in ID order,
	// so a key of the priority's rank and the index sorts as plain
	// integers, without a comparison function.
	s.order2 = s.order2[:0]
	for i := range s.cands {
		s.order2 = append(s.order2, uint64(descending(s.cands[i].prio))<<32|uint64(i))
	}
	slices.Sort(s.order2)
	for _, key := range s.order2 {
		cd := &s.cands[uint32(key)]
		need := binary.MaxVarintLen32 + int(cd.end-cd.start)
		switch {
		case !s.sendable(cd): // counted by remember
		case need <= room:
			room -= need
			cd.send = true
		default:
			deferred = true
		}
	}
	return deferred
}

// remember keeps the accumulated priority of every candidate not sent, for
// the next snapshot, and counts those that can never be sent.
func (s *Server) remember(c *serverClient) {
	c.accIDs, c.acc = c.accIDs[:0], c.acc[:0]
	for i := range s.cands {
		cd := &s.cands[i]
		if cd.send {
			continue
		}
		if !s.sendable(cd) {
			s.stats.OversizeDrops++
			if o := (oversizeEntry{cd.id, int(cd.end - cd.start)}); o != s.lastOversize { // formatted once, not per client per tick
				s.lastOversize = o
				s.oversized = fmt.Errorf("%w: entity %d: an entry of %d bytes, over a datagram (%d) or a snapshot's share (%d)", ErrTooLarge, o.id, o.size, s.opts.Budget, s.opts.SnapshotBytes)
			}
		}
		c.accIDs = append(c.accIDs, cd.id)
		c.acc = append(c.acc, cd.prio)
	}
}

// oversizeEntry names the last entry remember found unsendable.
type oversizeEntry struct {
	id   uint32
	size int
}

// sendable reports whether a candidate fits in one datagram and, under a
// budget, in one snapshot's share; one that does not is never sent.
func (s *Server) sendable(cd *candidate) bool { return s.sendableSize(int(cd.end - cd.start)) }

// sendableSize is sendable for an entry of size bytes.
func (s *Server) sendableSize(size int) bool {
	if !s.enc.fits(size) {
		return false
	}
	if s.opts.SnapshotBytes <= 0 {
		return true
	}
	parts := (s.opts.SnapshotBytes + s.opts.Budget - 1) / s.opts.Budget
	return binary.MaxVarintLen32+size <= s.opts.SnapshotBytes-parts*headerLen
}

// descending maps priorities to integers in the opposite order: a higher
// priority gets a smaller number (IEEE 754 bits made monotonic, then
// inverted).
func descending(f float32) uint32 {
	b := math.Float32bits(f)
	if b&(1<<31) != 0 {
		b = ^b
	} else {
		b |= 1 << 31
	}
	return ^b
}
