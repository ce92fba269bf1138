package memnet

import (
	"fmt"
	"slices"
	"time"

	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/wire"
)

// Transport is one end on a memnet Network: a server or a client. It
// implements transport.Transport; the goroutine that owns the Network
// makes every call.
type Transport struct {
	net        *Network
	id         int
	port       int
	channels   int
	server     bool
	relay      bool
	maxClients int
	status     transport.Status
	up         *Transport    // client: its server
	peers      map[int]*link // server: accepted clients; client: the server
	pending    map[int]bool  // server: clients answered, not yet acknowledged
	order      []int         // peers in the order they joined (deterministic iteration)
	lanes      map[laneKey]*lane
	floors     map[*Transport]time.Duration // no payload to that peer before (after a control payload)
	inbound    flight                       // payloads on their way to t
	events     []transport.Event
	incoming   []transport.Packet
}

var (
	_ transport.Transport  = (*Transport)(nil)
	_ transport.ManySender = (*Transport)(nil)
)

// link is what a transport knows of one connected peer.
type link struct {
	t     *Transport
	stats transport.LinkStats
}

// laneKey and lane order the payloads of one channel towards one peer.
type laneKey struct {
	to      *Transport
	channel int
}

type lane struct {
	reliableAt time.Duration // newest delivery time of a reliable payload
	sent       uint64        // sequenced unreliable payloads sent
	delivered  uint64        // the newest of them taken by the receiver
}

func (t *Transport) floor(to *Transport) time.Duration { return t.floors[to] }

func (t *Transport) setFloor(to *Transport, at time.Duration) {
	if t.floors == nil {
		t.floors = map[*Transport]time.Duration{}
	}
	t.floors[to] = at
}

func (t *Transport) lane(to *Transport, channel int) *lane {
	if t.lanes == nil {
		t.lanes = map[laneKey]*lane{}
	}
	k := laneKey{to, channel}
	l := t.lanes[k]
	if l == nil {
		l = &lane{}
		t.lanes[k] = l
	}
	return l
}

// UniqueID is 1 on a server, the client's ID otherwise.
func (t *Transport) UniqueID() int { return t.id }

// IsServer reports whether t is an open server.
func (t *Transport) IsServer() bool { return t.server && t.status == transport.Connected }

// ConnectionStatus is where t stands.
func (t *Transport) ConnectionStatus() transport.Status { return t.status }

// ChannelCount is the channel count t was started with.
func (t *Transport) ChannelCount() int { return t.channels }

// LocalPort is a server's port (0 on a client).
func (t *Transport) LocalPort() int { return t.port }

// Poll takes in every payload due by the network's clock.
func (t *Transport) Poll() error {
	if t.status == transport.Disconnected {
		return fmt.Errorf("memnet: poll: %w", ErrClosed)
	}
	t.net.deliverDue(t)
	return nil
}

// Flush does nothing: Send puts payloads on the link at once.
func (t *Transport) Flush() {}

// Event takes the oldest connection event.
func (t *Transport) Event() (transport.Event, bool) {
	if len(t.events) == 0 {
		return transport.Event{}, false
	}
	ev := t.events[0]
	t.events = t.events[1:]
	return ev, true
}

// Receive takes the oldest received payload.
func (t *Transport) Receive() (transport.Packet, bool) {
	if len(t.incoming) == 0 {
		return transport.Packet{}, false
	}
	pk := t.incoming[0]
	t.incoming[0] = transport.Packet{}
	t.incoming = t.incoming[1:]
	return pk, true
}

// Send puts a copy of payload on the link to to (a client, 0 every
// client or -N all but N on a server; 1 on a client, or another client's
// ID when the server relays) on channel with mode.
func (t *Transport) Send(to, channel int, mode wire.TransferMode, payload []byte) error {
	if t.status != transport.Connected {
		return fmt.Errorf("memnet: send: %w", ErrClosed)
	}
	if channel <= wire.ConfigChannel || channel >= t.channels || !mode.Valid() {
		return fmt.Errorf("memnet: send on channel %d of %d as %v: %w", channel, t.channels, mode, ErrInvalid)
	}
	data := append([]byte(nil), payload...)
	if !t.server {
		srv := t.peers[wire.ServerID]
		if to != wire.ServerID && to <= 0 && to != wire.Everyone {
			return fmt.Errorf("memnet: send to %d: %w", to, ErrInvalid)
		}
		t.count(srv, len(data))
		t.net.send(t, srv.t, channel, mode, ctlNone, withTarget(to, data), 0)
		return nil
	}
	if to > 0 {
		l := t.peers[to]
		if l == nil {
			return fmt.Errorf("memnet: send to %d: %w", to, ErrInvalid)
		}
		t.count(l, len(data))
		t.net.send(t, l.t, channel, mode, ctlNone, withTarget(to, data), 0)
		return nil
	}
	for _, id := range t.order {
		if id != -to {
			l := t.peers[id]
			t.count(l, len(data))
			t.net.send(t, l.t, channel, mode, ctlNone, withTarget(id, data), 0)
		}
	}
	return nil
}

// SendMany (server) puts payload on the link to every client in to, as
// Send to each (transport.ManySender); it returns how many of to are not
// connected clients.
func (t *Transport) SendMany(to []int, channel int, mode wire.TransferMode, payload []byte) (int, error) {
	if !t.IsServer() {
		return len(to), fmt.Errorf("memnet: send to many (needs a server): %w", ErrClosed)
	}
	if channel <= wire.ConfigChannel || channel >= t.channels || !mode.Valid() {
		return len(to), fmt.Errorf("memnet: send on channel %d of %d as %v: %w", channel, t.channels, mode, ErrInvalid)
	}
	data := append([]byte(nil), payload...)
	failed := 0
	for _, id := range to {
		l := t.peers[id]
		if id <= wire.ServerID || l == nil {
			failed++
			continue
		}
		t.count(l, len(data))
		t.net.send(t, l.t, channel, mode, ctlNone, withTarget(id, data), 0)
	}
	t.net.stats.Shared++
	if failed > 0 {
		return failed, fmt.Errorf("memnet: send to %d of %d clients: %w", failed, len(to), ErrInvalid)
	}
	return 0, nil
}

func (t *Transport) count(l *link, n int) {
	l.stats.PacketsSent++
	l.stats.BytesSent += uint64(n)
}

// LinkStats reports traffic with a connected peer.
func (t *Transport) LinkStats(id int) (transport.LinkStats, error) {
	l := t.peers[id]
	if l == nil {
		return transport.LinkStats{}, fmt.Errorf("memnet: statistics of peer %d: %w", id, ErrInvalid)
	}
	s := l.stats
	s.Address, s.Port = "memnet", l.t.port
	s.RTT = 2 * t.net.link.Latency
	s.PacketLoss = t.net.link.Loss
	return s, nil
}

// DisconnectPeer (server) disconnects a client: now at once (PeerDisconnected
// is queued here), otherwise once what was sent to it has arrived.
func (t *Transport) DisconnectPeer(id int, now bool) error {
	if !t.IsServer() {
		return fmt.Errorf("memnet: disconnect peer %d (needs a server): %w", id, ErrClosed)
	}
	l := t.peers[id]
	if l == nil {
		return fmt.Errorf("memnet: disconnect peer %d: %w", id, ErrInvalid)
	}
	if now {
		t.net.send(t, l.t, wire.ConfigChannel, wire.Reliable, ctlBye, nil, 0)
		t.drop(id)
		return nil
	}
	// As ENet's disconnect later: once what was sent has been delivered
	// and acknowledged, a round trip after the last of it.
	after := t.net.now
	for k, ln := range t.lanes {
		if k.to == l.t {
			after = max(after, ln.reliableAt)
		}
	}
	t.net.send(t, l.t, wire.ConfigChannel, wire.Reliable, ctlBye, nil, after-t.net.now+2*t.net.link.Latency+time.Millisecond)
	return nil
}

// Close tells every peer goodbye and closes t; queued payloads and events
// are discarded.
func (t *Transport) Close() {
	if t.status == transport.Disconnected {
		return
	}
	for _, id := range t.order {
		t.net.send(t, t.peers[id].t, wire.ConfigChannel, wire.Reliable, ctlBye, nil, 0)
	}
	if !t.server && t.status == transport.Connecting && t.up != nil {
		t.net.send(t, t.up, wire.ConfigChannel, wire.Reliable, ctlBye, nil, 0)
	}
	if t.server {
		delete(t.net.servers, t.port)
	} else {
		delete(t.net.ids, t.id)
	}
	t.shut()
	t.events, t.incoming = nil, nil
}

func (t *Transport) shut() {
	t.status = transport.Disconnected
	t.peers = map[int]*link{}
	t.pending = nil
	t.order = nil
}

func (t *Transport) add(id int, peer *Transport) {
	t.peers[id] = &link{t: peer}
	t.order = append(t.order, id)
}

func (t *Transport) drop(id int) bool {
	if t.peers[id] == nil {
		return false
	}
	delete(t.peers, id)
	t.order = slices.DeleteFunc(t.order, func(v int) bool { return v == id })
	t.events = append(t.events, transport.Event{Kind: transport.PeerDisconnected, PeerID: id})
	return true
}

// arrive takes one payload off the link.
func (t *Transport) arrive(d *datagram) {
	if t.status == transport.Disconnected {
		return
	}
	switch d.ctl {
	case ctlNone:
		t.data(d)
	case ctlConnect:
		id := d.from.id
		if !t.server || t.peers[id] != nil || t.pending[id] || len(t.peers)+len(t.pending) >= t.maxClients ||
			d.from.channels < t.channels { // a client with fewer channels could not take every payload

			t.net.send(t, d.from, wire.ConfigChannel, wire.Reliable, ctlRefuse, nil, 0)
			return
		}
		if t.pending == nil {
			t.pending = map[int]bool{}
		}
		t.pending[id] = true
		t.net.send(t, d.from, wire.ConfigChannel, wire.Reliable, ctlAccept, nil, 0)
	case ctlAck:
		// As ENet, a server hears of a client once the handshake is done.
		if !t.pending[d.from.id] {
			return
		}
		delete(t.pending, d.from.id)
		t.add(d.from.id, d.from)
		t.events = append(t.events, transport.Event{Kind: transport.PeerConnected, PeerID: d.from.id})
	case ctlAccept:
		if t.status != transport.Connecting {
			return
		}
		t.status = transport.Connected
		t.add(wire.ServerID, d.from)
		t.net.send(t, d.from, wire.ConfigChannel, wire.Reliable, ctlAck, nil, 0)
		t.events = append(t.events,
			transport.Event{Kind: transport.PeerConnected, PeerID: wire.ServerID},
			transport.Event{Kind: transport.ConnectionSucceeded})
	case ctlRefuse, ctlFail:
		if t.status == transport.Connecting {
			t.events = append(t.events, transport.Event{Kind: transport.ConnectionFailed})
			delete(t.net.ids, t.id)
			t.shut()
		}
	case ctlBye:
		if t.server {
			delete(t.pending, d.from.id)
			t.drop(d.from.id)
			return
		}
		if t.peers[wire.ServerID] != nil && t.peers[wire.ServerID].t == d.from {
			t.events = append(t.events, transport.Event{Kind: transport.ServerDisconnected, PeerID: wire.ServerID})
			t.net.send(t, d.from, wire.ConfigChannel, wire.Reliable, ctlBye, nil, 0)
			delete(t.net.ids, t.id)
			t.shut()
		}
	}
}

// data takes one payload: a server relays what a client addressed to
// others (relay on) and keeps what is its own; everyone drops payloads
// from peers it does not know.
func (t *Transport) data(d *datagram) {
	target, payload := splitTarget(d.data)
	from := t.peers[d.from.id]
	if from == nil {
		return // left, or never accepted
	}
	if d.mode == wire.UnreliableOrdered {
		l := d.from.lane(t, d.channel)
		if d.order <= l.delivered {
			return // older than one already taken
		}
		l.delivered = d.order
	}
	if t.server && target != wire.ServerID {
		if !t.relay {
			from.stats.Dropped++
			t.net.stats.RelayDenied++
			return
		}
		for _, id := range t.order {
			if id == d.from.id || (target > 0 && id != target) || (target < 0 && id == -target) {
				continue
			}
			t.net.sendAs(d.sender, t, t.peers[id].t, d.channel, d.mode, ctlNone, withTarget(id, payload), 0)
		}
		if target > 0 || target == -wire.ServerID {
			return
		}
	}
	from.stats.PacketsReceived++
	from.stats.BytesReceived += uint64(len(payload))
	t.incoming = append(t.incoming, transport.Packet{From: d.sender, Channel: d.channel, Mode: d.mode, Data: payload})
}

// withTarget and splitTarget carry a payload's destination beside it (the
// part of Godot's header a relay reads).
func withTarget(to int, data []byte) []byte {
	return append([]byte{byte(to), byte(to >> 8), byte(to >> 16), byte(to >> 24)}, data...)
}

func splitTarget(b []byte) (int, []byte) {
	return int(int32(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)), b[4:]
}
