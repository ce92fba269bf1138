package replication

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/netburi/netburi/wire"
)

// snapshot is the replicated state of a world at one tick: entities sorted
// by network ID, each with a component mask and its components' encoded
// values in registry order. Server and client hold the same structure, so a
// client rebuilds exactly the state the server diffed against.
type snapshot struct {
	tick uint32
	// base is the tick of the snapshot this one was encoded against (0:
	// none), kept by clients and by a scoped server's per-client
	// snapshots; seq is the latter's send sequence
	base uint32
	seq  int
	ents []entityState
	ends []int32 // value end offsets in data, popcount(mask) per entity
	data []byte
	// owned lists, in a server's snapshots, the entities with OwnerOnly
	// components and an owner, by index in ents; owners are their
	// distinct owner peers, sorted.
	owned  []ownedEntity
	owners []int64
}

type entityState struct {
	id    uint32
	src   uint32 // a scoped server's client snapshots: the tick whose value this is
	mask  uint64
	start int32 // offset of the first value in data
	span  int32 // index of the first end in ends
}

func (s *snapshot) reset(tick uint32) {
	s.tick = tick
	s.ents = s.ents[:0]
	s.ends = s.ends[:0]
	s.data = s.data[:0]
	s.owned = s.owned[:0]
	s.owners = s.owners[:0]
}

// value returns the encoded value of component k of entity e.
func (s *snapshot) value(e *entityState, k int) []byte {
	j := bits.OnesCount64(e.mask & (1<<k - 1))
	start := e.start
	if j > 0 {
		start = s.ends[int(e.span)+j-1]
	}
	return s.data[start:s.ends[int(e.span)+j]]
}

// beginEntity starts an entity; its values follow with addValue, in
// component order.
func (s *snapshot) beginEntity(id uint32, mask uint64) {
	s.ents = append(s.ents, entityState{id: id, mask: mask, start: int32(len(s.data)), span: int32(len(s.ends))})
}

// endValue records that the last value ends at the current data length.
func (s *snapshot) endValue() { s.ends = append(s.ends, int32(len(s.data))) }

// copyEntity appends entity e of src unchanged.
func (s *snapshot) copyEntity(src *snapshot, e *entityState) { s.copyVisible(src, e, all) }

// copyVisible appends entity e of src with only the components in vis
// (see Server.visMask).
func (s *snapshot) copyVisible(src *snapshot, e *entityState, vis uint64) {
	mask := e.mask & vis
	s.beginEntity(e.id, mask)
	if mask == 0 {
		return
	}
	if mask == e.mask { // whole: the values are contiguous, copied at once
		n := bits.OnesCount64(mask)
		end := src.ends[int(e.span)+n-1]
		shift := int32(len(s.data)) - e.start
		s.data = append(s.data, src.data[e.start:end]...)
		for _, x := range src.ends[e.span : int(e.span)+n] {
			s.ends = append(s.ends, x+shift)
		}
		return
	}
	for m := mask; m != 0; m &= m - 1 {
		s.data = append(s.data, src.value(e, bits.TrailingZeros64(m))...)
		s.endValue()
	}
}

// all is the component mask that hides nothing.
const all = ^uint64(0)

// Snapshot datagram layout (little-endian):
//
//	kind 0x30 | lane u8 | tick u32 | baseline tick u32 (0: none) | part u16 | parts u16 | entries...
//
// Entries are sorted by network ID; IDs restart from 0 in every part so
// each part decodes alone:
//
//	uvarint id gap | head u8 | ...
//
// The head's top two bits are the op, its low six the component mask (63
// meaning a uvarint mask follows):
//
//	op 1 spawn:   [uvarint mask], then every value in mask
//	op 2 update:  [uvarint changed], then every value in changed
//	op 0 update with removals: [uvarint changed], uvarint removed, values
//	op 3 despawn: mask bits zero, nothing follows
//
// so an entity that changed costs two bytes besides its values. In an
// update, a component with a DeltaCodec is always length-prefixed, and is
// written relative to the baseline's value when the baseline has one.
// A value is raw bytes for fixed-size components, uvarint length + bytes
// otherwise.
const (
	kindSnapshot   = wire.KindSnapshot
	kindAck        = wire.KindAck
	headerLen      = 14
	opUpdateRemove = 0
	opSpawn        = 1
	opUpdate       = 2
	opDespawn      = 3
	maskInline     = 63 // head mask value meaning "uvarint mask follows"
	maxParts       = 65535
)

// Ack layout: kind 0x31 | lane u8 | newest complete snapshot tick u32.
// encodeAck and parseAck frame it.
func encodeAck(lane int, tick uint32) []byte {
	return binary.LittleEndian.AppendUint32([]byte{kindAck, byte(lane)}, tick)
}

func parseAck(p []byte) (lane int, tick uint32, err error) {
	if len(p) != 6 || p[0] != kindAck {
		return 0, 0, fmt.Errorf("%w: ack of %d bytes", ErrMalformed, len(p))
	}
	return int(p[1]), binary.LittleEndian.Uint32(p[2:]), nil
}

// encoder writes one snapshot's delta into datagrams of at most budget
// bytes.
type encoder struct {
	comps   []*compInfo
	owned   uint64 // the OwnerOnly components, hidden from all but the owner
	lane    byte
	budget  int
	tick    uint32
	base    uint32
	parts   [][]byte
	cur     []byte
	prevID  uint32
	entry   []byte
	delta   []byte
	dropped int // entities too large for a datagram (counted, not sent)
	// rec, when set, records every entry added, for owners' encodings
	// (see Server.encodeFor)
	rec *entryList
}

func (w *encoder) start(tick, base uint32, budget int) {
	w.tick, w.base, w.budget = tick, base, budget
	w.parts = nil
	w.cur = nil
	w.dropped = 0
}

func (w *encoder) open() {
	w.cur = make([]byte, headerLen, w.budget)
	w.cur[0] = kindSnapshot
	w.cur[1] = w.lane
	binary.LittleEndian.PutUint32(w.cur[2:], w.tick)
	binary.LittleEndian.PutUint32(w.cur[6:], w.base)
	w.prevID = 0
}

// fits reports whether an entry of size bytes fits in one datagram.
func (w *encoder) fits(size int) bool { return headerLen+binary.MaxVarintLen32+size <= w.budget }

// add appends one entry (built in w.entry after its id gap is known).
func (w *encoder) add(id uint32, body []byte) {
	if w.rec != nil {
		w.rec.add(id, body)
	}
	if w.cur == nil {
		w.open()
		w.opened()
	}
	need := binary.MaxVarintLen32 + len(body)
	if len(w.cur)+need > w.budget && len(w.cur) > headerLen {
		w.parts = append(w.parts, w.cur)
		w.open()
		w.opened()
	}
	if !w.fits(len(body)) {
		w.dropped++
		return
	}
	w.cur = binary.AppendUvarint(w.cur, uint64(id-w.prevID))
	w.cur = append(w.cur, body...)
	w.prevID = id
}

// opened records, when recording, that the entry being added opened a
// datagram.
func (w *encoder) opened() {
	if w.rec != nil {
		w.rec.opened = append(w.rec.opened, int32(len(w.rec.ids)-1))
	}
}

func (w *encoder) appendValue(dst []byte, k int, v []byte) []byte {
	if w.comps[k].size == 0 {
		dst = binary.AppendUvarint(dst, uint64(len(v)))
	}
	return append(dst, v...)
}

// finish closes the last datagram and numbers the parts. An empty delta
// still yields one datagram, so the client learns the tick and acks it.
func (w *encoder) finish() ([][]byte, error) {
	if w.cur == nil {
		w.open()
	}
	w.parts = append(w.parts, w.cur)
	if len(w.parts) > maxParts {
		return nil, fmt.Errorf("replication: snapshot needs %d datagrams (max %d)", len(w.parts), maxParts)
	}
	for i, p := range w.parts {
		binary.LittleEndian.PutUint16(p[10:], uint16(i))
		binary.LittleEndian.PutUint16(p[12:], uint16(len(w.parts)))
	}
	return w.parts, nil
}

// finishAfter is finish for datagrams that follow prefix, the first of
// another encoding's total datagrams: prefix is shared when the count
// comes out the same (its numbers are right), copied and renumbered
// otherwise.
func (w *encoder) finishAfter(prefix [][]byte, total int) ([][]byte, error) {
	if w.cur == nil {
		w.open()
	}
	suffix := append(w.parts, w.cur)
	n := len(prefix) + len(suffix)
	if n > maxParts {
		return nil, fmt.Errorf("replication: snapshot needs %d datagrams (max %d)", n, maxParts)
	}
	parts := make([][]byte, 0, n)
	from := len(prefix) // the first datagram to number
	if n == total {
		parts = append(parts, prefix...)
	} else {
		for _, p := range prefix {
			parts = append(parts, bytes.Clone(p))
		}
		from = 0
	}
	parts = append(parts, suffix...)
	for i := from; i < n; i++ {
		binary.LittleEndian.PutUint16(parts[i][10:], uint16(i))
		binary.LittleEndian.PutUint16(parts[i][12:], uint16(n))
	}
	w.parts = parts
	return parts, nil
}

// encodeDelta writes viewer's view of cur as a delta against its view of
// base (nil: full state): an owner sees its entities' OwnerOnly
// components, everyone else none.
func (w *encoder) encodeDelta(cur, base *snapshot, viewer int64) ([][]byte, error) {
	baseTick := uint32(0)
	if base != nil {
		baseTick = base.tick
	} else {
		base = &snapshot{}
	}
	w.start(cur.tick, baseTick, w.budget)
	cf := ownerFilter{list: cur.owned, viewer: viewer, hidden: w.owned}
	bf := ownerFilter{list: base.owned, viewer: viewer, hidden: w.owned}
	i, j := 0, 0
	for i < len(cur.ents) || j < len(base.ents) {
		switch {
		case j == len(base.ents) || (i < len(cur.ents) && cur.ents[i].id < base.ents[j].id):
			e := &cur.ents[i]
			w.appendSpawn(cur, e, cf.visible(i))
			w.add(e.id, w.entry)
			i++
		case i == len(cur.ents) || base.ents[j].id < cur.ents[i].id:
			w.add(base.ents[j].id, []byte{opDespawn << 6})
			j++
		default:
			e, b := &cur.ents[i], &base.ents[j]
			if w.appendUpdate(cur, e, cf.visible(i), base, b, bf.visible(j)) {
				w.add(e.id, w.entry)
			}
			i++
			j++
		}
	}
	return w.finish()
}

// appendSpawn writes entity e of cur whole into w.entry, with only the
// components in vis.
func (w *encoder) appendSpawn(cur *snapshot, e *entityState, vis uint64) {
	mask := e.mask & vis
	w.entry = appendHead(w.entry[:0], opSpawn, mask)
	for m := mask; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		w.entry = w.appendValue(w.entry, k, cur.value(e, k))
	}
}

// appendUpdate writes into w.entry what changed in entity e of cur since
// its state b in base, reporting false (and writing nothing) when nothing
// did. Only the components in evis of e and bvis of b are seen: the
// update takes a client's view of base (what it holds) to its view of cur.
func (w *encoder) appendUpdate(cur *snapshot, e *entityState, evis uint64, base *snapshot, b *entityState, bvis uint64) bool {
	emask, bmask := e.mask&evis, b.mask&bvis
	removed := bmask &^ emask
	changed := emask &^ bmask
	for m := emask & bmask; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		if !bytes.Equal(cur.value(e, k), base.value(b, k)) {
			changed |= 1 << k
		}
	}
	if changed|removed == 0 {
		return false
	}
	if removed == 0 {
		w.entry = appendHead(w.entry[:0], opUpdate, changed)
	} else {
		w.entry = appendHead(w.entry[:0], opUpdateRemove, changed)
		w.entry = binary.AppendUvarint(w.entry, removed)
	}
	for m := changed; m != 0; m &= m - 1 {
		k := bits.TrailingZeros64(m)
		c := w.comps[k]
		switch {
		case c.appendDelta == nil:
			w.entry = w.appendValue(w.entry, k, cur.value(e, k))
		case bmask&(1<<k) != 0: // relative to the baseline's value
			w.delta = c.appendDelta(w.delta[:0], base.value(b, k), cur.value(e, k))
			w.entry = binary.AppendUvarint(w.entry, uint64(len(w.delta)))
			w.entry = append(w.entry, w.delta...)
		default: // new since the baseline: whole, but framed alike
			v := cur.value(e, k)
			w.entry = binary.AppendUvarint(w.entry, uint64(len(v)))
			w.entry = append(w.entry, v...)
		}
	}
	return true
}

// appendHead writes an entry's head byte (and the mask when it does not
// fit the head).
func appendHead(dst []byte, op byte, mask uint64) []byte {
	if mask < maskInline {
		return append(dst, op<<6|byte(mask))
	}
	dst = append(dst, op<<6|maskInline)
	return binary.AppendUvarint(dst, mask)
}

// partHeader is a parsed snapshot datagram header.
type partHeader struct {
	lane        int
	tick, base  uint32
	part, parts int
}

func parsePartHeader(p []byte) (partHeader, error) {
	if len(p) < headerLen || p[0] != kindSnapshot {
		return partHeader{}, fmt.Errorf("%w: snapshot datagram of %d bytes", ErrMalformed, len(p))
	}
	h := partHeader{
		lane:  int(p[1]),
		tick:  binary.LittleEndian.Uint32(p[2:]),
		base:  binary.LittleEndian.Uint32(p[6:]),
		part:  int(binary.LittleEndian.Uint16(p[10:])),
		parts: int(binary.LittleEndian.Uint16(p[12:])),
	}
	if h.parts == 0 || h.part >= h.parts || h.tick == 0 || (h.base != 0 && h.base >= h.tick) {
		return partHeader{}, fmt.Errorf("%w: snapshot header %+v", ErrMalformed, h)
	}
	return h, nil
}

// Lane reports which lane a snapshot or ack payload belongs to (its second
// byte), for routing it to that lane's Server or Client; ok is false for
// anything else.
func Lane(p []byte) (lane int, ok bool) {
	if len(p) < 2 || (p[0] != kindSnapshot && p[0] != kindAck) {
		return 0, false
	}
	return int(p[1]), true
}

// op is one decoded entry; values alias the datagram.
type op struct {
	id      uint32
	kind    byte
	mask    uint64 // spawn: components; update: changed
	removed uint64
	values  [][]byte
}

// decodeEntries parses the entries of one datagram, checking framing, ID
// order, masks against the registry, and each value with its codec.
func decodeEntries(p []byte, comps []*compInfo, out []op) ([]op, error) {
	p = p[headerLen:]
	valid := uint64(1)<<len(comps) - 1
	if len(comps) == 64 {
		valid = ^uint64(0)
	}
	var prev uint32
	for len(p) > 0 {
		gap, n := binary.Uvarint(p)
		if n <= 0 || gap == 0 || gap > uint64(^prev) {
			return out, fmt.Errorf("%w: entity id gap", ErrMalformed)
		}
		p = p[n:]
		o := op{id: prev + uint32(gap)}
		prev = o.id
		if len(p) == 0 {
			return out, fmt.Errorf("%w: truncated entry", ErrMalformed)
		}
		head := p[0]
		p = p[1:]
		o.kind, o.mask = head>>6, uint64(head&maskInline)
		if o.kind == opDespawn {
			if o.mask != 0 {
				return out, fmt.Errorf("%w: despawn with components", ErrMalformed)
			}
			out = append(out, o)
			continue
		}
		if o.mask == maskInline {
			if o.mask, n = binary.Uvarint(p); n <= 0 || o.mask < maskInline {
				return out, fmt.Errorf("%w: component mask", ErrMalformed)
			}
			p = p[n:]
		}
		if o.mask&^valid != 0 {
			return out, fmt.Errorf("%w: component mask", ErrMalformed)
		}
		if o.kind == opUpdateRemove {
			if o.removed, n = binary.Uvarint(p); n <= 0 || o.removed == 0 || o.removed&^valid != 0 || o.removed&o.mask != 0 {
				return out, fmt.Errorf("%w: removed mask", ErrMalformed)
			}
			p = p[n:]
			o.kind = opUpdate
		} else if o.kind == opUpdate && o.mask == 0 {
			return out, fmt.Errorf("%w: empty update", ErrMalformed)
		}
		{ // the values, in component order
			for m := o.mask; m != 0; m &= m - 1 {
				c := comps[bits.TrailingZeros64(m)]
				size := c.size
				framed := o.kind == opUpdate && c.appendDelta != nil // maybe a delta: checked in applyOps
				if size == 0 || framed {
					l, n := binary.Uvarint(p)
					if n <= 0 || l > uint64(len(p)-n) {
						return out, fmt.Errorf("%w: value length", ErrMalformed)
					}
					size, p = int(l), p[n:]
				}
				if size > len(p) {
					return out, fmt.Errorf("%w: truncated value", ErrMalformed)
				}
				v := p[:size:size]
				if !framed {
					if err := c.check(v); err != nil {
						return out, fmt.Errorf("%w: %s: %v", ErrMalformed, c.name, err)
					}
				}
				o.values = append(o.values, v)
				p = p[size:]
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// applyOps builds the snapshot at tick from base and sorted ops into dst,
// resolving delta-encoded values against base.
func applyOps(dst, base *snapshot, tick uint32, ops []op, comps []*compInfo) error {
	dst.reset(tick)
	if base == nil {
		base = &snapshot{}
	}
	j := 0
	for i := range ops {
		o := &ops[i]
		if i > 0 && o.id <= ops[i-1].id {
			return fmt.Errorf("%w: entities out of order across parts", ErrMalformed)
		}
		for j < len(base.ents) && base.ents[j].id < o.id {
			dst.copyEntity(base, &base.ents[j])
			j++
		}
		inBase := j < len(base.ents) && base.ents[j].id == o.id
		switch o.kind {
		case opSpawn:
			if inBase {
				return fmt.Errorf("%w: spawn of existing entity %d", ErrMalformed, o.id)
			}
			dst.beginEntity(o.id, o.mask)
			for _, v := range o.values {
				dst.data = append(dst.data, v...)
				dst.endValue()
			}
		case opDespawn:
			if !inBase {
				return fmt.Errorf("%w: despawn of unknown entity %d", ErrMalformed, o.id)
			}
			j++
		case opUpdate:
			if !inBase {
				return fmt.Errorf("%w: update of unknown entity %d", ErrMalformed, o.id)
			}
			b := &base.ents[j]
			mask := (b.mask | o.mask) &^ o.removed
			dst.beginEntity(o.id, mask)
			vi := 0
			for m := mask; m != 0; m &= m - 1 {
				k := bits.TrailingZeros64(m)
				if o.mask&(1<<k) != 0 {
					v := o.values[vi]
					vi++
					c := comps[k]
					var err error
					switch {
					case c.appendDelta != nil && b.mask&(1<<k) != 0:
						dst.data, err = c.applyDelta(dst.data, base.value(b, k), v)
					case c.appendDelta != nil:
						err = c.check(v)
						dst.data = append(dst.data, v...)
					default:
						dst.data = append(dst.data, v...)
					}
					if err != nil {
						return fmt.Errorf("%w: %s: %v", ErrMalformed, c.name, err)
					}
				} else {
					dst.data = append(dst.data, base.value(b, k)...)
				}
				dst.endValue()
			}
			j++
		}
	}
	for ; j < len(base.ents); j++ {
		dst.copyEntity(base, &base.ents[j])
	}
	return nil
}
