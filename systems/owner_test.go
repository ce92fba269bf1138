package systems_test

import (
	"slices"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/transport/memnet"
)

// Secret is state only an entity's owner receives.
type Secret struct{ V int32 }

var secretType = donburi.NewComponentType[Secret]()

// A component registered OwnerOnly reaches the owning client through the
// network system, and no datagram to any other client carries it, under
// loss, with every entity replicated to everyone (no interest management);
// the rest of the entity reaches everyone.
func TestAnOwnerOnlyComponentNeverLeavesForOtherClients(t *testing.T) {
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, transformType, "transform")
	systems.RegisterComponent(reg, secretType, "secret", replication.OwnerOnly[Secret]())
	systems.RegisterComponent(reg, components.Owner, "owner")
	mem := memnet.New(11, memnet.Link{})
	tap := tapServer(mem)
	h := nettest.New(t, nettest.Options{
		Registry: reg, Clients: 3, Mem: mem,
		Config: systems.Config{Transport: tap, SnapshotEvery: 2},
	})
	h.Connect()
	wireReg := replication.NewRegistry() // the same registrations, for reading the wire
	replication.Register(wireReg, transformType, "transform")
	replication.Register(wireReg, secretType, "secret", replication.OwnerOnly[Secret]())
	replication.Register(wireReg, components.Owner, "owner")

	w := h.Server.World
	var ships []donburi.Entity
	for i, c := range h.Clients[:2] { // clients 0 and 1 own a ship each; client 2 none
		e := w.Create(components.Replicated, transformType, secretType, components.Owner)
		components.Owner.SetValue(w.Entry(e), components.OwnerData{Peer: int32(c.Net.ID())})
		transformType.SetValue(w.Entry(e), Transform{X: float32(i)})
		ships = append(ships, e)
	}
	idOwner := map[uint32]int{} // network ID -> owning peer
	h.Mem.SetLink(memnet.Link{Loss: 0.2, Reorder: 0.2, Latency: 20 * time.Millisecond, Jitter: 10 * time.Millisecond})
	carried := 0
	for tick := range 200 {
		for _, e := range ships {
			en := w.Entry(e)
			secretType.Get(en).V = int32(tick)
			transformType.Get(en).Y = float32(tick)
		}
		h.Step()
		for _, e := range ships { // network IDs are given at the first capture
			if en := w.Entry(e); en.HasComponent(components.NetworkID) {
				idOwner[components.NetworkID.Get(en).ID] = int(components.Owner.Get(en).Peer)
			}
		}
		for _, s := range tap.server.take() {
			d, err := replication.Inspect(wireReg, s.data)
			if err != nil {
				t.Fatalf("server sent an undecodable snapshot: %v", err)
			}
			for _, en := range d.Entries {
				if !slices.Contains(en.Components, "secret") {
					continue
				}
				if idOwner[en.ID] != s.to {
					t.Fatalf("tick %d: peer %d received the owner-only component of entity %d, owned by %d", d.Tick, s.to, en.ID, idOwner[en.ID])
				}
				carried++
			}
		}
	}
	if carried == 0 {
		t.Fatal("no owner received its owner-only component")
	}
	h.Mem.SetLink(memnet.Link{})
	want := valuesByID(w, secretType)
	h.StepUntil(300, "every client holds both ships, the owner its secret", func() bool {
		for i, c := range h.Clients {
			if len(valuesByID(c.World, transformType)) != 2 {
				return false
			}
			secrets := valuesByID(c.World, secretType)
			switch i {
			case 0, 1:
				id := components.NetworkID.Get(w.Entry(ships[i])).ID
				if len(secrets) != 1 || secrets[id] != want[id] {
					return false
				}
			default:
				if len(secrets) != 0 {
					t.Fatalf("client %d holds secrets %v it owns none of", i, secrets)
				}
			}
		}
		return true
	})
}
