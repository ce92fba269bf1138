package systems_test

import (
	"slices"
	"testing"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/transport/memnet"
	"github.com/netburi/netburi/wire"
)

// packetCounting is a server transport on memnet that counts the packets
// the system creates: one per Send, one per SendMany however many clients
// it names.
type packetCounting struct {
	transport.Transport
	sends     int     // Send calls with a snapshot
	many      [][]int // SendMany calls with a snapshot: the clients named
	manyOther int     // SendMany calls with anything else
}

func (p *packetCounting) Send(to, channel int, mode wire.TransferMode, b []byte) error {
	if len(b) > 0 && b[0] == wire.KindSnapshot {
		p.sends++
	}
	return p.Transport.Send(to, channel, mode, b)
}

func (p *packetCounting) SendMany(to []int, channel int, mode wire.TransferMode, b []byte) (int, error) {
	if len(b) > 0 && b[0] == wire.KindSnapshot {
		p.many = append(p.many, slices.Clone(to))
	} else {
		p.manyOther++
	}
	return p.Transport.(transport.ManySender).SendMany(to, channel, mode, b)
}

func (p *packetCounting) reset() { p.sends, p.many, p.manyOther = 0, nil, 0 }

// sharingHarness runs a server of n clients and 50 moving entities on
// memnet, counting its packets; with interest management, every client
// gets the same view.
func sharingHarness(t *testing.T, clients int, cfg systems.Config) (*nettest.Harness, *wrapping[*packetCounting]) {
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, transformType, "transform")
	mem := memnet.New(5, memnet.Link{})
	prov := wrapServer(mem, func(t transport.Transport) *packetCounting { return &packetCounting{Transport: t} })
	cfg.Transport = prov
	var ents []donburi.Entity
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: clients, Mem: mem, Config: cfg,
		Systems: func(i int, n *nettest.Node) {
			if i >= 0 {
				return
			}
			n.ECS.AddSystem(func(*ecs.ECS) {
				for _, e := range n.Events() {
					if e.Kind == components.EventPeerAccepted {
						n.Net.SetView(e.PeerID, replication.View{X: 10, Radius: 1e6})
					}
				}
				if ents == nil {
					for k := range 50 {
						e := n.World.Create(components.Replicated, transformType)
						transformType.SetValue(n.World.Entry(e), Transform{X: float32(k)})
						ents = append(ents, e)
					}
				}
				for _, e := range ents {
					transformType.Get(n.World.Entry(e)).Y++ // every entity changes every tick
				}
			})
		}})
	h.Connect()
	h.StepUntil(100, "every client holds the world", func() bool {
		for _, c := range h.Clients {
			if len(transformsByID(c.World)) != 50 {
				return false
			}
		}
		return true
	})
	return h, prov
}

// Clients that acknowledged the same snapshot share one encoding of the
// next one and get it as one packet per datagram, however many they are.
func TestClientsWithOneBaselineGetOneEncodingInOneSharedPacket(t *testing.T) {
	const clients = 8
	h, prov := sharingHarness(t, clients, systems.Config{})
	rs := h.Server.Net.Replication(0)
	for range 10 {
		prov.server.reset()
		encodes := rs.Stats().Encodes
		h.Step()
		if got := rs.Stats().Encodes - encodes; got != 1 {
			t.Fatalf("%d encodings in one tick for %d clients with one baseline, want 1", got, clients)
		}
		if prov.server.sends != 0 || len(prov.server.many) == 0 {
			t.Fatalf("snapshot sent in %d packets of its own and %d shared ones, want shared ones only", prov.server.sends, len(prov.server.many))
		}
		for _, to := range prov.server.many {
			if len(to) != clients {
				t.Fatalf("a shared snapshot packet names %v, want all %d clients", to, clients)
			}
		}
	}
	if h.Server.Net.Stats().SharedSends == 0 {
		t.Error("Stats.SharedSends not counted")
	}
}

// Under interest management each client's snapshot is its own encoding,
// but clients whose snapshots come out byte for byte alike (the same view
// and the same baseline) still get one shared packet.
func TestIdenticalScopedSnapshotsShareOnePacket(t *testing.T) {
	const clients = 4
	h, prov := sharingHarness(t, clients, systems.Config{
		Interest: &replication.Interest{Position: transformPos, CellSize: 50},
	})
	prov.server.reset()
	for range 10 {
		h.Step()
	}
	if prov.server.sends != 0 || len(prov.server.many) == 0 {
		t.Errorf("%d snapshot packets of their own and %d shared for clients of one view and baseline, want shared ones only", prov.server.sends, len(prov.server.many))
	}
	for _, to := range prov.server.many {
		if len(to) != clients {
			t.Fatalf("a shared snapshot packet names %v, want all %d clients", to, clients)
		}
	}
}

// Sharing never reorders what one client gets: payloads queued for a
// client arrive in the order queued, even when another client is sent
// the same payloads the other way round.
func TestSharingKeepsEachClientsOrder(t *testing.T) {
	h, prov := sharingHarness(t, 2, systems.Config{})
	x, y := h.Clients[0], h.Clients[1]
	srv := h.Server.Net
	a, b := []byte("first"), []byte("second")
	must(t, srv.SendRaw(x.Net.ID(), 2, wire.Reliable, a))
	must(t, srv.SendRaw(x.Net.ID(), 2, wire.Reliable, b))
	must(t, srv.SendRaw(y.Net.ID(), 2, wire.Reliable, b))
	must(t, srv.SendRaw(y.Net.ID(), 2, wire.Reliable, a))
	shared := srv.Stats().SharedSends
	prov.server.reset()
	h.Step()
	if prov.server.manyOther != 1 || srv.Stats().SharedSends-shared < 1 {
		t.Errorf("%d shared raw packets, want 1 (the payload both get in an order that allows it)", prov.server.manyOther)
	}
	got := func(n *nettest.Node) []string {
		var out []string
		for _, r := range n.Net.RawReceived() {
			out = append(out, string(r.Data))
		}
		return out
	}
	if g := got(x); !slices.Equal(g, []string{"first", "second"}) {
		t.Errorf("client x got %q, want first, second", g)
	}
	if g := got(y); !slices.Equal(g, []string{"second", "first"}) {
		t.Errorf("client y got %q, want second, first", g)
	}
}
