package game

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/agones"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/metrics"
)

// DedicatedOptions configure RunDedicated.
type DedicatedOptions struct {
	Port     int      // UDP port; 0 picks a free one
	Settings Settings // compression, DTLS, bind address
	// MaxClients is how many clients the server takes at once, and the
	// Agones player capacity; default 128 (the demo's).
	MaxClients int
	Server     ServerOptions
	// Duration is the match's length: after it the server drains and
	// (under Agones) shuts down; 0 runs until ctx is done.
	Duration time.Duration
	// MetricsAddr, when set, serves Prometheus metrics at
	// http://MetricsAddr/metrics ("127.0.0.1:0" picks a free port).
	MetricsAddr string
	// PerPeerMetrics adds series labelled by peer ID.
	PerPeerMetrics bool
	// Agones, when set, connects to the Agones SDK sidecar: Ready once
	// the arena is loaded, health pings, players, Shutdown after the
	// drain. Start fails when the sidecar does not answer.
	Agones *agones.Options
	// DrainTimeout bounds the graceful drain; default 5 s.
	DrainTimeout time.Duration
	// Log receives the server's log; default slog.Default().
	Log *slog.Logger
	// Started, when set, is called on the loop's goroutine once the
	// server is up and ready.
	Started func(DedicatedInfo)
	// Tick, when set, is called on the loop's goroutine after each tick
	// with the world (tests watch Agones events through it).
	Tick func(w donburi.World)
	// StatusEvery is how often the server logs a status line: its tick,
	// peers, and since the last line its ticks per second and tick time
	// p50, p99 and max (scripts/loadprofile.sh reads them); default 10 s.
	StatusEvery time.Duration
}

// DedicatedInfo says where a dedicated server listens.
type DedicatedInfo struct {
	Port        int    // UDP
	MetricsAddr string // host:port of /metrics, "" without
	Node        *ServerNode
}

// RunDedicated runs a headless dedicated server of the demo game until ctx
// is done (SIGINT or SIGTERM in demo/server) or the match's Duration
// passes, then drains it: it refuses new connections, tells every client
// goodbye after what was queued for it, keeps ticking until they are gone
// (or DrainTimeout), closes the host and, under Agones, reports Shutdown.
func RunDedicated(ctx context.Context, o DedicatedOptions) error {
	log := cmp.Or(o.Log, slog.Default())
	drainTimeout := cmp.Or(o.DrainTimeout, 5*time.Second)
	maxClients := cmp.Or(o.MaxClients, 128)
	cfg := DefaultProtocol.Config(o.Settings)
	cfg.MaxClients = maxClients
	node, err := newServerNode(DefaultProtocol, o.Port, cfg, o.Server)
	if err != nil {
		return err
	}
	defer node.Net.Close()
	peer := peerOf(node.Net)
	info := DedicatedInfo{Port: peer.LocalPort(), Node: node}

	var m *metrics.Network
	if o.MetricsAddr != "" {
		m = metrics.New(node.World, node.Net, metrics.Options{
			PerPeer: o.PerPeerMetrics,
			Inputs:  func() (uint64, uint64) { st := node.Sim.InputTotals(); return st.Late, st.Early },
		})
		node.ECS.AddSystem(m.Update)
		reg := prometheus.NewRegistry()
		reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		srv, err := metrics.Serve(o.MetricsAddr, reg)
		if err != nil {
			return err
		}
		defer srv.Close()
		info.MetricsAddr = srv.Addr().String()
	}

	var sdk *agones.SDK
	if o.Agones != nil {
		ao := *o.Agones
		ao.TrackPlayers = true
		ao.PlayerCapacity = int64(maxClients)
		if sdk, err = agones.Start(ctx, ao); err != nil {
			return err
		}
		node.ECS.AddSystem(sdk.Update)
	}

	node.Step() // the first tick loads the arena
	if sdk != nil {
		sdk.Ready()
	}
	log.Info("dedicated server ready", "udp_port", info.Port, "metrics", info.MetricsAddr,
		"compression", o.Settings.Compression.String(), "dtls", o.Settings.DTLS != nil,
		"max_clients", maxClients, "agones", sdk != nil)
	if o.Started != nil {
		o.Started(info)
	}

	match := ctx
	if o.Duration > 0 {
		var cancel context.CancelFunc
		match, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	step := func() {
		start := time.Now()
		node.Step()
		if m != nil {
			m.ObserveTick(time.Since(start))
		}
		if sdk != nil {
			logAgones(log, sdk.Events(node.World))
		}
		if o.Tick != nil {
			o.Tick(node.World)
		}
	}
	status := newTickWindow(cmp.Or(o.StatusEvery, 10*time.Second))
	every(match, TickRate, func() {
		start := time.Now()
		step()
		if status.add(time.Since(start)) {
			tps, p50, p99, worst := status.take()
			log.Info("status", "tick", node.Net.Tick(), "peers", len(peer.Peers()), "ticks_per_s", round2(tps),
				"tick_p50_ms", ms(p50), "tick_p99_ms", ms(p99), "tick_max_ms", ms(worst))
		}
	})
	reason := "match over"
	if ctx.Err() != nil {
		reason = "signal"
	}
	log.Info("draining", "reason", reason, "peers", len(peer.Peers()))
	told := drain(node, drainTimeout, step)
	if m != nil {
		m.Publish()
	}
	node.Net.Close()
	log.Info("closed", "clients_told", told, "clients_left", len(peer.Peers()))
	if sdk != nil {
		sdk.Shutdown()
		closeCtx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		sdk.Close(closeCtx)
		log.Info("agones shutdown sent")
	}
	return nil
}

// drain refuses new connections, asks every client to disconnect once
// what was queued for it is sent, and keeps ticking until none is left or
// timeout passes. It returns how many clients were told.
func drain(node *ServerNode, timeout time.Duration, step func()) int {
	peer := peerOf(node.Net)
	peer.SetRefuseNewConnections(true)
	ids := peer.Peers()
	for _, id := range ids {
		_ = peer.DisconnectPeer(id, false) // fails only for a peer already gone
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	every(ctx, TickRate, func() {
		step()
		if len(peer.Peers()) == 0 {
			cancel()
		}
	})
	return len(ids)
}

// logAgones logs this tick's Agones events.
func logAgones(log *slog.Logger, events []agones.EventData) {
	for _, ev := range events {
		switch ev.Kind {
		case agones.EventStateChanged:
			log.Info("agones state", "state", ev.State)
		case agones.EventRequestFailed:
			level := slog.LevelWarn
			if errors.Is(ev.Err, agones.ErrQueueFull) {
				level = slog.LevelError
			}
			log.Log(context.Background(), level, "agones request failed", "op", ev.Op, "err", ev.Err)
		}
	}
}

// ServerSettings are a dedicated server's transport settings: compression,
// and with dtls a certificate and key from files (both or neither; without
// them a self-signed certificate).
func ServerSettings(compression ecsnet.CompressionMode, dtls bool, certFile, keyFile string) (Settings, error) {
	s, _, err := Options{Mode: ModeServer, Compression: compression, DTLS: dtls, CertFile: certFile, KeyFile: keyFile}.settings()
	return s, err
}

// tickWindow gathers tick durations between status lines.
type tickWindow struct {
	every time.Duration
	since time.Time
	ticks []time.Duration
}

func newTickWindow(every time.Duration) *tickWindow {
	return &tickWindow{every: every, since: time.Now()}
}

// add records one tick's duration and reports whether a status line is due.
func (w *tickWindow) add(d time.Duration) bool {
	w.ticks = append(w.ticks, d)
	return time.Since(w.since) >= w.every
}

// take returns the window's ticks per second and tick time p50, p99 and
// max, and starts the next window.
func (w *tickWindow) take() (perSecond float64, p50, p99, worst time.Duration) {
	now := time.Now()
	n := len(w.ticks)
	if n > 0 {
		slices.Sort(w.ticks)
		p50, p99, worst = w.ticks[(n-1)/2], w.ticks[(n-1)*99/100], w.ticks[n-1]
		perSecond = float64(n) / now.Sub(w.since).Seconds()
	}
	w.ticks, w.since = w.ticks[:0], now
	return perSecond, p50, p99, worst
}

func ms(d time.Duration) float64 { return round2(d.Seconds() * 1000) }

func round2(v float64) float64 { return math.Round(v*100) / 100 }
