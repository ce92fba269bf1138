package main

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/demo/game"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/systems"
)

// BotResult is what one bot measured; workers print a JSON array of them.
type BotResult struct {
	Connected bool          `json:"connected"`
	Error     string        `json:"error,omitempty"`
	Connect   time.Duration `json:"connect_ns"` // from start to accepted
	Played    time.Duration `json:"played_ns"`  // measured time after accepted
	RTT       time.Duration `json:"rtt_ns"`     // ENet's mean round trip at the end
	// Loss is the fraction of the server's sequenced input feedback that
	// did not arrive (the client's own measurement); ReliableLoss is
	// ENet's mean loss of reliable packets.
	Loss         float64 `json:"loss"`
	ReliableLoss float64 `json:"reliable_loss"`
	Snapshots    uint64  `json:"snapshots"` // complete snapshots, all lanes
	Entities     int     `json:"entities"`  // replicated entities seen at the end
	BytesIn      uint64  `json:"bytes_in"`  // payload bytes from the server
	BytesOut     uint64  `json:"bytes_out"` // payload bytes to the server
	Inputs       uint64  `json:"inputs"`    // input send steps
}

// runBots runs o.clients bots in this process, one goroutine each, and
// returns their results after o.duration of play (or when ctx is done).
// The bots' worlds are made here, one after another (donburi.NewWorld is
// not safe for concurrent use); each then plays on a goroutine of its own,
// which from then on alone touches its world and its ENet host.
func runBots(ctx context.Context, o options) ([]BotResult, error) {
	mode, err := game.ParseCompression(o.compress)
	if err != nil {
		return nil, err
	}
	set := game.Settings{Compression: mode}
	if o.dtls {
		set.DTLS = &ecsnet.DTLS{SkipVerify: true}
	}
	res := make([]BotResult, o.clients)
	bots := make([]*bot, o.clients)
	for i := range bots {
		if bots[i], err = newBot(set, o); err != nil {
			res[i].Error = err.Error()
		}
	}
	var wg sync.WaitGroup
	for i, b := range bots {
		if b == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i] = b.play(ctx, o)
		}()
	}
	wg.Wait()
	return res, nil
}

// bot is one headless client of the demo's protocol.
type bot struct {
	net    *systems.Network
	view   *game.View
	pilot  *game.Pilot
	world  donburi.World
	events *donburi.Query
}

func newBot(set game.Settings, o options) (*bot, error) {
	p := game.DefaultProtocol
	cfg := p.Config(set)
	cfg.Headless = true
	w := donburi.NewWorld()
	n, err := systems.NewClient(w, p.Registry, o.host, o.port, cfg)
	if err != nil {
		return nil, err
	}
	view := game.NewView(w, n)
	return &bot{net: n, view: view, world: w, pilot: game.NewPilot(p, view, game.BotInput),
		events: donburi.NewQuery(filter.Contains(components.ConnectionEvent))}, nil
}

// play connects, plays at the demo's tick rate, sending every
// TickRate/o.inputHz ticks, and measures; it closes the bot.
func (b *bot) play(ctx context.Context, o options) BotResult {
	var r BotResult
	n, view := b.net, b.view
	defer n.Close()
	sendEvery := max(1, int(math.Round(float64(game.TickRate)/float64(o.inputHz))))
	start := time.Now()
	var played time.Time
	var before, last [2]uint64
	tick := time.NewTicker(time.Second / game.TickRate)
	defer tick.Stop()
	for step := 0; ; step++ {
		select {
		case <-ctx.Done():
			return finish(&r, n, view, played, before, last)
		case <-tick.C:
		}
		n.ReceiveStep()
		if !played.IsZero() {
			if now, ok := counters(n); ok {
				last = now // what finish falls back on once the server is gone
			}
		}
		if why := b.ended(); why != "" {
			if played.IsZero() {
				r.Error = why
				return r
			}
			r.Error = why // played, then lost: the result stands with the reason
			return finish(&r, n, view, played, before, last)
		}
		if step%sendEvery == 0 {
			b.pilot.Update(nil)
			n.SendStep()
			if n.Accepted() {
				r.Inputs++
			}
		}
		switch {
		case played.IsZero() && n.Accepted():
			r.Connected, r.Connect = true, time.Since(start)
			played = time.Now()
			before, _ = counters(n)
			last = before
		case played.IsZero() && time.Since(start) > o.connectTimeout:
			r.Error = fmt.Sprintf("not accepted within %v", o.connectTimeout)
			return r
		case !played.IsZero() && time.Since(played) >= o.duration:
			return finish(&r, n, view, played, before, last)
		}
	}
}

// ended says why the connection ended this tick ("" while it stands): the
// server refused the bot (a different protocol, full), never answered, or
// went away.
func (b *bot) ended() string {
	why := ""
	b.events.Each(b.world, func(en *donburi.Entry) {
		ev := components.ConnectionEvent.Get(en)
		switch ev.Kind {
		case components.EventConnectionRejected, components.EventConnectionFailed, components.EventServerDisconnected:
			why = ev.Kind.String()
			if ev.Reason != "" {
				why += ": " + ev.Reason
			}
		}
	})
	return why
}

// counters are the bot's snapshots and its payload bytes in so far; false
// once the server's link is gone (its byte count with it).
func counters(n *systems.Network) ([2]uint64, bool) {
	var snaps uint64
	for i := range n.Lanes() {
		snaps += n.ReplicationClient(i).Stats().Completed
	}
	st, err := n.Transport().LinkStats(1)
	return [2]uint64{snaps, st.BytesReceived}, err == nil
}

// finish measures a bot that played since played: counters now, or the
// last ones read while the link stood (last) when the server dropped it.
func finish(r *BotResult, n *systems.Network, view *game.View, played time.Time, before, last [2]uint64) BotResult {
	if played.IsZero() {
		if r.Error == "" {
			r.Error = "stopped before it was accepted"
		}
		return *r
	}
	r.Played = time.Since(played)
	now, ok := counters(n)
	if !ok {
		now = last
	}
	r.Snapshots = now[0] - before[0]
	r.BytesIn = now[1] - before[1]
	if st, err := n.Transport().LinkStats(1); err == nil {
		r.RTT, r.ReliableLoss, r.BytesOut = st.RTT, st.PacketLoss, st.BytesSent
	}
	if m, ok := view.Measured(); ok {
		r.Loss = m.Loss
	}
	r.Entities = view.Entities()
	return *r
}

// Report aggregates the bots' results.
type Report struct {
	Clients, Procs, Connected int
	Errors                    map[string]int `json:",omitempty"`
	InputHz                   int
	Played                    time.Duration // mean, of connected bots
	ConnectP50, ConnectMax    time.Duration
	RTTMean, RTTP50, RTTP99   time.Duration
	LossMean, LossMax         float64
	ReliableLossMean          float64
	SnapshotsPerSecond        float64 // per bot, mean
	SnapshotsTotal            uint64
	BytesInPerSecond          float64 // per bot, mean, payload from the server
	BytesOutPerSecond         float64 // per bot, mean, payload to the server (whole session)
	BytesInTotal              uint64
	EntitiesMean              float64
}

func aggregate(o options, rs []BotResult) Report {
	rep := Report{Clients: o.clients, Procs: o.procs, InputHz: o.inputHz}
	var connects, rtts []time.Duration
	var played time.Duration
	for _, r := range rs {
		if !r.Connected {
			if rep.Errors == nil {
				rep.Errors = map[string]int{}
			}
			rep.Errors[r.Error]++
			continue
		}
		rep.Connected++
		connects = append(connects, r.Connect)
		rtts = append(rtts, r.RTT)
		played += r.Played
		secs := max(r.Played.Seconds(), 1e-3)
		rep.LossMean += r.Loss
		rep.LossMax = max(rep.LossMax, r.Loss)
		rep.ReliableLossMean += r.ReliableLoss
		rep.SnapshotsPerSecond += float64(r.Snapshots) / secs
		rep.SnapshotsTotal += r.Snapshots
		rep.BytesInPerSecond += float64(r.BytesIn) / secs
		rep.BytesOutPerSecond += float64(r.BytesOut) / (r.Connect + r.Played).Seconds()
		rep.BytesInTotal += r.BytesIn
		rep.EntitiesMean += float64(r.Entities)
	}
	if c := rep.Connected; c > 0 {
		f := float64(c)
		rep.Played = played / time.Duration(c)
		rep.LossMean /= f
		rep.ReliableLossMean /= f
		rep.SnapshotsPerSecond /= f
		rep.BytesInPerSecond /= f
		rep.BytesOutPerSecond /= f
		rep.EntitiesMean /= f
		slices.Sort(connects)
		slices.Sort(rtts)
		rep.ConnectP50, rep.ConnectMax = connects[c/2], connects[c-1]
		rep.RTTP50, rep.RTTP99 = rtts[c/2], rtts[c*99/100]
		var sum time.Duration
		for _, d := range rtts {
			sum += d
		}
		rep.RTTMean = sum / time.Duration(c)
	}
	return rep
}

// String formats the report for people (and BENCHMARKS.md).
func (r Report) String() string {
	var b strings.Builder
	kbit := func(bps float64) float64 { return bps * 8 / 1000 }
	fmt.Fprintf(&b, "netburi-load: %d/%d bots connected (%d processes, %d Hz inputs, %s, %d CPUs)\n",
		r.Connected, r.Clients, r.Procs, r.InputHz, runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU())
	for e, n := range r.Errors {
		fmt.Fprintf(&b, "  not connected: %d × %s\n", n, e)
	}
	fmt.Fprintf(&b, "  connect time: p50 %v  max %v\n", r.ConnectP50.Round(time.Millisecond), r.ConnectMax.Round(time.Millisecond))
	fmt.Fprintf(&b, "  played %.1f s per bot\n", r.Played.Seconds())
	fmt.Fprintf(&b, "  RTT: mean %v  p50 %v  p99 %v\n", r.RTTMean.Round(time.Millisecond), r.RTTP50.Round(time.Millisecond), r.RTTP99.Round(time.Millisecond))
	fmt.Fprintf(&b, "  loss (sequenced feedback): mean %.2f%%  max %.2f%%; ENet reliable loss mean %.2f%%\n", 100*r.LossMean, 100*r.LossMax, 100*r.ReliableLossMean)
	fmt.Fprintf(&b, "  snapshots: %.1f per second per bot (%d in all); %.0f entities seen per bot\n", r.SnapshotsPerSecond, r.SnapshotsTotal, r.EntitiesMean)
	fmt.Fprintf(&b, "  payload per bot: %.1f kbit/s from the server, %.1f kbit/s to it", kbit(r.BytesInPerSecond), kbit(r.BytesOutPerSecond))
	return b.String()
}
