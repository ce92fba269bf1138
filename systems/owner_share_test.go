package systems_test

import (
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
)

// ownShareSpot and ownShareFuel are this file's own replicated types: a
// spot everyone sees and fuel only the owner does.
type (
	ownShareSpot struct{ X, Y float32 }
	ownShareFuel struct{ Litres int32 }
)

var (
	ownShareSpotType = donburi.NewComponentType[ownShareSpot]()
	ownShareFuelType = donburi.NewComponentType[ownShareFuel]()
)

// With an OwnerOnly component and neither interest management nor a
// budget, the network system serves every client on the snapshot tick, and
// the clients that own nothing share one encoding: a snapshot interval
// costs everyone's encoding plus one per owner, not one per client.
func TestOwnerOnlyAloneSharesOneEncodingAmongClientsThatOwnNothing(t *testing.T) {
	const clients, every = 6, 3
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, ownShareSpotType, "spot")
	systems.RegisterComponent(reg, ownShareFuelType, "fuel", replication.OwnerOnly[ownShareFuel]())
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: clients, Config: systems.Config{SnapshotEvery: every}})
	h.Connect()
	w := h.Server.World
	owner := h.Clients[0]
	ship := w.Create(components.Replicated, ownShareSpotType, ownShareFuelType, components.Owner)
	components.Owner.SetValue(w.Entry(ship), components.OwnerData{Peer: int32(owner.Net.ID())})
	for i := range 10 {
		e := w.Create(components.Replicated, ownShareSpotType)
		ownShareSpotType.SetValue(w.Entry(e), ownShareSpot{X: float32(i)})
	}
	move := func() {
		en := w.Entry(ship)
		ownShareSpotType.Get(en).X++
		ownShareFuelType.Get(en).Litres++
	}
	h.StepUntil(60, "every client holds the world", func() bool {
		move()
		for _, c := range h.Clients {
			n := 0
			ownShareSpotType.Each(c.World, func(*donburi.Entry) { n++ })
			if n != 11 {
				return false
			}
		}
		return true
	})
	rs := h.Server.Net.Replication(0)
	before := rs.Stats().Encodes
	const intervals = 20
	for range intervals * every {
		move()
		h.Step()
	}
	if n := rs.Stats().Encodes - before; n > 3*intervals {
		t.Fatalf("%d snapshot intervals for %d clients, one of them an owner, took %d encodings; want at most %d (everyone's and the owner's, and a spare baseline)", intervals, clients, n, 3*intervals)
	}
	want := ownShareFuelType.GetValue(w.Entry(ship))
	h.StepUntil(30, "the owner holds its fuel, and no one else any", func() bool {
		for _, c := range h.Clients {
			fuels := 0
			ownShareFuelType.Each(c.World, func(e *donburi.Entry) {
				fuels++
				if c != owner {
					t.Fatalf("client %d holds the owner's fuel", c.Net.ID())
				}
			})
			if c == owner && fuels != 1 {
				return false
			}
		}
		var got ownShareFuel
		ownShareFuelType.Each(owner.World, func(e *donburi.Entry) { got = ownShareFuelType.GetValue(e) })
		return got == want
	})
}
