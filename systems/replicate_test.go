package systems_test

import (
	"maps"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/transport/memnet"
	"github.com/netburi/netburi/wire"
)

type Transform struct{ X, Y, Angle float32 }

// Tint comes and goes on entities (a power-up, say).
type Tint struct{ R, G, B uint8 }

var (
	transformType = donburi.NewComponentType[Transform]()
	tintType      = donburi.NewComponentType[Tint]()
)

// valuesByID maps network IDs to ct's values in w.
func valuesByID[T any](w donburi.World, ct *donburi.ComponentType[T]) map[uint32]T {
	out := map[uint32]T{}
	components.NetworkID.Each(w, func(e *donburi.Entry) {
		if e.HasComponent(ct) {
			out[components.NetworkID.GetValue(e).ID] = ct.GetValue(e)
		}
	})
	return out
}

func tintsByID(w donburi.World) map[uint32]Tint { return valuesByID(w, tintType) }

func transformsByID(w donburi.World) map[uint32]Transform { return valuesByID(w, transformType) }

// Entities the server tags reach every client through the network system,
// including a client that joins late, and follow the server's changes.
func TestNetworkReplicatesTaggedEntities(t *testing.T) {
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, transformType, "transform")
	systems.RegisterComponent(reg, tintType, "tint")
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 2, Config: systems.Config{SnapshotEvery: 3}})
	h.Connect()
	w := h.Server.World
	ents := spawnRow(w, 100)
	same := func(c *nettest.Node) func() bool {
		return func() bool {
			return maps.Equal(tintsByID(h.Server.World), tintsByID(c.World)) &&
				maps.Equal(transformsByID(h.Server.World), transformsByID(c.World))
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

// Components registered on a reliable lane of their own travel beside the
// default unreliable lane, each on its channel; an entity can move a
// component to a lane the network lists. Every snapshot arrives on its
// lane's channel (a client counts any other as malformed).
func TestReplicationLanesTravelOnTheirChannels(t *testing.T) {
	reliable := components.LaneData{Channel: 3, Mode: ecsnet.TransferReliable}
	extra := components.LaneData{Channel: 4, Mode: ecsnet.TransferUnreliableOrdered}
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, transformType, "transform")
	systems.RegisterComponent(reg, tintType, "tint", replication.OnLane[Tint](reliable.Channel, reliable.Mode))
	reg.AddLanes(extra)
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 2, Config: systems.Config{ChannelCount: 5}})
	h.Connect()
	if got := h.Server.Net.Lanes(); len(got) != 3 {
		t.Fatalf("lanes %v", got)
	}
	w := h.Server.World
	for i := range 30 {
		e := w.Create(components.Replicated, transformType, tintType)
		transformType.SetValue(w.Entry(e), Transform{X: float32(i)})
		tintType.SetValue(w.Entry(e), Tint{G: uint8(i)})
		if i%3 == 0 {
			components.Replicated.SetValue(w.Entry(e), components.ReplicatedData{
				Lanes: map[string]components.LaneData{"transform": extra},
			})
		}
	}
	for _, c := range h.Clients {
		h.StepUntil(1000, "every lane replicated", func() bool {
			return maps.Equal(transformsByID(w), transformsByID(c.World)) && len(tintsByID(c.World)) == 30
		})
		if n := c.World.Len(); n != 30+1+1 { // entities, host, server peer
			t.Errorf("client world holds %d entities, want 32", n)
		}
		for i := range h.Server.Net.Lanes() {
			rc := c.Net.ReplicationClient(i)
			if rc.Stats().Malformed != 0 || rc.Newest() == 0 {
				t.Errorf("lane %d: malformed %d, newest %d", i, rc.Stats().Malformed, rc.Newest())
			}
		}
		// Latest finds each component's snapshot value on whichever lane
		// carries it.
		want := transformsByID(w)
		components.NetworkID.Each(c.World, func(e *donburi.Entry) {
			id := components.NetworkID.GetValue(e).ID
			if _, replicated := want[id]; !replicated {
				return // the host and server peer entities
			}
			tr, ok := systems.Latest(c.Net, c.World, transformType, e.Entity())
			if !ok || tr != want[id] {
				t.Errorf("entity %d: Latest transform %v, %v; want %v", id, tr, ok, want[id])
			}
			if tint, ok := systems.Latest(c.Net, c.World, tintType, e.Entity()); !ok || tint != tintType.GetValue(e) {
				t.Errorf("entity %d: Latest tint %v, %v", id, tint, ok)
			}
		})
	}
	server := w.Entry(transformType.MustFirst(w).Entity())
	if v, ok := systems.Latest(h.Server.Net, w, transformType, server.Entity()); ok {
		t.Errorf("Latest on the server = %v, true", v)
	}
}

// A client that stops acknowledging keeps getting deltas against its last
// ack while the server still holds that snapshot, then full state once it
// has left the history; back in touch, it converges.
func TestExpiredBaselinesFallBackToFullState(t *testing.T) {
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, transformType, "transform")
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 1, Config: systems.Config{}})
	h.Connect()
	w := h.Server.World
	e := w.Create(components.Replicated, transformType)
	c := h.Clients[0]
	same := func() bool { return maps.Equal(transformsByID(w), transformsByID(c.World)) }
	h.StepUntil(1000, "first replication", same)
	h.StepUntil(1000, "the client's ack reaches the server", func() bool {
		rs := h.Server.Net.Replication(0)
		return rs.Acked(c.Net.ID()) >= h.Server.Net.Tick()-1
	})
	rs := h.Server.Net.Replication(0)
	full := rs.Stats().FullStates
	move := func(x float32) { transformType.SetValue(w.Entry(e), Transform{X: x}) }
	for i := range 10 { // the client is away for less than the history (32)
		move(float32(i))
		h.Server.Step()
	}
	if rs.Stats().FullStates != full {
		t.Fatalf("full state sent while the baseline was still held (%d -> %d)", full, rs.Stats().FullStates)
	}
	for i := range 30 { // now longer than the history
		move(float32(100 + i))
		h.Server.Step()
	}
	if rs.Stats().FullStates == full {
		t.Fatal("no full state after the client's baseline left the history")
	}
	h.StepUntil(1000, "convergence once back in touch", same)
}

// One schema hash covers messages, components and lanes: a client whose
// registry moves a component to another lane, or lacks one, is refused.
func TestClientWithOtherComponentsIsRefused(t *testing.T) {
	for name, other := range map[string]func(*systems.Registry){
		"another lane": func(r *systems.Registry) {
			systems.RegisterComponent(r, transformType, "transform", replication.OnLane[Transform](1, ecsnet.TransferReliable))
		},
		"a missing component": func(*systems.Registry) {},
		"an extra lane": func(r *systems.Registry) {
			systems.RegisterComponent(r, transformType, "transform")
			r.AddLanes(components.LaneData{Channel: 1, Mode: ecsnet.TransferReliable})
		},
	} {
		t.Run(name, func(t *testing.T) {
			reg := systems.NewRegistry()
			systems.RegisterComponent(reg, transformType, "transform")
			client := systems.NewRegistry()
			other(client)
			h := nettest.New(t, nettest.Options{Registry: reg, Clients: 1, ClientRegistry: func(int) *systems.Registry { return client }})
			h.StepUntil(1000, "the client refused", func() bool {
				for _, ev := range h.Clients[0].Events() {
					if ev.Kind == components.EventConnectionRejected {
						return true
					}
				}
				return false
			})
		})
	}
}

// laneOf is the lane whose newest snapshot on client n carries entity id's
// transform (false when none does).
func laneOf(n *systems.Network, id uint32) (components.LaneData, bool) {
	for i, l := range n.Lanes() {
		if _, ok := replication.Latest(n.ReplicationClient(i), transformType, id); ok {
			return l, true
		}
	}
	return components.LaneData{}, false
}

// An entity carrying components.Channel and/or components.TransferMode has
// its replicated data travel on that lane; changing or removing them at
// run time moves the data, and the entity stays spawned on the client
// throughout (over a lossy link), never despawned or spawned again.
func TestChannelAndTransferModeComponentsChooseTheLane(t *testing.T) {
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, transformType, "transform")
	def := replication.DefaultLane
	ch3Reliable := components.LaneData{Channel: 3, Mode: wire.Reliable}
	ch3 := components.LaneData{Channel: 3, Mode: wire.Unreliable}
	reg.AddLanes(ch3Reliable, ch3)
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 1, Seed: 4, Config: systems.Config{ChannelCount: 4}})
	h.Connect()
	h.Mem.SetLink(memnet.Link{Loss: 0.1, Latency: 30 * time.Millisecond, Jitter: 10 * time.Millisecond})
	w, c := h.Server.World, h.Clients[0]
	plain := w.Create(components.Replicated, transformType)
	moved := w.Create(components.Replicated, transformType, components.Channel, components.TransferMode)
	components.Channel.SetValue(w.Entry(moved), components.ChannelData{Channel: 3})
	components.TransferMode.SetValue(w.Entry(moved), components.TransferModeData{Mode: wire.Reliable})

	x := float32(0)
	var spawned donburi.Entity
	step := func() {
		x++
		for _, e := range []donburi.Entity{plain, moved} {
			transformType.SetValue(w.Entry(e), Transform{X: x})
		}
		h.Step()
		if spawned == 0 {
			return
		}
		id := components.NetworkID.Get(w.Entry(moved)).ID
		if e, ok := c.Net.ReplicationClient(0).Entity(id); !ok || e != spawned || !c.World.Valid(e) {
			t.Fatalf("at x=%v the client's entity for %d went from %v to %v (%v)", x, id, spawned, e, ok)
		}
	}
	idOf := func(e donburi.Entity) uint32 {
		if !w.Entry(e).HasComponent(components.NetworkID) {
			return 0
		}
		return components.NetworkID.Get(w.Entry(e)).ID
	}
	on := func(e donburi.Entity, want components.LaneData) func() bool {
		return func() bool {
			got, ok := laneOf(c.Net, idOf(e))
			return ok && got == want
		}
	}
	until := func(what string, cond func() bool) {
		t.Helper()
		for i := 0; !cond(); i++ {
			if i == 600 {
				t.Fatalf("%s: not reached in 600 ticks", what)
			}
			step()
		}
	}
	until("the moved entity on channel 3, reliable", on(moved, ch3Reliable))
	until("the plain entity on the registration's lane", on(plain, def))
	spawned, _ = c.Net.ReplicationClient(0).Entity(idOf(moved))

	components.TransferMode.SetValue(w.Entry(moved), components.TransferModeData{Mode: wire.Unreliable})
	until("TransferMode changed: channel 3, unreliable", on(moved, ch3))
	w.Entry(moved).RemoveComponent(components.Channel)
	until("Channel removed: the registration's channel, unreliable", on(moved, def))
	donburi.Add(w.Entry(moved), components.Channel, &components.ChannelData{Channel: 3})
	components.TransferMode.SetValue(w.Entry(moved), components.TransferModeData{Mode: wire.Reliable})
	until("back on channel 3, reliable", on(moved, ch3Reliable))
	w.Entry(moved).RemoveComponent(components.TransferMode)
	w.Entry(moved).RemoveComponent(components.Channel)
	until("both removed: the registration's lane", on(moved, def))
	h.Mem.SetLink(memnet.Link{})
	until("the client shows the server's values", func() bool {
		return maps.Equal(transformsByID(w), transformsByID(c.World))
	})
}
