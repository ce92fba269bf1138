package game

import (
	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/systems"
)

// View reads one client's world for input sources, the HUD and tests.
//
// It holds queries of its own: donburi caches a query's matches per world
// inside the query (and ComponentType.Each uses one shared query per
// component type), so worlds stepped on different goroutines in one
// process (the bots, the server, the window) must never share a query.
type View struct {
	World donburi.World
	Net   *systems.Network

	ships, gems, drones, standings, peers, events, host, networked *donburi.Query
}

// NewView returns a view of a world and its network.
func NewView(w donburi.World, net *systems.Network) *View {
	return &View{
		World:     w,
		Net:       net,
		ships:     donburi.NewQuery(filter.Contains(Ship, Position)),
		gems:      donburi.NewQuery(filter.Contains(Gem, Position)),
		drones:    donburi.NewQuery(filter.Contains(Drone, Position)),
		standings: donburi.NewQuery(filter.Contains(Standing)),
		peers:     donburi.NewQuery(filter.Contains(components.RemotePeer)),
		events:    donburi.NewQuery(filter.Contains(components.ConnectionEvent)),
		host:      donburi.NewQuery(filter.Contains(components.Host)),
		networked: donburi.NewQuery(filter.Contains(components.NetworkID)),
	}
}

// Self is this client's peer ID (1 on a server).
func (v *View) Self() uint32 { return uint32(v.Net.ID()) }

// Ship finds the ship a player owns, if the world has it yet.
func (v *View) Ship(owner uint32) (*donburi.Entry, bool) {
	var found *donburi.Entry
	v.ships.EachUntil(v.World, func(en *donburi.Entry) bool {
		if Ship.Get(en).Owner == owner {
			found = en
			return false
		}
		return true
	})
	return found, found != nil
}

// ServerLink is the client's remote peer entry of the server.
func (v *View) ServerLink() (components.RemotePeerData, bool) {
	var out components.RemotePeerData
	found := false
	v.peers.Each(v.World, func(en *donburi.Entry) {
		if p := components.RemotePeer.Get(en); p.ID == 1 {
			out, found = *p, true
		}
	})
	return out, found
}

// Measured is the client's own measurement of its link to the server
// (loss from gaps in the server's sequenced feedback, smoothed RTT and
// its variance).
func (v *View) Measured() (components.LinkData, bool) {
	var out components.LinkData
	found := false
	v.peers.Each(v.World, func(en *donburi.Entry) {
		if components.RemotePeer.Get(en).ID == 1 && en.HasComponent(components.Link) {
			out, found = components.Link.GetValue(en), true
		}
	})
	return out, found
}

// Synced reports whether the tick estimate is usable.
func (v *View) Synced() bool {
	e, ok := v.host.First(v.World)
	return ok && components.Host.Get(e).Synced
}

// Entities counts the replicated entities.
func (v *View) Entities() int { return v.networked.Count(v.World) }
