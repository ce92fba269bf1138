package ecsnet

import (
	"fmt"
	"testing"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
)

// Each transfer mode travels with Godot's ENet flags on its default channel,
// or on the transfer channel when one is set, in both directions.
func TestTransferModesUseGodotsFlagsAndChannels(t *testing.T) {
	cases := []struct {
		mode          TransferMode
		alwaysOrdered bool
		transferChan  int
		wantFlags     uint32
		wantChannel   int
	}{
		{TransferUnreliable, false, -1, enethost.FlagUnsequenced, 2},
		{TransferUnreliable, true, -1, 0, 2},
		{TransferUnreliableOrdered, false, -1, 0, 2},
		{TransferReliable, false, -1, enethost.FlagReliable, 1},
		{TransferUnreliable, false, 3, enethost.FlagUnsequenced, 3},
		{TransferUnreliable, true, 3, 0, 3},
		{TransferUnreliableOrdered, false, 3, 0, 3},
		{TransferReliable, false, 3, enethost.FlagReliable, 3},
		{TransferReliable, false, 1, enethost.FlagReliable, 1},
		{TransferUnreliable, false, 1, enethost.FlagUnsequenced, 1},
	}
	fourChannels := func(p *Peer) { must(t, p.SetChannelCount(4)) }
	n := newTestNet(t)
	srv := n.server(4, fourChannels)
	cl := n.connected(srv, fourChannels)
	for _, c := range cases {
		name := fmt.Sprintf("%v/ordered=%v/channel=%d", c.mode, c.alwaysOrdered, c.transferChan)
		t.Run(name, func(t *testing.T) {
			for _, dir := range []struct {
				from, to *Peer
				target   int
			}{{cl, srv, 1}, {srv, cl, cl.UniqueID()}} {
				must(t, dir.from.SetTransferChannel(c.transferChan))
				dir.from.SetAlwaysOrdered(c.alwaysOrdered)
				data := name + fmt.Sprintf(" from %d", dir.from.UniqueID())
				// Unreliable packets may be lost; repeat until one lands.
				n.until(defaultWait, data, func() bool {
					send(t, dir.from, dir.target, c.mode, data)
					for _, pk := range n.packets[dir.to] {
						if string(pk.Data) == data {
							return true
						}
					}
					return false
				})
				pk := n.waitPacket(dir.to, data)
				if pk.From != dir.from.UniqueID() || pk.Channel != c.wantChannel || pk.Mode != modeOf(c.wantFlags) {
					t.Errorf("got from %d channel %d mode %v, want from %d channel %d mode %v (flags %#x)",
						pk.From, pk.Channel, pk.Mode, dir.from.UniqueID(), c.wantChannel, modeOf(c.wantFlags), c.wantFlags)
				}
			}
		})
	}
}

// GetPacket, PacketPeer, PacketChannel and LastPacketChannel follow Godot:
// the first two look at the next packet, the last at the one just taken.
func TestPacketQueueAccessors(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(4)
	cl := n.connected(srv)
	n.manual[srv] = true
	if srv.PacketPeer() != 1 || srv.PacketChannel() != -1 || srv.LastPacketChannel() != -1 {
		t.Fatalf("empty queue: peer %d channel %d last %d", srv.PacketPeer(), srv.PacketChannel(), srv.LastPacketChannel())
	}
	_, err := srv.GetPacket()
	wantErr(t, err, ErrUnavailable)

	send(t, cl, 1, TransferReliable, "first")
	send(t, cl, 1, TransferUnreliableOrdered, "second")
	cl.Flush()
	n.until(defaultWait, "two packets queued", func() bool {
		return srv.AvailablePacketCount() == 2
	})
	if srv.PacketPeer() != cl.UniqueID() || srv.PacketChannel() != 1 {
		t.Errorf("next packet from %d on %d", srv.PacketPeer(), srv.PacketChannel())
	}
	data, err := srv.GetPacket()
	must(t, err)
	if string(data) != "first" || srv.LastPacketChannel() != 1 || srv.PacketChannel() != 2 {
		t.Errorf("got %q, last channel %d, next channel %d", data, srv.LastPacketChannel(), srv.PacketChannel())
	}
	data, err = srv.GetPacket()
	must(t, err)
	if string(data) != "second" || srv.LastPacketChannel() != 2 || srv.AvailablePacketCount() != 0 {
		t.Errorf("got %q, last channel %d, %d left", data, srv.LastPacketChannel(), srv.AvailablePacketCount())
	}
}
