package systems

import (
	"bytes"
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
	q := n.outbox[k]
	if q == nil {
		q = &outQueue{}
		n.outbox[k] = q
		n.order = append(n.order, k)
	}
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
	k := outKey{target, channel, mode}
	q := n.outbox[k]
	if q == nil {
		q = &outQueue{}
		n.outbox[k] = q
		n.order = append(n.order, k)
	}
	q.done = append(q.done, payload)
}

// flushOutbox hands every queued payload to the transport, in the order
// streams were first used this tick. On a server, payloads that several
// clients get byte for byte on the same channel and mode (a snapshot
// encoding clients share, a welcome, a message to each) go as one shared
// packet (transport.SendMany); each client still gets its payloads in the
// order they were queued.
func (n *Network) flushOutbox() {
	sh := &n.share
	sh.reset()
	for _, k := range n.order {
		q := n.outbox[k]
		if len(q.open) > 0 {
			q.done = append(q.done, q.open)
		}
		for _, p := range q.done {
			sh.add(k, p, n.role == components.Server && !n.noShare)
		}
		delete(n.outbox, k)
	}
	n.order = n.order[:0]
	for i := range sh.groups {
		g := &sh.groups[i]
		// A peer that left since the payload was queued is not an error
		// worth more than dropping it (and counting).
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
	sh.reset()
}

// sharing groups a tick's payloads by their bytes: one group per payload
// that goes to several clients alike, each client's payloads in groups in
// the order it queued them.
type sharing struct {
	groups  []sendGroup
	byBytes map[shareKey]int // the newest group of these bytes
	last    map[int]int      // each client's newest group
	barrier int              // the newest broadcast (0 or -N) group, -1 none
	seed    maphash.Seed
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
	for i := range sh.groups {
		sh.groups[i].payload = nil
	}
	sh.groups = sh.groups[:0]
	clear(sh.byBytes)
	clear(sh.last)
	sh.barrier = -1
}

// add puts payload p of stream k in a group: with the newest group of the
// same bytes, channel and mode when that comes after every group k's
// target is already in (so its order holds) and after the newest
// broadcast; else in a group of its own. Only a server shares.
func (sh *sharing) add(k outKey, p []byte, share bool) {
	if !share || k.target <= 0 { // a client's, or a broadcast: the transport's own
		sh.open(k, p)
		if k.target <= 0 {
			sh.barrier = len(sh.groups) - 1
		}
		return
	}
	if sh.byBytes == nil {
		sh.byBytes, sh.last, sh.seed = map[shareKey]int{}, map[int]int{}, maphash.MakeSeed()
	}
	key := shareKey{k.channel, k.mode, maphash.Bytes(sh.seed, p)}
	gi, found := sh.byBytes[key]
	if prev, seen := sh.last[k.target]; found && gi > sh.barrier && (!seen || gi > prev) && bytes.Equal(sh.groups[gi].payload, p) {
		sh.groups[gi].to = append(sh.groups[gi].to, k.target)
	} else {
		gi = sh.open(k, p)
		sh.byBytes[key] = gi
	}
	sh.last[k.target] = gi
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
