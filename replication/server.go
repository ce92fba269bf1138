package replication

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/wire"
)

// ServerOptions tune a Server. The zero value is usable.
type ServerOptions struct {
	// History is how many snapshots are kept as possible baselines; a
	// client whose newest ack is older gets full state. Default 32.
	History int
	// Budget is the largest snapshot datagram in bytes; default 1200, under
	// one ENet datagram at the default MTU.
	Budget int
	// Lanes are every lane in use (Registry.Lanes); Lane is the index of
	// the one this Server replicates. By default the registry's lanes and
	// index 0. A server per lane shares nothing but the world.
	Lanes []components.LaneData
	Lane  int
	// Interest, when set, gives each client only the entities in its
	// scope (see Interest, Server.SetView, Server.SetOverride).
	Interest *Interest
	// SnapshotBytes, when positive, is each client's budget per snapshot
	// in bytes (headers included): each snapshot carries the changes of
	// highest accumulated priority that fit, the rest go later. 0: no
	// budget.
	SnapshotBytes int
	// ClientHistory is how many of each client's own snapshots are kept
	// as its possible baselines when Interest or SnapshotBytes is set;
	// default 16.
	ClientHistory int
}

// Server captures snapshots of a world's replicated entities and encodes
// each client's delta against the newest snapshot that client acknowledged.
// Encodings are shared by every client with the same baseline, unless
// Interest, SnapshotBytes or an OwnerOnly component makes clients' views
// differ: then each client gets its own snapshot.
type Server struct {
	comps   []*compInfo
	owned   uint64 // mask of the OwnerOnly components
	opts    ServerOptions
	history []*snapshot // ring, indexed by tick % len
	current *snapshot
	public  *snapshot // current without OwnerOnly components (or current itself)
	pubBuf  *snapshot
	nextID  uint32
	query   *donburi.Query
	fresh   []donburi.Entity
	order   []capturedEntity
	clients map[int]*serverClient
	cache   map[uint32][][]byte // this tick's encodings by baseline tick
	enc     encoder
	stats   ServerStats

	// per-client snapshots (Interest or SnapshotBytes set): see interest.go
	world    donburi.World
	meta     []entMeta
	prevMeta []entMeta
	global   []int32
	byGroup  [64][]int32
	grid     map[cell][]int32
	spawnAt  [][2]int32
	spawnBuf []byte
	vis      []visEnt
	cands    []candidate
	plans    []plan
	bodies   []byte
	order2   []int32
	spare    *snapshot
}

// ServerStats count a Server's notable events.
type ServerStats struct {
	Malformed     uint64 // bad acks from clients
	OversizeDrops uint64 // entities too large for one datagram
	FullStates    uint64 // snapshots sent whole: a client's first, or its baseline expired
	// DatagramsSent and BytesSent count what Datagrams handed out (every
	// client's copy of a shared encoding counts); EncodeTime is the time
	// spent capturing snapshots and encoding deltas (once per baseline, not
	// per client, unless each client has its own snapshot).
	DatagramsSent, BytesSent uint64
	EncodeTime               time.Duration
}

// Stats reports the server's counters.
func (s *Server) Stats() ServerStats { return s.stats }

type serverClient struct {
	id    int
	acked uint32 // newest tick the client confirmed complete

	// per-client snapshots only
	view   View
	over   map[donburi.Entity]Override
	sent   []*snapshot // ring of this client's snapshots
	next   int
	built  uint32 // tick of parts, this tick's datagrams once built
	parts  [][]byte
	accIDs []uint32  // entities with pending changes, by ID, and their
	acc    []float32 // accumulated priorities
}

type capturedEntity struct {
	id    uint32
	entry *donburi.Entry
}

// NewServer returns a replication server for reg.
func NewServer(reg *Registry, opts ServerOptions) *Server {
	if opts.History <= 0 {
		opts.History = 32
	}
	if opts.Budget <= 0 {
		opts.Budget = wire.UnreliableBudget
	}
	if opts.ClientHistory <= 0 {
		opts.ClientHistory = defaultClientHistory
	}
	if opts.Lanes == nil {
		opts.Lanes = reg.Lanes()
	}
	if opts.Lane < 0 || opts.Lane >= len(opts.Lanes) || opts.Lane > 255 {
		panic(fmt.Sprintf("replication: lane %d of %d", opts.Lane, len(opts.Lanes)))
	}
	s := &Server{
		comps:   reg.freeze(),
		opts:    opts,
		history: make([]*snapshot, opts.History),
		nextID:  1,
		query:   donburi.NewQuery(filter.Contains(components.Replicated)),
		clients: map[int]*serverClient{},
		cache:   map[uint32][][]byte{},
		grid:    map[cell][]int32{},
	}
	for i, c := range s.comps {
		if c.ownerOnly {
			s.owned |= 1 << i
		}
	}
	s.enc.comps = s.comps
	s.enc.budget = opts.Budget
	s.enc.lane = byte(opts.Lane)
	return s
}

// Capture records the replicated state of world at tick (ticks must grow).
// Entities tagged Replicated get a NetworkID the first time they are seen.
func (s *Server) Capture(world donburi.World, tick uint32) {
	start := time.Now()
	defer func() { s.stats.EncodeTime += time.Since(start) }()
	s.fresh = s.fresh[:0]
	s.query.Each(world, func(e *donburi.Entry) {
		if !e.HasComponent(components.NetworkID) {
			s.fresh = append(s.fresh, e.Entity())
		}
	})
	for _, ent := range s.fresh { // outside the query: adding changes archetypes
		donburi.Add(world.Entry(ent), components.NetworkID, &components.NetworkIDData{ID: s.nextID})
		s.nextID++
	}
	s.order = s.order[:0]
	s.query.Each(world, func(e *donburi.Entry) {
		s.order = append(s.order, capturedEntity{components.NetworkID.Get(e).ID, e})
	})
	slices.SortFunc(s.order, func(a, b capturedEntity) int { return cmp.Compare(a.id, b.id) })

	prev := s.current
	slot := int(tick % uint32(len(s.history)))
	snap := s.history[slot]
	if snap == nil {
		snap = &snapshot{}
		s.history[slot] = snap
	}
	snap.reset(tick)
	for _, ce := range s.order {
		mask := s.maskOf(ce.entry)
		snap.beginEntity(ce.id, mask)
		for m := mask; m != 0; m &= m - 1 {
			c := s.comps[bits.TrailingZeros64(m)]
			snap.data = c.appendValue(snap.data, ce.entry)
			snap.endValue()
		}
	}
	s.current = snap
	clear(s.cache)
	if s.scoped() {
		if prev == snap { // overwritten: a history of one
			prev = nil
		}
		s.captureScope(world, prev)
	}
}

// maskOf is the set of registered components an entity replicates on this
// server's lane. A component travels on its registration's lane; an
// entity's Channel and TransferMode components move all its components
// (the channel, the mode, or both); ReplicatedData.Lanes moves one
// component, over both. A lane the network does not list falls back to
// the one before.
func (s *Server) maskOf(e *donburi.Entry) uint64 {
	tag := components.Replicated.Get(e)
	lane := s.opts.Lanes[s.opts.Lane]
	hasChannel, hasMode := e.HasComponent(components.Channel), e.HasComponent(components.TransferMode)
	var mask uint64
	for i, c := range s.comps {
		if !e.HasComponent(c.ctype) {
			continue
		}
		if len(tag.Only) > 0 && !slices.Contains(tag.Only, c.name) {
			continue
		}
		l := c.lane
		if hasChannel || hasMode {
			o := l
			if hasChannel {
				o.Channel = components.Channel.Get(e).Channel
			}
			if hasMode {
				o.Mode = components.TransferMode.Get(e).Mode
			}
			if slices.Contains(s.opts.Lanes, o) {
				l = o
			}
		}
		if o, ok := tag.Lanes[c.name]; ok && slices.Contains(s.opts.Lanes, o) {
			l = o
		}
		if l == lane {
			mask |= 1 << i
		}
	}
	return mask
}

// AddClient starts tracking a client; its first snapshot is full state.
func (s *Server) AddClient(id int) { s.clients[id] = &serverClient{id: id} }

// RemoveClient forgets a client.
func (s *Server) RemoveClient(id int) { delete(s.clients, id) }

// baseline is the snapshot a client's next delta is encoded against, nil
// for full state.
func (s *Server) baseline(c *serverClient) *snapshot {
	if c.acked == 0 {
		return nil
	}
	b := s.history[int(c.acked%uint32(len(s.history)))]
	if b == nil || b.tick != c.acked {
		return nil // too old: evicted from the history
	}
	return b
}

// Datagrams returns the current snapshot for a client, as datagrams of at
// most Budget bytes, delta-encoded against its newest acknowledged
// snapshot (full state when that is no longer in the history), or nothing
// when the client already acknowledged the current snapshot. The slices are
// shared with other clients: do not modify them.
func (s *Server) Datagrams(client int) ([][]byte, error) {
	c := s.clients[client]
	if c == nil || s.current == nil {
		return nil, nil
	}
	if c.acked >= s.current.tick {
		return nil, nil // the client has this snapshot already
	}
	if s.scoped() {
		start := time.Now()
		parts, err := s.scopedDatagrams(c)
		s.stats.EncodeTime += time.Since(start)
		s.count(parts)
		return parts, err
	}
	base := s.baseline(c)
	key := uint32(0)
	if base != nil {
		key = base.tick
	} else {
		s.stats.FullStates++
	}
	parts, ok := s.cache[key]
	if !ok {
		start := time.Now()
		s.enc.dropped = 0
		var err error
		parts, err = s.enc.encodeDelta(s.current, base)
		s.stats.OversizeDrops += uint64(s.enc.dropped)
		s.stats.EncodeTime += time.Since(start)
		if err != nil {
			return nil, err
		}
		s.cache[key] = parts
	}
	s.count(parts)
	return parts, nil
}

// count adds datagrams handed out to the stats.
func (s *Server) count(parts [][]byte) {
	s.stats.DatagramsSent += uint64(len(parts))
	for _, p := range parts {
		s.stats.BytesSent += uint64(len(p))
	}
}

// HandleAck takes an ack payload from a client. Acks only move forward.
func (s *Server) HandleAck(client int, p []byte) error {
	lane, tick, err := parseAck(p)
	if err == nil && lane != s.opts.Lane {
		err = ErrMalformed
	}
	c := s.clients[client]
	if err != nil || c == nil || (s.current != nil && tick > s.current.tick) {
		s.stats.Malformed++
		return fmt.Errorf("%w: ack", ErrMalformed)
	}
	if tick > c.acked {
		c.acked = tick
	}
	return nil
}

// Acked is the newest tick a client acknowledged (0 before any).
func (s *Server) Acked(client int) uint32 {
	if c := s.clients[client]; c != nil {
		return c.acked
	}
	return 0
}
