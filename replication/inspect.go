package replication

import "math/bits"

// Op is what a snapshot entry does to an entity.
type Op byte

// Entry ops.
const (
	OpSpawn   Op = opSpawn
	OpUpdate  Op = opUpdate
	OpDespawn Op = opDespawn
)

// EntryInfo is one decoded snapshot entry: an entity's network ID, what
// the entry does to it, and the registered names of the components whose
// values it carries (a spawn's all, an update's changed ones; none for a
// despawn), in registry order.
type EntryInfo struct {
	ID         uint32
	Op         Op
	Components []string
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
	comps := reg.freeze()
	ops, err := decodeEntries(p, comps, nil)
	if err != nil {
		return DatagramInfo{}, err
	}
	d := DatagramInfo{Lane: h.lane, Tick: h.tick, Base: h.base, Part: h.part, Parts: h.parts}
	for _, o := range ops {
		e := EntryInfo{ID: o.id, Op: Op(o.kind)}
		for m := o.mask; m != 0; m &= m - 1 {
			e.Components = append(e.Components, comps[bits.TrailingZeros64(m)].name)
		}
		d.Entries = append(d.Entries, e)
	}
	return d, nil
}
