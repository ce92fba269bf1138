// Package wire is netburi's wire vocabulary in pure Go: transfer modes,
// channels, peer IDs and the payload kinds every layer agrees on. It
// imports nothing but the standard library, so the replication core, the
// components and the systems build without cgo and for the browser.
//
// Everything here is constant data, safe from any goroutine.
package wire

import "fmt"

// TransferMode says how a payload travels. Values match Godot 3's
// NetworkedMultiplayerPeer.TransferMode.
type TransferMode int

// Transfer modes.
const (
	// Unreliable: may be lost, may arrive out of order (unsequenced).
	Unreliable TransferMode = 0
	// UnreliableOrdered: may be lost; one older than a payload already
	// delivered on its channel is dropped.
	UnreliableOrdered TransferMode = 1
	// Reliable: arrives, in order on its channel.
	Reliable TransferMode = 2
)

// String names the mode as Godot does.
func (m TransferMode) String() string {
	switch m {
	case Unreliable:
		return "unreliable"
	case UnreliableOrdered:
		return "unreliable_ordered"
	case Reliable:
		return "reliable"
	}
	return fmt.Sprintf("TransferMode(%d)", int(m))
}

// Valid reports whether m is one of the three modes.
func (m TransferMode) Valid() bool { return m >= Unreliable && m <= Reliable }

// Channels, as Godot 3 uses them.
const (
	// ConfigChannel carries the transport's own messages (Godot's
	// ADD_PEER and REMOVE_PEER); no payload travels on it.
	ConfigChannel = 0
	// ReliableChannel is the default channel of reliable payloads.
	ReliableChannel = 1
	// UnreliableChannel is the default channel of unreliable payloads.
	UnreliableChannel = 2
	// MinChannels is the fewest channels a network has.
	MinChannels = 3
	// MaxChannels is the most channels a network has (ENet's limit).
	MaxChannels = 255
)

// Peer IDs.
const (
	// Everyone, as a destination, is every connected peer.
	Everyone = 0
	// ServerID is the server's ID on every transport. Clients pick IDs of
	// 2 and up.
	ServerID = 1
)

// Payload kinds: the first byte of every payload a netburi network sends.
// Godot's MultiplayerAPI reads it as a command (0..4) and ignores other
// values, so netburi's own kinds live outside 0..4, and KindRaw (Godot's
// NETWORK_COMMAND_RAW) carries a game's raw bytes to and from Godot's
// send_bytes and network_peer_packet.
const (
	KindRaw = 0x04 // raw game bytes: anything after the kind byte

	KindHello    = 0x20 // client: protocol version u8, schema hash u64
	KindWelcome  = 0x21 // server: server tick u32, tick rate u16
	KindReject   = 0x22 // server: reason (UTF-8)
	KindPing     = 0x23 // client: client clock u32
	KindPong     = 0x24 // server: client clock u32, server tick u32
	KindMessages = 0x25 // both: messages, each uvarint type, uvarint length, body

	KindSnapshot = 0x30 // server: one part of a lane's snapshot (replication's format)
	KindAck      = 0x31 // client: lane u8, newest complete snapshot tick u32
)

// UnreliableBudget is the largest unreliable payload that stays in one
// datagram at the default MTU (a larger one would travel as reliable
// fragments).
const UnreliableBudget = 1200
