package systems_test

import (
	"maps"
	"slices"
	"testing"

	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/wire"
)

// lane is how one payload travelled.
type lane struct {
	Channel int
	Mode    wire.TransferMode
}

// recording is a transport that notes how every received payload
// travelled, by its first byte (the payload kind).
type recording struct {
	transport.Transport
	seen map[byte]map[lane]int
}

func (r *recording) Receive() (transport.Packet, bool) {
	pk, ok := r.Transport.Receive()
	if ok && len(pk.Data) > 0 {
		k := pk.Data[0]
		if string(pk.Data) == "\x04sticky" {
			k = 0xff // the game's own sticky sends go where the game says
		}
		if r.seen[k] == nil {
			r.seen[k] = map[lane]int{}
		}
		r.seen[k][lane{pk.Channel, pk.Mode}]++
	}
	return pk, ok
}

// On ENet (the transport with Godot's sticky setters), the network system
// sends through the peer's stateless Send: a game
// that sets Godot's sticky state on the ENet peer (target, mode, channel,
// AlwaysOrdered) and sends its own packets with it every tick, or sends
// raw bytes through SendRaw, changes nothing about how snapshots, acks,
// pings and messages travel; and the game's Godot-style raw packets (kind
// 4) are taken as raw bytes, not counted as malformed.
func TestGameSendsAndStickySettersDoNotMoveSystemTraffic(t *testing.T) {
	reg := systems.NewRegistry()
	pos := systems.RegisterMessage[Position](reg, "position", systems.Via(3, wire.Unreliable))
	chat := systems.RegisterMessage[Chat](reg, "chat")
	systems.RegisterComponent(reg, transformType, "transform")
	systems.RegisterComponent(reg, tintType, "tint", replication.OnLane[Tint](3, wire.Reliable))
	rec := wrapAll(loopback, func(t transport.Transport) *recording {
		return &recording{Transport: t, seen: map[byte]map[lane]int{}}
	})
	meddle := func(n *systems.Network) {
		p := n.Transport().(*recording).Transport.(*ecsnet.Peer)
		p.SetAlwaysOrdered(true)
		p.SetTransferMode(ecsnet.TransferReliable)
		must(t, p.SetTransferChannel(1))
		p.SetTargetPeer(0) // the server's clients, or (a client's) the server
		if !p.IsServer() {
			p.SetTargetPeer(1) // everyone would be relayed, and the relay is off
		}
		if n.Accepted() {
			must(t, p.PutPacket([]byte("\x04sticky")))
		}
		p.SetTransferMode(ecsnet.TransferUnreliableOrdered)
		must(t, p.SetTransferChannel(2))
		if n.Accepted() {
			must(t, n.SendRaw(0, 2, wire.Reliable, []byte("raw")))
		}
	}
	h := nettest.New(t, nettest.Options{
		Registry: reg, Clients: 2,
		Config: systems.Config{ChannelCount: 4, Transport: rec, MaxMalformed: 5},
		Systems: func(i int, n *nettest.Node) {
			n.ECS.AddSystem(func(*ecs.ECS) { meddle(n.Net) })
		},
	})
	h.Connect()
	w := h.Server.World
	for i := range 20 {
		e := w.Create(components.Replicated, transformType, tintType)
		transformType.SetValue(w.Entry(e), Transform{X: float32(i)})
	}
	raws := 0
	for tick := range 120 {
		must(t, pos.Send(h.Server.Net, 0, Position{Entity: uint32(tick)}))
		must(t, chat.Send(h.Server.Net, 0, Chat{"hi"}))
		for _, c := range h.Clients {
			must(t, pos.Send(c.Net, 1, Position{Entity: uint32(tick)}))
			must(t, chat.Send(c.Net, 1, Chat{"hi"}))
		}
		h.Step()
		raws += len(h.Server.Net.RawReceived())
	}
	for _, c := range h.Clients {
		if !maps.Equal(transformsByID(w), transformsByID(c.World)) {
			t.Errorf("client %d did not replicate", c.Net.ID())
		}
	}
	want := map[byte][]lane{
		wire.KindHello:    {{1, wire.Reliable}},
		wire.KindWelcome:  {{1, wire.Reliable}},
		wire.KindPing:     {{2, wire.Unreliable}},
		wire.KindPong:     {{2, wire.Unreliable}},
		wire.KindMessages: {{1, wire.Reliable}, {3, wire.Unreliable}},
		wire.KindSnapshot: {{2, wire.Unreliable}, {3, wire.Reliable}},
		wire.KindAck:      {{2, wire.Unreliable}, {3, wire.Unreliable}},
		wire.KindRaw:      {{2, wire.Reliable}},
	}
	got := map[byte][]lane{}
	for _, r := range rec.all {
		for k, lanes := range r.seen {
			for l := range lanes {
				if !slices.Contains(got[k], l) {
					got[k] = append(got[k], l)
				}
			}
		}
	}
	for k, lanes := range want {
		g := got[k]
		slices.SortFunc(g, func(a, b lane) int { return a.Channel*10 + int(a.Mode) - b.Channel*10 - int(b.Mode) })
		if !slices.Equal(g, lanes) {
			t.Errorf("kind %#x travelled on %v, want %v", k, g, lanes)
		}
	}
	if len(got[0xff]) == 0 || raws == 0 {
		t.Fatalf("the game's own sends did not arrive (sticky %v, %d raw)", got[0xff], raws)
	}
	for id, p := range h.Server.Peers() {
		if p.State != components.PeerConnected || p.Stats.Malformed != 0 {
			t.Errorf("client %d: %v with %d malformed after the game's raw sends", id, p.State, p.Stats.Malformed)
		}
	}
}
