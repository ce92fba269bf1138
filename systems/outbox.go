package systems

import (
	"fmt"

	"github.com/netburi/netburi/components"
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

// flushOutbox hands every queued payload to the peer, in the order streams
// were first used this tick.
func (n *Network) flushOutbox() {
	for _, k := range n.order {
		q := n.outbox[k]
		if len(q.open) > 0 {
			q.done = append(q.done, q.open)
		}
		for _, p := range q.done {
			// A peer that left since the message was queued is not an
			// error worth more than dropping it (and counting).
			if n.tr.Send(k.target, k.channel, k.mode, p) != nil {
				n.stats.SendFailed++
			}
		}
		delete(n.outbox, k)
	}
	n.order = n.order[:0]
}

func (n *Network) dropOutbox() {
	clear(n.outbox)
	n.order = n.order[:0]
}
