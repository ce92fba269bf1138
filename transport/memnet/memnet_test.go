package memnet_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/transport/memnet"
	"github.com/netburi/netburi/wire"
)

const tick = time.Second / 60

// pair is a server and one connected client on a fresh network.
func pair(t *testing.T, seed uint64, link memnet.Link, relay bool, clients int) (*memnet.Network, transport.Transport, []transport.Transport) {
	t.Helper()
	n := memnet.New(seed, memnet.Link{})
	srv, err := n.Listen(0, transport.ListenOptions{MaxClients: 4, Channels: 3, Relay: relay})
	if err != nil {
		t.Fatal(err)
	}
	var cls []transport.Transport
	for range clients {
		c, err := n.Connect("", srv.LocalPort(), transport.ConnectOptions{Channels: 3})
		if err != nil {
			t.Fatal(err)
		}
		cls = append(cls, c)
	}
	for i := 0; ; i++ {
		if i == 100 {
			t.Fatal("clients never connected")
		}
		n.Advance(tick)
		poll(append([]transport.Transport{srv}, cls...)...)
		up := 0
		for _, c := range cls {
			if c.ConnectionStatus() == transport.Connected {
				up++
			}
		}
		if up == len(cls) && len(drainEvents(srv)) == 0 && i > 3 {
			break
		}
	}
	n.SetLink(link)
	return n, srv, cls
}

func poll(ts ...transport.Transport) {
	for _, t := range ts {
		_ = t.Poll()
	}
}

func drainEvents(t transport.Transport) []transport.Event {
	var out []transport.Event
	for {
		ev, ok := t.Event()
		if !ok {
			return out
		}
		out = append(out, ev)
	}
}

func drain(t transport.Transport) []transport.Packet {
	var out []transport.Packet
	for {
		pk, ok := t.Receive()
		if !ok {
			return out
		}
		out = append(out, pk)
	}
}

// A client connects: it sees the server and success, the server sees the
// client once the handshake is done; closing tells the other side.
func TestConnectAndLeaveRaiseGodotsEvents(t *testing.T) {
	n := memnet.New(1, memnet.Link{Latency: 30 * time.Millisecond})
	srv, err := n.Listen(0, transport.ListenOptions{MaxClients: 1, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := n.Connect("", srv.LocalPort(), transport.ConnectOptions{Channels: 3})
	var sevs, cevs []transport.Event
	for range 20 {
		n.Advance(tick)
		poll(srv, c)
		sevs = append(sevs, drainEvents(srv)...)
		cevs = append(cevs, drainEvents(c)...)
	}
	id := c.UniqueID()
	if want := []transport.Event{{Kind: transport.PeerConnected, PeerID: 1}, {Kind: transport.ConnectionSucceeded}}; !slices.Equal(cevs, want) {
		t.Errorf("client events %v, want %v", cevs, want)
	}
	if want := []transport.Event{{Kind: transport.PeerConnected, PeerID: id}}; !slices.Equal(sevs, want) {
		t.Errorf("server events %v, want %v", sevs, want)
	}
	late, _ := n.Connect("", srv.LocalPort(), transport.ConnectOptions{Channels: 3})
	nobody, _ := n.Connect("", 1, transport.ConnectOptions{Channels: 3})
	c.Close()
	sevs = nil
	var lateEvs, nobodyEvs []transport.Event
	for range 80 {
		n.Advance(tick)
		poll(srv, late, nobody)
		sevs = append(sevs, drainEvents(srv)...)
		lateEvs = append(lateEvs, drainEvents(late)...)
		nobodyEvs = append(nobodyEvs, drainEvents(nobody)...)
	}
	if len(sevs) < 1 || sevs[0] != (transport.Event{Kind: transport.PeerDisconnected, PeerID: id}) {
		t.Errorf("server events after the client left %v", sevs)
	}
	if len(nobodyEvs) != 1 || nobodyEvs[0].Kind != transport.ConnectionFailed || nobody.ConnectionStatus() != transport.Disconnected {
		t.Errorf("a client of no server saw %v", nobodyEvs)
	}
	// The late client may take the freed slot or have been refused while
	// the first still held it; either way it got an answer.
	if len(lateEvs) == 0 {
		t.Error("a late client got no answer")
	}
}

// Reliable payloads all arrive, in order per channel, under loss and
// jitter; unreliable ordered ones never arrive older than one already
// taken (jitter makes many late); unreliable ones are lost at about the configured rate.
func TestModesUnderLossAndJitter(t *testing.T) {
	link := memnet.Link{Loss: 0.2, Latency: 100 * time.Millisecond, Jitter: 50 * time.Millisecond, Duplicate: 0.05, Reorder: 0.1}
	n, srv, cls := pair(t, 5, link, false, 1)
	c := cls[0]
	const count = 1000
	var got []transport.Packet
	for i := range count {
		for _, m := range []wire.TransferMode{wire.Reliable, wire.UnreliableOrdered, wire.Unreliable} {
			if err := c.Send(1, 1+int(m)%2, m, fmt.Appendf(nil, "%d", i)); err != nil {
				t.Fatal(err)
			}
		}
		n.Advance(tick)
		poll(srv)
		got = append(got, drain(srv)...)
	}
	for range 200 {
		n.Advance(tick)
		poll(srv)
		got = append(got, drain(srv)...)
	}
	byMode := map[wire.TransferMode][]int{}
	for _, pk := range got {
		var v int
		fmt.Sscan(string(pk.Data), &v)
		byMode[pk.Mode] = append(byMode[pk.Mode], v)
	}
	if r := byMode[wire.Reliable]; len(r) != count || !slices.IsSorted(r) {
		t.Errorf("reliable: %d of %d, sorted %v", len(r), count, slices.IsSorted(r))
	}
	if o := byMode[wire.UnreliableOrdered]; !slices.IsSorted(o) || len(o) > count*9/10 || len(o) < count/4 {
		t.Errorf("unreliable ordered: %d arrived, sorted %v", len(o), slices.IsSorted(o))
	}
	if u := byMode[wire.Unreliable]; len(u) < count*7/10 || len(u) > count*9/10 || slices.IsSorted(u) {
		t.Errorf("unreliable: %d arrived of %d at 20%% loss (5%% duplicated), sorted %v", len(u), count, slices.IsSorted(u))
	}
	st := n.Stats()
	if st.Lost < count/4 || st.Lost > count/2 || st.Resent < count/10 || st.Duplicated == 0 || st.HeldBack == 0 {
		t.Errorf("link counters %+v for %d unreliable and %d reliable payloads", st, 2*count, count)
	}
}

// With the relay on, a client's payload to another client arrives with
// its true sender; with it off, the server drops it and counts it.
func TestRelayKeepsTheTrueSender(t *testing.T) {
	for _, relay := range []bool{false, true} {
		n, srv, cls := pair(t, 9, memnet.Link{}, relay, 2)
		a, b := cls[0], cls[1]
		if err := a.Send(b.UniqueID(), 1, wire.Reliable, []byte("psst")); err != nil {
			t.Fatal(err)
		}
		for range 3 {
			n.Advance(tick)
			poll(srv, b)
		}
		got := drain(b)
		st, _ := srv.LinkStats(a.UniqueID())
		switch {
		case relay && (len(got) != 1 || got[0].From != a.UniqueID() || string(got[0].Data) != "psst"):
			t.Errorf("relay on: B got %v", got)
		case !relay && (len(got) != 0 || st.Dropped != 1):
			t.Errorf("relay off: B got %v, server dropped %d", got, st.Dropped)
		}
		if len(drain(srv)) != 0 {
			t.Error("the server kept a payload addressed to another client")
		}
	}
}

// The same seed and the same calls give the same deliveries.
func TestSameSeedSameDeliveries(t *testing.T) {
	run := func(seed uint64) string {
		link := memnet.Link{Loss: 0.3, Latency: 80 * time.Millisecond, Jitter: 60 * time.Millisecond, Duplicate: 0.1, Reorder: 0.2}
		n, srv, cls := pair(t, seed, link, false, 2)
		var log []byte
		for i := range 300 {
			for _, c := range cls {
				_ = c.Send(1, 2, wire.Unreliable, []byte{byte(i)})
			}
			_ = srv.Send(0, 2, wire.UnreliableOrdered, []byte{byte(i)})
			n.Advance(tick)
			poll(append([]transport.Transport{srv}, cls...)...)
			for _, tr := range append([]transport.Transport{srv}, cls...) {
				for _, pk := range drain(tr) {
					log = fmt.Appendf(log, "%d<%d:%x ", tr.UniqueID(), pk.From, pk.Data)
				}
			}
		}
		return string(log)
	}
	if a, b := run(3), run(3); a != b {
		t.Error("seed 3 gave two different runs")
	}
	if run(3) == run(4) {
		t.Error("seeds 3 and 4 gave the same run")
	}
}

func TestBadArgumentsAreRefused(t *testing.T) {
	_, srv, cls := pair(t, 1, memnet.Link{}, false, 1)
	for _, tc := range []struct {
		tr      transport.Transport
		to, ch  int
		mode    wire.TransferMode
		wantErr error
	}{
		{cls[0], 1, 0, wire.Reliable, memnet.ErrInvalid},
		{cls[0], 1, 3, wire.Reliable, memnet.ErrInvalid},
		{cls[0], 1, 1, wire.TransferMode(7), memnet.ErrInvalid},
		{srv, 12345, 1, wire.Reliable, memnet.ErrInvalid},
	} {
		if err := tc.tr.Send(tc.to, tc.ch, tc.mode, nil); !errors.Is(err, tc.wantErr) {
			t.Errorf("send to %d on %d as %v: %v, want %v", tc.to, tc.ch, tc.mode, err, tc.wantErr)
		}
	}
	cls[0].Close()
	if err := cls[0].Send(1, 1, wire.Reliable, nil); !errors.Is(err, memnet.ErrClosed) {
		t.Errorf("send after close: %v", err)
	}
	if err := cls[0].Poll(); !errors.Is(err, memnet.ErrClosed) {
		t.Errorf("poll after close: %v", err)
	}
}

// A client with fewer channels than the server is refused (it could not
// take a payload on the channels it lacks), as is one past MaxClients.
func TestClientsWithFewerChannelsOrPastTheLimitAreRefused(t *testing.T) {
	n := memnet.New(1, memnet.Link{})
	srv, err := n.Listen(0, transport.ListenOptions{MaxClients: 1, Channels: 4})
	if err != nil {
		t.Fatal(err)
	}
	few, _ := n.Connect("", srv.LocalPort(), transport.ConnectOptions{Channels: 3})
	ok, _ := n.Connect("", srv.LocalPort(), transport.ConnectOptions{Channels: 4})
	extra, _ := n.Connect("", srv.LocalPort(), transport.ConnectOptions{Channels: 4})
	for range 5 {
		n.Advance(tick)
		poll(srv, few, ok, extra)
	}
	for name, c := range map[string]transport.Transport{"fewer channels": few, "past the limit": extra} {
		if evs := drainEvents(c); len(evs) != 1 || evs[0].Kind != transport.ConnectionFailed {
			t.Errorf("%s: events %v, want connection_failed", name, evs)
		}
	}
	if ok.ConnectionStatus() != transport.Connected {
		t.Errorf("the client that fits is %v", ok.ConnectionStatus())
	}
	if evs := drainEvents(srv); len(evs) != 1 || evs[0] != (transport.Event{Kind: transport.PeerConnected, PeerID: ok.UniqueID()}) {
		t.Errorf("server events %v", evs)
	}
}

func TestSendManyReachesTheNamedClientsOnly(t *testing.T) {
	n, srv, cls := pair(t, 3, memnet.Link{}, false, 3)
	many := srv.(transport.ManySender)
	if failed, err := many.SendMany([]int{cls[0].UniqueID(), cls[2].UniqueID(), 999}, 2, wire.Reliable, []byte("shared")); failed != 1 || !errors.Is(err, memnet.ErrInvalid) {
		t.Fatalf("SendMany with an unknown ID: %d failed, %v; want 1, ErrInvalid", failed, err)
	}
	n.Advance(tick)
	poll(cls...)
	for i, c := range cls {
		got := drain(c)
		want := i != 1
		if (len(got) == 1 && string(got[0].Data) == "shared" && got[0].From == 1 && got[0].Channel == 2) != want || (!want && len(got) != 0) {
			t.Errorf("client %d got %v; named: %v", i, got, want)
		}
	}
	if s := n.Stats(); s.Shared != 1 {
		t.Errorf("Stats.Shared %d, want 1", s.Shared)
	}
	if failed, err := cls[0].(transport.ManySender).SendMany([]int{cls[1].UniqueID()}, 2, wire.Reliable, nil); failed != 1 || !errors.Is(err, memnet.ErrClosed) {
		t.Errorf("SendMany from a client: %d failed, %v; want 1, ErrClosed", failed, err)
	}
}
