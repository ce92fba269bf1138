package ecsnet

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"testing"
	"time"
)

func conditioned(t testing.TB, c LinkConditions) func(*Peer) {
	return func(p *Peer) { must(t, p.SetLinkConditioner(c)) }
}

// With 5% loss and 100 ms +- 50 ms latency both ways on the client's
// link, ENet's reliability delivers every reliable packet, in order, both
// ways. (Not more loss: ENet doubles a command's retransmission timeout
// at every loss, so at 20% each way one of the 400 packets losing itself
// or its acknowledgement six times in a row, a 30-second stall, happened
// in one run of four.)
func TestReliableArrivesCompleteAndInOrderUnderLossAndJitter(t *testing.T) {
	checkNoLeaks(t)
	bad := LinkDirection{Loss: 0.05, Latency: 100 * time.Millisecond, Jitter: 50 * time.Millisecond}
	n := newTestNet(t)
	srv := n.server(2)
	c := n.client(srv, conditioned(t, LinkConditions{Seed: 1, Out: bad, In: bad}))
	n.waitEvent(c, Event{ConnectionSucceeded, 0})
	n.waitEvent(srv, Event{PeerConnected, c.UniqueID()})
	const count = 200
	var want []string
	for i := range count {
		msg := fmt.Sprintf("msg %03d", i)
		want = append(want, msg)
		send(t, c, 1, TransferReliable, msg)
		send(t, srv, c.UniqueID(), TransferReliable, msg)
		c.Flush() // one datagram each, so the link acts on each packet
		srv.Flush()
		n.pump()
	}
	n.until(30*time.Second, "every reliable packet", func() bool {
		return len(n.packets[srv]) >= count && len(n.packets[c]) >= count
	})
	if got := n.received(srv); !slices.Equal(got, want) {
		t.Errorf("server got %d packets, not all in order", len(got))
	}
	if got := n.received(c); !slices.Equal(got, want) {
		t.Errorf("client got %d packets, not all in order", len(got))
	}
	st := c.Stats().Transport
	if st.Lost < count/20 || st.Reordered != 0 {
		t.Errorf("conditioner stats %+v", st)
	}
	t.Logf("conditioner: %+v", st)
}

// Unreliable packets, one per datagram, are lost at the configured rate.
func TestUnreliableShowsConfiguredLoss(t *testing.T) {
	const loss, count = 0.25, 2000
	n := newTestNet(t)
	srv := n.server(2)
	c := n.connected(srv, conditioned(t, LinkConditions{Seed: 5, Out: LinkDirection{Loss: loss}}))
	n.manual[srv] = true
	received := 0
	for i := range count {
		send(t, c, 1, TransferUnreliable, fmt.Sprintf("u%d", i))
		c.Flush()
		must(t, srv.Poll())
		for ; srv.AvailablePacketCount() > 0; received++ {
			_, _ = srv.GetPacket()
		}
	}
	// Stragglers: wait until the server has read everything the relay
	// let through (its own count) and nothing more comes.
	end := time.Now().Add(defaultWait)
	for {
		must(t, srv.PollWait(20*time.Millisecond))
		got := srv.AvailablePacketCount()
		for ; srv.AvailablePacketCount() > 0; received++ {
			_, _ = srv.GetPacket()
		}
		if got == 0 || time.Now().After(end) {
			break
		}
	}
	got := 1 - float64(received)/count
	tol := 5 * math.Sqrt(loss*(1-loss)/count)
	t.Logf("lost %.4f of %d unreliable packets (want %.2f +- %.4f); relay lost %d datagrams", got, count, loss, tol, c.Stats().Transport.Lost)
	if math.Abs(got-loss) > tol {
		t.Errorf("lost %.4f, want %.2f +- %.4f", got, loss, tol)
	}
}

// A request-reply round trip takes at least the configured latency of both
// directions: each is applied, on its own side. (Load only lengthens a
// round trip, so only the lower bound is asserted; that the conditioner
// delays by the configured amount, no more, is checked on its own clock in
// internal/relay.)
func TestLatencyShowsInRoundTrips(t *testing.T) {
	const out, in = 30 * time.Millisecond, 20 * time.Millisecond
	n := newTestNet(t)
	srv := n.server(2)
	c := n.connected(srv, conditioned(t, LinkConditions{Out: LinkDirection{Latency: out}, In: LinkDirection{Latency: in}}))
	var rtts []time.Duration
	for i := range 15 {
		ping := fmt.Sprintf("ping %d", i)
		start := time.Now()
		send(t, c, 1, TransferReliable, ping)
		c.Flush()
		n.waitPacket(srv, ping)
		send(t, srv, c.UniqueID(), TransferReliable, "pong "+ping)
		srv.Flush()
		n.waitPacket(c, "pong "+ping)
		rtts = append(rtts, time.Since(start))
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	median := rtts[len(rtts)/2]
	t.Logf("round trips %v..%v, median %v", rtts[0], rtts[len(rtts)-1], median)
	if rtts[0] < out+in {
		t.Errorf("round trips %v..%v (median %v), want none below %v", rtts[0], rtts[len(rtts)-1], median, out+in)
	}
}

// The conditioner changes while the peers run: a dead link stops
// unreliable traffic, a healed one lets it through again.
func TestSetLinkConditionerWhileActive(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(2)
	c := n.connected(srv, conditioned(t, LinkConditions{}))
	n.roundTrip(srv, c, "perfect")
	must(t, c.SetLinkConditioner(LinkConditions{Out: LinkDirection{Loss: 1}}))
	for i := range 20 {
		send(t, c, 1, TransferUnreliable, "into the void")
		c.Flush()
		must(t, srv.PollWait(time.Millisecond))
		_ = i
	}
	n.pump()
	if slices.Contains(n.received(srv), "into the void") {
		t.Error("a packet crossed a link losing everything")
	}
	if lost := c.Stats().Transport.Lost; lost < 20 {
		t.Errorf("relay lost %d datagrams, want at least 20", lost)
	}
	must(t, c.SetLinkConditioner(LinkConditions{}))
	n.until(defaultWait, "traffic after healing", func() bool {
		send(t, c, 1, TransferUnreliable, "healed")
		return slices.Contains(n.received(srv), "healed")
	})
	if got, ok := c.LinkConditioner(); !ok || got != (LinkConditions{}) {
		t.Errorf("LinkConditioner() = %+v, %v", got, ok)
	}
	wantErr(t, c.ClearLinkConditioner(), ErrAlreadyInUse)

	// A peer created without a conditioner cannot get one while active.
	wantErr(t, srv.SetLinkConditioner(LinkConditions{}), ErrAlreadyInUse)
	if _, ok := srv.LinkConditioner(); ok {
		t.Error("server reports a conditioner")
	}
	c.CloseConnection(0)
	must(t, c.ClearLinkConditioner())
	if _, ok := c.LinkConditioner(); ok {
		t.Error("cleared conditioner still reported")
	}
}

func TestSetLinkConditionerRejectsNonsense(t *testing.T) {
	p := NewPeer()
	for name, d := range map[string]LinkDirection{
		"negative loss":     {Loss: -0.1},
		"loss above one":    {Loss: 1.5},
		"NaN duplicate":     {Duplicate: math.NaN()},
		"negative latency":  {Latency: -time.Millisecond},
		"negative jitter":   {Jitter: -time.Millisecond},
		"negative bw":       {Bandwidth: -1},
		"endless burst":     {BurstStart: 0.1},
		"reorder above one": {Reorder: 2},
	} {
		wantErr(t, p.SetLinkConditioner(LinkConditions{In: d}), ErrInvalidParameter)
		wantErr(t, p.SetLinkConditioner(LinkConditions{Out: d}), ErrInvalidParameter)
		if _, ok := p.LinkConditioner(); ok {
			t.Fatalf("%s: a rejected conditioner was kept", name)
		}
	}
}
