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

// godotCompressions are the compression modes the exchange tests run in:
// every one Godot 3.2 has.
var godotCompressions = []CompressionMode{CompressNone, CompressRangeCoder, CompressFastLZ, CompressZlib, CompressZstd}

// A Godot client connects to a netburi server on channel_count 4, in each
// compression mode. Both sides send a packet in every transfer mode, on the
// mode's default channel and on channel 3, and some larger compressible
// ones; each packet arrives intact from the sender's ID on the channel its
// mode and transfer channel imply.
func TestGodotClientOnGoServer(t *testing.T) {
	for _, mode := range godotCompressions {
		t.Run("compression="+mode.String(), func(t *testing.T) { testGodotClientOnGoServer(t, mode) })
	}
}

func testGodotClientOnGoServer(t *testing.T, mode CompressionMode) {
	n := newTestNet(t)
	srv := n.server(1, func(p *Peer) {
		must(t, p.SetChannelCount(4))
		must(t, p.SetCompressionMode(mode))
	})
	g := startGodot(t, "Godot client", "exchange.gd", "client", strconv.Itoa(srv.LocalPort()), strconv.Itoa(int(mode)))

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
	x := exchangeWithGodot(t, n, srv, godotID, g)

	g.passed(t)
	g.printed(t, fmt.Sprintf("unique_id %d", godotID)) // the ID it chose is the one we saw
	g.printed(t, "peer_connected 1")
	checkGodotExchange(t, mode, srv, g, x)
}

// A netburi client connects to a Godot server on channel_count 4, in each
// compression mode, and they exchange packets as in
// TestGodotClientOnGoServer: the server's packets come from 1, the
// client's from its UniqueID.
func TestGoClientOnGodotServer(t *testing.T) {
	for _, mode := range godotCompressions {
		t.Run("compression="+mode.String(), func(t *testing.T) { testGoClientOnGodotServer(t, mode) })
	}
}

func testGoClientOnGodotServer(t *testing.T, mode CompressionMode) {
	port, g := startGodotServer(t, mode)
	n := newTestNet(t)
	cl := NewPeer()
	must(t, cl.SetChannelCount(4))
	must(t, cl.SetCompressionMode(mode))
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
	x := exchangeWithGodot(t, n, cl, 1, g)

	g.passed(t)
	g.printed(t, fmt.Sprintf("peer_connected %d", clientID)) // the server saw our ID
	checkGodotExchange(t, mode, cl, g, x)
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
// default channel and on channel 3, then compressible payloads, two of them
// larger than the MTU (so ENet fragments them), and the channel each packet
// arrives on.
var godotCases = []struct {
	mode     TransferMode
	transfer int // transfer channel; -1 = by mode
	arrives  int
	size     int  // 0: just the header
	records  bool // filled with binary records, not lines of text
}{
	{TransferUnreliable, -1, 2, 0, false},
	{TransferUnreliableOrdered, -1, 2, 0, false},
	{TransferReliable, -1, 1, 0, false},
	{TransferUnreliable, 3, 3, 0, false},
	{TransferUnreliableOrdered, 3, 3, 0, false},
	{TransferReliable, 3, 3, 0, false},
	{TransferUnreliable, -1, 2, 500, true},
	{TransferReliable, -1, 1, 700, false},
	{TransferReliable, 3, 3, 5000, true},
	{TransferReliable, -1, 1, 12000, false},
}

// caseHeader is a case's payload without the filler.
func caseHeader(mode TransferMode, transfer, size int) string {
	if size == 0 {
		return fmt.Sprintf("mode %d channel %d", int(mode), transfer)
	}
	return fmt.Sprintf("mode %d channel %d size %d", int(mode), transfer, size)
}

// casePayload is payload() in exchange.gd: the header, then for sized
// cases a newline and filler up to the size, numbered lines of text or
// numbered 64-byte binary records (a counter, 14 fixed bytes and 48 zeros).
func casePayload(mode TransferMode, transfer, size int, records bool) string {
	b := []byte(caseHeader(mode, transfer, size))
	if size == 0 {
		return string(b)
	}
	b = append(b, '\n')
	for k := 0; len(b) < size; k++ {
		if records {
			b = append(b, byte(k), byte(k>>8))
			for i := 2; i < 16; i++ {
				b = append(b, byte(i*3))
			}
			b = append(b, make([]byte, 48)...)
		} else {
			b = fmt.Appendf(b, "line %d: the quick brown fox jumps over the lazy dog; the quick brown fox jumps over the lazy dog\n", k)
		}
	}
	return string(b[:size])
}

// describePayload names a packet for messages: short text as it is, else
// its size, first bytes and, if its first line is a case's header, where it
// first differs from that case's payload.
func describePayload(data string) string {
	line, _, multiline := strings.Cut(data, "\n")
	if !multiline && len(data) <= 64 {
		return strconv.Quote(data)
	}
	what := fmt.Sprintf("%d bytes starting %x", len(data), data[:min(len(data), 32)])
	for _, c := range godotCases {
		if c.size > 0 && line == caseHeader(c.mode, c.transfer, c.size) {
			want := casePayload(c.mode, c.transfer, c.size, c.records)
			at := 0
			for at < len(data) && at < len(want) && data[at] == want[at] {
				at++
			}
			what += fmt.Sprintf(" (%s: %d bytes, first difference at byte %d)", line, len(want), at)
		}
	}
	return what
}

// godotExchange is what exchangeWithGodot measured on the netburi peer:
// the payload bytes it received and sent, and its host counters, taken
// together at the last poll while its host was open (a client's host
// closes when the Godot server quits).
type godotExchange struct {
	payloadIn, payloadOut uint64
	host                  HostStats
}

// exchangeWithGodot plays netburi's half of exchange.gd on p, connected to
// the Godot script g as peer remoteID: it sends every case to remoteID,
// the reliable ones once and the others every resendEvery, until Godot says
// "done", says "done" (reliably) once it has received every case, and
// checks each packet's content, sender and channel. It returns once Godot
// has exited and both halves are done.
func exchangeWithGodot(t *testing.T, n *testNet, p *Peer, remoteID int, g *godot) godotExchange {
	t.Helper()
	arrives := map[string]int{"done": 1}
	payloads := make([]string, len(godotCases))
	for i, c := range godotCases {
		payloads[i] = casePayload(c.mode, c.transfer, c.size, c.records)
		arrives[payloads[i]] = c.arrives
	}
	received := map[string]bool{}
	sentDone, gotDone := false, false
	var lastSend time.Time
	checked := 0
	var x, counted godotExchange
	n.until(godotWait, "the packet exchange with Godot", func() bool {
		for _, pk := range n.packets[p][checked:] {
			data := string(pk.Data)
			counted.payloadIn += uint64(len(data))
			want, known := arrives[data]
			switch {
			case !known:
				t.Errorf("unexpected packet %s from %d", describePayload(data), pk.From)
			case pk.From != remoteID || pk.Channel != want:
				t.Errorf("%s came from %d on channel %d, want from %d on channel %d",
					describePayload(data), pk.From, pk.Channel, remoteID, want)
			case data == "done":
				gotDone = true
			default:
				received[data] = true
			}
		}
		checked = len(n.packets[p])
		if p.active {
			// Whatever was sent before the last poll is on the wire now.
			x = counted
			x.host = p.Stats()
		}

		connected := slices.Contains(p.Peers(), remoteID)
		if connected && !gotDone && time.Since(lastSend) >= resendEvery {
			first := lastSend.IsZero()
			lastSend = time.Now()
			for i, c := range godotCases {
				if first || c.mode != TransferReliable {
					sendOn(t, p, remoteID, c.mode, c.transfer, payloads[i])
					counted.payloadOut += uint64(len(payloads[i]))
				}
			}
		}
		if connected && !sentDone && len(received) == len(godotCases) {
			sendOn(t, p, remoteID, TransferReliable, -1, "done")
			counted.payloadOut += uint64(len("done"))
			sentDone = true
		}
		complete := sentDone && gotDone
		if g.exited() && !complete && (!g.ok() || !connected) {
			t.Fatalf("%s exited (%v) before the exchange was complete: received %d of %d cases, sent done %v, got done %v, %d datagrams failed to decompress",
				g.name, g.err, len(received), len(godotCases), sentDone, gotDone, p.Stats().DecompressFailed)
		}
		return complete && g.exited()
	})
	return x
}

// checkGodotExchange checks that the exchange ran in the compression mode:
// Godot used it and verified every sized payload, no datagram failed to
// decompress, and with compression the UDP bytes were clearly fewer than
// the payload bytes, both ways.
//
// Uncompressed, every payload byte crosses the wire at least once, with
// headers: UDP bytes are never fewer than payload bytes (checked in mode
// none, so the measure is sound). The compressible payloads shrink to
// under a fifth, overhead included. ENet's retransmissions add bytes (and
// on a busy machine it resends spuriously: its loopback RTT estimate is a
// millisecond or so); the bound allows the whole exchange to cross the wire
// about three times.
func checkGodotExchange(t *testing.T, mode CompressionMode, p *Peer, g *godot, x godotExchange) {
	t.Helper()
	g.printed(t, fmt.Sprintf("compression_mode %d", int(mode)))
	for _, c := range godotCases {
		if c.size > 0 {
			g.printed(t, fmt.Sprintf("verified %s (%d bytes)", caseHeader(c.mode, c.transfer, c.size), c.size))
		}
	}
	// Only FastLZ, zlib and zstd count failures: ENet's range coder drops
	// what it cannot decode without telling.
	if failed := p.Stats().DecompressFailed; failed != 0 {
		t.Errorf("%d datagrams failed to decompress", failed)
	}
	in, out := uint64(x.host.BytesReceived), uint64(x.host.BytesSent)
	t.Logf("%v: received %d UDP bytes (%d datagrams) for %d payload bytes, sent %d UDP bytes (%d datagrams) for %d payload bytes",
		mode, in, x.host.DatagramsReceived, x.payloadIn, out, x.host.DatagramsSent, x.payloadOut)
	if mode == CompressNone {
		if in < x.payloadIn || out < x.payloadOut {
			t.Errorf("uncompressed, yet fewer UDP bytes than payload bytes: received %d for %d, sent %d for %d",
				in, x.payloadIn, out, x.payloadOut)
		}
		return
	}
	if 2*in >= x.payloadIn {
		t.Errorf("received %d UDP bytes (%d datagrams) for %d payload bytes: not half, so barely compressed",
			in, x.host.DatagramsReceived, x.payloadIn)
	}
	if 2*out >= x.payloadOut {
		t.Errorf("sent %d UDP bytes (%d datagrams) for %d payload bytes: not half, so barely compressed",
			out, x.host.DatagramsSent, x.payloadOut)
	}
}

func sendOn(t *testing.T, p *Peer, target int, mode TransferMode, transfer int, data string) {
	t.Helper()
	must(t, p.SetTransferChannel(transfer))
	send(t, p, target, mode, data)
}

// startGodotServer starts exchange.gd as a server on 127.0.0.1 in the
// compression mode and returns its port once it listens.
//
// An exception to the tests' port-0 rule: Godot 3.2.3 cannot report the
// port it bound when given 0, so the test asks the kernel for a free UDP
// port, releases it and hands it to Godot. Someone may take it in between;
// then Godot exits with code 3 and the test tries another port.
func startGodotServer(t *testing.T, mode CompressionMode) (int, *godot) {
	t.Helper()
	const attempts = 3
	for attempt := 1; attempt <= attempts; attempt++ {
		port := freeUDPPort(t)
		g := startGodot(t, fmt.Sprintf("Godot server (attempt %d)", attempt), "exchange.gd", "server", strconv.Itoa(port), strconv.Itoa(int(mode)))
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
	return startGodotBinary(t, godotBinary(t), name, script, args...)
}

// startGodotBinary is startGodot with the Godot binary bin.
func startGodotBinary(t *testing.T, bin, name, script string, args ...string) *godot {
	t.Helper()
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
