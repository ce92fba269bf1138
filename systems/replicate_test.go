package systems_test

import (
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
)

type Transform struct{ X, Y, Angle float32 }

var transformType = donburi.NewComponentType[Transform]()

func transformsByID(w donburi.World) map[uint32]Transform {
	out := map[uint32]Transform{}
	components.NetworkID.Each(w, func(e *donburi.Entry) {
		if e.HasComponent(transformType) {
			out[components.NetworkID.GetValue(e).ID] = transformType.GetValue(e)
		}
	})
	return out
}

func equalMaps(a, b map[uint32]Transform) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// Entities the server tags reach every client through the network system,
// including a client that joins late, and follow the server's changes.
func TestNetworkReplicatesTaggedEntities(t *testing.T) {
	reg := systems.NewRegistry()
	repl := replication.NewRegistry()
	replication.Register(repl, transformType, "transform")
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 2, Config: systems.Config{Replication: repl, SnapshotEvery: 3}})
	h.Connect()
	w := h.Server.World
	var ents []donburi.Entity
	for i := range 100 {
		e := w.Create(components.Replicated, transformType)
		transformType.SetValue(w.Entry(e), Transform{X: float32(i)})
		ents = append(ents, e)
	}
	same := func(c *nettest.Node) func() bool {
		return func() bool { return equalMaps(transformsByID(h.Server.World), transformsByID(c.World)) }
	}
	for _, c := range h.Clients {
		h.StepUntil(1000, "first replication", same(c))
	}
	for i, e := range ents[:50] {
		transformType.SetValue(w.Entry(e), Transform{X: float32(i), Y: 7})
	}
	for _, e := range ents[50:60] {
		w.Remove(e)
	}
	late := h.AddClient()
	h.Connect()
	for _, c := range h.Clients {
		h.StepUntil(1000, "changes and the late joiner", same(c))
	}
	if got := len(transformsByID(late.World)); got != 90 {
		t.Errorf("late joiner sees %d entities, want 90", got)
	}
}
