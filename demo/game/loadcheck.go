package game

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"slices"
	"time"

	"github.com/netburi/netburi/ecsnet"
)

// LoadOptions configure a load check.
type LoadOptions struct {
	Bots        int           // default 64
	Duration    time.Duration // measured time; default 30 s
	Compression ecsnet.CompressionMode
	Out         io.Writer
}

// LoadReport is what a load check measured on the server.
type LoadReport struct {
	Bots, Accepted    int
	Duration          time.Duration
	Ticks             int
	TickMean, TickP50 time.Duration
	TickP99, TickMax  time.Duration
	OverBudget        int     // ticks longer than 1/TickRate
	PayloadOutPerBot  float64 // bytes per second of the server's clock (TickRate ticks), before compression
	// ReplicationPerBot is the snapshot bytes (replication alone, before
	// compression) per client per second of the server's clock.
	ReplicationPerBot float64
	UDPOutPerBot      float64 // bytes per second on the wire
	UDPInPerBot       float64
	Entities          int
	Compression       ecsnet.CompressionMode
}

// RunLoadCheck runs a headless server on loopback with opts.Bots bot
// clients, all in this process, at TickRate for opts.Duration (after every
// bot is in and two seconds of warm-up), and reports the server's tick
// time and bandwidth per client. The bots share the machine with the
// server, so the figures are an upper bound on the server's own cost.
func RunLoadCheck(ctx context.Context, opts LoadOptions) (LoadReport, error) {
	if opts.Bots <= 0 {
		opts.Bots = 64
	}
	if opts.Duration <= 0 {
		opts.Duration = 30 * time.Second
	}
	rep := LoadReport{Bots: opts.Bots, Compression: opts.Compression}
	srv, bots, stop, err := loopbackSession(ctx, Settings{Compression: opts.Compression}, opts.Bots)
	if err != nil {
		return rep, err
	}
	defer stop()
	logf := func(format string, a ...any) {
		if opts.Out != nil {
			fmt.Fprintf(opts.Out, format, a...)
		}
	}
	rep.Accepted = bots.Accepted()
	logf("load check: %d/%d bots in, warming up 2 s, then measuring %v\n", rep.Accepted, opts.Bots, opts.Duration)
	if !sleepCtx(ctx, 2*time.Second) {
		return rep, ctx.Err()
	}
	before := srv.Status()
	srv.RecordTicks(true)
	start := time.Now()
	var payload []float64
	for time.Since(start) < opts.Duration {
		if !sleepCtx(ctx, time.Second) {
			return rep, ctx.Err()
		}
		st := srv.Status()
		payload = append(payload, st.BytesOutPerSecond)
		logf("  %3.0fs  %s\n", time.Since(start).Seconds(), st.Line())
	}
	srv.RecordTicks(false)
	rep.Duration = time.Since(start)
	after := srv.Status()
	times := srv.TickTimes()
	rep.Ticks = len(times)
	rep.Entities = after.Entities
	if len(times) > 0 {
		var sum time.Duration
		for _, d := range times {
			sum += d
			if d > time.Second/TickRate {
				rep.OverBudget++
			}
		}
		rep.TickMean = sum / time.Duration(len(times))
		slices.Sort(times)
		rep.TickP50 = times[len(times)/2]
		rep.TickP99 = times[len(times)*99/100]
		rep.TickMax = times[len(times)-1]
	}
	n, secs := float64(max(1, len(after.Peers))), rep.Duration.Seconds()
	var sum float64
	for _, p := range payload {
		sum += p
	}
	rep.PayloadOutPerBot = sum / float64(max(1, len(payload))) / n
	rep.UDPOutPerBot = float64(after.UDPBytesSent-before.UDPBytesSent) / secs / n
	if ticks := after.Tick - before.Tick; ticks > 0 {
		rep.ReplicationPerBot = float64(after.ReplicationBytes-before.ReplicationBytes) / (float64(ticks) / TickRate) / n
	}
	rep.UDPInPerBot = float64(after.UDPBytesReceived-before.UDPBytesReceived) / secs / n
	return rep, nil
}

// loopbackSession starts a server on 127.0.0.1 and n bots against it with
// settings set, and returns once the server has accepted every bot (or
// after 30 s, or when ctx is done: see bots.Accepted). stop ends them all
// and waits until they have closed.
func loopbackSession(ctx context.Context, set Settings, n int) (srv *ServerHandle, bots *Bots, stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	set.BindIP = "127.0.0.1"
	if srv, err = StartServer(ctx, DefaultProtocol, 0, set, ServerOptions{}); err != nil {
		cancel()
		return nil, nil, nil, err
	}
	set.BindIP = ""
	if bots, err = StartBots(ctx, DefaultProtocol, n, "127.0.0.1", srv.Port(), set, nil); err != nil {
		cancel()
		srv.Wait()
		return nil, nil, nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for bots.Accepted() < n && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond) // polling a counter, with a deadline
	}
	return srv, bots, func() { cancel(); bots.Wait(); srv.Wait() }, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// String formats the report for BENCHMARKS.md.
func (r LoadReport) String() string {
	kbit := func(bps float64) float64 { return bps * 8 / 1000 }
	return fmt.Sprintf(`netburi demo load check (%s, %d CPUs, %s)
  server + %d bot clients (%d accepted) in one process, loopback, %d Hz, %d Hz snapshots, %d replicated entities, compression %s
  measured %.1f s: %d server ticks (%.1f per second)
  server tick time (receive + simulation + send): mean %v  p50 %v  p99 %v  max %v
  ticks over the %v budget: %d
  per client, server to client: %.1f kbit/s payload (%.1f kbit/s of it snapshots), %.1f kbit/s UDP
  per client, client to server: %.1f kbit/s UDP`,
		runtime.GOOS+"/"+runtime.GOARCH, runtime.NumCPU(), runtime.Version(),
		r.Bots, r.Accepted, TickRate, TickRate/SnapshotEvery, r.Entities, r.Compression,
		r.Duration.Seconds(), r.Ticks, float64(r.Ticks)/r.Duration.Seconds(),
		r.TickMean.Round(time.Microsecond), r.TickP50.Round(time.Microsecond), r.TickP99.Round(time.Microsecond), r.TickMax.Round(time.Microsecond),
		(time.Second / TickRate).Round(time.Microsecond), r.OverBudget,
		kbit(r.PayloadOutPerBot), kbit(r.ReplicationPerBot), kbit(r.UDPOutPerBot), kbit(r.UDPInPerBot))
}
