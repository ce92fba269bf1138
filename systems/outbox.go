package systems

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/maphash"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/wire"
)

// outKey is one stream of the tick's outgoing messages: where, on which
// channel, how.
type outKey struct {
	target  int
	channel int
	mode    wire.TransferMode
}

// outQueue gathers a stream's messages into payloads: one open batch, and
// finished ones when an unreliable batch would outgrow a datagram.
type outQueue struct {
	open []byte
	done [][]byte
}

// Send queues v for peer to (a client ID, 0 for every accepted client or
// -N for all but N on a server; 1 or 0 for the server on a client, or
// another client's ID when Config.ClientRelay is on) on the type's channel
// and transfer mode. The send step delivers it. Errors:
// ErrNotConnected when the destination is not accepted, ErrTooLarge for an
// unreliable message that cannot fit one datagram, ErrUnknownMessage when n
// uses another registry.
func (mt *MessageType[T]) Send(n *Network, to int, v T) error {
	if n.reg != mt.reg {
		return fmt.Errorf("systems: send %q: %w", mt.info.name, ErrUnknownMessage)
	}
	body := mt.codec.Append(nil, &v)
	if mt.info.mode != wire.Reliable && len(body)+messageOverhead+1 > unreliableBudget {
		return fmt.Errorf("systems: send %q of %d bytes: %w", mt.info.name, len(body), ErrTooLarge)
	}
	targets, err := n.targets(to)
	if err != nil {
		return fmt.Errorf("systems: send %q to %d: %w", mt.info.name, to, err)
	}
	for _, t := range targets {
		n.queue(outKey{t, mt.info.channel, mt.info.mode}, mt.info.id, body)
	}
	return nil
}

// Received lists the messages of this type that arrived this tick, oldest
// first. The slice is reused next tick.
func (mt *MessageType[T]) Received(n *Network) []Received[T] {
	if n.reg != mt.reg {
		return nil
	}
	return n.inboxes[mt.info.id].(*typedInbox[T]).items
}

// targets resolves a destination to transport targets, using the transport's
// broadcast when every connected peer may receive.
func (n *Network) targets(to int) ([]int, error) {
	if n.role == components.Client {
		switch {
		case !n.accepted:
			return nil, ErrNotConnected
		case to == 0 || to == serverID:
			return []int{serverID}, nil
		case to > serverID && n.cfg.ClientRelay:
			return []int{to}, nil // relayed; the transport knows who is there
		}
		return nil, ErrNotConnected
	}
	if to > 0 {
		if r := n.peers[to]; r == nil || r.state != components.PeerConnected {
			return nil, ErrNotConnected
		}
		return []int{to}, nil
	}
	exclude := -to
	if to < 0 && n.peers[exclude] == nil {
		return nil, ErrNotConnected
	}
	all := true
	var ids []int
	for _, id := range n.ids {
		if r := n.peers[id]; r.state != components.PeerConnected {
			all = false
		} else if id != exclude {
			ids = append(ids, id)
		}
	}
	if all {
		return []int{to}, nil
	}
	return ids, nil
}

func (n *Network) queue(k outKey, id int, body []byte) {
	q := n.stream(k)
	if k.mode != wire.Reliable && len(q.open) > 0 && len(q.open)+len(body)+messageOverhead > unreliableBudget {
		q.done = append(q.done, q.open)
		q.open = nil
	}
	if len(q.open) == 0 {
		q.open = append(q.open, kindMessages)
	}
	q.open = appendMessage(q.open, id, body)
}

// put queues a control payload of its own.
func (n *Network) put(target, channel int, mode wire.TransferMode, payload []byte) {
	q := n.stream(outKey{target, channel, mode})
	q.done = append(q.done, payload)
}

// maxKeptBatch is the largest batch buffer a reused queue keeps.
const maxKeptBatch = 64 << 10

// stream is k's queue this tick, opened on first use with a queue flushed
// in an earlier tick when one is spare (a server queues for every client
// every tick: reusing them saves two allocations a client and tick).
func (n *Network) stream(k outKey) *outQueue {
	q := n.outbox[k]
	if q == nil {
		if last := len(n.spare) - 1; last >= 0 {
			q, n.spare = n.spare[last], n.spare[:last]
		} else {
			q = &outQueue{}
		}
		n.outbox[k] = q
		n.order = append(n.order, k)
	}
	return q
}

// flushOutbox hands every queued payload to the transport, in the order
// streams were first used this tick. On a server, payloads that several
// clients get byte for byte on the same channel and mode (a snapshot
// encoding clients share, a welcome, a message to each) go as one shared
// packet (transport.SendMany); each client still gets its payloads in the
// order they were queued.
func (n *Network) flushOutbox() {
	sh := &n.share
	for _, k := range n.order {
		q := n.outbox[k]
		if len(q.open) > 0 {
			q.done = append(q.done, q.open)
		}
		for _, p := range q.done {
			sh.items = append(sh.items, queued{k: k, p: p})
		}
		delete(n.outbox, k)
		n.spare = append(n.spare, q)
	}
	n.order = n.order[:0]
	// A peer that left since the payload was queued is not an error worth
	// more than dropping it (and counting).
	if n.role != components.Server || n.noShare || !sh.anyAlike() {
		for _, it := range sh.items {
			if n.tr.Send(it.k.target, it.k.channel, it.k.mode, it.p) != nil {
				n.stats.SendFailed++
			}
		}
	} else {
		sh.group()
		for i := range sh.groups {
			g := &sh.groups[i]
			if len(g.to) == 1 {
				if n.tr.Send(g.to[0], g.channel, g.mode, g.payload) != nil {
					n.stats.SendFailed++
				}
				continue
			}
			failed, _ := transport.SendMany(n.tr, g.to, g.channel, g.mode, g.payload)
			n.stats.SendFailed += uint64(failed)
			n.stats.SharedSends++
		}
	}
	sh.reset()
	// The transport copied every payload: the queues' own buffers can be
	// written again, the payloads they only referred to are forgotten.
	for _, q := range n.spare {
		clear(q.done)
		q.open, q.done = q.open[:0], q.done[:0]
		if cap(q.open) > maxKeptBatch {
			q.open = nil // a large reliable batch: not kept for ever
		}
	}
}

// sharing groups a tick's payloads by their bytes: one group per payload
// that goes to several clients alike, each client's payloads in groups in
// the order it queued them.
type sharing struct {
	items   []queued
	table   []uint64 // anyAlike's
	groups  []sendGroup
	byBytes map[shareKey]int // the newest group of these bytes
	last    map[int]int      // each client's newest group
	seed    maphash.Seed
}

// queued is one payload of the tick, in flush order.
type queued struct {
	k  outKey
	p  []byte
	fp uint64 // fingerprint, for a client's
}

type sendGroup struct {
	channel int
	mode    wire.TransferMode
	payload []byte
	to      []int
}

type shareKey struct {
	channel int
	mode    wire.TransferMode
	sum     uint64
}

func (sh *sharing) reset() {
	for i := range sh.items {
		sh.items[i].p = nil
	}
	sh.items = sh.items[:0]
	for i := range sh.groups {
		sh.groups[i].payload = nil
	}
	sh.groups = sh.groups[:0]
	clear(sh.byBytes)
	clear(sh.last)
}

// anyAlike fingerprints the payloads to single clients and reports
// whether two share a channel, a mode and a fingerprint, through an
// open-addressed table: a tick with nothing to share pays a fingerprint
// and a probe a payload.
func (sh *sharing) anyAlike() bool {
	if len(sh.items) < 2 {
		return false
	}
	if sh.byBytes == nil {
		sh.byBytes, sh.last, sh.seed = map[shareKey]int{}, map[int]int{}, maphash.MakeSeed()
	}
	size := 1
	for size < 2*len(sh.items) {
		size <<= 1
	}
	if cap(sh.table) < size {
		sh.table = make([]uint64, size)
	}
	table := sh.table[:size]
	clear(table)
	mask := uint64(size - 1)
	alike := false
	for i := range sh.items {
		it := &sh.items[i]
		if it.k.target <= 0 {
			continue // a broadcast: the transport's own
		}
		it.fp = fingerprint(sh.seed, it.p) // group needs every one
		if alike {
			continue
		}
		v := (it.fp ^ uint64(it.k.channel)<<40 ^ uint64(it.k.mode)<<48) | 1 // never 0, the empty slot
		j := v & mask
		for table[j] != 0 && table[j] != v {
			j = (j + 1) & mask
		}
		alike = table[j] == v
		table[j] = v
	}
	return alike
}

// group puts every payload in a group, in order: with the newest group of
// the same bytes, channel and mode when that comes after every group its
// client is already in (so the client's order holds) and after the newest
// broadcast; else in a group of its own.
func (sh *sharing) group() {
	barrier := -1 // the newest broadcast (0 or -N) group
	for i := range sh.items {
		it := &sh.items[i]
		if it.k.target <= 0 {
			barrier = sh.open(it.k, it.p)
			continue
		}
		key := shareKey{it.k.channel, it.k.mode, it.fp}
		gi, found := sh.byBytes[key]
		if prev, seen := sh.last[it.k.target]; found && gi > barrier && (!seen || gi > prev) && bytes.Equal(sh.groups[gi].payload, it.p) {
			sh.groups[gi].to = append(sh.groups[gi].to, it.k.target)
		} else {
			gi = sh.open(it.k, it.p)
			sh.byBytes[key] = gi
		}
		sh.last[it.k.target] = gi
	}
}

// fingerprint hashes a payload's length and samples of its bytes (all of
// a short one; the head, the tail and three words between of a long one):
// equal payloads have equal fingerprints, and the rare different ones
// that match are told apart by comparing their bytes (a miss only costs
// a share). Hashing every byte of every client's snapshot cost more than
// the shared packets saved when nothing was shared.
func fingerprint(seed maphash.Seed, p []byte) uint64 {
	if len(p) <= 72 {
		return maphash.Bytes(seed, p)
	}
	var d [80]byte
	n := len(p)
	binary.LittleEndian.PutUint64(d[0:], uint64(n))
	copy(d[8:32], p[:24])
	copy(d[32:56], p[n-24:])
	copy(d[56:64], p[n/4:])
	copy(d[64:72], p[n/2:])
	copy(d[72:80], p[3*n/4:])
	return maphash.Bytes(seed, d[:])
}

// open starts a group of one target and returns its index.
func (sh *sharing) open(k outKey, p []byte) int {
	if len(sh.groups) < cap(sh.groups) {
		sh.groups = sh.groups[:len(sh.groups)+1]
	} else {
		sh.groups = append(sh.groups, sendGroup{})
	}
	g := &sh.groups[len(sh.groups)-1]
	g.channel, g.mode, g.payload, g.to = k.channel, k.mode, p, append(g.to[:0], k.target)
	return len(sh.groups) - 1
}

func (n *Network) dropOutbox() {
	clear(n.outbox)
	n.order = n.order[:0]
}
