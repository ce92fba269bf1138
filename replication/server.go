package replication

import (
	"cmp"
	"encoding/binary"
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
	// client whose newest ack is older gets full state. With Interest or
	// SnapshotBytes (per-client snapshots, see ClientHistory) it is only
	// taken as the clients' ClientOptions.History. Default 32.
	History int
	// Budget is the largest snapshot datagram in bytes; default 1200, under
	// one ENet datagram at the default MTU. An entity whose components
	// do not fit in one is not replicated (see Server.Oversized).
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
	// highest accumulated priority that fit, the rest go later (while it
	// binds, each snapshot is a delta against the one sent before; see
	// Server.Datagrams). 0: no budget.
	SnapshotBytes int
	// ClientHistory is how many of each client's own snapshots are kept
	// as its possible baselines when Interest or SnapshotBytes is set,
	// besides the one it acknowledged, which is kept until a newer one
	// is; it also bounds how many snapshots a budget chains before an
	// ack. Default 16.
	ClientHistory int
}

// Server captures snapshots of a world's replicated entities and encodes
// each client's delta against the newest snapshot that client acknowledged.
// Encodings are shared by every client with the same baseline and view.
// OwnerOnly components alone keep it so: the clients that own none of the
// entities carrying one share everyone's encoding, and each owner gets
// its own, built from everyone's entries with those of its own entities
// rebuilt for it (no state per client, and a cost of its own entities
// plus packing, not of the world). With Interest or SnapshotBytes set,
// views differ by client and each client gets its own snapshot
// (PerClient).
type Server struct {
	comps   []*compInfo
	owned   uint64 // mask of the OwnerOnly components
	opts    ServerOptions
	history []*snapshot // ring, indexed by tick % len
	current *snapshot
	nextID  uint32
	query   *donburi.Query
	fresh   []donburi.Entity
	peers   []int64 // Capture's owners of entities with OwnerOnly components
	order   []capturedEntity
	clients map[int]*serverClient
	cache   map[encodingKey][][]byte // this tick's shared encodings
	// everyoneEncs are this tick's encodings for everyone by baseline
	// tick, freeEncs last tick's, for their buffers; mine is encodeFor's
	// (owner.go)
	everyoneEncs map[uint32]*everyoneEnc
	freeEncs     []*everyoneEnc
	mine         []int32
	enc          encoder
	stats        ServerStats
	// oversized is the latest ErrTooLarge (see Oversized)
	oversized    error
	lastOversize oversizeEntry // the entry behind oversized when remember set it

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
	order2   []uint64 // choose's ranking keys
	// freeSnaps are departed clients' snapshots, for newcomers' rings
	// (interest.go: freshSnapshot)
	freeSnaps []*snapshot
}

// ServerStats count a Server's notable events.
type ServerStats struct {
	Malformed uint64 // bad acks from clients
	// OversizeDrops counts entities left out of a snapshot because their
	// spawn does not fit in one datagram (see Oversized), and, with
	// Interest or SnapshotBytes, entries a client's share can never carry.
	// (An update too large for a datagram whose entity still fits whole
	// is not dropped: the entity is despawned on that client and spawned
	// whole in the next snapshot.)
	OversizeDrops uint64
	// FullStates counts snapshots sent whole: a client's first, its
	// baseline expired, or (shared snapshots) a delta with an update too
	// large for one datagram.
	FullStates uint64
	// DatagramsSent and BytesSent count what Datagrams handed out (every
	// client's copy of a shared encoding counts); EncodeTime is the time
	// spent capturing snapshots and encoding deltas (once per baseline, not
	// per client, unless each client has its own snapshot).
	DatagramsSent, BytesSent uint64
	EncodeTime               time.Duration
	// Encodes counts snapshot encodings built: one per baseline and
	// snapshot shared by every client with that baseline (plus one for
	// each of them that owns an entity with OwnerOnly components in the
	// snapshot or its baseline), or, with per-client snapshots (Interest
	// or SnapshotBytes), one per client and snapshot.
	Encodes uint64
}

// Stats reports the server's counters.
func (s *Server) Stats() ServerStats { return s.stats }

// Oversized reports the most recent entity left out of a snapshot because
// it does not fit in one datagram (or, under SnapshotBytes, a change of one
// that a client's share can never carry), as an error wrapping ErrTooLarge
// that names its network ID and size; nil when none ever was. Such an
// entity is not replicated at all (clients that had it see it despawn)
// until it fits again; OversizeDrops counts each time. Call it from the
// goroutine that drives the Server.
func (s *Server) Oversized() error { return s.oversized }

type serverClient struct {
	id    int
	acked uint32 // newest tick the client confirmed complete

	// per-client snapshots only
	view   View
	over   map[donburi.Entity]Override
	sent   []*snapshot // ring of this client's snapshots
	next   int         // snapshots sent so far (the next one's seq)
	ackRec *snapshot   // the acknowledged one, pinned even once out of sent
	lag    int         // snapshots sent between one and its ack, -1 before any
	// saturated: the last snapshot left changes for later (the budget
	// binds), so the next is encoded against it (see scopedDatagrams)
	saturated bool
	spare     *snapshot // evicted from sent, to build the next one in
	built     uint32    // tick of parts, this tick's datagrams once built
	parts     [][]byte
	accIDs    []uint32  // entities with pending changes, by ID, and their
	acc       []float32 // accumulated priorities
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
		comps:        reg.freeze(),
		opts:         opts,
		history:      make([]*snapshot, opts.History),
		nextID:       1,
		query:        donburi.NewQuery(filter.Contains(components.Replicated)),
		clients:      map[int]*serverClient{},
		cache:        map[encodingKey][][]byte{},
		everyoneEncs: map[uint32]*everyoneEnc{},
		grid:         map[cell][]int32{},
	}
	for i, c := range s.comps {
		if c.ownerOnly {
			s.owned |= 1 << i
		}
	}
	s.enc.comps = s.comps
	s.enc.owned = s.owned
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
	kept := s.order[:0]
	shared := !s.PerClient()
	for _, ce := range s.order {
		mask := s.maskOf(ce.entry)
		snap.beginEntity(ce.id, mask)
		size := len(appendHead(s.enc.entry[:0], opSpawn, mask))
		for m := mask; m != 0; m &= m - 1 {
			c := s.comps[bits.TrailingZeros64(m)]
			n := len(snap.data)
			snap.data = c.appendValue(snap.data, ce.entry)
			snap.endValue()
			if size += len(snap.data) - n; c.size == 0 {
				size += uvarintLen(uint64(len(snap.data) - n))
			}
		}
		if !s.enc.fits(size) {
			s.leaveOut(snap, ce.id, size)
			continue
		}
		if mask&s.owned != 0 && shared && ce.entry.HasComponent(components.Owner) { // for the shared encodings' filter
			peer := components.Owner.Get(ce.entry).Peer
			snap.owned = append(snap.owned, ownedEntity{int32(len(kept)), peer})
			if n := len(s.peers); n == 0 || s.peers[n-1] != int64(peer) {
				s.peers = append(s.peers, int64(peer))
			}
		}
		kept = append(kept, ce)
	}
	if len(s.peers) > 0 {
		slices.Sort(s.peers)
		snap.owners = append(snap.owners, slices.Compact(s.peers)...)
		s.peers = s.peers[:0]
	}
	s.order = kept // parallel to snap.ents
	s.current = snap
	clear(s.cache)
	s.forgetEncodings()
	if s.PerClient() {
		if prev == snap { // overwritten: a history of one
			prev = nil
		}
		s.captureScope(world, prev)
	}
}

// leaveOut takes the entity just added to snap back out of it, because
// its spawn entry of size bytes cannot fit in one datagram: an entity in
// the history that no client can receive would make every later delta
// refer to state the clients never had. It is counted and reported.
func (s *Server) leaveOut(snap *snapshot, id uint32, size int) {
	e := snap.ents[len(snap.ents)-1]
	snap.ents = snap.ents[:len(snap.ents)-1]
	snap.ends = snap.ends[:e.span]
	snap.data = snap.data[:e.start]
	s.stats.OversizeDrops++
	s.oversized = fmt.Errorf("%w: entity %d needs %d bytes, a datagram holds %d", ErrTooLarge, id, size, s.opts.Budget-headerLen-binary.MaxVarintLen32)
	s.lastOversize = oversizeEntry{}
}

// uvarintLen is the length of x as a uvarint.
func uvarintLen(x uint64) int { return (bits.Len64(x|1) + 6) / 7 }

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
func (s *Server) AddClient(id int) { s.clients[id] = &serverClient{id: id, lag: -1} }

// RemoveClient forgets a client.
func (s *Server) RemoveClient(id int) {
	if c := s.clients[id]; c != nil {
		for _, snap := range append(c.sent, c.spare) { // per-client snapshots go to the next newcomers
			if snap != nil && len(s.freeSnaps) < maxFreeSnaps {
				s.freeSnaps = append(s.freeSnaps, snap)
			}
		}
	}
	delete(s.clients, id)
}

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
// when the client already acknowledged the current snapshot. With
// SnapshotBytes set and more changes pending than fit, the delta is
// against the client's previous snapshot instead, so that each snapshot
// progresses (see ServerOptions.SnapshotBytes); with Interest or
// SnapshotBytes set the acknowledged snapshot stays the baseline however
// long the client is silent. The slices
// are shared with other clients: do not modify them. Call it from the
// goroutine that drives the Server.
func (s *Server) Datagrams(client int) ([][]byte, error) {
	c := s.clients[client]
	if c == nil || s.current == nil {
		return nil, nil
	}
	if c.acked >= s.current.tick {
		return nil, nil // the client has this snapshot already
	}
	if s.PerClient() {
		start := time.Now()
		parts, err := s.scopedDatagrams(c)
		s.stats.EncodeTime += time.Since(start)
		s.count(parts)
		return parts, err
	}
	base := s.baseline(c)
	key := encodingKey{viewer: everyone}
	if base != nil {
		key.base = base.tick
	} else {
		s.stats.FullStates++
	}
	if id := int64(c.id); s.current.owns(id) || (base != nil && base.owns(id)) {
		key.viewer = id // its view differs from everyone's: its own encoding
	}
	parts, ok := s.cache[key]
	if !ok {
		var err error
		parts, err = s.encodeShared(base, key.viewer)
		if err != nil {
			return nil, err
		}
		s.cache[key] = parts
	}
	s.count(parts)
	return parts, nil
}

// encodingKey names one of this tick's shared encodings: its baseline's
// tick (0: full state) and whose view it is (everyone, or the one client
// that owns an entity with OwnerOnly components in it or its baseline).
type encodingKey struct {
	base   uint32
	viewer int64
}

// count adds datagrams handed out to the stats.
func (s *Server) count(parts [][]byte) {
	s.stats.DatagramsSent += uint64(len(parts))
	for _, p := range parts {
		s.stats.BytesSent += uint64(len(p))
	}
}

// encodeShared encodes the current snapshot against base (nil: full
// state) for every client with that baseline. Capture left out entities
// whose spawn does not fit, so a full state always carries all of the
// snapshot; an update can still be too large (a delta longer than the
// value, a removal mask), and a delta that cannot carry every change
// would leave the clients' state behind the history's: then these
// clients get the full state instead.
func (s *Server) encodeShared(base *snapshot, viewer int64) ([][]byte, error) {
	start := time.Now()
	defer func() { s.stats.EncodeTime += time.Since(start) }()
	ev := s.forEveryone(base)
	parts, err, dropped := ev.parts, ev.err, ev.dropped
	if viewer != everyone {
		parts, err = s.encodeFor(base, viewer, ev)
		dropped = s.enc.dropped
	}
	if err != nil || dropped == 0 || base == nil {
		return parts, err
	}
	s.stats.FullStates++
	key := encodingKey{viewer: viewer}
	if viewer != everyone && !s.current.owns(viewer) {
		key.viewer = everyone // owning nothing now, it sees the full state everyone does
	}
	if full, ok := s.cache[key]; ok {
		return full, nil
	}
	full := s.forEveryone(nil)
	parts, err = full.parts, full.err
	if key.viewer != everyone {
		parts, err = s.encodeFor(nil, viewer, full)
	}
	if err == nil {
		s.cache[key] = parts
	}
	return parts, err
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
		if s.PerClient() {
			s.ackScoped(c, tick)
		}
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
