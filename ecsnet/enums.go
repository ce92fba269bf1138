package ecsnet

import (
	"fmt"

	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/wire"
)

// TransferMode says how a packet travels: its ENet flags and default
// channel. It is the wire vocabulary's mode; values match Godot 3's
// NetworkedMultiplayerPeer.TransferMode.
type TransferMode = wire.TransferMode

// Transfer modes, as ENet sends them.
const (
	// TransferUnreliable: may be lost, may arrive out of order (unsequenced),
	// unless AlwaysOrdered is set; default channel 2.
	TransferUnreliable = wire.Unreliable
	// TransferUnreliableOrdered: may be lost; older packets arriving after a
	// newer one are dropped; default channel 2.
	TransferUnreliableOrdered = wire.UnreliableOrdered
	// TransferReliable: arrives, in order; default channel 1.
	TransferReliable = wire.Reliable
)

// CompressionMode selects how whole ENet datagrams are compressed. Both ends
// must use the same mode. Values match Godot 3's CompressionMode.
type CompressionMode int

// Compression modes.
const (
	CompressNone       CompressionMode = 0 // no compression
	CompressRangeCoder CompressionMode = 1 // ENet's built-in adaptive range coder
	CompressFastLZ     CompressionMode = 2 // FastLZ level 1, as Godot 3.2
	CompressZlib       CompressionMode = 3 // zlib stream, level 6
	CompressZstd       CompressionMode = 4 // one zstd frame, level 3
)

// String names the mode.
func (m CompressionMode) String() string {
	switch m {
	case CompressNone:
		return "none"
	case CompressRangeCoder:
		return "range_coder"
	case CompressFastLZ:
		return "fastlz"
	case CompressZlib:
		return "zlib"
	case CompressZstd:
		return "zstd"
	case CompressZstdDict:
		return "zstd_dict"
	}
	return fmt.Sprintf("CompressionMode(%d)", int(m))
}

// ConnectionStatus is where a peer stands (the transport package's
// Status). Values match Godot 3.
type ConnectionStatus = transport.Status

// Connection states.
const (
	Disconnected = transport.Disconnected // no host
	Connecting   = transport.Connecting   // client waiting for the server
	Connected    = transport.Connected    // server listening, or client connected
)

// EventKind is what an Event reports; one kind per Godot 3 signal (the
// transport package's kinds).
type EventKind = transport.EventKind

// Event kinds.
const (
	// PeerConnected: server: a client joined. Client: the server (ID 1)
	// answered, or the server announced another client.
	PeerConnected = transport.PeerConnected
	// PeerDisconnected: server: a client left or was disconnected now.
	// Client: the server announced that another client left.
	PeerDisconnected = transport.PeerDisconnected
	// ConnectionSucceeded: client only, right after PeerConnected(1).
	ConnectionSucceeded = transport.ConnectionSucceeded
	// ConnectionFailed: client only, the server never answered. The peer is
	// closed and may be used again.
	ConnectionFailed = transport.ConnectionFailed
	// ServerDisconnected: client only, the connected server went away. The
	// peer is closed and may be used again.
	ServerDisconnected = transport.ServerDisconnected
)

// Event is one connection event, queued by Poll and taken with NextEvent.
// PeerID is the peer concerned (1 for the server; 0 where no peer applies).
// It converts to a transport.Event.
type Event struct {
	Kind   EventKind
	PeerID int
}

// String shows the event as kind(id).
func (e Event) String() string { return transport.Event(e).String() }
