package ecsnet

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"testing"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
)

// rawHost is a bare libenet host that sends whatever bytes a test wants,
// standing in for a broken or hostile Godot peer.
type rawHost struct {
	t         testing.TB
	host      *enethost.Host
	connected []enethost.Peer
}

func newRawHost(t testing.TB, n *testNet, cfg enethost.Config) *rawHost {
	t.Helper()
	h, err := enethost.NewHost(cfg)
	must(t, err)
	r := &rawHost{t: t, host: h}
	t.Cleanup(h.Destroy)
	n.extra = append(n.extra, r.service)
	return r
}

func (r *rawHost) service() {
	var ev enethost.Event
	for {
		got, err := r.host.Service(&ev, 0)
		must(r.t, err)
		if !got {
			return
		}
		if ev.Type == enethost.EventConnect {
			r.connected = append(r.connected, ev.Peer)
		}
	}
}

func header(source, target int32, payload string) []byte {
	b := binary.LittleEndian.AppendUint32(nil, uint32(source))
	b = binary.LittleEndian.AppendUint32(b, uint32(target))
	return append(b, payload...)
}

var loopback = netip.MustParseAddr("127.0.0.1")

func TestServerDropsAndCountsMalformedClientTraffic(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8)
	honest := n.connected(srv)
	const evil = 4242
	raw := newRawHost(t, n, enethost.Config{NoBind: true, Peers: 1, Chans: 3})
	ep, err := raw.host.Connect(loopback, srv.LocalPort(), 3, evil)
	must(t, err)
	n.waitEvent(srv, Event{PeerConnected, evil})

	sends := []struct {
		channel int
		data    []byte
	}{
		{1, []byte{1, 2, 3, 4}},                       // shorter than the header
		{1, header(int32(honest.UniqueID()), 0, "x")}, // forged source
		{1, header(evil, 999, "x")},                   // unknown target
		{0, header(evil, 1, "x")},                     // data on the config channel
		{2, header(evil, 1, "")},                      // a valid empty payload
		{1, header(evil, 1, "valid")},
	}
	for _, s := range sends {
		must(t, ep.SendRaw(s.channel, enethost.FlagReliable, s.data))
	}
	n.waitPacket(srv, "valid")
	st, err := srv.PeerStatistics(evil)
	must(t, err)
	want := DropCounts{Short: 1, ForgedSource: 1, UnknownTarget: 1, ConfigChannel: 1}
	if st.Dropped != want || st.PacketsReceived != 2 {
		t.Errorf("drops %+v received %d, want %+v and 2", st.Dropped, st.PacketsReceived, want)
	}
	if got := n.received(honest); slices.Contains(got, "x") {
		t.Errorf("a dropped packet reached the honest client: %v", got)
	}
	// The server keeps serving everyone.
	send(t, honest, 1, TransferReliable, "still here")
	n.waitPacket(srv, "still here")
}

func TestServerRefusesInvalidAndDuplicateIDs(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8)
	honest := n.connected(srv)
	for _, id := range []uint32{0, 1, uint32(1 << 31), uint32(honest.UniqueID())} {
		raw := newRawHost(t, n, enethost.Config{NoBind: true, Peers: 1, Chans: 3})
		_, err := raw.host.Connect(loopback, srv.LocalPort(), 3, id)
		must(t, err)
	}
	n.until(defaultWait, "four refusals", func() bool { return srv.Stats().RefusedConnections == 4 })
	if got := srv.Peers(); !slices.Equal(got, []int{honest.UniqueID()}) {
		t.Errorf("server peers %v", got)
	}
}

func TestClientDropsAndCountsMalformedServerTraffic(t *testing.T) {
	n := newTestNet(t)
	raw := newRawHost(t, n, enethost.Config{Bind: loopback, Peers: 4, Chans: 3})
	cl := NewPeer()
	must(t, cl.CreateClient("127.0.0.1", raw.host.LocalPort(), 0, 0, 0))
	n.peers = append(n.peers, cl)
	n.waitEvent(cl, Event{ConnectionSucceeded, 0})
	n.until(defaultWait, "raw server sees the client", func() bool { return len(raw.connected) == 1 })
	ep := raw.connected[0]

	sys := func(kind, id uint32) []byte {
		return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, kind), id)
	}
	sends := []struct {
		channel int
		data    []byte
	}{
		{0, []byte{0, 0, 0, 0}},                    // system message too short
		{0, append(sys(0, 5), 0)},                  // too long
		{0, sys(7, 5)},                             // unknown kind
		{0, sys(0, 1)},                             // ADD the server
		{0, sys(0, uint32(cl.UniqueID()))},         // ADD the client itself
		{0, sys(0, 5)},                             // valid ADD
		{0, sys(0, 5)},                             // duplicate ADD
		{0, sys(1, 9)},                             // REMOVE of an unknown peer
		{1, []byte{9}},                             // data shorter than the header
		{1, header(5, int32(cl.UniqueID()), "ok")}, // relayed data from peer 5
	}
	for _, s := range sends {
		must(t, ep.SendRaw(s.channel, enethost.FlagReliable, s.data))
	}
	pk := n.waitPacket(cl, "ok")
	if pk.From != 5 {
		t.Errorf("relayed packet from %d, want 5", pk.From)
	}
	st, err := cl.PeerStatistics(1)
	must(t, err)
	want := DropCounts{BadSystemMessage: 7, Short: 1}
	if st.Dropped != want {
		t.Errorf("drops %+v, want %+v", st.Dropped, want)
	}
	if got := n.events[cl]; !slices.Contains(got, Event{PeerConnected, 5}) || len(got) != 3 {
		t.Errorf("client events %v, want connect, success and peer 5 only", got)
	}
}
