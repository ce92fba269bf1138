package ecsnet

import (
	"fmt"
	"testing"

	"github.com/netburi/netburi/wire"
)

// Send travels exactly as its arguments say, whatever Godot's sticky
// settings are, and leaves them as they were for PutPacket.
func TestSendIgnoresAndKeepsTheStickySettings(t *testing.T) {
	four := func(p *Peer) { must(t, p.SetChannelCount(4)) }
	n := newTestNet(t)
	srv := n.server(4, four)
	cl := n.connected(srv, four)
	cl.SetAlwaysOrdered(true)
	cl.SetTargetPeer(0)
	cl.SetTransferMode(TransferReliable)
	must(t, cl.SetTransferChannel(2))
	for _, mode := range []wire.TransferMode{wire.Unreliable, wire.UnreliableOrdered, wire.Reliable} {
		data := fmt.Sprintf("send %v", mode)
		n.until(defaultWait, data, func() bool {
			must(t, cl.Send(1, 3, mode, []byte(data))) // unreliable: again until it lands
			for _, pk := range n.packets[srv] {
				if string(pk.Data) == data {
					return true
				}
			}
			return false
		})
		if pk := n.waitPacket(srv, data); pk.Channel != 3 || pk.Mode != mode || pk.From != cl.UniqueID() {
			t.Errorf("Send(1, 3, %v) arrived on channel %d as %v from %d", mode, pk.Channel, pk.Mode, pk.From)
		}
	}
	if !cl.AlwaysOrdered() || cl.TransferMode() != TransferReliable || cl.TransferChannel() != 2 {
		t.Errorf("Send changed the sticky settings: ordered %v, mode %v, channel %d", cl.AlwaysOrdered(), cl.TransferMode(), cl.TransferChannel())
	}
	must(t, cl.PutPacket([]byte("sticky")))
	if pk := n.waitPacket(srv, "sticky"); pk.Channel != 2 || pk.Mode != wire.Reliable {
		t.Errorf("PutPacket after Send: channel %d, %v", pk.Channel, pk.Mode)
	}
	for _, bad := range []struct {
		channel int
		mode    wire.TransferMode
	}{{0, wire.Reliable}, {4, wire.Reliable}, {1, wire.TransferMode(9)}} {
		wantErr(t, cl.Send(1, bad.channel, bad.mode, nil), ErrInvalidParameter)
	}
}

// SendMany reaches the clients it names, each as if sent to it alone, and
// no one else; an unknown ID is counted and does not stop the others.
func TestSendManyReachesTheNamedClientsOnly(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(4)
	a, b, c := n.connected(srv), n.connected(srv), n.connected(srv)
	failed, err := srv.SendMany([]int{a.UniqueID(), c.UniqueID()}, 2, wire.Reliable, []byte("shared"))
	if failed != 0 || err != nil {
		t.Fatalf("SendMany: %d failed, %v", failed, err)
	}
	for _, p := range []*Peer{a, c} {
		if pk := n.waitPacket(p, "shared"); pk.From != 1 || pk.Channel != 2 || pk.Mode != wire.Reliable {
			t.Errorf("client %d got it from %d on channel %d as %v", p.UniqueID(), pk.From, pk.Channel, pk.Mode)
		}
	}
	failed, err = srv.SendMany([]int{b.UniqueID(), 999}, 2, wire.Reliable, []byte("second"))
	if failed != 1 {
		t.Errorf("SendMany to an unknown ID: %d failed, want 1", failed)
	}
	wantErr(t, err, ErrInvalidParameter)
	n.waitPacket(b, "second")
	for _, got := range n.received(b) {
		if got == "shared" {
			t.Errorf("client %d was not named but got the shared packet", b.UniqueID())
		}
	}
	if st, _ := srv.PeerStatistics(a.UniqueID()); st.PacketsSent != 1 || st.BytesSent != uint64(len("shared")) {
		t.Errorf("statistics of a named client: %d packets, %d bytes; want 1, %d", st.PacketsSent, st.BytesSent, len("shared"))
	}
	_, err = srv.SendMany([]int{a.UniqueID()}, 0, wire.Reliable, nil)
	wantErr(t, err, ErrInvalidParameter)
	_, err = a.SendMany([]int{c.UniqueID()}, 2, wire.Reliable, nil)
	wantErr(t, err, ErrUnconfigured)
}
