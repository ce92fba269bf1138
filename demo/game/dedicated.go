package game

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
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
	every(match, TickRate, func() {
		step()
		if t := node.Net.Tick(); t%(10*TickRate) == 0 {
			log.Info("status", "tick", t, "peers", len(peer.Peers()))
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
