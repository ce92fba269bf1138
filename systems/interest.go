package systems

import (
	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/replication"
)

// minSnapshotBytes is the smallest per-snapshot share a budget gets: room
// for the header and a few entities.
const minSnapshotBytes = 64

// snapshotBytes is one lane's share of a client's ReplicationRate per
// snapshot (0: no budget).
func (c Config) snapshotBytes(lanes int) int {
	if c.ReplicationRate <= 0 || lanes == 0 {
		return 0
	}
	perSnapshot := c.ReplicationRate * c.SnapshotEvery / c.TickRate / lanes
	return max(minSnapshotBytes, perSnapshot)
}

// SnapshotBytes is each client's replication budget per snapshot and lane
// on a server (0: none), from Config.ReplicationRate. Call it from the game
// loop's goroutine.
func (n *Network) SnapshotBytes() int { return n.cfg.snapshotBytes(len(n.lanes)) }

// SetView sets what a connected client sees under Config.Interest: its
// view's centre (an entity such as its ship, or a point), radius and
// groups. It applies to every lane from the next snapshot; a client's view
// is empty (global and unplaced entities only) until set. Server only;
// call it from the game loop's goroutine, e.g. on its EventPeerAccepted.
func (n *Network) SetView(client int, v replication.View) {
	for _, rs := range n.replServers {
		rs.SetView(client, v)
	}
}

// SetOverride puts entity e Always or Never in a client's scope, whatever
// the grid and groups say, or back to Default. Server only; call it from
// the game loop's goroutine.
func (n *Network) SetOverride(client int, e donburi.Entity, o replication.Override) {
	for _, rs := range n.replServers {
		rs.SetOverride(client, e, o)
	}
}
