package replication

// Op is what a snapshot entry does to an entity.
type Op byte

// Entry ops.
const (
	OpSpawn   Op = opSpawn
	OpUpdate  Op = opUpdate
	OpDespawn Op = opDespawn
)

// EntryInfo is one decoded snapshot entry: an entity's network ID and
// what the entry does to it.
type EntryInfo struct {
	ID uint32
	Op Op
}

// DatagramInfo is one decoded snapshot datagram.
type DatagramInfo struct {
	Lane        int
	Tick, Base  uint32 // Base 0: full state
	Part, Parts int
	Entries     []EntryInfo
}

// Inspect decodes one snapshot datagram with reg's components, checking
// it as a client would (ErrMalformed otherwise), without applying it: for
// tools and tests that watch what goes on the wire. Any goroutine may call
// it; it keeps nothing of p.
func Inspect(reg *Registry, p []byte) (DatagramInfo, error) {
	h, err := parsePartHeader(p)
	if err != nil {
		return DatagramInfo{}, err
	}
	ops, err := decodeEntries(p, reg.freeze(), nil)
	if err != nil {
		return DatagramInfo{}, err
	}
	d := DatagramInfo{Lane: h.lane, Tick: h.tick, Base: h.base, Part: h.part, Parts: h.parts}
	for _, o := range ops {
		d.Entries = append(d.Entries, EntryInfo{ID: o.id, Op: Op(o.kind)})
	}
	return d, nil
}
