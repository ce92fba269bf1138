package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/agones"
	"github.com/netburi/netburi/agones/agonestest"
	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/demo/game"
)

func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("%s: not reached within 20 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// syncBuffer is a log sink the server writes from its goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestHelpDocumentsEveryFlagAndItsEnvironmentVariable(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-h"}, env(nil), &out, hooks{})
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v", err)
	}
	for _, name := range []string{"port", "bind", "max-clients", "compress", "dtls", "cert", "key", "metrics",
		"metrics-per-peer", "agones", "agones-health", "agones-connect-timeout", "duration", "drain-timeout", "drones", "status-every", "pprof", "log-level", "log-format"} {
		if !strings.Contains(out.String(), "-"+name+" ") && !strings.Contains(out.String(), "-"+name+"\n") {
			t.Errorf("-h does not document -%s", name)
		}
		if !strings.Contains(out.String(), envName(name)) {
			t.Errorf("-h does not name %s", envName(name))
		}
	}
	if !strings.Contains(out.String(), "AGONES_SDK_HTTP_PORT") {
		t.Error("-h does not mention AGONES_SDK_HTTP_PORT")
	}
}

func TestBadEnvironmentIsNamedInTheError(t *testing.T) {
	err := run(context.Background(), nil, env(map[string]string{"NETBURI_PORT": "seven"}), io.Discard, hooks{})
	if err == nil || !strings.Contains(err.Error(), "NETBURI_PORT") {
		t.Fatalf("NETBURI_PORT=seven: %v", err)
	}
}

func TestAgonesEnabledWithoutASidecarFailsClearly(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	ln.Close()
	err = run(context.Background(), []string{"-port", "0", "-bind", "127.0.0.1", "-agones", "-agones-connect-timeout", "300ms"},
		env(map[string]string{"AGONES_SDK_HTTP_PORT": port}), io.Discard, hooks{})
	if !errors.Is(err, agones.ErrUnreachable) || !strings.Contains(err.Error(), port) {
		t.Fatalf("-agones with no sidecar on port %s: %v", port, err)
	}
}

// player is a real ENet client of the demo game, stepped on its own
// goroutine until the server says goodbye or it is stopped.
type player struct {
	node *game.ClientNode
	told atomic.Bool // the server disconnected it
	stop chan struct{}
	done chan struct{}
}

func join(t *testing.T, port int) *player {
	t.Helper()
	c, err := game.NewClientNode(game.DefaultProtocol, "127.0.0.1", port, game.Settings{}, game.BotInput)
	if err != nil {
		t.Fatal(err)
	}
	p := &player{node: c, stop: make(chan struct{}), done: make(chan struct{})}
	events := donburi.NewQuery(filter.Contains(components.ConnectionEvent)) // its own: queries cache per world
	go func() {
		defer close(p.done)
		defer c.Net.Close()
		tick := time.NewTicker(time.Second / game.TickRate)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
			}
			c.Step()
			events.Each(c.World, func(e *donburi.Entry) {
				if components.ConnectionEvent.Get(e).Kind == components.EventServerDisconnected {
					p.told.Store(true)
				}
			})
			if p.told.Load() {
				return
			}
		}
	}()
	t.Cleanup(p.leave)
	return p
}

// id is the client's peer ID, as the server and Agones know it. Read it
// after the client has stopped or from its goroutine's view: UniqueID is
// set at connect and does not change.
func (p *player) id() string { return strconv.Itoa(p.node.Net.ID()) }

func (p *player) leave() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

func scrape(t *testing.T, addr string) map[string]float64 {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// The whole life of a server under Agones, with real ENet clients on
// loopback: Ready once loaded, health pings, players joining and leaving,
// an allocation seen as an event entity, metrics a scrape can read, and on
// SIGTERM a drain that tells every client before Shutdown.
func TestDedicatedServerLifecycleUnderAgones(t *testing.T) {
	side := agonestest.New(t)
	_, sidePort, _ := net.SplitHostPort(strings.TrimPrefix(side.URL(), "http://"))
	started := make(chan game.DedicatedInfo, 1)
	var allocated atomic.Bool
	h := hooks{
		started: func(i game.DedicatedInfo) { started <- i },
		tick: func(w donburi.World) {
			agones.Event.Each(w, func(e *donburi.Entry) {
				if ev := agones.Event.Get(e); ev.Kind == agones.EventStateChanged && ev.State == agones.StateAllocated {
					allocated.Store(true)
				}
			})
		},
	}
	logs := &syncBuffer{}
	errc := make(chan error, 1)
	go func() {
		errc <- run(context.Background(), []string{"-port", "0", "-bind", "127.0.0.1", "-metrics", "127.0.0.1:0", "-agones-health", "50ms"},
			env(map[string]string{"NETBURI_AGONES": "true", "NETBURI_MAX_CLIENTS": "8", "NETBURI_DRONES": "40",
				"NETBURI_LOG_FORMAT": "json", "AGONES_SDK_HTTP_PORT": sidePort}), logs, h)
	}()
	var info game.DedicatedInfo
	select {
	case info = <-started:
	case err := <-errc:
		t.Fatalf("server stopped at start: %v\n%s", err, logs)
	case <-time.After(20 * time.Second):
		t.Fatal("server did not start")
	}
	until(t, "Ready", func() bool { return side.State() == agones.StateReady })
	if got := side.Paths(); !slices.Equal(got[:3], []string{"GET /gameserver", "PUT /alpha/player/capacity", "POST /ready"}) {
		t.Errorf("first calls %v: want the sidecar checked, the capacity set, then Ready", got)
	}
	if side.Capacity() != 8 {
		t.Errorf("player capacity %d, want -max-clients 8", side.Capacity())
	}
	until(t, "health pings", func() bool { return len(side.HealthPings()) >= 3 })

	players := []*player{join(t, info.Port), join(t, info.Port), join(t, info.Port)}
	ids := func(ps []*player) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.id())
		}
		slices.Sort(out)
		return out
	}
	sorted := func(s []string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	until(t, "three players reported", func() bool { return slices.Equal(sorted(side.Players()), ids(players)) })

	var first map[string]float64
	until(t, "a scrape shows three connected peers", func() bool {
		first = scrape(t, info.MetricsAddr)
		return first[`netburi_peers{state="connected"}`] == 3
	})
	var second map[string]float64
	until(t, "traffic grows between scrapes", func() bool {
		second = scrape(t, info.MetricsAddr)
		return second[`netburi_payload_bytes_total{direction="out"}`] > first[`netburi_payload_bytes_total{direction="out"}`] &&
			second[`netburi_udp_bytes_total{direction="in"}`] > first[`netburi_udp_bytes_total{direction="in"}`] &&
			second[`netburi_tick_duration_seconds_count`] > first[`netburi_tick_duration_seconds_count`]
	})
	for _, series := range []string{`netburi_replication_bytes_total{channel="2",lane="0",mode="unreliable"}`, `netburi_inputs_late_total`, `go_goroutines`} {
		if _, ok := second[series]; !ok {
			t.Errorf("series %s missing", series)
		}
	}

	gone := players[0]
	gone.leave()
	players = players[1:]
	until(t, "the leaver reported gone", func() bool { return slices.Equal(sorted(side.Players()), ids(players)) })

	side.Allocate()
	until(t, "Allocated event entity in the world", allocated.Load)

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("after SIGTERM: %v\n%s", err, logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("server did not exit after SIGTERM\n%s", logs)
	}
	until(t, "every client told", func() bool { return players[0].told.Load() && players[1].told.Load() })
	if side.State() != agones.StateShutdown {
		t.Errorf("sidecar state %q after SIGTERM, want Shutdown", side.State())
	}
	paths := side.Paths()
	if paths[len(paths)-1] != "POST /shutdown" {
		t.Errorf("last call %q, want Shutdown after the drain: %v", paths[len(paths)-1], paths)
	}
	if p := side.Players(); len(p) != 0 {
		t.Errorf("players %v still reported after the drain", p)
	}
	want := map[string]int{"POST /alpha/player/connect": 3, "POST /alpha/player/disconnect": 3, "POST /ready": 1, "POST /shutdown": 1}
	got := map[string]int{}
	for _, p := range paths {
		if _, ok := want[p]; ok {
			got[p]++
		}
	}
	if !maps.Equal(got, want) {
		t.Errorf("calls %v, want %v", got, want)
	}
	for _, c := range side.Calls() {
		if c.Status >= 400 {
			t.Errorf("%s %s %v answered %d", c.Method, c.Path, c.Body, c.Status)
		}
	}
	for _, msg := range []string{`"msg":"draining","reason":"signal"`, `"msg":"agones state","state":"Allocated"`, `"msg":"agones shutdown sent"`} {
		if !strings.Contains(logs.String(), msg) {
			t.Errorf("log lacks %s:\n%s", msg, logs)
		}
	}
}

// When the match's -duration ends, the server drains and reports Shutdown
// by itself, without a signal.
func TestMatchEndShutsTheServerDown(t *testing.T) {
	side := agonestest.New(t)
	_, sidePort, _ := net.SplitHostPort(strings.TrimPrefix(side.URL(), "http://"))
	logs := &syncBuffer{}
	err := run(context.Background(), []string{"-port", "0", "-bind", "127.0.0.1", "-agones", "-duration", "500ms", "-drones", "10"},
		env(map[string]string{"AGONES_SDK_HTTP_PORT": sidePort}), logs, hooks{})
	if err != nil {
		t.Fatalf("%v\n%s", err, logs)
	}
	if side.State() != agones.StateShutdown {
		t.Errorf("state %q after the match, want Shutdown", side.State())
	}
	if got := side.Paths(); !slices.Equal(got, []string{"GET /gameserver", "PUT /alpha/player/capacity", "POST /ready", "POST /shutdown"}) {
		t.Errorf("calls %v", got)
	}
	if !strings.Contains(logs.String(), `reason="match over"`) {
		t.Errorf("log does not say the match ended:\n%s", logs)
	}
}
