package systems_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/transport/memnet"
	"github.com/netburi/netburi/wire"
)

// statsCounting is a server transport that records which peers' link
// statistics were read, tick by tick.
type statsCounting struct {
	transport.Transport
	read []int
}

func (s *statsCounting) LinkStats(id int) (transport.LinkStats, error) {
	s.read = append(s.read, id)
	return s.Transport.LinkStats(id)
}

type statsCountingProvider struct {
	transport.Provider
	server *statsCounting
}

func (p *statsCountingProvider) Listen(port int, o transport.ListenOptions) (transport.Transport, error) {
	t, err := p.Provider.Listen(port, o)
	if err != nil {
		return nil, err
	}
	p.server = &statsCounting{Transport: t}
	return p.server, nil
}

func TestEveryPeersStatisticsAreSampledOncePerPeriodAShareEachTick(t *testing.T) {
	const clients, every = 16, 4
	mem := memnet.New(1, memnet.Link{})
	prov := &statsCountingProvider{Provider: mem}
	h := nettest.New(t, nettest.Options{Registry: systems.NewRegistry(), Clients: clients, Mem: mem,
		Config: systems.Config{Transport: prov, PeerStatsEvery: every}})
	h.Connect()
	var ids []int
	for _, c := range h.Clients {
		ids = append(ids, c.Net.ID())
	}
	slices.Sort(ids)
	for period := range 3 {
		var all []int
		most := 0
		for range every {
			prov.server.read = nil
			h.Server.Step()
			all = append(all, prov.server.read...)
			most = max(most, len(prov.server.read))
		}
		slices.Sort(all)
		if !slices.Equal(all, ids) {
			t.Fatalf("period %d: statistics read for %v, want each of %v once", period, all, ids)
		}
		if most == clients {
			t.Fatalf("period %d: one tick read all %d peers' statistics; want them spread over %d ticks", period, clients, every)
		}
	}
}

func TestEveryTickStatisticsWhenAskedFor(t *testing.T) {
	mem := memnet.New(1, memnet.Link{})
	prov := &statsCountingProvider{Provider: mem}
	h := nettest.New(t, nettest.Options{Registry: systems.NewRegistry(), Clients: 3, Mem: mem,
		Config: systems.Config{Transport: prov, PeerStatsEvery: 1}})
	h.Connect()
	for range 5 {
		prov.server.read = nil
		h.Server.Step()
		if len(prov.server.read) != 3 {
			t.Fatalf("one tick read %v, want all 3 peers", prov.server.read)
		}
	}
}

func TestMalformedShowsWithinTheStatisticsPeriod(t *testing.T) {
	const every = 10
	reg := systems.NewRegistry()
	systems.RegisterMessage[Position](reg, "position")
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 1, Config: systems.Config{PeerStatsEvery: every}})
	h.Connect()
	c := h.Clients[0]
	must(t, c.Net.Transport().Send(1, 1, wire.Reliable, []byte{0x7f, 1, 2, 3})) // unknown payload kind
	c.Net.Transport().Flush()
	ticks := h.StepUntil(every+2, "malformed shown", func() bool { return h.Server.Peers()[c.Net.ID()].Stats.Malformed == 1 })
	// memnet delivers on the next step; the refresh comes within a period.
	if ticks > every+1 {
		t.Fatalf("malformed shown after %d ticks, want within %d", ticks, every+1)
	}
}

func TestRatesMatchKnownTrafficAtAnySamplingPeriod(t *testing.T) {
	for _, every := range []int{1, 4, 15, 60} {
		t.Run(fmt.Sprintf("every %d ticks", every), func(t *testing.T) {
			var h *nettest.Harness
			reg := systems.NewRegistry()
			down := make([]byte, 99) // 100-byte payloads with the raw kind
			up := make([]byte, 49)   // 50-byte payloads
			steps := 0
			h = nettest.New(t, nettest.Options{
				Registry: reg, Clients: 1,
				// no pings, so no pongs: the raw bytes are all the traffic
				Config: systems.Config{PeerStatsEvery: every, PingInterval: 1 << 30},
				Systems: func(i int, n *nettest.Node) {
					n.ECS.AddSystem(func(*ecs.ECS) {
						if !n.Net.Accepted() || h == nil || len(h.Server.Peers()) == 0 {
							return
						}
						if i < 0 {
							_ = n.Net.SendRaw(0, 2, wire.Reliable, down) // every tick
							steps++
						} else if n.Net.Tick()%2 == 0 {
							_ = n.Net.SendRaw(1, 2, wire.Reliable, up) // every other tick
						}
					})
				},
			})
			h.Connect()
			id := h.Clients[0].Net.ID()
			h.StepUntil(200, "two seconds of steady traffic", func() bool { return steps >= 120 })
			for range 2 * every { // every sampling phase
				h.Step()
				s := h.Server.Peers()[id].Stats
				if s.BytesOutPerSecond != 6000 || s.PacketsOutPerSec != 60 {
					t.Fatalf("server out %v B/s, %v packets/s; it sends 100 bytes a tick at 60 ticks/s: 6000, 60",
						s.BytesOutPerSecond, s.PacketsOutPerSec)
				}
				if s.BytesInPerSecond != 1500 || s.PacketsInPerSec != 30 {
					t.Fatalf("server in %v B/s, %v packets/s; the client sends 50 bytes every other tick: 1500, 30",
						s.BytesInPerSecond, s.PacketsInPerSec)
				}
				cs := h.Clients[0].Peers()[1].Stats
				if cs.BytesInPerSecond != 6000 || cs.BytesOutPerSecond != 1500 {
					t.Fatalf("client in %v, out %v B/s, want 6000 and 1500", cs.BytesInPerSecond, cs.BytesOutPerSecond)
				}
			}
		})
	}
}

func TestPeerStateChangesShowOnTheirTick(t *testing.T) {
	var h *nettest.Harness
	checked := 0
	check := func(n *nettest.Node, peer int, e components.ConnectionEventData) {
		if got := n.Peers()[peer].State; got != components.PeerConnected {
			t.Errorf("tick of %v: peer %d shows %v, want connected", e.Kind, peer, got)
		}
		checked++
	}
	h = nettest.New(t, nettest.Options{
		Registry: systems.NewRegistry(), Clients: 2,
		Config: systems.Config{PeerStatsEvery: 1000}, // no statistics refresh in the way
		Systems: func(i int, n *nettest.Node) {
			n.ECS.AddSystem(func(*ecs.ECS) {
				for _, e := range n.Events() {
					switch e.Kind {
					case components.EventPeerAccepted:
						check(n, e.PeerID, e)
					case components.EventConnectionSucceeded:
						check(n, 1, e)
					}
				}
			})
		},
	})
	h.Connect()
	h.StepUntil(100, "clients see their acceptance", func() bool { return checked == 4 })
}

// A server's own link measurement (components.Link, from input traffic) is
// on a client's peer entity from the start and refreshed with its
// statistics: on the client's phase of PeerStatsEvery (default 15 ticks at
// 60 ticks/s), not every tick.
func TestServerLinkMeasurementIsRefreshedWithTheStatistics(t *testing.T) {
	s := newPredScene(t, memnet.Link{Loss: 0.3, Latency: 20 * time.Millisecond}, 0)
	h, c := s.h, s.h.Clients[0]
	id := c.Net.ID()
	prev := linkOf(t, h.Server, id)
	var changed []uint32
	for range 300 {
		h.Step()
		if l := linkOf(t, h.Server, id); l != prev {
			changed = append(changed, h.Server.Net.Tick())
			prev = l
		}
	}
	if len(changed) < 300/15/2 {
		t.Fatalf("the server's link measurement changed on ticks %v in 300 ticks of 30%% loss; want it refreshed every 15", changed)
	}
	for _, tick := range changed {
		if (tick+uint32(id))%15 != 0 {
			t.Fatalf("changed on tick %d, off the client's phase (ticks %v)", tick, changed)
		}
	}
}
