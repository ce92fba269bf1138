package agones_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/agones"
	"github.com/netburi/netburi/agones/agonestest"
)

// until polls cond every few milliseconds, failing after a deadline.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not reached within 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func noBadRequests(t *testing.T, side *agonestest.Sidecar) {
	t.Helper()
	for _, c := range side.Calls() {
		if c.Status >= 400 && c.Status < 500 {
			t.Errorf("%s %s %v answered %d: not the documented shape", c.Method, c.Path, c.Body, c.Status)
		}
	}
}

func TestClientFollowsTheSidecarsStateMachineAndShapes(t *testing.T) {
	side := agonestest.New(t)
	c := agones.NewClient(side.URL(), time.Second)
	ctx := context.Background()
	gs, err := c.GameServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if gs.Status.State != agones.StateScheduled || gs.ObjectMeta.Name != "netburi-test" || gs.ObjectMeta.Generation != 1 || gs.Spec.Health.PeriodSeconds != 5 {
		t.Fatalf("first GameServer %+v", gs)
	}
	step := func(what string, call func() error, want string) {
		t.Helper()
		if err := call(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if gs, err := c.GameServer(ctx); err != nil || gs.Status.State != want {
			t.Fatalf("after %s: state %q (%v), want %q", what, gs.Status.State, err, want)
		}
	}
	step("ready", func() error { return c.Ready(ctx) }, agones.StateReady)
	step("reserve 1s", func() error { return c.Reserve(ctx, time.Second) }, agones.StateReserved)
	until(t, "reserved back to ready", func() bool { return side.State() == agones.StateReady })
	if err := c.SetPlayerCapacity(ctx, 2); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"7", "9"} {
		if ok, err := c.PlayerConnect(ctx, id); err != nil || !ok {
			t.Fatalf("connect %s: %v %v", id, ok, err)
		}
	}
	if ok, err := c.PlayerConnect(ctx, "9"); err != nil || ok {
		t.Errorf("connecting a connected player again: %v %v, want false", ok, err)
	}
	if _, err := c.PlayerConnect(ctx, "11"); !errors.Is(err, agones.ErrStatus) {
		t.Errorf("connecting beyond capacity: %v, want ErrStatus", err)
	}
	if ok, err := c.PlayerDisconnect(ctx, "7"); err != nil || !ok {
		t.Errorf("disconnect 7: %v %v", ok, err)
	}
	if err := c.SetLabel(ctx, "map", "arena"); err != nil {
		t.Fatal(err)
	}
	gs, err = c.GameServer(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p := gs.Status.Players; p == nil || p.Count != 1 || p.Capacity != 2 || !slices.Equal(p.IDs, []string{"9"}) {
		t.Errorf("players %+v, want count 1 of 2, [9]", p)
	}
	if gs.ObjectMeta.Labels["agones.dev/sdk-map"] != "arena" {
		t.Errorf("labels %v", gs.ObjectMeta.Labels)
	}
	step("allocate", func() error { return c.Allocate(ctx) }, agones.StateAllocated)
	step("shutdown", func() error { return c.Shutdown(ctx) }, agones.StateShutdown)
	noBadRequests(t, side)
}

func TestStartFailsClearlyWhenTheSidecarIsUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	_, err = agones.Start(context.Background(), agones.Options{BaseURL: "http://" + addr, ConnectTimeout: 300 * time.Millisecond})
	if !errors.Is(err, agones.ErrUnreachable) {
		t.Fatalf("Start against nothing: %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "AGONES_SDK_HTTP_PORT") {
		t.Errorf("error does not say where it looked or how to change it: %v", err)
	}
}

// loop runs sdk.Step on a world of its own goroutine every few
// milliseconds until stop is closed, handing each tick's events to seen.
type loop struct {
	sdk   *agones.SDK
	world donburi.World
	stop  chan struct{}
	done  chan struct{}
	ticks chan []agones.EventData
}

func startLoop(sdk *agones.SDK, period time.Duration, each func()) *loop {
	l := &loop{sdk: sdk, world: donburi.NewWorld(), stop: make(chan struct{}), done: make(chan struct{}), ticks: make(chan []agones.EventData, 4096)}
	go func() {
		defer close(l.done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
			}
			if each != nil {
				each()
			}
			sdk.Step(l.world)
			var evs []agones.EventData
			agones.Event.Each(l.world, func(e *donburi.Entry) { evs = append(evs, agones.Event.GetValue(e)) })
			if len(evs) > 0 {
				select {
				case l.ticks <- evs:
				default: // the test stopped reading: never hold the loop
				}
			}
		}
	}()
	return l
}

func (l *loop) halt() { close(l.stop); <-l.done }

func start(t *testing.T, side *agonestest.Sidecar, o agones.Options) *agones.SDK {
	t.Helper()
	o.BaseURL = side.URL()
	sdk, err := agones.Start(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return sdk
}

func TestHealthPingsAtTheirPeriodWhileTheLoopRunsAndStopWhenItStalls(t *testing.T) {
	side := agonestest.New(t)
	const period = 20 * time.Millisecond
	sdk := start(t, side, agones.Options{HealthPeriod: period, StallAfter: 100 * time.Millisecond})
	l := startLoop(sdk, 5*time.Millisecond, nil)
	until(t, "ten health pings", func() bool { return len(side.HealthPings()) >= 10 })
	// The cadence: no faster than the period (a ticker never catches up
	// by more than one tick), whatever the arrival jitter.
	pings := side.HealthPings()
	if span, least := pings[len(pings)-1].Sub(pings[0]), time.Duration(len(pings)-2)*period; span < least {
		t.Errorf("%d pings in %v, faster than one per %v", len(pings), span, period)
	}

	l.halt() // the loop hangs
	stalled := time.Now()
	until(t, "stall noticed", func() bool { return time.Since(stalled) > 100*time.Millisecond+2*period })
	n := len(side.HealthPings())
	time.Sleep(20 * period) // checking that nothing happens
	if extra := len(side.HealthPings()) - n; extra > 1 {
		t.Errorf("%d health pings while the loop was stalled", extra)
	}

	l = startLoop(sdk, 5*time.Millisecond, nil) // it recovers
	n = len(side.HealthPings())
	until(t, "pings resume", func() bool { return len(side.HealthPings()) >= n+3 })
	l.halt()
	sdk.Close(context.Background())
	if sdk.HealthPings() == 0 {
		t.Error("the SDK counted no accepted pings")
	}
}

func TestWatchStreamRaisesAnAllocatedEventEntityForOneTick(t *testing.T) {
	side := agonestest.New(t)
	sdk := start(t, side, agones.Options{})
	sdk.Ready()
	l := startLoop(sdk, 2*time.Millisecond, nil)
	defer sdk.Close(context.Background())
	defer l.halt()
	var states []string
	wait := func(want string) {
		t.Helper()
		end := time.After(10 * time.Second)
		for {
			select {
			case evs := <-l.ticks:
				for _, ev := range evs {
					if ev.Kind == agones.EventStateChanged {
						states = append(states, ev.State)
						if ev.State == want {
							if ev.GameServer.Status.State != want {
								t.Errorf("event carries GameServer in %q", ev.GameServer.Status.State)
							}
							return
						}
					}
				}
			case <-end:
				t.Fatalf("no %s event; states seen %v", want, states)
			}
		}
	}
	wait(agones.StateReady)
	side.Allocate() // the fleet allocates this server to a match
	wait(agones.StateAllocated)
	if got := sdk.GameServer().Status.State; got != agones.StateAllocated {
		t.Errorf("GameServer() in %q", got)
	}
	// Nothing new: the next ticks carry no event.
	select {
	case evs := <-l.ticks:
		t.Errorf("events without a change: %+v", evs)
	case <-time.After(50 * time.Millisecond):
	}
}

func TestSidecarErrorsSlownessAndDeathNeverBlockTheLoop(t *testing.T) {
	side := agonestest.New(t)
	side.SetFault("/ready", agonestest.Fault{Status: http.StatusInternalServerError})
	side.SetFault("/allocate", agonestest.Fault{Stall: true})
	side.SetFault("/health", agonestest.Fault{Delay: time.Second})
	sdk := start(t, side, agones.Options{Timeout: 100 * time.Millisecond, HealthPeriod: 10 * time.Millisecond, QueueSize: 8})

	// The loop asks for everything at once, far more than the queue holds,
	// every tick for a while; it must keep ticking.
	var ticks atomic.Int64
	l := startLoop(sdk, time.Millisecond, func() {
		if ticks.Add(1) <= 3 {
			sdk.Ready()
			sdk.Allocate()
			for range 10 {
				sdk.SetLabel("k", "v")
			}
		}
	})
	failed := map[string][]error{}
	seen := func(op string, target error) bool {
		return slices.ContainsFunc(failed[op], func(err error) bool { return errors.Is(err, target) })
	}
	collect := func(what string, cond func() bool) {
		t.Helper()
		end := time.After(15 * time.Second)
		for !cond() {
			select {
			case evs := <-l.ticks:
				for _, ev := range evs {
					if ev.Kind == agones.EventRequestFailed {
						failed[ev.Op] = append(failed[ev.Op], ev.Err)
					}
				}
			case <-end:
				t.Fatalf("%s: not seen; failures %v", what, failed)
			}
		}
	}
	collect("a 500 on ready, a timeout on allocate, a full queue", func() bool {
		return seen("ready", agones.ErrStatus) && seen("allocate", agones.ErrUnreachable) && seen("label", agones.ErrQueueFull)
	})
	if sdk.Dropped() == 0 {
		t.Error("no request counted as dropped")
	}

	side.Close() // the sidecar dies
	delete(failed, "watch")
	collect("the watch stream lost", func() bool { return seen("watch", agones.ErrUnreachable) })
	before := ticks.Load()
	until(t, "ticks after the sidecar died", func() bool { return ticks.Load() > before+10 })
	l.halt()
	if ticks.Load() <= before {
		t.Error("no tick after the sidecar died")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	sdk.Shutdown()
	sdk.Close(ctx) // returns though nothing answers
}

func TestCloseStopsEveryGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	side := agonestest.New(t)
	sdk := start(t, side, agones.Options{HealthPeriod: 5 * time.Millisecond, TrackPlayers: true})
	sdk.Ready()
	l := startLoop(sdk, time.Millisecond, nil)
	until(t, "pings", func() bool { return len(side.HealthPings()) >= 3 })
	l.halt()
	sdk.Close(context.Background())
	side.Close()
	until(t, "goroutines back to where they were", func() bool { return runtime.NumGoroutine() <= before })
}
