package systems_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/wire"
)

// Position is a fixed-size message: it needs no codec.
type Position struct {
	Entity uint32
	X, Y   float32
}

// Chat is a variable-size message with its own binary methods.
type Chat struct{ Text string }

func (c *Chat) MarshalBinary() ([]byte, error) { return []byte(c.Text), nil }
func (c *Chat) UnmarshalBinary(b []byte) error {
	if len(b) > 200 {
		return fmt.Errorf("chat of %d bytes", len(b))
	}
	c.Text = string(b)
	return nil
}

// seen records, per node, every connection event a game system saw, with
// the tick it saw it in.
type seen struct {
	events []components.ConnectionEventData
	ticks  []uint32
}

func recorder(s *seen, net func() *systems.Network) ecs.System {
	return func(e *ecs.ECS) {
		for _, ev := range nodeEvents(e) {
			s.events = append(s.events, ev)
			s.ticks = append(s.ticks, net().Tick())
		}
	}
}

func nodeEvents(e *ecs.ECS) []components.ConnectionEventData {
	n := &nettest.Node{World: e.World}
	return n.Events()
}

func kinds(evs []components.ConnectionEventData) []components.EventKind {
	var out []components.EventKind
	for _, e := range evs {
		out = append(out, e.Kind)
	}
	return out
}

// withRecorders builds a harness whose every node records the events its
// game systems see.
func withRecorders(t *testing.T, opts nettest.Options) (*nettest.Harness, map[int]*seen) {
	rec := map[int]*seen{}
	var h *nettest.Harness
	opts.Systems = func(i int, n *nettest.Node) {
		s := &seen{}
		rec[i] = s
		n.ECS.AddSystem(recorder(s, func() *systems.Network { return n.Net }))
	}
	h = nettest.New(t, opts)
	return h, rec
}

func TestConnectionEventsLiveExactlyOneTick(t *testing.T) {
	reg := systems.NewRegistry()
	h, rec := withRecorders(t, nettest.Options{Registry: reg, Clients: 2})
	h.Connect()
	h.StepUntil(100, "steady", func() bool { return len(h.Server.Events()) == 0 })

	server := rec[-1]
	got := kinds(server.events)
	slices.Sort(got)
	if want := []components.EventKind{components.EventPeerConnected, components.EventPeerConnected, components.EventPeerAccepted, components.EventPeerAccepted}; !slices.Equal(got, want) {
		t.Fatalf("server saw %v, want %v", got, want)
	}
	for j, ev := range server.events {
		if ev.Tick != server.ticks[j] {
			t.Errorf("server: event %v stamped tick %d, seen in tick %d", ev.Kind, ev.Tick, server.ticks[j])
		}
	}
	for i := range 2 {
		c := rec[i]
		want := []components.EventKind{components.EventPeerConnected, components.EventConnectionSucceeded}
		if got := kinds(c.events); !slices.Equal(got, want) {
			t.Errorf("client %d saw %v, want %v", i, got, want)
		}
		for j, ev := range c.events {
			if ev.Tick != c.ticks[j] {
				t.Errorf("client %d: event %v stamped tick %d, seen in tick %d", i, ev.Kind, ev.Tick, c.ticks[j])
			}
		}
	}
	// Stepping on shows nothing new: each event was seen once, in its tick.
	for range 10 {
		h.Step()
	}
	if len(server.events) != 4 || len(h.Server.Events()) != 0 {
		t.Errorf("events lingered: server saw %d, %d still in the world", len(server.events), len(h.Server.Events()))
	}
}

func TestSeveralEventsInOneTickAreAllRaised(t *testing.T) {
	reg := systems.NewRegistry()
	h, rec := withRecorders(t, nettest.Options{Registry: reg, Clients: 3})
	h.Connect()
	ids := slices.Sorted(func(yield func(int) bool) {
		for id := range h.Server.Peers() {
			if !yield(id) {
				return
			}
		}
	})
	for _, c := range h.Clients {
		c.Net.Close()
	}
	server := rec[-1]
	before := len(server.events)
	h.StepUntil(1000, "three departures", func() bool { return len(h.Server.Peers()) == 0 })
	var gone []int
	ticks := map[uint32]bool{}
	for _, ev := range server.events[before:] {
		if ev.Kind == components.EventPeerDisconnected {
			gone = append(gone, ev.PeerID)
			ticks[ev.Tick] = true
		}
	}
	slices.Sort(gone)
	if !slices.Equal(gone, ids) {
		t.Errorf("disconnect events for %v, want %v", gone, ids)
	}
	// Loopback delivers each goodbye into the server's socket before Close
	// returns, so one server poll finds all three.
	if len(ticks) != 1 {
		t.Errorf("three departures raised over %d ticks, want one", len(ticks))
	}
}

func TestClientThatConnectsAndLeavesInOneTick(t *testing.T) {
	reg := systems.NewRegistry()
	h, rec := withRecorders(t, nettest.Options{Registry: reg})
	c := h.AddClient()
	// Step the client alone until its transport is up, then leave at once:
	// the server's next poll sees the connect and the disconnect together.
	for i := 0; c.Net.Transport().ConnectionStatus() != ecsnet.Connected; i++ {
		if i == 10000 {
			t.Fatal("client transport never came up")
		}
		h.Server.Step()
		c.Step()
	}
	c.Net.Close()
	server := rec[-1]
	h.StepUntil(1000, "both events", func() bool { return len(server.events) >= 2 })
	got := server.events[:2]
	if got[0].Kind != components.EventPeerConnected || got[1].Kind != components.EventPeerDisconnected ||
		got[0].PeerID != got[1].PeerID {
		t.Fatalf("server saw %v", got)
	}
	if got[0].Tick != got[1].Tick {
		t.Errorf("connect and leave raised in ticks %d and %d, want one", got[0].Tick, got[1].Tick)
	}
	if len(h.Server.Peers()) != 0 {
		t.Errorf("a peer entity outlived its peer: %v", h.Server.Peers())
	}
}

func TestPeerEntitiesFollowPeersAndStatisticsMove(t *testing.T) {
	reg := systems.NewRegistry()
	pos := systems.RegisterMessage[Position](reg, "position", systems.Via(2, ecsnet.TransferUnreliable))
	// On ENet: addresses, ports and a measured RTT.
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 2, Config: systems.Config{Transport: loopback}})
	h.Connect()
	peers := h.Server.Peers()
	if len(peers) != 2 {
		t.Fatalf("server has %d peer entities", len(peers))
	}
	for id, p := range peers {
		if p.State != components.PeerConnected || p.Address != "127.0.0.1" || p.Port == 0 || id < 2 {
			t.Errorf("peer %d: %+v", id, p)
		}
	}
	if got := h.Clients[0].Peers(); len(got) != 1 || got[1].State != components.PeerConnected {
		t.Errorf("client peers %v, want the server only", got)
	}
	h.StepUntil(2000, "traffic shows in the statistics", func() bool {
		must(t, pos.Send(h.Server.Net, 0, Position{1, 2, 3}))
		for _, c := range h.Clients {
			must(t, pos.Send(c.Net, 1, Position{4, 5, 6}))
		}
		for _, p := range h.Server.Peers() {
			if p.Stats.BytesInPerSecond == 0 || p.Stats.BytesOutPerSecond == 0 || p.Stats.PacketsInPerSec == 0 {
				return false
			}
		}
		s := h.Clients[0].Peers()[1].Stats
		return s.BytesInPerSecond > 0 && s.RTT < 500e6 // ENet starts at 500 ms and measures down
	})
	leaving := h.Clients[1]
	leaving.Net.Close()
	h.StepUntil(1000, "peer entity removed", func() bool { return len(h.Server.Peers()) == 1 })
}

func TestMessagesArriveOnEveryChannelAndModeFromTheirSender(t *testing.T) {
	reg := systems.NewRegistry()
	type lane struct {
		channel int
		mode    ecsnet.TransferMode
	}
	lanes := []lane{{1, ecsnet.TransferReliable}, {2, ecsnet.TransferUnreliable}, {2, ecsnet.TransferUnreliableOrdered}, {3, ecsnet.TransferReliable}, {3, ecsnet.TransferUnreliable}}
	var types []*systems.MessageType[Position]
	for _, l := range lanes {
		types = append(types, systems.RegisterMessage[Position](reg, fmt.Sprintf("pos-%d-%v", l.channel, l.mode), systems.Via(l.channel, l.mode)))
	}
	chat := systems.RegisterMessage[Chat](reg, "chat")
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 2, Config: systems.Config{ChannelCount: 4}})
	h.Connect()
	srv := h.Server.Net
	for i, mt := range types {
		t.Run(fmt.Sprintf("channel %d %v", lanes[i].channel, lanes[i].mode), func(t *testing.T) {
			got := map[string]bool{}
			h.StepUntil(1000, "messages both ways", func() bool {
				for ci, c := range h.Clients {
					id := c.Net.ID()
					must(t, mt.Send(c.Net, 1, Position{Entity: uint32(ci)}))
					for _, m := range mt.Received(srv) {
						got[fmt.Sprintf("server<-%d:%d", m.From, m.Value.Entity)] = true
					}
					for _, m := range mt.Received(c.Net) {
						got[fmt.Sprintf("%d<-%d:%d", id, m.From, m.Value.Entity)] = true
					}
					must(t, mt.Send(srv, id, Position{Entity: uint32(id)}))
				}
				return len(got) >= 4
			})
			for ci, c := range h.Clients {
				id := c.Net.ID()
				for _, want := range []string{fmt.Sprintf("server<-%d:%d", id, ci), fmt.Sprintf("%d<-1:%d", id, id)} {
					if !got[want] {
						t.Errorf("missing %s in %v", want, got)
					}
				}
			}
		})
	}
	must(t, chat.Send(srv, 0, Chat{"hello all"}))
	h.StepUntil(1000, "broadcast chat", func() bool {
		return len(chat.Received(h.Clients[0].Net)) == 1 || len(chat.Received(h.Clients[1].Net)) == 1
	})
}

func TestClientWithAnotherSchemaIsRefused(t *testing.T) {
	reg := systems.NewRegistry()
	systems.RegisterMessage[Position](reg, "position")
	other := systems.NewRegistry()
	systems.RegisterMessage[Position](other, "position")
	systems.RegisterMessage[Chat](other, "chat")
	h, rec := withRecorders(t, nettest.Options{Registry: reg, Clients: 1, ClientRegistry: func(int) *systems.Registry { return other }})
	client := rec[0]
	h.StepUntil(2000, "refusal reaches the client", func() bool {
		return slices.Contains(kinds(client.events), components.EventConnectionRejected)
	})
	h.StepUntil(2000, "the server lets the client go", func() bool {
		return slices.Contains(kinds(client.events), components.EventServerDisconnected)
	})
	for _, ev := range client.events {
		if ev.Kind == components.EventConnectionRejected && !strings.Contains(ev.Reason, "schema") {
			t.Errorf("rejection reason %q does not say why", ev.Reason)
		}
	}
	if slices.Contains(kinds(client.events), components.EventConnectionSucceeded) {
		t.Error("a refused client was told it succeeded")
	}
	if !slices.Contains(kinds(rec[-1].events), components.EventPeerRejected) {
		t.Errorf("server events %v lack peer_rejected", kinds(rec[-1].events))
	}
	if h.Clients[0].Net.Accepted() {
		t.Error("refused client reports accepted")
	}
}

func TestMalformedMessagesAreCountedAndTheSenderDropped(t *testing.T) {
	reg := systems.NewRegistry()
	pos := systems.RegisterMessage[Position](reg, "position")
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 2, Config: systems.Config{MaxMalformed: 5}})
	h.Connect()
	bad, good := h.Clients[0], h.Clients[1]
	badID := bad.Net.ID()
	raw := bad.Net.Transport()
	garbage := [][]byte{
		{0x25, 0x00, 0x05, 1, 2},       // body shorter than its length
		{0x25, 0x07, 0x00},             // unknown message type
		{0x25, 0x00, 0x02, 1, 2},       // wrong size for Position
		{0x7f, 1, 2, 3},                // unknown payload kind
		{0x20, 1, 2},                   // a second, broken hello
		{0x25, 0xff, 0xff, 0xff, 0xff}, // overlong varint
	}
	for _, g := range garbage[:3] {
		must(t, raw.Send(1, 1, wire.Reliable, g))
	}
	raw.Flush()
	h.StepUntil(1000, "malformed counted", func() bool { return h.Server.Peers()[badID].Stats.Malformed >= 3 })
	if _, still := h.Server.Peers()[badID]; !still {
		t.Fatal("dropped before the limit")
	}
	for _, g := range garbage[3:] {
		must(t, raw.Send(1, 1, wire.Reliable, g))
	}
	raw.Flush()
	h.StepUntil(1000, "sender disconnected past the limit", func() bool {
		_, still := h.Server.Peers()[badID]
		return !still
	})
	// Everyone else keeps playing.
	must(t, pos.Send(good.Net, 1, Position{Entity: 9}))
	h.StepUntil(1000, "good client still heard", func() bool { return len(pos.Received(h.Server.Net)) == 1 })
}

func TestClientTickStaysWithinOneOfTheServer(t *testing.T) {
	reg := systems.NewRegistry()
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 2, RealTime: true})
	h.Connect()
	h.StepUntil(600, "first tick sample", func() bool {
		return h.Clients[0].Net.Tick() != 0
	})
	worst := 0
	for range 120 { // two seconds at 60 Hz
		h.Step()
		for _, c := range h.Clients {
			d := int(int32(c.Net.Tick() - h.Server.Net.Tick()))
			worst = max(worst, d, -d)
		}
	}
	if worst > 1 {
		t.Errorf("client tick strayed %d ticks from the server's", worst)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// loopback is ENet on 127.0.0.1.
var loopback = ecsnet.Options{BindIP: "127.0.0.1"}
