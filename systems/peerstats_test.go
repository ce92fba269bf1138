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
// statistics were read, tick by tick. Every read returns a sample no other
// read returns (its RTT, loss, drops and byte counts made from the number
// of the read), so a peer's statistics show which read they came from.
type statsCounting struct {
	transport.Transport
	reads   int
	read    []int                       // the peers read since the test last cleared it
	samples map[int]transport.LinkStats // what those reads returned, by peer
}

func (s *statsCounting) LinkStats(id int) (transport.LinkStats, error) {
	st, err := s.Transport.LinkStats(id)
	if err != nil {
		return st, err
	}
	s.reads++
	k := uint64(s.reads)
	st.RTT = time.Duration(k) * time.Millisecond
	st.PacketLoss = float64(k) / 1e6
	st.Dropped = k
	// Growing faster each read, so every sample moves the rates.
	st.BytesReceived += 5 * k * k
	st.BytesSent += 7 * k * k
	st.PacketsReceived += 2 * k * k
	st.PacketsSent += 3 * k * k
	s.read = append(s.read, id)
	s.samples[id] = st
	return st, nil
}

// countStats wraps the server transport p makes in a statsCounting.
func countStats(p transport.Provider) *wrapping[*statsCounting] {
	return wrapServer(p, func(t transport.Transport) *statsCounting {
		return &statsCounting{Transport: t, samples: map[int]transport.LinkStats{}}
	})
}

// Each peer's statistics are read once a period, on its own phase (the same
// tick of every period), a share of the peers each tick; and all of a
// peer's statistics show on the tick they are read, from that one read,
// and change on no other tick.
func TestEveryPeersStatisticsAreSampledOncePerPeriodAShareEachTick(t *testing.T) {
	const clients, every = 16, 4
	mem := memnet.New(1, memnet.Link{})
	prov := countStats(mem)
	h := nettest.New(t, nettest.Options{Registry: systems.NewRegistry(), Clients: clients, Mem: mem,
		Config: systems.Config{Transport: prov, PeerStatsEvery: every}})
	h.Connect()
	var ids []int
	for _, c := range h.Clients {
		ids = append(ids, c.Net.ID())
	}
	slices.Sort(ids)
	srv := prov.server
	phase := map[int]int{} // peer -> the tick of the period it is read on
	for period := range 3 {
		var all []int
		most := 0
		for tick := range every {
			before := h.Server.Peers()
			srv.read = nil
			clear(srv.samples)
			h.Server.Step()
			all = append(all, srv.read...)
			most = max(most, len(srv.read))
			after := h.Server.Peers()
			for _, id := range ids {
				got := after[id].Stats
				st, read := srv.samples[id]
				if !read {
					if got != before[id].Stats {
						t.Fatalf("period %d tick %d: peer %d's statistics changed from %+v to %+v without a read", period, tick, id, before[id].Stats, got)
					}
					continue
				}
				if p, ok := phase[id]; ok && p != tick {
					t.Fatalf("period %d: peer %d read on tick %d of the period, before on tick %d", period, id, tick, p)
				}
				phase[id] = tick
				if got.RTT != st.RTT || got.PacketLoss != st.PacketLoss || got.Malformed != st.Dropped {
					t.Fatalf("period %d tick %d: peer %d shows RTT %v, loss %v, malformed %d; the read this tick gave %v, %v, %d",
						period, tick, id, got.RTT, got.PacketLoss, got.Malformed, st.RTT, st.PacketLoss, st.Dropped)
				}
				b := before[id].Stats
				if got.BytesInPerSecond == b.BytesInPerSecond || got.BytesOutPerSecond == b.BytesOutPerSecond ||
					got.PacketsInPerSec == b.PacketsInPerSec || got.PacketsOutPerSec == b.PacketsOutPerSec {
					t.Fatalf("period %d tick %d: peer %d's rates %+v not all moved by the read this tick (before %+v)", period, tick, id, got, b)
				}
			}
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
	prov := countStats(mem)
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
