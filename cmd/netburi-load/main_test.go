package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/demo/game"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/systems"
)

// TestMain lets the test binary stand in for the command's workers: the
// parent re-executes its own program with -worker.
func TestMain(m *testing.M) {
	if slices.Contains(os.Args[1:], "-worker") {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := run(ctx, os.Args[1:], "", os.Stdout, os.Stderr)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// startDemoServer runs the demo's dedicated server on loopback until the
// test ends and returns its port.
func startDemoServer(t *testing.T) int { return startDemoMatch(t, 0) }

// startDemoMatch is startDemoServer for a match of the given length (0:
// until the test ends), after which the server says goodbye to every bot.
func startDemoMatch(t *testing.T, length time.Duration) int {
	return startDemo(t, length, game.Settings{BindIP: "127.0.0.1", Compression: ecsnet.CompressZlib})
}

func startDemo(t *testing.T, length time.Duration, set game.Settings) int {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ports := make(chan int, 1)
	done := make(chan error, 1)
	go func() {
		done <- game.RunDedicated(ctx, game.DedicatedOptions{
			Settings: set,
			Duration: length,
			Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
			Started:  func(i game.DedicatedInfo) { ports <- i.Port },
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("dedicated server: %v", err)
		}
	})
	select {
	case p := <-ports:
		return p
	case err := <-done:
		t.Fatalf("dedicated server did not start: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("dedicated server did not start within 30 s")
	}
	return 0
}

// The generator's bots, in two worker processes, all connect to the demo's
// server, receive snapshots of its world and count the bytes and RTT, and
// the parent adds up both workers' bots.
func TestBotsInTwoProcessesPlayTheDemoServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	t.Run("plain", func(t *testing.T) { testBotsPlay(t, startDemoServer(t)) })
	// With -dtls every bot runs a DTLS handshake with the server's own
	// (stateless-cookie) handshake, all at once.
	t.Run("dtls", func(t *testing.T) {
		set, err := game.ServerSettings(ecsnet.CompressZlib, true, "", "")
		if err != nil {
			t.Fatal(err)
		}
		set.BindIP = "127.0.0.1"
		testBotsPlay(t, startDemo(t, 0, set), "-dtls")
	})
}

// runLoad runs the command (its workers are this test binary) against
// 127.0.0.1:port with args and -json, and returns its report.
func runLoad(t *testing.T, port int, args ...string) Report {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var out, errs bytes.Buffer
	args = append([]string{"-server", fmt.Sprintf("127.0.0.1:%d", port), "-connect-timeout", "30s", "-json"}, args...)
	if err := run(ctx, args, exe, &out, &errs); err != nil {
		t.Fatalf("run: %v\nstderr: %s", err, errs.String())
	}
	var rep Report
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("report %q: %v", out.String(), err)
	}
	return rep
}

func testBotsPlay(t *testing.T, port int, extra ...string) {
	t.Helper()
	rep := runLoad(t, port, append([]string{"-clients", "8", "-procs", "2", "-duration", "2s", "-input-hz", "30"}, extra...)...)
	if rep.Clients != 8 || rep.Connected != 8 {
		t.Fatalf("%d of %d bots connected (errors %v), want 8 of 8", rep.Connected, rep.Clients, rep.Errors)
	}
	if rep.SnapshotsTotal == 0 || rep.SnapshotsPerSecond <= 0 {
		t.Errorf("no snapshots: %d in all, %.1f per second per bot", rep.SnapshotsTotal, rep.SnapshotsPerSecond)
	}
	if rep.BytesInTotal == 0 || rep.BytesInPerSecond <= 0 || rep.BytesOutPerSecond <= 0 {
		t.Errorf("bytes: %d in all, %.0f B/s in and %.0f B/s out per bot; want more than 0", rep.BytesInTotal, rep.BytesInPerSecond, rep.BytesOutPerSecond)
	}
	if rep.EntitiesMean <= 0 {
		t.Errorf("bots saw %.1f entities on average; want the demo's world", rep.EntitiesMean)
	}
	if rep.Played < 2*time.Second {
		t.Errorf("bots played %v, want the 2 s asked", rep.Played)
	}
	if rep.RTTP50 <= 0 {
		t.Errorf("RTT p50 %v: not measured", rep.RTTP50)
	}
	t.Logf("\n%s", rep)
}

// Bots whose server ends the match under them report what they received
// while it stood: their byte counts are not read from a link that is gone
// (once a wrapped subtraction worth 10^14 kbit/s per bot).
func TestBotsOutlivedByTheirServerReportWhatTheyGot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes")
	}
	rep := runLoad(t, startDemoMatch(t, 4*time.Second), "-clients", "4", "-procs", "1", "-duration", "90s")
	if rep.Connected != 4 {
		t.Fatalf("%d of 4 bots connected (errors %v)", rep.Connected, rep.Errors)
	}
	if rep.Played >= 60*time.Second {
		t.Fatalf("bots played %v: the server's 4 s match did not end them", rep.Played)
	}
	const sane = 10 << 20 // bytes per second per bot: far above the demo's rate
	if rep.BytesInTotal == 0 || rep.BytesInPerSecond <= 0 || rep.BytesInPerSecond > sane {
		t.Errorf("bytes in: %d in all, %.0f B/s per bot; want above 0 and under %d", rep.BytesInTotal, rep.BytesInPerSecond, sane)
	}
}

// -h documents every flag but the hidden worker one, and the guard limit a
// test from another machine must raise.
func TestHelpDocumentsFlagsAndTheGuard(t *testing.T) {
	var out bytes.Buffer
	_, err := parse([]string{"-h"}, &out)
	if err == nil {
		t.Fatal("-h parsed without flag.ErrHelp")
	}
	h := out.String()
	for _, want := range []string{"-server", "-clients", "-procs", "-input-hz", "-duration", "MaxPendingPerAddress"} {
		if !strings.Contains(h, want) {
			t.Errorf("-h lacks %q:\n%s", want, h)
		}
	}
	if strings.Contains(h, "-worker") {
		t.Errorf("-h shows the hidden -worker flag:\n%s", h)
	}
}

// Bad flags are refused with the flag named.
func TestBadFlagsAreRefused(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-server", "nohost"},
		{"-server", "127.0.0.1:0"},
		{"-server", "127.0.0.1:7777", "-clients", "0"},
		{"-server", "127.0.0.1:7777", "-procs", "0"},
		{"-server", "127.0.0.1:7777", "-input-hz", "0"},
		{"-server", "127.0.0.1:7777", "-compress", "gzip"},
	} {
		if _, err := parse(args, io.Discard); err == nil {
			t.Errorf("parse(%q) accepted", args)
		}
	}
}

// Bots refused by the server say why: here a server of another protocol
// (a bare systems server whose registry lacks the demo's types).
func TestRefusedBotsReportTheReason(t *testing.T) {
	w := donburi.NewWorld()
	srv, err := systems.NewServer(w, systems.NewRegistry(), 0, systems.Config{Transport: ecsnet.Options{BindIP: "127.0.0.1"}})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // the server's own goroutine steps it
		defer close(done)
		defer srv.Close()
		tick := time.NewTicker(time.Second / 60)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				srv.ReceiveStep()
				srv.SendStep()
			}
		}
	}()
	defer func() { close(stop); <-done }()
	o, err := parse([]string{"-server", fmt.Sprintf("127.0.0.1:%d", srv.Transport().LocalPort()), "-clients", "2", "-duration", "1s", "-connect-timeout", "20s"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := runBots(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Connected || !strings.Contains(r.Error, "rejected") {
			t.Errorf("bot %d: connected %v, error %q; want refused with the reason", i, r.Connected, r.Error)
		}
	}
	t.Logf("%+v", res[0].Error)
}
