// Command demo is netburi's bundled game: ships, drones and gems in an
// arena, over ENet with Godot 3's wire format, on the donburi ECS layer.
//
//	go run ./demo                      # listen server + this window + 3 bots
//	go run ./demo -server              # headless dedicated server
//	go run ./demo -connect host:7777   # join a server
//	go run ./demo -loadcheck           # 64 bots against a headless server, 30 s
//
// The game lives in package demo/game; this file only reads flags.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/netburi/netburi/demo/game"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		server    = flag.Bool("server", false, "run a headless dedicated server")
		connect   = flag.String("connect", "", "join the server at `host:port`")
		port      = flag.Int("port", 7777, "server UDP `port` (0: any free port)")
		useDTLS   = flag.Bool("dtls", false, "encrypt with DTLS (a server makes a self-signed certificate unless -cert is given)")
		cert      = flag.String("cert", "", "PEM certificate `file`: the server's (with -key), or the one a -connect client trusts")
		key       = flag.String("key", "", "PEM private key `file` of the server's certificate")
		compress  = flag.String("compress", "zlib", "datagram compression: none, range_coder, fastlz, zlib, zstd or zstd_dict (both ends must agree)")
		loss      = flag.Float64("loss", 0, "link conditioner: `percent` of datagrams lost, each way")
		latency   = flag.Duration("latency", 0, "link conditioner: added delay each way")
		jitter    = flag.Duration("jitter", 0, "link conditioner: random delay +- this, each way")
		headless  = flag.Bool("headless", false, "never open a window: print a status line instead")
		duration  = flag.Duration("duration", 0, "stop after this long (0: until the window closes or Ctrl-C)")
		shot      = flag.String("screenshot", "", "save a PNG of the window to `file` after -screenshot-after, then quit")
		shotAfter = flag.Duration("screenshot-after", 5*time.Second, "when to take the -screenshot")
		loadcheck = flag.Bool("loadcheck", false, "measure a headless server with many bots (see -bots, -duration) and print a report")
	)
	var bots optionalInt
	flag.Var(&bots, "bots", "headless bot players `N` in this process (default 3; 0 with -server or -connect; 64 with -loadcheck)")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "netburi demo: steer a ship (arrows or WASD) among drones and gems.\n\nUsage: demo [flags]\n\n")
		flag.PrintDefaults()
		fmt.Fprintf(flag.CommandLine.Output(), "\nWindow keys: I interpolation, R raw server positions, L/T/J link loss/latency/jitter, C clear link, Esc quit.\n")
	}
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q (see -h)", flag.Args())
	}
	mode, err := game.ParseCompression(*compress)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	if *loadcheck {
		n := bots.or(64)
		rep, err := game.RunLoadCheck(ctx, game.LoadOptions{Bots: n, Duration: *duration, Compression: mode, Out: os.Stdout})
		if err != nil {
			return err
		}
		fmt.Println(rep)
		return nil
	}

	o := game.Options{
		Port: *port, Compression: mode, DTLS: *useDTLS, CertFile: *cert, KeyFile: *key,
		Headless: *headless, Duration: *duration,
		Window: game.WindowOptions{Screenshot: *shot, ScreenshotAfter: *shotAfter},
	}
	o.Link.In.Loss, o.Link.In.Latency, o.Link.In.Jitter = *loss/100, *latency, *jitter
	o.Link.Out = o.Link.In
	switch {
	case *server && *connect != "":
		return fmt.Errorf("-server and -connect exclude each other")
	case *server:
		o.Mode = game.ModeServer
	case *connect != "":
		o.Mode = game.ModeConnect
		host, p, err := net.SplitHostPort(*connect)
		if err != nil {
			return fmt.Errorf("-connect %q: %w", *connect, err)
		}
		if o.Port, err = strconv.Atoi(p); err != nil {
			return fmt.Errorf("-connect %q: bad port", *connect)
		}
		o.Host = host
	}
	o.Bots = bots.or(3)
	if o.Mode != game.ModeListen {
		o.Bots = bots.or(0)
	}
	return game.Run(ctx, o)
}

// optionalInt is an int flag whose default depends on other flags.
type optionalInt struct {
	set bool
	n   int
}

func (o *optionalInt) String() string {
	if o == nil || !o.set {
		return ""
	}
	return strconv.Itoa(o.n)
}

func (o *optionalInt) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return fmt.Errorf("want a count of 0 or more")
	}
	o.set, o.n = true, n
	return nil
}

// or is the value, or def when the flag was not given.
func (o *optionalInt) or(def int) int {
	if o.set {
		return o.n
	}
	return def
}
