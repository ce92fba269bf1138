// Command server is the demo game's dedicated server, made to run on a
// fleet: configured by flags or environment variables, logging with
// log/slog, serving Prometheus metrics, optionally managed by Agones, and
// draining gracefully on SIGINT or SIGTERM.
//
//	go run ./demo/server -h
//	go run ./demo/server -port 7777 -metrics :9100
//	NETBURI_AGONES=true go run ./demo/server    # under Agones
//
// The game itself is demo/game's; this file only reads the configuration.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/agones"
	"github.com/netburi/netburi/demo/game"
)

func main() {
	err := run(context.Background(), os.Args[1:], os.Getenv, os.Stderr, hooks{})
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(1)
	}
}

// hooks let tests watch a running server.
type hooks struct {
	started func(game.DedicatedInfo)
	tick    func(donburi.World)
	// parsed, when set, gets every flag's value once the configuration
	// is read, and run stops there with errParsedOnly.
	parsed func(name, value string)
}

var errParsedOnly = errors.New("configuration read; not started")

// envPrefix names a flag's environment variable: -max-clients is
// NETBURI_MAX_CLIENTS.
const envPrefix = "NETBURI_"

func envName(flagName string) string {
	return envPrefix + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, h hooks) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		port       = fs.Int("port", 7777, "UDP `port` to listen on (0: any free port)")
		bind       = fs.String("bind", "", "local `address` to bind (default every interface, IPv4 and IPv6)")
		maxClients = fs.Int("max-clients", 32, "most clients at once (also the Agones player capacity)")
		compress   = fs.String("compress", "zlib", "datagram compression: none, range_coder, fastlz, zlib, zstd or zstd_dict (clients must agree)")
		useDTLS    = fs.Bool("dtls", false, "encrypt with DTLS (a self-signed certificate unless -cert and -key)")
		cert       = fs.String("cert", "", "PEM certificate `file` for DTLS")
		key        = fs.String("key", "", "PEM private key `file` of -cert")
		metricsAt  = fs.String("metrics", "", "serve Prometheus metrics at http://`addr`/metrics (such as :9100; empty: off)")
		perPeer    = fs.Bool("metrics-per-peer", false, "add per-peer metric series (one set per client)")
		useAgones  = fs.Bool("agones", false, "run under Agones: talk to the SDK sidecar at localhost:$AGONES_SDK_HTTP_PORT (default 9358)")
		health     = fs.Duration("agones-health", 2*time.Second, "Agones health ping period (keep under the fleet's health periodSeconds)")
		reach      = fs.Duration("agones-connect-timeout", 10*time.Second, "how long to keep trying to reach the Agones sidecar at start")
		duration   = fs.Duration("duration", 0, "match length: drain and shut down after it (0: until SIGINT or SIGTERM)")
		drainFor   = fs.Duration("drain-timeout", 5*time.Second, "longest wait for clients to leave when draining")
		drones     = fs.Int("drones", 640, "drones in the arena")
		standings  = fs.Bool("standings", true, "replicate every player's scoreboard row to every player (a load test of thousands turns it off: those rows grow with the square of the players)")
		viewRadius = fs.Float64("view-radius", 0, "each player's interest radius in pixels (0: the screen's, 608); load tests set it smaller to stand for a larger world")
		statusIvl  = fs.Duration("status-every", 10*time.Second, "how often to log a status line (peers, ticks per second, tick time p50/p99/max)")
		pprofAt    = fs.String("pprof", "", "serve Go's profiles (net/http/pprof) at http://`addr`/debug/pprof/ (such as 127.0.0.1:6060; empty: off; keep it off public interfaces)")
		logLevel   = fs.String("log-level", "info", "log level: debug, info, warn or error")
		logFormat  = fs.String("log-format", "text", "log format: text or json")
	)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "netburi demo dedicated server\n\nUsage: server [flags]\n\nEvery flag can also be set by an environment variable, %sFLAG_NAME\n(for example -max-clients by %s); a flag given on the command line wins.\nUnder Agones, AGONES_SDK_HTTP_PORT (set by Agones) is the sidecar's port.\n\n", envPrefix, envName("max-clients"))
		fs.VisitAll(func(f *flag.Flag) {
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(out, "  -%s", f.Name)
			if name != "" {
				fmt.Fprintf(out, " %s", name)
			}
			fmt.Fprintf(out, "\n    \t%s (env %s", usage, envName(f.Name))
			if f.DefValue != "" && f.DefValue != "false" {
				fmt.Fprintf(out, ", default %s", f.DefValue)
			}
			fmt.Fprintln(out, ")")
		})
	}
	var envErr error
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(envName(f.Name)); v != "" && envErr == nil {
			if err := f.Value.Set(v); err != nil {
				envErr = fmt.Errorf("%s=%q: %w", envName(f.Name), v, err)
			}
		}
	})
	if envErr != nil {
		return envErr
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see -h)", fs.Args())
	}
	if h.parsed != nil {
		fs.VisitAll(func(f *flag.Flag) { h.parsed(f.Name, f.Value.String()) })
		return errParsedOnly
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level %q: %w", *logLevel, err)
	}
	var handler slog.Handler
	switch *logFormat {
	case "text":
		handler = slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level})
	case "json":
		handler = slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level})
	default:
		return fmt.Errorf("-log-format %q: want text or json", *logFormat)
	}
	log := slog.New(handler)

	mode, err := game.ParseCompression(*compress)
	if err != nil {
		return err
	}
	if *maxClients <= 0 || *maxClients > 4095 {
		return fmt.Errorf("-max-clients %d: want 1 to 4095", *maxClients)
	}
	set, err := game.ServerSettings(mode, *useDTLS, *cert, *key)
	if err != nil {
		return err
	}
	set.BindIP = *bind

	o := game.DedicatedOptions{
		Port: *port, Settings: set, MaxClients: *maxClients, Server: game.ServerOptions{Drones: *drones, ViewRadius: *viewRadius, NoStandings: !*standings},
		Duration: *duration, MetricsAddr: *metricsAt, PerPeerMetrics: *perPeer,
		DrainTimeout: *drainFor, Log: log, Started: h.started, Tick: h.tick, StatusEvery: *statusIvl,
	}
	if *viewRadius < 0 {
		return fmt.Errorf("-view-radius %v: want 0 or more", *viewRadius)
	}
	if *statusIvl <= 0 {
		return fmt.Errorf("-status-every %v: want more than 0", *statusIvl)
	}
	if *pprofAt != "" {
		stop, err := servePprof(*pprofAt, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	if *useAgones {
		base := "http://localhost:" + cmp.Or(getenv("AGONES_SDK_HTTP_PORT"), strconv.Itoa(agones.DefaultHTTPPort))
		o.Agones = &agones.Options{BaseURL: base, HealthPeriod: *health, ConnectTimeout: *reach}
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return game.RunDedicated(ctx, o)
}

// servePprof serves Go's profiles at http://addr/debug/pprof/ until stop.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("-pprof %q: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }() // returns once closed
	log.Info("profiles served", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { _ = srv.Close() }, nil
}
