package replication

import (
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/wire"
)

// Each lane's server carries only the components on its lane (by
// registration, or moved by an entity's tag); clients of all lanes share
// one entity map, so every entity exists once with all its components.
func TestLanesSplitComponentsAndShareEntities(t *testing.T) {
	reliable := components.LaneData{Channel: 1, Mode: wire.Reliable}
	r := NewRegistry()
	Register(r, posType, "position")
	Register(r, labelType, "label", WithCodec[label](labelCodec{}), OnLane[label](reliable.Channel, reliable.Mode))
	lanes := r.Lanes()
	if len(lanes) != 2 || lanes[0] != reliable || lanes[1] != DefaultLane {
		t.Fatalf("lanes %v", lanes)
	}
	w := donburi.NewWorld()
	plain := spawn(w, position{1, 2}, labelType)
	labelType.SetValue(w.Entry(plain), label{"plain"})
	moved := spawn(w, position{3, 4}, labelType)
	labelType.SetValue(w.Entry(moved), label{"moved"})
	components.Replicated.SetValue(w.Entry(moved), components.ReplicatedData{
		Lanes: map[string]components.LaneData{"position": reliable},
	})
	entities := NewEntityMap()
	clientWorld := donburi.NewWorld()
	var servers []*Server
	var clients []*Client
	for i := range lanes {
		s := NewServer(r, ServerOptions{Lanes: lanes, Lane: i})
		s.AddClient(2)
		servers = append(servers, s)
		clients = append(clients, NewClient(r, ClientOptions{Lane: i, Entities: entities}))
	}
	for tick := uint32(1); tick <= 3; tick++ {
		for i, s := range servers {
			s.Capture(w, tick)
			parts, err := s.Datagrams(2)
			must(t, err)
			for _, p := range parts {
				if lane, _ := Lane(p); lane != i {
					t.Fatalf("lane %d server sent a lane %d datagram", i, lane)
				}
				must(t, clients[i].HandleSnapshot(p))
			}
			clients[i].Apply(clientWorld)
			must(t, s.HandleAck(2, clients[i].AckPayload()))
		}
	}
	// What each lane carried, by network ID: 1 is plain, 2 is moved.
	masks := func(lane int) map[uint32]uint64 {
		out := map[uint32]uint64{}
		for _, e := range clients[lane].applied.ents {
			out[e.id] = e.mask
		}
		return out
	}
	pos, lbl := uint64(1)<<indexOf(r, "position"), uint64(1)<<indexOf(r, "label")
	if got := masks(0); got[1] != lbl || got[2] != lbl|pos {
		t.Errorf("reliable lane carried %v", got)
	}
	if got := masks(1); got[1] != pos || got[2] != 0 {
		t.Errorf("default lane carried %v", got)
	}
	if n := clientWorld.Len(); n != 2 {
		t.Fatalf("client world has %d entities, want 2", n)
	}
	if got, want := state(clientWorld), state(w); len(got) != 2 || got[2]["label"] != want[2]["label"] || got[1]["position"] != want[1]["position"] || got[2]["position"] != want[2]["position"] {
		t.Errorf("client %v, server %v", got, want)
	}
	// A despawn seen on one lane first removes the entity once.
	w.Remove(plain)
	servers[1].Capture(w, 4)
	parts, _ := servers[1].Datagrams(2)
	for _, p := range parts {
		must(t, clients[1].HandleSnapshot(p))
	}
	clients[1].Apply(clientWorld)
	servers[0].Capture(w, 4)
	parts, _ = servers[0].Datagrams(2)
	for _, p := range parts {
		must(t, clients[0].HandleSnapshot(p))
	}
	clients[0].Apply(clientWorld)
	if n := clientWorld.Len(); n != 1 {
		t.Errorf("after the despawn the client has %d entities", n)
	}
}

func indexOf(r *Registry, name string) int {
	for _, c := range r.freeze() {
		if c.name == name {
			return c.index
		}
	}
	return -1
}
