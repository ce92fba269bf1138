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

// Tint comes and goes on entities (a power-up, say).
type Tint struct{ R, G, B uint8 }

var (
	transformType = donburi.NewComponentType[Transform]()
	tintType      = donburi.NewComponentType[Tint]()
)

func tintsByID(w donburi.World) map[uint32]Tint {
	out := map[uint32]Tint{}
	components.NetworkID.Each(w, func(e *donburi.Entry) {
		if e.HasComponent(tintType) {
			out[components.NetworkID.GetValue(e).ID] = tintType.GetValue(e)
		}
	})
	return out
}

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
	replication.Register(repl, tintType, "tint")
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
		return func() bool {
			a, b := tintsByID(h.Server.World), tintsByID(c.World)
			if len(a) != len(b) {
				return false
			}
			for k, v := range a {
				if b[k] != v {
					return false
				}
			}
			return equalMaps(transformsByID(h.Server.World), transformsByID(c.World))
		}
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
	for _, e := range ents[60:70] { // a component added
		donburi.Add(w.Entry(e), tintType, &Tint{R: 200})
	}
	for _, c := range h.Clients {
		h.StepUntil(1000, "component added", same(c))
	}
	for _, e := range ents[60:65] { // and removed again
		w.Entry(e).RemoveComponent(tintType)
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
