// Command netburi-load is a load generator for servers of the netburi
// demo's protocol (demo/server, or a game's server built on demo/game):
// it starts bot clients in several child processes, each bot a complete
// client of the protocol in the library's headless mode
// (systems.Config.Headless: no interpolation, no rendering), lets them play
// for a while and reports connect success, RTT, loss, snapshot rate and
// bytes per bot, aggregated over the processes.
//
//	go run ./cmd/netburi-load -server 127.0.0.1:7777 -clients 512 -procs 4
//
// Run it with -h for its flags. The children are this program again with a
// hidden -worker flag; each prints its bots' results as one JSON object on
// stdout for the parent to aggregate.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/netburi/netburi/demo/game"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	exe, err := os.Executable()
	if err == nil {
		err = run(ctx, os.Args[1:], exe, os.Stdout, os.Stderr)
	}
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "netburi-load:", err)
		os.Exit(1)
	}
}

// options are the command's flags.
type options struct {
	host           string
	port           int
	clients, procs int
	inputHz        int
	duration       time.Duration
	connectTimeout time.Duration
	compress       string
	dtls           bool
	json           bool
	worker         bool
}

const usageHead = `netburi-load: bot clients of the netburi demo's protocol against a server

Usage: netburi-load -server host:port [flags]

The bots run in -procs child processes (this program again), -clients in
all. Each bot is a complete client of the demo's protocol in the library's
headless mode (systems.Config.Headless): it connects, syncs its clock,
sends inputs (the demo's gem-chasing bot pilot), acknowledges snapshots
and applies them, but interpolates and renders nothing. After -duration
the report gives connect success, RTT, loss, snapshot rate and bytes per
bot, across all processes.

The server must take the bots: its max clients (demo/server -max-clients,
default 32) and, from another machine, its handshake guard: a server takes
at most ecsnet.GuardLimits.MaxPendingPerAddress (default 4) handshakes at
once from one IP address, so bots connecting from one remote machine are
refused beyond that. Raise it on the server (ecsnet.Options.Guard) for a
load test from another machine; loopback addresses are exempt.

Flags:
`

func parse(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("netburi-load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	server := fs.String("server", "", "the server's `host:port` (UDP), required")
	fs.IntVar(&o.clients, "clients", 64, "bot clients in all")
	fs.IntVar(&o.procs, "procs", 1, "child processes the bots are spread over")
	fs.IntVar(&o.inputHz, "input-hz", game.TickRate, "how often each bot sends (inputs, with its acks and pings); the demo's tick rate sends every tick like a real client, lower rates skip send steps and the server repeats the bot's last input")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long the bots play after connecting")
	fs.DurationVar(&o.connectTimeout, "connect-timeout", 10*time.Second, "how long a bot may take to be accepted")
	fs.StringVar(&o.compress, "compress", "zlib", "datagram compression, as the server's: none, range_coder, fastlz, zlib, zstd or zstd_dict")
	fs.BoolVar(&o.dtls, "dtls", false, "encrypt with DTLS, as a server run with -dtls (the bots do not verify its certificate)")
	fs.BoolVar(&o.json, "json", false, "print the report as JSON")
	fs.BoolVar(&o.worker, "worker", false, "") // hidden: run bots in this process and print JSON
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usageHead)
		fs.VisitAll(func(f *flag.Flag) {
			if f.Name == "worker" {
				return
			}
			name, usage := flag.UnquoteUsage(f)
			fmt.Fprintf(fs.Output(), "  -%s %s\n    \t%s", f.Name, name, usage)
			if f.DefValue != "" && f.DefValue != "false" {
				fmt.Fprintf(fs.Output(), " (default %s)", f.DefValue)
			}
			fmt.Fprintln(fs.Output())
		})
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments %q (see -h)", fs.Args())
	}
	host, port, err := net.SplitHostPort(*server)
	if err != nil {
		return o, fmt.Errorf("-server %q: want host:port: %w", *server, err)
	}
	if o.port, err = strconv.Atoi(port); err != nil || o.port <= 0 || o.port > 65535 {
		return o, fmt.Errorf("-server %q: bad port", *server)
	}
	o.host = host
	switch {
	case o.clients <= 0:
		return o, fmt.Errorf("-clients %d: want at least 1", o.clients)
	case o.procs <= 0:
		return o, fmt.Errorf("-procs %d: want at least 1", o.procs)
	case o.inputHz <= 0 || o.inputHz > game.TickRate:
		return o, fmt.Errorf("-input-hz %d: want 1 to %d", o.inputHz, game.TickRate)
	case o.duration <= 0:
		return o, fmt.Errorf("-duration %v: want more than 0", o.duration)
	}
	if _, err := game.ParseCompression(o.compress); err != nil {
		return o, err
	}
	return o, nil
}

// run is the command: the parent unless args hold -worker. exe is the
// program the parent starts its workers with.
func run(ctx context.Context, args []string, exe string, stdout, stderr io.Writer) error {
	o, err := parse(args, stderr)
	if err != nil {
		return err
	}
	if o.worker {
		res, err := runBots(ctx, o)
		if err != nil {
			return err
		}
		return json.NewEncoder(stdout).Encode(res)
	}
	rep, err := runWorkers(ctx, o, exe, args, stderr)
	if err != nil {
		return err
	}
	if o.json {
		return json.NewEncoder(stdout).Encode(rep)
	}
	_, err = fmt.Fprintln(stdout, rep)
	return err
}

// runWorkers starts o.procs workers, o.clients bots spread over them, and
// aggregates their results.
func runWorkers(ctx context.Context, o options, exe string, args []string, stderr io.Writer) (Report, error) {
	stderr = &lockedWriter{w: stderr} // the workers share it
	results := make([][]BotResult, o.procs)
	errs := make([]error, o.procs)
	var wg sync.WaitGroup
	for i := range o.procs {
		n := o.clients / o.procs
		if i < o.clients%o.procs {
			n++
		}
		if n == 0 {
			continue
		}
		wargs := append(slices.Clone(args), "-worker", "-clients", strconv.Itoa(n), "-procs", "1")
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out bytes.Buffer
			cmd := exec.CommandContext(ctx, exe, wargs...)
			cmd.Stdout, cmd.Stderr = &out, stderr
			cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
			cmd.WaitDelay = 10 * time.Second
			if err := cmd.Run(); err != nil {
				errs[i] = fmt.Errorf("worker %d: %w", i, err)
				return
			}
			sc := bufio.NewScanner(&out)
			sc.Buffer(nil, 64<<20)
			var res []BotResult
			for sc.Scan() { // the last JSON line is the result
				if err := json.Unmarshal(sc.Bytes(), &res); err == nil {
					results[i] = res
				}
			}
			if results[i] == nil {
				errs[i] = fmt.Errorf("worker %d printed no result", i)
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return Report{}, err
	}
	return aggregate(o, slices.Concat(results...)), nil
}

// lockedWriter lets several workers write one stream.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
