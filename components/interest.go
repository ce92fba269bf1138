package components

import "github.com/yohamta/donburi"

// InterestData tunes how one replicated server entity reaches clients when
// the server uses interest management or a replication budget (see
// replication.Interest). An entity without it belongs to no group, is
// relevant by the grid alone (or to everyone when it has no position), has
// base priority 1 and is despawned on a client when it leaves that
// client's scope.
type InterestData struct {
	// Groups is the set of groups (rooms) the entity is in, one bit each:
	// a client whose view shares a bit sees the entity wherever it is.
	Groups uint64
	// Global makes the entity relevant to every client.
	Global bool
	// Keep leaves the entity on a client, frozen at its last value, when
	// it leaves that client's scope, instead of despawning it there. It
	// is despawned when it stops existing on the server.
	Keep bool
	// Priority is the base priority under a budget: how fast the entity's
	// unsent changes gain on others'. 0 means 1.
	Priority float32
}

// Interest attaches InterestData to a replicated server entity.
var Interest = donburi.NewComponentType[InterestData]()
