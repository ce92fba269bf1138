// Package components holds netburi's ECS data: what the network system puts
// into a donburi world and what game code attaches to its own entities.
// Components carry data only; the systems package gives them behaviour.
//
// Like every donburi component, these are read and written by the goroutine
// that runs the world's systems.
package components

import (
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/wire"
)

// Role says whether a host serves or joins.
type Role int

// Roles.
const (
	Server Role = iota + 1
	Client
)

// String names the role.
func (r Role) String() string {
	if r == Server {
		return "server"
	}
	return "client"
}

// HostData is the network host entity's component: its role, how it was
// configured, and the network tick.
type HostData struct {
	Role     Role
	TickRate int    // simulation ticks per second
	Tick     uint32 // server: its tick; client: its estimate of the server's tick
	// Synced is true on a server, and on a client once the server has
	// accepted it and its tick estimate has a first sample.
	Synced bool
}

// Host marks the one network host entity of a world.
var Host = donburi.NewComponentType[HostData]()

// PeerState is where a remote peer stands.
type PeerState int

// Peer states.
const (
	// PeerConnecting: the transport is up; the schema check is pending.
	PeerConnecting PeerState = iota + 1
	// PeerConnected: accepted; messages flow.
	PeerConnected
	// PeerRejected: refused by the schema check; being disconnected.
	PeerRejected
)

// String names the state.
func (s PeerState) String() string {
	switch s {
	case PeerConnecting:
		return "connecting"
	case PeerConnected:
		return "connected"
	case PeerRejected:
		return "rejected"
	}
	return "unknown"
}

// PeerStatistics are live measurements of one remote peer, refreshed every
// systems.Config.PeerStatsEvery ticks (4 times a second by default, and
// when the peer connects). Rates are averaged over about the last second,
// by the ticks that passed between the samples.
type PeerStatistics struct {
	RTT               time.Duration
	PacketLoss        float64 // ENet's mean reliable loss, 0..1
	BytesInPerSecond  float64
	BytesOutPerSecond float64
	PacketsInPerSec   float64
	PacketsOutPerSec  float64
	// Malformed counts what this peer sent that was dropped: bad or unknown
	// messages and transport-level drops.
	Malformed uint64
}

// RemotePeerData describes one remote peer: on a server each client, on a
// client the server.
type RemotePeerData struct {
	ID      int
	Address string
	Port    int
	State   PeerState
	Stats   PeerStatistics
}

// RemotePeer is carried by one entity per remote peer, created when it
// connects and removed when it leaves.
var RemotePeer = donburi.NewComponentType[RemotePeerData]()

// ChannelData names the channel data travels on (1..channel count-1).
type ChannelData struct{ Channel int }

// Channel, on a replicated server entity, moves all its replicated
// components to that channel (each keeping its registration's mode unless
// TransferMode says otherwise). The resulting lane must be one the network
// lists (systems.Registry.AddLanes); otherwise the registration's lane is
// used. Adding, changing or removing it at run time moves the entity's
// data from the next snapshot on; the entity itself stays spawned on the
// clients (every lane carries spawns and despawns).
var Channel = donburi.NewComponentType[ChannelData]()

// TransferModeData says how data travels.
type TransferModeData struct{ Mode wire.TransferMode }

// TransferMode, on a replicated server entity, moves all its replicated
// components to that mode (each keeping its registration's channel unless
// Channel says otherwise), under the same rules as Channel.
var TransferMode = donburi.NewComponentType[TransferModeData]()

// EventKind is what a connection event reports.
type EventKind int

// Connection event kinds.
const (
	// EventPeerConnected: a remote peer's transport connected (server: a
	// client; client: the server, ID 1).
	EventPeerConnected EventKind = iota + 1
	// EventPeerDisconnected: a remote peer left or was dropped.
	EventPeerDisconnected
	// EventConnectionSucceeded: client: the server accepted us; messages
	// flow and the tick estimate runs.
	EventConnectionSucceeded
	// EventConnectionFailed: client: the server never answered.
	EventConnectionFailed
	// EventServerDisconnected: client: the server went away.
	EventServerDisconnected
	// EventPeerRejected: server: a client failed the schema check (Reason
	// says why) and is being disconnected.
	EventPeerRejected
	// EventConnectionRejected: client: the server refused us (Reason says
	// why, e.g. a schema mismatch).
	EventConnectionRejected
	// EventPeerAccepted: server: a client passed the schema check; messages
	// and replication now flow to it.
	EventPeerAccepted
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventPeerConnected:
		return "peer_connected"
	case EventPeerDisconnected:
		return "peer_disconnected"
	case EventConnectionSucceeded:
		return "connection_succeeded"
	case EventConnectionFailed:
		return "connection_failed"
	case EventServerDisconnected:
		return "server_disconnected"
	case EventPeerRejected:
		return "peer_rejected"
	case EventConnectionRejected:
		return "connection_rejected"
	case EventPeerAccepted:
		return "peer_accepted"
	}
	return "unknown"
}

// ConnectionEventData is one connection event. It lives on an entity of its
// own for exactly one tick: created by the network system's receive step,
// removed by the next one, so every system sees it once.
type ConnectionEventData struct {
	Kind   EventKind
	PeerID int
	Tick   uint32
	Reason string
}

// ConnectionEvent is carried by connection-event entities.
var ConnectionEvent = donburi.NewComponentType[ConnectionEventData]()

// NetworkIDData is an entity's identity on the wire: assigned by the server's
// replication when it first replicates the entity, the same on every client,
// never a local donburi ID.
type NetworkIDData struct{ ID uint32 }

// NetworkID is carried by every replicated entity (server and clients).
var NetworkID = donburi.NewComponentType[NetworkIDData]()

// LaneData is how a replicated component travels: its snapshots go on
// Channel with Mode (unreliable by default; a reliable lane suits
// components that rarely change). Every lane carries the entities' spawns
// and despawns, delta-encoded against what the client acknowledged.
type LaneData struct {
	Channel int
	Mode    wire.TransferMode
}

// ReplicatedData tags a server entity for replication. Only, when set, names
// the registered components that replicate; empty means every registered
// component the entity has. Lanes, when set, moves named components of this
// entity to another lane, over the registration's and over the entity's
// Channel and TransferMode (a lane the network knows: one some
// registration uses, or one added with systems.Registry.AddLanes; an
// unknown lane falls back to the one before).
type ReplicatedData struct {
	Only  []string
	Lanes map[string]LaneData
}

// Replicated marks the server entities that clients see.
var Replicated = donburi.NewComponentType[ReplicatedData]()
