package replication

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"runtime"
	"slices"
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
)

// ownerRegistry replicates positions to everyone and velocities to the
// owner alone.
func ownerRegistry() *Registry {
	r := NewRegistry()
	Register(r, posType, "position")
	Register(r, velType, "velocity", OwnerOnly[velocity]())
	return r
}

// wireCheck fails the test when a datagram to client carries component k
// of an entity whose network ID is not in allowed, and returns how many
// entries did carry it.
func wireCheck(t *testing.T, s *Server, client, k int, allowed func(id uint32) bool) int {
	t.Helper()
	parts, err := s.Datagrams(client)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, p := range parts {
		ops, err := decodeEntries(p, s.comps, nil)
		if err != nil {
			t.Fatalf("client %d: %v", client, err)
		}
		for _, o := range ops {
			if o.mask&(1<<k) == 0 {
				continue
			}
			if !allowed(o.id) {
				t.Fatalf("client %d received component %q of entity %d, which it does not own", client, s.comps[k].name, o.id)
			}
			seen++
		}
	}
	return seen
}

// An OwnerOnly component reaches the entity's owner and no other client,
// on the wire, under loss, with or without interest management; when the
// entity changes hands the old owner loses it and the new one gets it; an
// entity without an owner sends it to nobody. Everything else reaches
// everyone.
func TestAnOwnerOnlyComponentReachesItsOwnerAlone(t *testing.T) {
	for name, opts := range map[string]ServerOptions{
		"shared":   {},
		"interest": {Interest: &Interest{Position: gridPos, CellSize: 10}},
		"budget":   {SnapshotBytes: 200},
	} {
		t.Run(name, func(t *testing.T) {
			reg := ownerRegistry()
			l := newLink(t, reg, 0)
			l.server = NewServer(reg, opts)
			a, b := l.addClient(reg), l.addClient(reg)
			for _, c := range l.clients {
				l.server.SetView(c.id, View{Radius: 1e6})
			}
			vel := -1
			for k, c := range l.server.comps {
				if c.name == "velocity" {
					vel = k
				}
			}
			ship := spawn(l.world, position{1, 2}, velType, components.Owner)
			components.Owner.SetValue(l.world.Entry(ship), components.OwnerData{Peer: int32(a.id)})
			orphan := spawn(l.world, position{3, 4}, velType)
			var others []donburi.Entity
			for i := range 20 {
				others = append(others, spawn(l.world, position{float32(i), 9}))
			}
			owner := a
			l.loss, l.reorder = 0.3, true
			check := func(steps int) {
				t.Helper()
				carried := 0
				for i := range steps {
					en := l.world.Entry(ship)
					velType.Get(en).X = float32(i + 1) // changes every snapshot
					posType.Get(en).X = float32(i%7 + 1)
					posType.Get(l.world.Entry(others[i%len(others)])).Y++
					velType.Get(l.world.Entry(orphan)).Y = float32(i)
					l.capture()
					for _, c := range l.clients {
						n := wireCheck(t, l.server, c.id, vel, func(id uint32) bool {
							return c == owner && id == idOf(l.world, ship)
						})
						if c == owner {
							carried += n
						}
					}
					l.deliver() // the datagrams just checked (asked twice in a tick: the same), under loss
				}
				if carried == 0 {
					t.Fatalf("the owner (client %d) never received the owner-only component", owner.id)
				}
			}
			check(40)
			l.heal()
			for range 5 {
				l.step()
			}
			want := func(c *linkClient, has bool) {
				t.Helper()
				ce, ok := c.c.Entity(idOf(l.world, ship))
				if !ok {
					t.Fatalf("client %d lacks the ship", c.id)
				}
				en := c.world.Entry(ce)
				if en.HasComponent(velType) != has {
					t.Fatalf("client %d has the velocity: %v, want %v", c.id, en.HasComponent(velType), has)
				}
				if has && velType.GetValue(en) != velType.GetValue(l.world.Entry(ship)) {
					t.Fatalf("client %d's velocity %v, server's %v", c.id, velType.GetValue(en), velType.GetValue(l.world.Entry(ship)))
				}
				oe, ok := c.c.Entity(idOf(l.world, orphan))
				if !ok || c.world.Entry(oe).HasComponent(velType) {
					t.Fatalf("client %d: the ownerless entity (present %v) carries its owner-only component", c.id, ok)
				}
				if n := len(ids(c.world)); n != 2+len(others) {
					t.Fatalf("client %d sees %d entities, want %d", c.id, n, 2+len(others))
				}
				for _, e := range append(others, ship, orphan) {
					ce, _ := c.c.Entity(idOf(l.world, e))
					if got, want := posType.GetValue(c.world.Entry(ce)), posType.GetValue(l.world.Entry(e)); got != want {
						t.Fatalf("client %d: position %v, server's %v", c.id, got, want)
					}
				}
			}
			want(a, true)
			want(b, false)

			// the ship changes hands
			components.Owner.SetValue(l.world.Entry(ship), components.OwnerData{Peer: int32(b.id)})
			owner = b
			l.loss, l.reorder = 0.3, true
			check(40)
			l.heal()
			for range 5 {
				l.step()
			}
			want(a, false)
			want(b, true)
		})
	}
}

// A registry's schema says which components are owner-only, so peers whose
// registrations differ in it are told apart.
func TestTheSchemaNamesOwnerOnlyComponents(t *testing.T) {
	plain, owned := testRegistry().Schema()["component velocity"], ownerRegistry().Schema()["component velocity"]
	if plain == owned {
		t.Fatalf("schema %q does not tell owner-only apart", owned)
	}
}

// Registering a component OwnerOnly does not make the server keep a second
// copy of the world without it: what a client may see is a filter applied
// when its snapshot is encoded. A server's first capture (under interest
// management, where every client has its own snapshots either way)
// allocates about as much with the component OwnerOnly as without.
func TestAnOwnerOnlyComponentCostsNoSecondCopyOfTheWorld(t *testing.T) {
	w := donburi.NewWorld()
	for i := range 5000 {
		e := spawn(w, position{float32(i), 1}, velType, components.Owner)
		components.Owner.SetValue(w.Entry(e), components.OwnerData{Peer: int32(i%4 + 2)})
	}
	opts := ServerOptions{Interest: &Interest{Position: gridPos, CellSize: 10}}
	plainReg := NewRegistry()
	Register(plainReg, posType, "position")
	Register(plainReg, velType, "velocity")
	NewServer(plainReg, opts).Capture(w, 1) // gives the entities their network IDs
	allocated := func(reg *Registry) uint64 {
		s := NewServer(reg, opts)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		s.Capture(w, 1)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	plain, owned := allocated(plainReg), allocated(ownerRegistry())
	t.Logf("%d bytes with, %d without", owned, plain)
	if float64(owned) > 1.1*float64(plain) {
		t.Fatalf("a capture with an OwnerOnly component allocated %d bytes, %.2f times the %d without", owned, float64(owned)/float64(plain), plain)
	}
}

// Without interest management or a budget, an OwnerOnly component does not
// give every client its own snapshot: clients that own none of the
// entities carrying one share one encoding per baseline, as they would
// without OwnerOnly components, and only an owner gets its own. Each
// client still ends up with exactly its view.
func TestClientsThatOwnNothingShareOneEncoding(t *testing.T) {
	reg := ownerRegistry()
	l := newLink(t, reg, 6)
	a, b := l.clients[0], l.clients[1]
	ship := spawn(l.world, position{1, 2}, velType, components.Owner)
	components.Owner.SetValue(l.world.Entry(ship), components.OwnerData{Peer: int32(a.id)})
	boat := spawn(l.world, position{3, 4}, velType, components.Owner)
	components.Owner.SetValue(l.world.Entry(boat), components.OwnerData{Peer: int32(b.id)})
	for i := range 20 {
		spawn(l.world, position{float32(i), 9})
	}
	for range 3 { // every client past its first full state, acknowledging each snapshot
		l.step()
	}
	for i := range 10 {
		velType.Get(l.world.Entry(ship)).X = float32(i + 1)
		posType.Get(l.world.Entry(boat)).Y = float32(i + 1)
		before := l.server.Stats().Encodes
		l.capture()
		first := map[bool][]byte{} // a non-owner's datagram; an owner's
		for _, c := range l.clients {
			parts, err := l.server.Datagrams(c.id)
			if err != nil || len(parts) != 1 {
				t.Fatalf("client %d: %d datagrams, %v", c.id, len(parts), err)
			}
			owner := c == a || c == b
			if p, ok := first[owner]; ok && !owner && &p[0] != &parts[0][0] {
				t.Fatalf("client %d, which owns nothing, got an encoding of its own", c.id)
			}
			first[owner] = parts[0]
		}
		if n := l.server.Stats().Encodes - before; n != 3 {
			t.Fatalf("one snapshot for 6 clients, 2 of them owners, took %d encodings, want 3 (everyone's and each owner's)", n)
		}
		l.deliver()
	}
	for _, c := range l.clients { // each holds the world, and its own velocity only
		want := state(l.world)
		for _, e := range []donburi.Entity{ship, boat} {
			if components.Owner.Get(l.world.Entry(e)).Peer != int32(c.id) {
				delete(want[idOf(l.world, e)], "velocity")
			}
		}
		if got := state(c.world); !reflect.DeepEqual(got, want) {
			t.Fatalf("client %d holds\n%v\nwant\n%v", c.id, got, want)
		}
	}
}

// An owner's encoding, built from everyone's entries with its own
// entities' entries replaced, is byte for byte the encoding of its view
// made from scratch, whatever changed between the baseline and the
// snapshot: values, ownership, OwnerOnly components added and removed,
// entities spawned and despawned; against baselines of several ages and
// none, over several datagrams.
func TestAnOwnersEncodingFromEveryonesEqualsItsOwnFromScratch(t *testing.T) {
	for _, budget := range []int{160, 600} {
		t.Run(fmt.Sprintf("budget=%d", budget), func(t *testing.T) { ownersEncodingFromEveryones(t, budget) })
	}
}

func ownersEncodingFromEveryones(t *testing.T, budget int) {
	reg := ownerRegistry()
	s := NewServer(reg, ServerOptions{Budget: budget})
	w := donburi.NewWorld()
	rng := rand.New(rand.NewPCG(3, 4))
	var ents []donburi.Entity
	owners := []int32{2, 3, 4}
	newEntity := func() {
		e := spawn(w, position{float32(rng.IntN(100)), 0}, components.Owner)
		components.Owner.SetValue(w.Entry(e), components.OwnerData{Peer: owners[rng.IntN(len(owners))]})
		if rng.IntN(3) > 0 {
			donburi.Add(w.Entry(e), velType, &velocity{1, 1})
		}
		ents = append(ents, e)
	}
	for range 150 {
		newEntity()
	}
	for tick := uint32(1); tick <= 40; tick++ {
		for range 12 {
			e := ents[rng.IntN(len(ents))]
			en := w.Entry(e)
			switch rng.IntN(6) {
			case 0:
				posType.Get(en).X++
			case 1:
				if en.HasComponent(velType) {
					velType.Get(en).Y++
				}
			case 2:
				if en.HasComponent(components.Owner) {
					components.Owner.Get(en).Peer = owners[rng.IntN(len(owners))]
				}
			case 3:
				if en.HasComponent(velType) {
					en.RemoveComponent(velType)
				} else {
					donburi.Add(en, velType, &velocity{2, 2})
				}
			case 4:
				if en.HasComponent(components.Owner) {
					en.RemoveComponent(components.Owner)
				} else {
					donburi.Add(en, components.Owner, &components.OwnerData{Peer: owners[0]})
				}
			case 5:
				w.Remove(e)
				ents = slices.DeleteFunc(ents, func(x donburi.Entity) bool { return x == e })
				newEntity()
			}
		}
		s.Capture(w, tick)
		for _, back := range []uint32{0, 1, 3, 8} {
			var base *snapshot
			if back > 0 && tick > back {
				base = s.history[(tick-back)%uint32(len(s.history))]
			}
			for _, viewer := range []int64{2, 3, 4, 5} {
				ev := s.forEveryone(base)
				got, err := s.encodeFor(base, viewer, ev)
				if err != nil {
					t.Fatal(err)
				}
				got = slices.Clone(got)
				want, err := s.enc.encodeDelta(s.current, base, viewer)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					t.Fatalf("tick %d, baseline %d ticks back, viewer %d: %d datagrams from everyone's, %d from scratch, differing", tick, back, viewer, len(got), len(want))
				}
			}
		}
	}
}
