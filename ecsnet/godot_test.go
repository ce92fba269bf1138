package ecsnet

// Interoperability with the real thing: Godot 3.2's NetworkedMultiplayerENet,
// run headless (Debian's godot3-server) on the scripts in testdata/godot.
// Without godot3-server on PATH these tests skip, unless
// NETBURI_REQUIRE_GODOT=1 (as `make test` sets), which makes them fail.

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// godotTimeout is the hard limit for one Godot process: it is killed
	// after that.
	godotTimeout = 60 * time.Second
	// godotWait bounds waiting for an outcome that involves Godot. The
	// scripts give up on their own after 20 s, and print why.
	godotWait = 30 * time.Second
	// resendEvery is how often both sides of exchange.gd send their packets
	// again until the other side has them all.
	resendEvery = 100 * time.Millisecond
)

// A Godot client connects to a netburi server on channel_count 4. Both
// sides send a packet in every transfer mode, on the mode's default channel
// and on channel 3; each packet arrives from the sender's ID on the channel
// its mode and transfer channel imply.
func TestGodotClientOnGoServer(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(1, func(p *Peer) { must(t, p.SetChannelCount(4)) })
	g := startGodot(t, "Godot client", "exchange.gd", "client", strconv.Itoa(srv.LocalPort()))

	var godotID int
	n.until(godotWait, "the Godot client to connect", func() bool {
		for _, ev := range n.events[srv] {
			if ev.Kind == PeerConnected {
				godotID = ev.PeerID
				return true
			}
		}
		g.failIfExited(t)
		return false
	})
	exchangeWithGodot(t, n, srv, godotID, g)

	g.passed(t)
	g.printed(t, fmt.Sprintf("unique_id %d", godotID)) // the ID it chose is the one we saw
	g.printed(t, "peer_connected 1")
}

// A netburi client connects to a Godot server on channel_count 4 and they
// exchange packets as in TestGodotClientOnGoServer: the server's packets
// come from 1, the client's from its UniqueID.
func TestGoClientOnGodotServer(t *testing.T) {
	port, g := startGodotServer(t)
	n := newTestNet(t)
	cl := NewPeer()
	must(t, cl.SetChannelCount(4))
	must(t, cl.CreateClient("127.0.0.1", port, 0, 0, 0))
	n.peers = append(n.peers, cl)
	clientID := cl.UniqueID() // kept: once the Godot server quits, cl is closed and reports 1

	n.until(godotWait, "the Godot server to accept the netburi client", func() bool {
		g.failIfExited(t)
		return slices.Contains(n.events[cl], Event{ConnectionSucceeded, 0})
	})
	if want := []Event{{PeerConnected, 1}, {ConnectionSucceeded, 0}}; !slices.Equal(n.events[cl], want) {
		t.Errorf("client events %v, want %v", n.events[cl], want)
	}
	exchangeWithGodot(t, n, cl, 1, g)

	g.passed(t)
	g.printed(t, fmt.Sprintf("peer_connected %d", clientID)) // the server saw our ID
}

// Two Godot clients of a netburi server (relay on) learn about each other
// from the server's ADD_PEER messages and send each other a unicast and a
// broadcast (relay.gd), each arriving from the other's ID. The server
// delivers the broadcasts to itself, from their senders, but not the
// unicasts. Each client then reports "ok" to the server, which answers
// "bye" to all.
func TestGodotClientsRelayedByGoServer(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(2)
	port := strconv.Itoa(srv.LocalPort())
	clients := []*godot{
		startGodot(t, "Godot client A", "relay.gd", port),
		startGodot(t, "Godot client B", "relay.gd", port),
	}

	n.until(godotWait, `"ok" from both Godot clients`, func() bool {
		for _, g := range clients {
			g.failIfExited(t)
		}
		return countData(n.packets[srv], "ok") == 2
	})
	send(t, srv, 0, TransferReliable, "bye")
	n.until(godotWait, "both Godot clients to exit", func() bool {
		return clients[0].exited() && clients[1].exited()
	})
	for _, g := range clients {
		g.passed(t)
	}

	var ids []int
	for _, ev := range n.events[srv] {
		if ev.Kind == PeerConnected {
			ids = append(ids, ev.PeerID)
		}
	}
	a, b := clients[0].uniqueID(t), clients[1].uniqueID(t)
	if !slices.Equal(ids, []int{a, b}) && !slices.Equal(ids, []int{b, a}) {
		t.Fatalf("server saw clients %v connect, Godot clients are %d and %d", ids, a, b)
	}
	clients[0].printed(t, fmt.Sprintf("peer_connected %d", b))
	clients[1].printed(t, fmt.Sprintf("peer_connected %d", a))

	var got []string
	for _, pk := range n.packets[srv] {
		got = append(got, fmt.Sprintf("%q from %d on channel %d", pk.Data, pk.From, pk.Channel))
	}
	slices.Sort(got)
	var want []string
	for _, id := range []int{a, b} {
		want = append(want,
			fmt.Sprintf("%q from %d on channel 1", fmt.Sprintf("broadcast from %d", id), id),
			fmt.Sprintf("%q from %d on channel 1", "ok", id))
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("server received\n\t%s\nwant\n\t%s", strings.Join(got, "\n\t"), strings.Join(want, "\n\t"))
	}
}

func countData(pks []Packet, data string) int {
	count := 0
	for _, pk := range pks {
		if string(pk.Data) == data {
			count++
		}
	}
	return count
}

// godotCases mirrors CASES in exchange.gd: every transfer mode on its
// default channel and on channel 3, and the channel the packet arrives on.
var godotCases = []struct {
	mode     TransferMode
	transfer int // transfer channel; -1 = by mode
	arrives  int
}{
	{TransferUnreliable, -1, 2},
	{TransferUnreliableOrdered, -1, 2},
	{TransferReliable, -1, 1},
	{TransferUnreliable, 3, 3},
	{TransferUnreliableOrdered, 3, 3},
	{TransferReliable, 3, 3},
}

// exchangeWithGodot plays netburi's half of exchange.gd on p, connected to
// the Godot script g as peer remoteID: it sends every case to remoteID
// every resendEvery until Godot says "done", says "done" (reliably) once
// it has received every case, and checks each packet's sender and channel.
// It returns once Godot has exited and both halves are done.
func exchangeWithGodot(t *testing.T, n *testNet, p *Peer, remoteID int, g *godot) {
	t.Helper()
	arrives := map[string]int{"done": 1}
	for _, c := range godotCases {
		arrives[casePayload(c.mode, c.transfer)] = c.arrives
	}
	received := map[string]bool{}
	sentDone, gotDone := false, false
	var lastSend time.Time
	checked := 0
	n.until(godotWait, "the packet exchange with Godot", func() bool {
		for _, pk := range n.packets[p][checked:] {
			data := string(pk.Data)
			want, known := arrives[data]
			switch {
			case !known:
				t.Errorf("unexpected packet %q from %d", data, pk.From)
			case pk.From != remoteID || pk.Channel != want:
				t.Errorf("%q came from %d on channel %d, want from %d on channel %d",
					data, pk.From, pk.Channel, remoteID, want)
			case data == "done":
				gotDone = true
			default:
				received[data] = true
			}
		}
		checked = len(n.packets[p])

		connected := slices.Contains(p.Peers(), remoteID)
		if connected && !gotDone && time.Since(lastSend) >= resendEvery {
			lastSend = time.Now()
			for _, c := range godotCases {
				sendOn(t, p, remoteID, c.mode, c.transfer, casePayload(c.mode, c.transfer))
			}
		}
		if connected && !sentDone && len(received) == len(godotCases) {
			sendOn(t, p, remoteID, TransferReliable, -1, "done")
			sentDone = true
		}
		complete := sentDone && gotDone
		if g.exited() && !complete && (!g.ok() || !connected) {
			t.Fatalf("%s exited (%v) before the exchange was complete: received %d of %d cases, sent done %v, got done %v",
				g.name, g.err, len(received), len(godotCases), sentDone, gotDone)
		}
		return complete && g.exited()
	})
}

func casePayload(mode TransferMode, transfer int) string {
	return fmt.Sprintf("mode %d channel %d", int(mode), transfer)
}

func sendOn(t *testing.T, p *Peer, target int, mode TransferMode, transfer int, data string) {
	t.Helper()
	must(t, p.SetTransferChannel(transfer))
	send(t, p, target, mode, data)
}

// startGodotServer starts exchange.gd as a server on 127.0.0.1 and returns
// its port once it listens.
//
// An exception to the tests' port-0 rule: Godot 3.2.3 cannot report the
// port it bound when given 0, so the test asks the kernel for a free UDP
// port, releases it and hands it to Godot. Someone may take it in between;
// then Godot exits with code 3 and the test tries another port.
func startGodotServer(t *testing.T) (int, *godot) {
	t.Helper()
	const attempts = 3
	for attempt := 1; attempt <= attempts; attempt++ {
		port := freeUDPPort(t)
		g := startGodot(t, fmt.Sprintf("Godot server (attempt %d)", attempt), "exchange.gd", "server", strconv.Itoa(port))
		if g.waitOutput(t, "listening on port") {
			return port, g
		}
		if g.exitCode() != 3 {
			t.Fatalf("%s did not start: %v", g.name, g.err)
		}
		t.Logf("%s could not bind port %d; trying another", g.name, port)
	}
	t.Fatalf("Godot server could not bind a port in %d attempts", attempts)
	return 0, nil
}

func freeUDPPort(t *testing.T) int {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.LocalAddr().(*net.UDPAddr).Port
}

// godot is one run of godot3-server on a script in testdata/godot.
type godot struct {
	name string
	cmd  *exec.Cmd
	out  *godotOutput
	done chan struct{} // closed when the process has exited
	err  error         // from Wait; read after done
}

// startGodot runs script with args (after "--") in the background, with a
// temporary home, killing it after godotTimeout or when the test ends. If
// the test fails, its output is logged.
func startGodot(t *testing.T, name, script string, args ...string) *godot {
	t.Helper()
	bin := godotBinary(t)
	project, err := filepath.Abs(filepath.Join("testdata", "godot"))
	if err != nil {
		t.Fatal(err)
	}
	home := t.TempDir()
	env := append(os.Environ(), "HOME="+home, "LANG=en_US.UTF-8")
	for _, xdg := range []string{"XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"} {
		dir := filepath.Join(home, strings.ToLower(xdg))
		must(t, os.Mkdir(dir, 0o700))
		env = append(env, xdg+"="+dir)
	}

	ctx, cancel := context.WithTimeout(context.Background(), godotTimeout)
	cmd := exec.CommandContext(ctx, bin, append([]string{"--path", project, "-s", script, "--"}, args...)...)
	cmd.Env = env
	// Godot runs in its own process group; on timeout or at the end of the
	// test that group (the process we started, by its ID) is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	g := &godot{name: name, cmd: cmd, out: &godotOutput{wrote: make(chan struct{}, 1)}, done: make(chan struct{})}
	cmd.Stdout = g.out
	cmd.Stderr = g.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		err := cmd.Wait()
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("%w (killed after %v)", err, godotTimeout)
		}
		g.err = err
		close(g.done)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%s (%s %s) output:\n%s", name, script, strings.Join(args, " "), g.out)
		}
	})
	t.Cleanup(func() {
		cancel()
		<-g.done
	})
	return g
}

// godotBinary finds godot3-server on PATH, or skips the test (fails it
// with NETBURI_REQUIRE_GODOT=1).
func godotBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("godot3-server")
	if err != nil {
		if os.Getenv("NETBURI_REQUIRE_GODOT") == "1" {
			t.Fatalf("NETBURI_REQUIRE_GODOT=1 but %v", err)
		}
		t.Skipf("Godot interoperability: %v", err)
	}
	return bin
}

func (g *godot) exited() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// ok reports whether Godot exited with code 0; call it only once exited.
func (g *godot) ok() bool { return g.err == nil }

// exitCode is Godot's exit code (-1 if killed); call it only once exited.
func (g *godot) exitCode() int { return g.cmd.ProcessState.ExitCode() }

func (g *godot) failIfExited(t *testing.T) {
	t.Helper()
	if g.exited() {
		t.Fatalf("%s exited early: %v", g.name, g.err)
	}
}

// passed waits for Godot to exit (at most godotTimeout) and checks that
// it exited 0 without script errors.
func (g *godot) passed(t *testing.T) {
	t.Helper()
	<-g.done
	if g.err != nil {
		t.Errorf("%s: %v", g.name, g.err)
	}
	if strings.Contains(g.out.String(), "SCRIPT ERROR") {
		t.Errorf("%s had script errors", g.name)
	}
}

// printed checks that Godot printed line.
func (g *godot) printed(t *testing.T, line string) {
	t.Helper()
	if !slices.Contains(strings.Split(g.out.String(), "\n"), line) {
		t.Errorf("%s did not print %q", g.name, line)
	}
}

var uniqueIDLine = regexp.MustCompile(`(?m)^unique_id (\d+)$`)

// uniqueID is the ID the script printed as "unique_id N".
func (g *godot) uniqueID(t *testing.T) int {
	t.Helper()
	m := uniqueIDLine.FindStringSubmatch(g.out.String())
	if m == nil {
		t.Fatalf("%s printed no unique_id", g.name)
	}
	id, err := strconv.Atoi(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// waitOutput waits until Godot prints want (true) or exits without
// printing it (false).
func (g *godot) waitOutput(t *testing.T, want string) bool {
	t.Helper()
	timer := time.NewTimer(godotWait)
	defer timer.Stop()
	for !strings.Contains(g.out.String(), want) {
		select {
		case <-g.out.wrote:
		case <-g.done:
			return strings.Contains(g.out.String(), want)
		case <-timer.C:
			t.Fatalf("%s did not print %q within %v", g.name, want, godotWait)
		}
	}
	return true
}

// godotOutput collects Godot's stdout and stderr and signals each write.
type godotOutput struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	wrote chan struct{}
}

func (o *godotOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	select {
	case o.wrote <- struct{}{}:
	default:
	}
	return o.buf.Write(p)
}

func (o *godotOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}
