package replication

import (
	"cmp"
	"math"
	"slices"
)

// OwnerOnly components on the shared path (no Interest, no SnapshotBytes):
// every client's view of a snapshot is the snapshot seen through a filter
// that hides OwnerOnly components from all but each entity's owner. The
// clients that own none of those entities share everyone's encoding; an
// owner's encoding is everyone's list of entries with the entries of the
// entities it owns built again for it, so it costs its own entities, not
// the world.

// ownedEntity is entity i of a snapshot, owned by peer, with OwnerOnly
// components.
type ownedEntity struct{ i, peer int32 }

// everyone is the viewer of an encoding for the clients that own nothing
// in it: no peer (an int32) is.
const everyone = math.MaxInt64

// ownerFilter walks a snapshot's owned entities in index order, giving the
// mask of the components a viewer may see of each entity: all for the
// entity's owner, all but the OwnerOnly ones for everyone else.
type ownerFilter struct {
	list   []ownedEntity
	k      int
	viewer int64
	hidden uint64 // the OwnerOnly components
}

// visible is the mask for entity i; calls come in increasing i.
func (f *ownerFilter) visible(i int) uint64 {
	for f.k < len(f.list) && int(f.list[f.k].i) < i {
		f.k++
	}
	if f.k < len(f.list) && int(f.list[f.k].i) == i && int64(f.list[f.k].peer) == f.viewer {
		return all
	}
	return ^f.hidden
}

// owns reports whether viewer owns an entity of s with OwnerOnly
// components: whether its view of s differs from everyone's.
func (s *snapshot) owns(viewer int64) bool {
	_, found := slices.BinarySearch(s.owners, viewer)
	return found
}

// entryList is an encoding's entries in ID order, before they are packed
// into datagrams.
type entryList struct {
	ids  []uint32
	ends []int32 // end of each entry's body in data
	data []byte
	// opened is, for each datagram, the index of the entry whose add
	// opened it: packing from that entry in a new datagram repeats the
	// packing from there
	opened []int32
}

func (l *entryList) reset() {
	l.ids, l.ends, l.data, l.opened = l.ids[:0], l.ends[:0], l.data[:0], l.opened[:0]
}

func (l *entryList) add(id uint32, body []byte) {
	l.ids = append(l.ids, id)
	l.data = append(l.data, body...)
	l.ends = append(l.ends, int32(len(l.data)))
}

func (l *entryList) body(k int) []byte {
	start := int32(0)
	if k > 0 {
		start = l.ends[k-1]
	}
	return l.data[start:l.ends[k]]
}

// everyoneEnc is this tick's encoding for everyone against base (nil: full
// state), built once per baseline and, with OwnerOnly components, with the
// list of its entries for owners' encodings.
type everyoneEnc struct {
	parts   [][]byte
	err     error
	dropped int
	list    entryList
}

// forEveryone returns everyone's encoding of the current snapshot against
// base, encoding it the first time this tick.
func (s *Server) forEveryone(base *snapshot) *everyoneEnc {
	key := uint32(0)
	if base != nil {
		key = base.tick
	}
	if e := s.everyoneEncs[key]; e != nil {
		return e
	}
	var e *everyoneEnc
	if n := len(s.freeEncs); n > 0 {
		e, s.freeEncs = s.freeEncs[n-1], s.freeEncs[:n-1]
	} else {
		e = &everyoneEnc{}
	}
	e.list.reset()
	if s.owned != 0 {
		s.enc.rec = &e.list
	}
	e.parts, e.err = s.enc.encodeDelta(s.current, base, everyone)
	e.dropped = s.enc.dropped
	s.enc.rec = nil
	s.stats.Encodes++
	s.everyoneEncs[key] = e
	return e
}

// forgetEncodings drops last tick's encodings for everyone, keeping their
// buffers (Capture calls it).
func (s *Server) forgetEncodings() {
	for k, e := range s.everyoneEncs {
		e.parts = nil
		s.freeEncs = append(s.freeEncs, e)
		delete(s.everyoneEncs, k)
	}
}

// encodeFor encodes viewer's view of the current snapshot against its view
// of base (nil: full state) from everyone's encoding ev, replacing the
// entries of the entities viewer owns (in the current snapshot or in base)
// with its own: the same datagrams encodeDelta(current, base, viewer)
// writes. Everyone's datagrams before the one where viewer's first
// differs are viewer's too, shared when the datagram count comes out the
// same (copied and renumbered otherwise), so it costs viewer's own
// entities and packing from there on.
func (s *Server) encodeFor(base *snapshot, viewer int64, ev *everyoneEnc) ([][]byte, error) {
	cur := s.current
	w := &s.enc
	baseTick := uint32(0)
	if base != nil {
		baseTick = base.tick
	} else {
		base = &snapshot{}
	}
	// the entities of cur whose entry differs for viewer, by index
	s.mine = s.mine[:0]
	for _, o := range cur.owned {
		if int64(o.peer) == viewer {
			s.mine = append(s.mine, o.i)
		}
	}
	for _, o := range base.owned {
		if int64(o.peer) == viewer {
			if i, ok := entityIndex(cur, base.ents[o.i].id); ok {
				s.mine = append(s.mine, i)
			}
		}
	}
	if len(s.mine) == 0 && ev.err == nil { // only gone entities: viewer's view is everyone's
		w.dropped = ev.dropped
		return ev.parts, nil
	}
	slices.Sort(s.mine)
	s.mine = slices.Compact(s.mine)

	// everyone's datagrams wholly before the first entry that differs
	l := &ev.list
	prefix := 0
	if ev.err == nil && ev.dropped == 0 { // (with entries left out, all are packed again, to count them)
		first, _ := slices.BinarySearch(l.ids, cur.ents[s.mine[0]].id) // entries before it are everyone's
		for prefix+1 < len(l.opened) && int(l.opened[prefix+1]) < first {
			prefix++ // datagram prefix+1 opens before the first difference too
		}
	}
	w.start(cur.tick, baseTick, w.budget)
	k := 0
	if prefix > 0 {
		k = int(l.opened[prefix])
	}
	cf := ownerFilter{list: cur.owned, viewer: viewer, hidden: w.owned}
	for _, i := range s.mine {
		e := &cur.ents[i]
		for ; k < len(l.ids) && l.ids[k] < e.id; k++ {
			w.add(l.ids[k], l.body(k))
		}
		if k < len(l.ids) && l.ids[k] == e.id {
			k++ // everyone's entry, replaced by viewer's
		}
		evis := cf.visible(int(i))
		j, inBase := entityIndex(base, e.id)
		if !inBase {
			w.appendSpawn(cur, e, evis)
			w.add(e.id, w.entry)
			continue
		}
		bvis := ^w.owned
		if o, ok := slices.BinarySearchFunc(base.owned, j, func(o ownedEntity, j int32) int { return cmp.Compare(o.i, j) }); ok && int64(base.owned[o].peer) == viewer {
			bvis = all
		}
		if w.appendUpdate(cur, e, evis, base, &base.ents[j], bvis) {
			w.add(e.id, w.entry)
		}
	}
	for ; k < len(l.ids); k++ {
		w.add(l.ids[k], l.body(k))
	}
	s.stats.Encodes++
	return w.finishAfter(ev.parts[:prefix], len(ev.parts))
}

// entityIndex finds the entity of network ID id in snapshot s.
func entityIndex(s *snapshot, id uint32) (int32, bool) {
	i, ok := slices.BinarySearchFunc(s.ents, id, func(e entityState, id uint32) int { return cmp.Compare(e.id, id) })
	return int32(i), ok
}
