// Package memnet is an in-memory transport: a seeded, deterministic
// network of one or more servers and their clients in one process, with a
// link conditioner (loss, latency, jitter, duplication, reordering) and a
// simulated clock that the caller steps. The same seed and the same calls
// give the same deliveries, byte for byte, on every run; nothing depends
// on the wall clock or the scheduler.
//
// A Network and every transport it starts belong to one goroutine (a test,
// or a simulation's loop): none of it is safe for concurrent use.
package memnet

import (
	"container/heap"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/wire"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrClosed: the transport is closed (or a client not yet connected).
	ErrClosed = errors.New("memnet: closed")
	// ErrInvalid: an argument out of range (a channel, a mode, a peer).
	ErrInvalid = errors.New("memnet: invalid argument")
	// ErrPortInUse: Listen on a port another server holds.
	ErrPortInUse = errors.New("memnet: port in use")
)

// Link is what the network does to every payload, each way. The zero value
// is a perfect link of no latency.
type Link struct {
	// Loss is the probability (0..1) that an unreliable payload is lost.
	// A lost reliable payload is sent again one round trip later (so loss
	// delays reliable payloads, as ENet's retransmissions do).
	Loss float64
	// Latency delays every payload; Jitter adds a uniform -Jitter..+Jitter
	// (never below zero), which reorders unreliable payloads sent closer
	// together than the jitter. Reliable payloads keep their order on
	// their channel.
	Latency, Jitter time.Duration
	// Duplicate is the probability an unreliable payload arrives twice.
	Duplicate float64
	// Reorder is the probability an unreliable payload is held back
	// another Latency+20 ms, so later ones overtake it.
	Reorder float64
}

// Network is a simulated network. Its clock starts at zero and moves only
// with Advance.
type Network struct {
	rng      *rand.Rand
	link     Link
	now      time.Duration
	seq      uint64
	servers  map[int]*Transport
	nextPort int
	ids      map[int]bool // client IDs in use
	stats    Stats
}

// Stats count what the link did to payloads since the network was made.
type Stats struct {
	Sent        uint64 // payloads put on the link (control ones included)
	Lost        uint64 // unreliable payloads lost
	Resent      uint64 // reliable payloads lost and sent again
	Duplicated  uint64 // unreliable payloads delivered twice
	HeldBack    uint64 // unreliable payloads held back (Reorder)
	Delivered   uint64 // payloads handed to a receiving transport
	RelayDenied uint64 // client payloads to other clients a server without relay dropped
	Shared      uint64 // SendMany calls: one payload for many clients (each copy counts in Sent)
}

// Stats reports the network's counters.
func (n *Network) Stats() Stats { return n.stats }

// New returns an empty network whose random choices (losses, delays,
// client IDs) come from seed.
func New(seed uint64, link Link) *Network {
	return &Network{
		rng:      rand.New(rand.NewPCG(seed, seed^0x6e6574627572690a)),
		link:     link,
		servers:  map[int]*Transport{},
		nextPort: 1000,
		ids:      map[int]bool{},
	}
}

// SetLink changes the link conditions for payloads sent from now on.
func (n *Network) SetLink(l Link) { n.link = l }

// Link is the current link conditions.
func (n *Network) Link() Link { return n.link }

// Now is the simulated time since the network was created.
func (n *Network) Now() time.Duration { return n.now }

// Advance moves the clock by d: payloads due by then become receivable at
// their transport's next Poll.
func (n *Network) Advance(d time.Duration) {
	if d > 0 {
		n.now += d
	}
}

// Listen starts a server on port (0 picks a free one) (transport.Provider).
func (n *Network) Listen(port int, o transport.ListenOptions) (transport.Transport, error) {
	if o.Channels < wire.MinChannels || o.Channels > wire.MaxChannels || o.MaxClients < 1 || port < 0 {
		return nil, fmt.Errorf("memnet: listen on %d with %d channels for %d clients: %w", port, o.Channels, o.MaxClients, ErrInvalid)
	}
	if port == 0 {
		for n.servers[n.nextPort] != nil {
			n.nextPort++
		}
		port = n.nextPort
	}
	if n.servers[port] != nil {
		return nil, fmt.Errorf("memnet: listen on %d: %w", port, ErrPortInUse)
	}
	t := n.newTransport(wire.ServerID, port, o.Channels)
	t.server, t.relay, t.maxClients = true, o.Relay, o.MaxClients
	t.status = transport.Connected
	n.servers[port] = t
	return t, nil
}

// Connect starts a client of the server on port; address is not used
// (transport.Provider). The client reports Connecting until the server's
// answer arrives; a port with no server (or a full one) fails the
// connection after a simulated second.
func (n *Network) Connect(address string, port int, o transport.ConnectOptions) (transport.Transport, error) {
	if o.Channels < wire.MinChannels || o.Channels > wire.MaxChannels {
		return nil, fmt.Errorf("memnet: connect with %d channels: %w", o.Channels, ErrInvalid)
	}
	id := 0
	for id < 2 || n.ids[id] {
		id = 2 + n.rng.IntN(1<<31-2)
	}
	n.ids[id] = true
	t := n.newTransport(id, 0, o.Channels)
	t.status = transport.Connecting
	srv := n.servers[port]
	if srv == nil || srv.status != transport.Connected {
		n.send(t, t, wire.ConfigChannel, wire.Reliable, ctlFail, nil, time.Second)
		return t, nil
	}
	t.server = false
	t.up = srv
	n.send(t, srv, wire.ConfigChannel, wire.Reliable, ctlConnect, nil, 0)
	return t, nil
}

var _ transport.Provider = (*Network)(nil)

func (n *Network) newTransport(id, port, channels int) *Transport {
	return &Transport{net: n, id: id, port: port, channels: channels, peers: map[int]*link{}}
}

// control says what a control payload does.
type control byte

const (
	ctlNone    control = iota
	ctlConnect         // client to server: let me in
	ctlAccept          // server to client: in
	ctlAck             // client to server: I know I am in
	ctlRefuse          // server to client: full
	ctlFail            // to oneself: nobody answered
	ctlBye             // either way: I am gone
)

// datagram is one payload on its way.
type datagram struct {
	at       time.Duration
	seq      uint64
	from, to *Transport
	sender   int // the true sender's ID (a relayed payload keeps it)
	channel  int
	mode     wire.TransferMode
	ctl      control
	order    uint64 // sequenced unreliable: the sender's count on this channel
	data     []byte
}

type flight []*datagram

func (f flight) Len() int { return len(f) }
func (f flight) Less(i, j int) bool {
	if f[i].at != f[j].at {
		return f[i].at < f[j].at
	}
	return f[i].seq < f[j].seq
}
func (f flight) Swap(i, j int) { f[i], f[j] = f[j], f[i] }
func (f *flight) Push(x any)   { *f = append(*f, x.(*datagram)) }
func (f *flight) Pop() any {
	old := *f
	d := old[len(old)-1]
	old[len(old)-1] = nil
	*f = old[:len(old)-1]
	return d
}

// send puts a payload on the link from one transport to another, after
// extra delay (control payloads and reliable ones are never lost, only
// delayed).
func (n *Network) send(from, to *Transport, channel int, mode wire.TransferMode, ctl control, data []byte, extra time.Duration) {
	n.sendAs(from.id, from, to, channel, mode, ctl, data, extra)
}

func (n *Network) sendAs(sender int, from, to *Transport, channel int, mode wire.TransferMode, ctl control, data []byte, extra time.Duration) {
	l := n.link
	lane := from.lane(to, channel)
	d := &datagram{from: from, to: to, sender: sender, channel: channel, mode: mode, ctl: ctl, data: data}
	delay := extra + n.delay(l)
	n.stats.Sent++
	switch {
	case ctl != ctlNone || mode == wire.Reliable:
		for l.Loss > 0 && n.rng.Float64() < l.Loss {
			delay += 2*l.Latency + 20*time.Millisecond // a retransmission
			n.stats.Resent++
		}
		at := max(n.now+delay, lane.reliableAt, from.floor(to))
		lane.reliableAt = at
		if ctl != ctlNone {
			from.setFloor(to, at)
		}
		d.at = at
		n.push(d)
		return
	case mode == wire.UnreliableOrdered:
		lane.sent++
		d.order = lane.sent
	}
	if l.Loss > 0 && n.rng.Float64() < l.Loss {
		n.stats.Lost++
		return
	}
	if l.Reorder > 0 && n.rng.Float64() < l.Reorder {
		delay += l.Latency + 20*time.Millisecond
		n.stats.HeldBack++
	}
	d.at = max(n.now+delay, from.floor(to))
	n.push(d)
	if l.Duplicate > 0 && n.rng.Float64() < l.Duplicate {
		dup := *d
		dup.at = max(n.now+n.delay(l), from.floor(to))
		n.push(&dup)
		n.stats.Duplicated++
	}
}

func (n *Network) delay(l Link) time.Duration {
	d := l.Latency
	if l.Jitter > 0 {
		d += time.Duration(n.rng.Int64N(int64(2*l.Jitter)+1)) - l.Jitter
	}
	return max(d, 0)
}

func (n *Network) push(d *datagram) {
	n.seq++
	d.seq = n.seq
	heap.Push(&d.to.inbound, d)
}

// deliverDue hands t every payload due by now, in order. Only t's: what
// t sends in answer waits for its receiver's own Poll.
func (n *Network) deliverDue(t *Transport) {
	for len(t.inbound) > 0 && t.inbound[0].at <= n.now {
		n.stats.Delivered++
		t.arrive(heap.Pop(&t.inbound).(*datagram))
	}
}
