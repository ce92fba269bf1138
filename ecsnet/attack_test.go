package ecsnet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/dtls/v3"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
)

// Attacks as the hostile-network issue lists them, each driven by raw UDP
// from Go on loopback. Every one asserts the same four things: the victim
// does not crash, its memory stays within heapBound, no Poll of it spends
// more than pollBound of CPU, a client that was connected keeps receiving
// every reliable packet in order, and a client that starts joining during
// the attack connects.
const (
	heapBound = 32 << 20
	// pollBound is CPU time of the polling thread, not wall time, so a
	// busy machine does not fail it; unguarded, the reorder attack took
	// 2.4 s in one Poll.
	pollBound = 50 * time.Millisecond
)

// ENet protocol values the raw attacker needs (protocol.h).
const (
	enetFlagCompressed = 1 << 14
	enetFlagSentTime   = 1 << 15
	enetCmdAck         = 1
	enetCmdConnect     = 2
	enetCmdVerify      = 3
	enetCmdReliable    = 6
	enetCmdFragment    = 8
	enetAckFlag        = 0x80
)

// rawENet is a hand-written ENet client on a plain UDP socket: it makes
// the handshake, then sends whatever datagrams a test builds, under the
// peer ID and session the server gave it.
type rawENet struct {
	t       testing.TB
	conn    *net.UDPConn
	to      *net.UDPAddr
	peerID  uint16 // the server's index for us
	session uint16
	ready   bool
}

func newRawENet(t testing.TB, n *testNet, port int) *rawENet {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	t.Cleanup(func() { c.Close() })
	r := &rawENet{t: t, conn: c, to: &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}}
	n.extra = append(n.extra, r.read)
	return r
}

// connectCommand is ENet's CONNECT as libenet's client sends it, asking for
// 3 channels, with Godot's client ID as its data.
func connectCommand(connectID, data uint32) []byte {
	c := []byte{enetCmdConnect | enetAckFlag, 0xFF, 0, 1, 0, 0, 0xFF, 0xFF}
	for _, v := range []uint32{1400, 65536, 3, 0, 0, 5000, 2, 2, connectID, data} {
		c = binary.BigEndian.AppendUint32(c, v)
	}
	return c
}

// connect sends a CONNECT as Godot client id and waits until srv has
// accepted it.
func (r *rawENet) connect(n *testNet, srv *Peer, id uint32) {
	r.t.Helper()
	r.write(append([]byte{0x0F, 0xFF}, connectCommand(rand.Uint32(), id)...))
	n.until(defaultWait, "the raw client's handshake", func() bool { return r.ready })
	n.waitEvent(srv, Event{PeerConnected, int(id)})
}

// read answers the server's VERIFY_CONNECT and ignores everything else.
func (r *rawENet) read() {
	buf := make([]byte, 4096)
	for {
		_ = r.conn.SetReadDeadline(time.Now().Add(100 * time.Microsecond))
		m, err := r.conn.Read(buf)
		if err != nil {
			return
		}
		d := buf[:m]
		if r.ready || m < 4+44 || binary.BigEndian.Uint16(d)&enetFlagSentTime == 0 || d[4]&0x0F != enetCmdVerify {
			continue
		}
		sent, seq, v := d[2:4], d[6:8], d[4:]
		r.peerID = binary.BigEndian.Uint16(v[4:])
		r.session = uint16(v[7]) & 3
		ack := []byte{enetCmdAck, 0xFF}
		ack = append(append(append(ack, seq...), seq...), sent...)
		r.send(ack)
		r.ready = true
	}
}

func (r *rawENet) write(d []byte) {
	if _, err := r.conn.WriteToUDP(d, r.to); err != nil && !errors.Is(err, net.ErrClosed) {
		r.t.Errorf("raw send: %v", err)
	}
}

// send sends commands in one datagram from the connected raw client.
func (r *rawENet) send(cmds ...[]byte) {
	h := binary.BigEndian.AppendUint16(nil, r.peerID|r.session<<12|enetFlagSentTime)
	d := append(h, 0, 0)
	for _, c := range cmds {
		d = append(d, c...)
	}
	r.write(d)
}

func reliableCommand(ch int, seq uint16, data []byte) []byte {
	c := []byte{enetCmdReliable | enetAckFlag, byte(ch)}
	c = binary.BigEndian.AppendUint16(c, seq)
	c = binary.BigEndian.AppendUint16(c, uint16(len(data)))
	return append(c, data...)
}

func fragmentCommand(ch int, start uint16, count, total uint32) []byte {
	c := []byte{enetCmdFragment | enetAckFlag, byte(ch)}
	c = binary.BigEndian.AppendUint16(c, start)
	c = binary.BigEndian.AppendUint16(c, start)
	c = binary.BigEndian.AppendUint16(c, 1)
	for _, v := range []uint32{count, 0, total, 0} {
		c = binary.BigEndian.AppendUint32(c, v)
	}
	return append(c, 'x')
}

// rss is the process's resident memory: libenet allocates with malloc,
// which the Go heap statistics do not see.
func rss(t testing.TB) int64 {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	must(t, err)
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			must(t, err)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS in /proc/self/status")
	return 0
}

// threadCPU is the CPU time the calling thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// siege runs one attack against victim (a server with an honest client
// connected, or a client): attack is called on every pump until it returns
// false, while reliable packets flow both ways between honest and its
// server and a new client joins srv. Then it checks the four promises.
type siege struct {
	t          *testing.T
	n          *testNet
	srv        *Peer // the server whose clients play through the attack
	honest     *Peer
	victim     *Peer // the peer under attack (srv unless a client is)
	joinConfig []func(*Peer)
}

func (s *siege) run(attack func(round int) bool) {
	t, n := s.t, s.n
	t.Helper()
	victim := s.victim
	if victim == nil {
		victim = s.srv
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	runtime.GC()
	before := rss(t)
	var worst time.Duration
	n.onPoll = func(p *Peer, cpu time.Duration) {
		if p == victim {
			worst = max(worst, cpu)
		}
	}
	defer func() { n.onPoll = nil }()

	const packets = 60
	sent := 0
	var joiner *Peer
	more := true
	for round := 0; ; round++ {
		if more {
			more = attack(round)
		}
		if sent < packets {
			send(t, s.honest, 1, TransferReliable, fmt.Sprintf("up %d", sent))
			send(t, s.srv, s.honest.UniqueID(), TransferReliable, fmt.Sprintf("down %d", sent))
			sent++
		}
		if round == 2 {
			joiner = n.client(s.srv, s.joinConfig...)
		}
		n.pump()
		if !more && sent == packets && round > 2 {
			break
		}
	}
	n.waitEvent(joiner, Event{ConnectionSucceeded, 0})
	n.until(defaultWait, "every reliable packet", func() bool {
		return countPrefix(n.received(s.srv), "up ") == packets && countPrefix(n.received(s.honest), "down ") == packets
	})
	for _, side := range []struct {
		p      *Peer
		prefix string
	}{{s.srv, "up "}, {s.honest, "down "}} {
		i := 0
		for _, d := range n.received(side.p) {
			if strings.HasPrefix(d, side.prefix) {
				if want := fmt.Sprintf("%s%d", side.prefix, i); d != want {
					t.Fatalf("got %q, want %q: reliable packets out of order", d, want)
				}
				i++
			}
		}
	}
	runtime.GC()
	if grew := rss(t) - before; grew > heapBound {
		t.Errorf("the victim's memory grew by %d MiB, bound %d MiB", grew>>20, heapBound>>20)
	}
	if worst > pollBound {
		t.Errorf("one Poll took %v of CPU, bound %v", worst, pollBound)
	}
}

func countPrefix(ss []string, prefix string) int {
	k := 0
	for _, s := range ss {
		if strings.HasPrefix(s, prefix) {
			k++
		}
	}
	return k
}

// udpTo sends raw datagrams to a port from a fresh socket on from.
func udpTo(t testing.TB, network, from string, port int) func([]byte) {
	t.Helper()
	c, err := net.ListenPacket(network, net.JoinHostPort(from, "0"))
	must(t, err)
	t.Cleanup(func() { c.Close() })
	to := &net.UDPAddr{IP: net.ParseIP(from), Port: port}
	if from == "127.0.0.2" {
		to.IP = net.IPv4(127, 0, 0, 1)
	}
	return func(d []byte) { _, _ = c.WriteTo(d, to) }
}

// withMode configures a compression mode, with one dictionary shared by
// every peer of the test for CompressZstdDict.
func withMode(t testing.TB, m CompressionMode) func(*Peer) {
	var dictionary []byte
	if m == CompressZstdDict {
		dictionary = testDictionary(t)
	}
	return withCompression(t, m, dictionary)
}

// The crash of libenet 1.3.17 with any Go codec: a bare header for no
// peer with the COMPRESSED and SENT_TIME flags. It used to take down
// servers, clients, the IPv6 path and DTLS servers; now it is counted as
// Short and everyone keeps playing, in every compression mode.
func TestTwoByteDatagramKillsNothing(t *testing.T) {
	twoBytes := []byte{0xCF, 0xFF}
	for _, mode := range allCompressionModes {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := withMode(t, mode)
			t.Run("server IPv4", func(t *testing.T) {
				n := newTestNet(t)
				srv := n.server(8, cfg)
				honest := n.connected(srv, cfg)
				hit := udpTo(t, "udp4", "127.0.0.1", srv.LocalPort())
				(&siege{t: t, n: n, srv: srv, honest: honest, joinConfig: []func(*Peer){cfg}}).run(func(round int) bool {
					hit(twoBytes)
					return round < 20
				})
				if got := srv.Stats().Guard.Short; got == 0 {
					t.Error("no Short drop counted")
				}
			})
			t.Run("server IPv6", func(t *testing.T) {
				n := newTestNet(t)
				srv := n.serverOn("::1", 8, cfg)
				honest := n.clientAt(srv, "::1", cfg)
				n.waitEvent(honest, Event{ConnectionSucceeded, 0})
				hit := udpTo(t, "udp6", "::1", srv.LocalPort())
				for range 20 {
					hit(twoBytes)
					n.pump()
				}
				n.until(defaultWait, "the Short drops counted", func() bool { return srv.Stats().Guard.Short > 0 })
				n.roundTrip(srv, honest, "after")
			})
			t.Run("client", func(t *testing.T) {
				n := newTestNet(t)
				srv := n.server(8, cfg)
				honest := n.connected(srv, cfg)
				hit := udpTo(t, "udp4", "127.0.0.1", honest.LocalPort())
				(&siege{t: t, n: n, srv: srv, honest: honest, victim: honest, joinConfig: []func(*Peer){cfg}}).run(func(round int) bool {
					hit(twoBytes)
					return round < 20
				})
				if got := honest.Stats().Guard.Short; got == 0 {
					t.Error("no Short drop counted on the client")
				}
			})
		})
	}
}

// The same datagram inside DTLS, from an anonymous sender who finished a
// handshake: the relay hands it to ENet, the guard drops it.
func TestTwoByteDatagramInsideDTLS(t *testing.T) {
	cert := newTestCert(t, certOptions{})
	for _, mode := range []CompressionMode{CompressZlib, CompressRangeCoder} {
		t.Run(mode.String(), func(t *testing.T) {
			cfg := withMode(t, mode)
			n := newTestNet(t)
			srv := n.server(8, dtlsServer(t, cert), cfg)
			honest := n.connected(srv, dtlsClient(t, cert.cert), cfg)
			conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
			must(t, err)
			tunnel := dialDTLS(t, n, conn, srv.LocalPort())
			for range 20 {
				_, err := tunnel.Write([]byte{0xCF, 0xFF})
				must(t, err)
				n.pump()
			}
			n.until(defaultWait, "the Short drops counted", func() bool { return srv.Stats().Guard.Short >= 20 })
			n.roundTrip(srv, honest, "after")
			late := n.connected(srv, dtlsClient(t, cert.cert), cfg)
			n.roundTrip(srv, late, "late")
		})
	}
}

// dialDTLS completes a DTLS handshake with the server on port as an
// anonymous client (no certificate checks), pumping n meanwhile.
func dialDTLS(t *testing.T, n *testNet, conn *net.UDPConn, port int) *dtls.Conn {
	t.Helper()
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}
	cl, err := dtls.Client(conn, to, &dtls.Config{InsecureSkipVerify: true, CipherSuites: dtlsSuites, LoggerFactory: quietLogs()})
	must(t, err)
	t.Cleanup(func() { cl.Close() })
	done := make(chan error, 1)
	go func() { done <- cl.Handshake() }()
	var herr error
	finished := false
	n.until(defaultWait, "the anonymous DTLS handshake", func() bool {
		select {
		case herr = <-done:
			finished = true
		default:
		}
		return finished
	})
	must(t, herr)
	return cl
}

// A connected client claims a million fragments for a one-byte packet,
// 800 times: libenet 1.3.17 allocated 128 KiB for each (10 -> 114 MiB).
// The guard drops them as FragmentCount, and past MaxAbuse the sender is
// disconnected.
func TestFragmentCountAmplification(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8)
	honest := n.connected(srv)
	raw := newRawENet(t, n, srv.LocalPort())
	raw.connect(n, srv, 4242)
	start := 1
	(&siege{t: t, n: n, srv: srv, honest: honest}).run(func(round int) bool {
		for range 10 {
			var cmds [][]byte
			for range 8 {
				cmds = append(cmds, fragmentCommand(1, uint16(start), 1<<20, 1))
				start++
			}
			raw.send(cmds...)
		}
		return start <= 800
	})
	st := srv.Stats()
	if st.Guard.FragmentCount == 0 || st.Guard.AbuseDisconnects != 1 {
		t.Errorf("guard %+v: want FragmentCount drops and one abuse disconnect", st.Guard)
	}
	n.waitEvent(srv, Event{PeerDisconnected, 4242})
}

// A connected client sends 28k reliable commands in decreasing sequence
// order (168 KB): every insertion walked libenet's whole queue, and one
// Poll stalled for 2.4 s. The guard keeps the queue within the reliable
// window and the walks within the reorder budget.
func TestDecreasingReliableCommands(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8)
	honest := n.connected(srv)
	raw := newRawENet(t, n, srv.LocalPort())
	raw.connect(n, srv, 4243)
	seq := 28670
	(&siege{t: t, n: n, srv: srv, honest: honest}).run(func(round int) bool {
		for range 4 {
			var cmds [][]byte
			for range 200 {
				if seq >= 2 {
					cmds = append(cmds, reliableCommand(1, uint16(seq), nil))
				}
				seq--
			}
			raw.send(cmds...)
		}
		return seq >= 2
	})
	if g := srv.Stats().Guard; g.ReliableWindow == 0 {
		t.Errorf("guard %+v: want ReliableWindow drops", g)
	}
}

// 10,000 compressed datagrams for no peer, each too long to be a CONNECT:
// libenet decompressed every one with the range coder before any check.
// The guard drops them unread: the server's decompressor never sees one.
func TestCompressedNoPeerDatagrams(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8, withMode(t, CompressRangeCoder))
	junk := make([]byte, 1000)
	for i := range junk {
		junk[i] = byte(rand.Uint32())
	}
	coder := countDecompressions(t, srv, junk)
	honest := n.connected(srv, withMode(t, CompressRangeCoder))
	hit := udpTo(t, "udp4", "127.0.0.1", srv.LocalPort())
	d := append([]byte{0xCF, 0xFF, 0, 0}, junk...) // compressed, sent time, no peer
	sent := 0
	s := &siege{t: t, n: n, srv: srv, honest: honest, joinConfig: []func(*Peer){withMode(t, CompressRangeCoder)}}
	s.run(func(round int) bool {
		for range 200 {
			hit(d)
			sent++
		}
		return sent < 10000
	})
	dropped := srv.Stats().Guard.CompressedNoPeer
	if got := coder.junk.Load(); got != 0 {
		t.Errorf("the server decompressed %d of the %d junk datagrams sent", got, sent)
	}
	if dropped == 0 {
		t.Error("no CompressedNoPeer drop counted")
	}
	// The honest clients' compressed traffic shows the counter is on the
	// server's receive path.
	honestCalls := coder.calls.Load() - coder.junk.Load()
	if honestCalls == 0 {
		t.Error("the server decompressed nothing from its clients: the count is not in its path")
	}
	t.Logf("%d dropped unread; %d honest datagrams decompressed", dropped, honestCalls)
}

// decompressionCounter is ENet's range coder counting the datagrams
// handed to its decompressor, and those whose compressed body is junk.
type decompressionCounter struct {
	*enethost.RangeCoder
	match       []byte
	calls, junk atomic.Uint64
}

func (c *decompressionCounter) Decompress(in, out []byte) int {
	c.calls.Add(1)
	if bytes.Equal(in, c.match) {
		c.junk.Add(1)
	}
	return c.RangeCoder.Decompress(in, out)
}

// countDecompressions puts a counting range coder in place of p's (p
// compresses with CompressRangeCoder), through the same guarded hook.
func countDecompressions(t *testing.T, p *Peer, junk []byte) *decompressionCounter {
	t.Helper()
	rc, err := enethost.NewRangeCoder()
	must(t, err)
	c := &decompressionCounter{RangeCoder: rc, match: junk}
	if err := p.host.SetCodec(c); err != nil {
		rc.Close()
		t.Fatal(err)
	}
	return c
}

// CONNECTs from many ports of one address used to lock a server of 8 slots
// for 31 s. Now one address holds at most MaxPendingPerAddress slots, so a
// newcomer from elsewhere joins during the flood.
func TestConnectFlood(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8, func(p *Peer) {
		// Longer than the test: the bound alone must let the newcomer in.
		// The flood comes from loopback, which only tests can do.
		must(t, p.SetGuardLimits(GuardLimits{PendingTimeout: time.Minute, LimitLoopback: true}))
	})
	honest := n.connected(srv)
	flood := floodFrom(t, "127.0.0.2", srv.LocalPort(), 50)
	// The flood fills every free slot before the newcomer tries.
	(&siege{t: t, n: n, srv: srv, honest: honest}).run(func(round int) bool {
		flood(25)
		return round < 1
	})
	g, limit := srv.Stats().Guard, uint64(srv.GuardLimits().MaxPendingPerAddress)
	if g.PendingLimit < 50-limit {
		t.Errorf("guard %+v: want the flood beyond %d pending refused", g, limit)
	}
}

// A handshake that never completes gives its slot back after
// PendingTimeout, and its address may try again.
func TestPendingHandshakesExpire(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8, func(p *Peer) {
		must(t, p.SetGuardLimits(GuardLimits{PendingTimeout: 300 * time.Millisecond, LimitLoopback: true}))
	})
	limit := uint64(srv.GuardLimits().MaxPendingPerAddress)
	flood := floodFrom(t, "127.0.0.2", srv.LocalPort(), 20)
	flood(10)
	n.until(defaultWait, "the pending handshakes to expire", func() bool {
		return srv.Stats().Guard.PendingExpired == limit
	})
	refused := srv.Stats().Guard.PendingLimit
	if refused != 10-limit {
		t.Errorf("%d refused of 10, want %d", refused, 10-limit)
	}
	flood(int(limit))
	n.until(defaultWait, "the new handshakes to expire too", func() bool {
		return srv.Stats().Guard.PendingExpired == 2*limit
	})
	if got := srv.Stats().Guard.PendingLimit; got != refused {
		t.Errorf("%d more refused after the slots came back", got-refused)
	}
}

// floodFrom returns a function that sends k CONNECTs, each from a new port
// of address from (a loopback address other than the honest clients').
func floodFrom(t testing.TB, from string, port, ports int) func(k int) {
	var hits []func([]byte)
	for range ports {
		hits = append(hits, udpTo(t, "udp4", from, port))
	}
	next := 0
	return func(k int) {
		for range k {
			hits[next%len(hits)](append([]byte{0x0F, 0xFF}, connectCommand(rand.Uint32(), 99)...))
			next++
		}
	}
}

// A client asking for one channel is refused at connect and counted, not
// accepted to fail every later broadcast.
func TestClientWithTooFewChannelsIsRefused(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8)
	honest := n.connected(srv)
	raw := newRawENet(t, n, srv.LocalPort())
	c := connectCommand(rand.Uint32(), 777)
	binary.BigEndian.PutUint32(c[16:], 1) // channel count
	raw.write(append([]byte{0x0F, 0xFF}, c...))
	n.until(defaultWait, "the refusal", func() bool { return srv.Stats().RefusedFewChannels == 1 })
	if got := srv.Peers(); len(got) != 1 || got[0] != honest.UniqueID() {
		t.Errorf("server peers %v", got)
	}
	send(t, srv, 0, TransferReliable, "to all")
	must(t, srv.PutPacket([]byte("again")))
	n.waitPacket(honest, "again")
}

// A datagram larger than libenet's buffer makes its receive fail; Poll goes
// past it instead of reporting the socket broken.
func TestOversizeDatagramDoesNotFailPoll(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8)
	honest := n.connected(srv)
	hit := udpTo(t, "udp4", "127.0.0.1", srv.LocalPort())
	for range 10 {
		hit(make([]byte, 6000))
	}
	n.until(defaultWait, "the failed receives counted", func() bool { return srv.Stats().Guard.ServiceErrors >= 10 })
	n.roundTrip(srv, honest, "after")
}
