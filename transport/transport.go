// Package transport is the seam between netburi's network system and the
// networks it runs on: the Transport interface one end of a connection
// implements, the Provider that starts one (a server that accepts clients,
// or a client that connects), and the data they exchange. ecsnet.Peer
// (ENet, Godot 3's wire) implements it; transport/memnet is a seeded,
// deterministic in-memory one for tests and simulations.
//
// The package is pure Go. A Transport is not safe for concurrent use: the
// goroutine that runs the game loop owns it and makes every call.
package transport

import (
	"fmt"
	"time"

	"github.com/netburi/netburi/wire"
)

// Transport is one end of a network: a server (ID 1) or a client of one.
// Every call comes from the goroutine that owns it.
type Transport interface {
	// UniqueID is this end's peer ID: 1 on a server, the client's own ID
	// (2 and up) on a client.
	UniqueID() int
	// IsServer reports whether this end is an active server.
	IsServer() bool
	// ConnectionStatus is where this end stands.
	ConnectionStatus() Status
	// ChannelCount is how many channels payloads may use (0..n-1; channel
	// 0 is the transport's own).
	ChannelCount() int
	// LocalPort is the port this end is reachable on (0 when not bound).
	LocalPort() int

	// Poll sends what Send queued and takes in what arrived, queueing
	// events for Event and packets for Receive. It fails when the
	// transport is closed.
	Poll() error
	// Event takes the oldest connection event; ok is false when none is
	// queued.
	Event() (ev Event, ok bool)
	// Receive takes the oldest received packet, with the sender's true ID
	// (a client's packet relayed by the server keeps its sender's ID; only
	// the server's own packets say 1); ok is false when none is queued.
	Receive() (pk Packet, ok bool)
	// Send queues payload for to (a peer ID; on a server 0 for every
	// client and -N for all but N) on channel (1..ChannelCount()-1) with
	// mode. It carries no state from one call to the next. The payload is
	// copied. Poll or Flush sends it.
	Send(to, channel int, mode wire.TransferMode, payload []byte) error
	// Flush sends what Send queued now rather than at the next Poll.
	Flush()
	// LinkStats reports traffic with a connected peer; it fails for an
	// unknown ID.
	LinkStats(id int) (LinkStats, error)
	// DisconnectPeer (server) disconnects a client: now drops it at once
	// and queues PeerDisconnected; otherwise after its queued packets.
	DisconnectPeer(id int, now bool) error
	// Close tells every peer goodbye and releases the transport; queued
	// packets and events are discarded.
	Close()
}

// ManySender is a Transport that can queue one payload for several peers
// as one shared packet instead of a copy each (ENet: one libenet packet,
// reference-counted, on every peer's queue). ecsnet.Peer and memnet's
// Transport have it; the network system uses it, through SendMany, for
// payloads several clients get byte for byte in one tick. Like every
// Transport call, SendMany comes from the goroutine that owns the
// transport.
type ManySender interface {
	// SendMany (server) queues payload for every client in to (IDs, 2 and
	// up, each once) on channel (1..ChannelCount()-1) with mode, as Send
	// to each would, in one shared packet. It queues for every client it
	// can and returns how many of to it could not queue for (unknown IDs,
	// a refusal), with an error when that is not zero. The payload is
	// copied. Poll or Flush sends it.
	SendMany(to []int, channel int, mode wire.TransferMode, payload []byte) (failed int, err error)
}

// SendMany queues payload for every client in to through t's SendMany when
// t is a ManySender, else through Send to each; it returns how many of to
// it could not queue for, with the first error. Call it from the goroutine
// that owns t.
func SendMany(t Transport, to []int, channel int, mode wire.TransferMode, payload []byte) (failed int, err error) {
	if m, ok := t.(ManySender); ok {
		return m.SendMany(to, channel, mode, payload)
	}
	for _, id := range to {
		if e := t.Send(id, channel, mode, payload); e != nil {
			failed++
			if err == nil {
				err = e
			}
		}
	}
	return failed, err
}

// Provider starts transports: Listen a server, Connect a client. A
// network system calls it once, from the goroutine that will own the
// transport.
type Provider interface {
	Listen(port int, opts ListenOptions) (Transport, error)
	Connect(address string, port int, opts ConnectOptions) (Transport, error)
}

// ListenOptions are what a network system asks of a server transport.
type ListenOptions struct {
	MaxClients int // at most this many clients at once
	Channels   int // channel count, at least wire.MinChannels
	// Relay lets clients send each other packets through the server (each
	// delivered with its true sender). Off, the server forwards nothing.
	Relay bool
}

// ConnectOptions are what a network system asks of a client transport.
type ConnectOptions struct {
	Channels int // channel count, the server's
}

// Status is where a transport stands. Values match Godot 3's
// ConnectionStatus.
type Status int

// Statuses.
const (
	Disconnected Status = 0 // closed, or never started
	Connecting   Status = 1 // client waiting for the server
	Connected    Status = 2 // server listening, or client connected
)

// String names the status.
func (s Status) String() string {
	switch s {
	case Disconnected:
		return "disconnected"
	case Connecting:
		return "connecting"
	case Connected:
		return "connected"
	}
	return fmt.Sprintf("ConnectionStatus(%d)", int(s))
}

// EventKind is what an Event reports; one kind per Godot 3 signal.
type EventKind int

// Event kinds.
const (
	// PeerConnected: server: a client joined. Client: the server (ID 1)
	// answered, or (relay on) the server announced another client.
	PeerConnected EventKind = iota + 1
	// PeerDisconnected: server: a client left or was disconnected. Client:
	// the server announced that another client left.
	PeerDisconnected
	// ConnectionSucceeded: client only, right after PeerConnected(1).
	ConnectionSucceeded
	// ConnectionFailed: client only, the server never answered. The
	// transport is closed.
	ConnectionFailed
	// ServerDisconnected: client only, the connected server went away. The
	// transport is closed.
	ServerDisconnected
)

// String names the kind after Godot's signal.
func (k EventKind) String() string {
	switch k {
	case PeerConnected:
		return "peer_connected"
	case PeerDisconnected:
		return "peer_disconnected"
	case ConnectionSucceeded:
		return "connection_succeeded"
	case ConnectionFailed:
		return "connection_failed"
	case ServerDisconnected:
		return "server_disconnected"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one connection event. PeerID is the peer concerned (1 for the
// server; 0 where no peer applies).
type Event struct {
	Kind   EventKind
	PeerID int
}

// String shows the event as kind(id).
func (e Event) String() string { return fmt.Sprintf("%v(%d)", e.Kind, e.PeerID) }

// Packet is one received payload: its sender's true ID, the channel and
// transfer mode it came with, and its bytes (owned by the receiver).
type Packet struct {
	From    int
	Channel int
	Mode    wire.TransferMode
	Data    []byte
}

// LinkStats describe traffic with one connected peer since it connected.
// Counts are of payloads.
type LinkStats struct {
	Address    string        // the peer's address, "" when unknown
	Port       int           // the peer's port, 0 when unknown
	RTT        time.Duration // mean round-trip time, 0 when not measured
	PacketLoss float64       // mean loss of reliable packets, 0..1

	PacketsSent, BytesSent         uint64
	PacketsReceived, BytesReceived uint64
	// Dropped counts what this peer sent that the transport dropped as
	// malformed or not allowed.
	Dropped uint64
}
