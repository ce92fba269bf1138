package systems_test

import (
	"errors"
	"maps"
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/wire"
)

// forgedSnapshot builds what a cheating client would send: a well-formed
// snapshot of lane 0 for the victim, of a far-future tick, spawning
// entities the server never made.
func forgedSnapshot(t *testing.T, victim int) [][]byte {
	t.Helper()
	repl := replication.NewRegistry() // the cheat's copy of the protocol
	replication.Register(repl, transformType, "transform")
	w := donburi.NewWorld()
	for i := range 300 {
		e := w.Create(components.Replicated, transformType)
		transformType.SetValue(w.Entry(e), Transform{X: -1, Y: float32(i)})
	}
	rs := replication.NewServer(repl, replication.ServerOptions{})
	rs.AddClient(victim)
	rs.Capture(w, 1<<30)
	parts, err := rs.Datagrams(victim)
	if err != nil || len(parts) == 0 {
		t.Fatalf("forging: %v", err)
	}
	return parts
}

// A client takes snapshots and every other system payload from the server
// alone. Client A sends client B a snapshot of a far-future tick (and a
// welcome and a pong) through the server's relay: with the relay off (the
// default) the server forwards nothing; with it on, B receives the
// datagrams with A's true ID and drops them. Either way B spawns nothing
// and keeps following the server. On ENet (Godot's relay) and in memory.
func TestClientTakesSystemPayloadsFromTheServerOnly(t *testing.T) {
	for _, tc := range []struct {
		name  string
		relay bool
		tr    transport.Provider
	}{{"memory, relay off", false, nil}, {"memory, relay on", true, nil}, {"ENet, relay off", false, loopback}, {"ENet, relay on", true, loopback}} {
		relay := tc.relay
		t.Run(tc.name, func(t *testing.T) {
			reg := systems.NewRegistry()
			systems.RegisterComponent(reg, transformType, "transform")
			h := nettest.New(t, nettest.Options{Registry: reg, Clients: 2,
				Config: systems.Config{ClientRelay: relay, Transport: tc.tr}})
			h.Connect()
			w := h.Server.World
			ents := spawnRow(w, 5)
			a, b := h.Clients[0], h.Clients[1]
			same := func() bool { return maps.Equal(transformsByID(w), transformsByID(b.World)) }
			h.StepUntil(1000, "first replication", same)

			bID := b.Net.ID()
			raw := a.Net.Transport()
			target := bID
			if !relay {
				target = 0 // A does not know B: everyone, which the server keeps to itself
			}
			forged := forgedSnapshot(t, bID)
			for _, p := range forged {
				must(t, raw.Send(target, 2, wire.Unreliable, p))
			}
			must(t, raw.Send(target, 1, wire.Reliable, []byte{0x21, 0xff, 0xff, 0xff, 0x7f, 60, 0}))         // a welcome
			must(t, raw.Send(target, 1, wire.Reliable, []byte{0x24, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f}))    // a pong
			must(t, raw.Send(target, 1, wire.Reliable, []byte{0x30, 0, 0xff, 0xff, 0xff, 0x7f, 0, 0, 0, 0})) // a broken snapshot
			raw.Flush()
			sent := uint64(len(forged) + 3)

			if relay {
				h.StepUntil(1000, "B drops every forged payload", func() bool { return b.Net.Stats().NotFromServer >= sent })
			} else {
				h.StepUntil(1000, "the server drops every forged payload", func() bool {
					st, err := h.Server.Net.Transport().LinkStats(a.Net.ID())
					return err == nil && st.Dropped >= sent
				})
			}
			// The server moves on; B follows and never shows a forged entity.
			for i, e := range ents {
				transformType.SetValue(w.Entry(e), Transform{X: float32(i), Y: 42})
			}
			w.Remove(ents[0])
			h.StepUntil(1000, "B still follows the server", same)
			for range 10 {
				h.Step()
				if !same() {
					t.Fatalf("B's world %v differs from the server's %v", transformsByID(b.World), transformsByID(w))
				}
			}
			if got := b.Net.ReplicationClient(0).Newest(); got >= 1<<30 {
				t.Errorf("B's newest snapshot is the forged tick %d", got)
			}
			if d := b.Net.Tick() - h.Server.Net.Tick(); int32(d) > 2 || int32(d) < -2 {
				t.Errorf("B's tick %d strays from the server's %d", b.Net.Tick(), h.Server.Net.Tick())
			}
		})
	}
}

// With the relay on, clients message each other through the server; each
// message arrives with its true sender, never 1. With it off, a message to
// another client cannot even be queued.
func TestClientMessagesCarryTheirTrueSender(t *testing.T) {
	for _, tc := range []struct {
		name string
		tr   transport.Provider
	}{{"memory", nil}, {"ENet", loopback}} {
		t.Run(tc.name, func(t *testing.T) {
			reg := systems.NewRegistry()
			chat := systems.RegisterMessage[Chat](reg, "chat")
			h := nettest.New(t, nettest.Options{Registry: reg, Clients: 2, Config: systems.Config{ClientRelay: true, Transport: tc.tr}})
			h.Connect()
			a, b := h.Clients[0], h.Clients[1]
			aID, bID := a.Net.ID(), b.Net.ID()
			var got []systems.Received[Chat]
			var raw []systems.RawPacket
			must(t, chat.Send(a.Net, bID, Chat{"psst"}))
			must(t, a.Net.SendRaw(bID, 1, wire.Reliable, []byte("raw")))
			h.StepUntil(1000, "B hears A", func() bool {
				got = append(got, chat.Received(b.Net)...)
				raw = append(raw, b.Net.RawReceived()...)
				return len(got) > 0 && len(raw) > 0
			})
			if got[0].From != aID || got[0].Value.Text != "psst" || raw[0].From != aID || string(raw[0].Data) != "raw" {
				t.Errorf("B got %+v and %+v, want psst and raw from %d", got[0], raw[0], aID)
			}
		})
	}

	off := systems.NewRegistry()
	chatOff := systems.RegisterMessage[Chat](off, "chat")
	h2 := nettest.New(t, nettest.Options{Registry: off, Clients: 2})
	h2.Connect()
	other := h2.Clients[1].Net.ID()
	if err := chatOff.Send(h2.Clients[0].Net, other, Chat{"psst"}); !errors.Is(err, systems.ErrNotConnected) {
		t.Errorf("client-to-client send with the relay off: %v, want ErrNotConnected", err)
	}
}

// A registration naming a channel the network does not have fails when
// the network starts, not later on the wire.
func TestChannelsBeyondTheCountFailAtStart(t *testing.T) {
	reg := systems.NewRegistry()
	systems.RegisterMessage[Position](reg, "position", systems.Via(5, ecsnet.TransferUnreliable))
	_, err := systems.NewServer(donburi.NewWorld(), reg, 0, systems.Config{})
	if !errors.Is(err, systems.ErrInvalidChannel) {
		t.Errorf("Via(5) on 3 channels: %v, want ErrInvalidChannel", err)
	}
	lanes := systems.NewRegistry()
	systems.RegisterComponent(lanes, transformType, "transform", replication.OnLane[Transform](4, ecsnet.TransferReliable))
	_, err = systems.NewServer(donburi.NewWorld(), lanes, 0, systems.Config{})
	if !errors.Is(err, systems.ErrInvalidChannel) {
		t.Errorf("a lane on channel 4 of 3: %v, want ErrInvalidChannel", err)
	}
	modes := systems.NewRegistry()
	systems.RegisterMessage[Position](modes, "position", systems.Via(1, wire.TransferMode(7)))
	_, err = systems.NewServer(donburi.NewWorld(), modes, 0, systems.Config{})
	if !errors.Is(err, systems.ErrInvalidChannel) {
		t.Errorf("an unknown transfer mode: %v, want ErrInvalidChannel", err)
	}
}
