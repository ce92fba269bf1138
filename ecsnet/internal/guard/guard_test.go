package guard

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"
)

// fakeHost is a View over peer slots a test sets up.
type fakeHost struct {
	peers     []Peer
	addrs     []netip.Addr
	delivered map[[2]int]uint16
	src       netip.Addr
	now       uint32
}

func newFakeHost(n int) *fakeHost {
	h := &fakeHost{peers: make([]Peer, n), addrs: make([]netip.Addr, n), delivered: map[[2]int]uint16{},
		src: netip.MustParseAddr("203.0.113.7")}
	return h
}

// connect puts a connected peer in slot i that the next datagrams come from.
func (h *fakeHost) connect(i int) {
	h.peers[i] = Peer{State: 5, ConnectID: uint32(1000 + i), FromSource: true, OutgoingPeerID: 0, IncomingSessID: 1, MTU: 1400, Channels: 3}
	h.addrs[i] = h.src
}

func (h *fakeHost) Peers() int                 { return len(h.peers) }
func (h *fakeHost) Peer(i int) Peer            { return h.peers[i] }
func (h *fakeHost) Delivered(i, ch int) uint16 { return h.delivered[[2]int{i, ch}] }
func (h *fakeHost) Source() netip.Addr         { return h.src }
func (h *fakeHost) PeerAddr(i int) netip.Addr  { return h.addrs[i] }
func (h *fakeHost) Now() uint32                { return h.now }

// datagram builds an ENet datagram for peer (0xFFF: none) in session 1.
func datagram(peer int, compressed bool, cmds ...[]byte) []byte {
	v := uint16(peer) | 1<<sessionShift | flagSentTime
	if compressed {
		v |= flagCompressed
	}
	d := binary.BigEndian.AppendUint16(nil, v)
	d = append(d, 0, 0) // sent time
	for _, c := range cmds {
		d = append(d, c...)
	}
	return d
}

func connectCmd() []byte {
	c := make([]byte, connectSize)
	c[0] = cmdConnect | 0x80
	c[1] = 0xFF
	return c
}

func reliable(ch int, seq uint16, data string) []byte {
	c := []byte{cmdSendReliable | 0x80, byte(ch)}
	c = binary.BigEndian.AppendUint16(c, seq)
	c = binary.BigEndian.AppendUint16(c, uint16(len(data)))
	return append(c, data...)
}

func unreliable(ch int, seq, useq uint16, data string) []byte {
	c := []byte{cmdSendUnreliable, byte(ch)}
	c = binary.BigEndian.AppendUint16(c, seq)
	c = binary.BigEndian.AppendUint16(c, useq)
	c = binary.BigEndian.AppendUint16(c, uint16(len(data)))
	return append(c, data...)
}

func fragment(ch int, start uint16, count, number, total, offset uint32, data string) []byte {
	c := []byte{cmdSendFragment | 0x80, byte(ch)}
	c = binary.BigEndian.AppendUint16(c, start+uint16(number))
	c = binary.BigEndian.AppendUint16(c, start)
	c = binary.BigEndian.AppendUint16(c, uint16(len(data)))
	for _, v := range []uint32{count, number, total, offset} {
		c = binary.BigEndian.AppendUint32(c, v)
	}
	return append(c, data...)
}

func ping() []byte { return []byte{cmdPing | 0x80, 0xFF, 0, 1} }

// expect checks that Inspect drops d under rule want (None: passes), and
// that the drop is counted under that rule alone.
func expect(t *testing.T, g *Guard, h *fakeHost, d []byte, want Rule) {
	t.Helper()
	before := g.Counts()
	dropped := g.Inspect(d, h)
	after := g.Counts()
	if dropped != (want != None) {
		t.Fatalf("% x: dropped %v, want rule %v", d, dropped, want)
	}
	for r := Rule(1); r < NumRules; r++ {
		grew := after[r] - before[r]
		if (r == want && grew != 1) || (r != want && grew != 0) {
			t.Fatalf("% x: rule %v counted %d more, want drop by %v", d, r, grew, want)
		}
	}
}

func TestDatagramShorterThanItsHeaderIsDropped(t *testing.T) {
	g, h := New(Config{}, 4), newFakeHost(4)
	// The crash of libenet 1.3.17 with any Go codec: 0xFFF with the
	// COMPRESSED and SENT_TIME flags, and nothing else.
	expect(t, g, h, []byte{0xCF, 0xFF}, Short)
	expect(t, g, h, []byte{0xCF, 0xFF, 0}, Short)
	expect(t, g, h, []byte{0x0F}, Short)
	expect(t, g, h, nil, Short)
}

func TestFromNoPeerOnlyOneConnectPasses(t *testing.T) {
	g, h := New(Config{}, 4), newFakeHost(4)
	expect(t, g, h, datagram(noPeer, false, connectCmd()), None)
	expect(t, g, h, datagram(noPeer, false, ping()), NotConnect)
	expect(t, g, h, datagram(noPeer, false, connectCmd(), ping()), NotConnect)
	expect(t, g, h, datagram(noPeer, false, connectCmd()[:40]), NotConnect)
	expect(t, g, h, datagram(noPeer, false), NotConnect)
}

func TestCompressedFromNoPeerMustBeASmallerConnect(t *testing.T) {
	g, h := New(Config{}, 4), newFakeHost(4)
	expect(t, g, h, datagram(noPeer, true, make([]byte, connectSize)), CompressedNoPeer)
	expect(t, g, h, datagram(noPeer, true, make([]byte, 4000)), CompressedNoPeer)

	expect(t, g, h, datagram(noPeer, true, make([]byte, 30)), None)
	if got := g.DecompressLimit(); got != connectSize {
		t.Fatalf("a compressed CONNECT may decompress to %d bytes, want %d", got, connectSize)
	}
	if g.Decompressed(connectCmd(), h) {
		t.Fatal("a compressed CONNECT was dropped")
	}

	expect(t, g, h, datagram(noPeer, true, make([]byte, 30)), None)
	if !g.Decompressed(ping(), h) || g.Counts()[NotConnect] != 1 {
		t.Fatal("a compressed datagram from no peer that is not a CONNECT passed")
	}
	expect(t, g, h, datagram(noPeer, true, make([]byte, 30)), None)
	if !g.Decompressed(nil, h) || g.Counts()[Decompress] != 1 {
		t.Fatal("a failed decompression was not dropped and counted")
	}
}

func TestPendingHandshakesAreBoundedPerAddress(t *testing.T) {
	g, h := New(Config{MaxPendingPerAddress: 2, PendingTimeout: time.Second}, 8), newFakeHost(8)
	attacker, honest := h.src, netip.MustParseAddr("198.51.100.1")
	expect(t, g, h, datagram(noPeer, false, connectCmd()), None)
	expect(t, g, h, datagram(noPeer, true, make([]byte, 20)), None)
	g.Decompressed(connectCmd(), h)
	expect(t, g, h, datagram(noPeer, false, connectCmd()), PendingLimit)
	expect(t, g, h, datagram(noPeer, true, make([]byte, 20)), PendingLimit)
	h.src = honest
	expect(t, g, h, datagram(noPeer, false, connectCmd()), None)

	// libenet made peers of the three that passed; the sweep recounts them.
	for i, a := range []netip.Addr{attacker, attacker, honest} {
		h.peers[i] = Peer{State: StateAcknowledgingConnect, ConnectID: uint32(i + 1)}
		h.addrs[i] = a
	}
	h.now = 150
	if exp := g.Sweep(h); len(exp) != 0 {
		t.Fatalf("expired %v at once", exp)
	}
	h.src = attacker
	expect(t, g, h, datagram(noPeer, false, connectCmd()), PendingLimit)

	// The honest one completes; the attacker's never do and are freed.
	h.peers[2].State = 5
	h.now = 150 + 900
	if exp := g.Sweep(h); len(exp) != 0 {
		t.Fatalf("expired %v before the timeout", exp)
	}
	h.now = 150 + 1000
	if exp := g.Sweep(h); len(exp) != 2 || exp[0] != 0 || exp[1] != 1 {
		t.Fatalf("expired %v, want the attacker's slots 0 and 1", exp)
	}
}

func TestLoopbackHandshakesAreNotBoundedUnlessAsked(t *testing.T) {
	g, h := New(Config{MaxPendingPerAddress: 1}, 8), newFakeHost(8)
	h.src = netip.MustParseAddr("127.0.0.1")
	for range 5 {
		expect(t, g, h, datagram(noPeer, false, connectCmd()), None)
	}
	g = New(Config{MaxPendingPerAddress: 1, LimitLoopback: true}, 8)
	expect(t, g, h, datagram(noPeer, false, connectCmd()), None)
	expect(t, g, h, datagram(noPeer, false, connectCmd()), PendingLimit)
}

func TestDatagramsForAnotherPeerOrSessionAreDropped(t *testing.T) {
	g, h := New(Config{}, 4), newFakeHost(4)
	h.connect(1)
	expect(t, g, h, datagram(1, false, ping()), None)
	expect(t, g, h, datagram(7, false, ping()), UnknownPeer)
	expect(t, g, h, datagram(2, false, ping()), UnknownPeer) // a free slot
	h.peers[1].IncomingSessID = 2
	expect(t, g, h, datagram(1, false, ping()), UnknownPeer)
	h.peers[1].IncomingSessID = 1
	h.peers[1].FromSource = false
	expect(t, g, h, datagram(1, false, ping()), UnknownPeer)
}

func TestMalformedCommandsAreDropped(t *testing.T) {
	g, h := New(Config{}, 4), newFakeHost(4)
	h.connect(0)
	cases := []struct {
		name string
		d    []byte
		want Rule
	}{
		{"a ping", datagram(0, false, ping()), None},
		{"data of its stated length", datagram(0, false, reliable(1, 1, "hello")), None},
		{"a command header cut short", datagram(0, false, ping(), []byte{cmdPing, 0}), Truncated},
		{"a command cut short", datagram(0, false, reliable(1, 1, "")[:5]), Truncated},
		{"data longer than the datagram", datagram(0, false, reliable(1, 1, "hello")[:9]), Truncated},
		{"command 0", datagram(0, false, []byte{0, 0, 0, 0}), BadCommand},
		{"command 13", datagram(0, false, []byte{13, 0, 0, 0, 0, 0, 0, 0}), BadCommand},
		{"CONNECT from a connected peer", datagram(0, false, connectCmd()), BadCommand},
		{"a send on channel 3 of 3", datagram(0, false, reliable(3, 1, "x")), BadChannel},
		{"an unsequenced send on channel 9", datagram(0, false, []byte{cmdSendUnsequenced, 9, 0, 0, 0, 1, 0, 0}), BadChannel},
		{"larger than the MTU", datagram(0, false, reliable(1, 1, string(make([]byte, 1400)))), Oversize},
		{"compressed but larger than the MTU", datagram(0, true, make([]byte, 1500)), Oversize},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { expect(t, g, h, c.d, c.want) })
	}
}

func TestFragmentCountMustFitTheTotalLength(t *testing.T) {
	g, h := New(Config{}, 4), newFakeHost(4)
	h.connect(0)
	// libenet 1.3.17 allocates and zeroes count/8 bytes for a new packet.
	expect(t, g, h, datagram(0, false, fragment(1, 1, 1<<20, 0, 10, 0, "x")), FragmentCount)
	expect(t, g, h, datagram(0, false, fragment(1, 1, 2, 0, 548, 0, "x")), FragmentCount)
	expect(t, g, h, datagram(0, false, fragment(1, 1, 1, 0, 548, 0, "x")), None)
	expect(t, g, h, datagram(0, false, fragment(1, 1, 2, 1, 549, 548, "x")), None)
	const big = 16 << 20
	expect(t, g, h, datagram(0, false, fragment(1, 1, (big+547)/548, 3, big, 3*548, "x")), None)
	unrel := fragment(1, 0, 1<<20, 0, 10, 0, "x")
	unrel[0] = cmdSendUnreliableFrag
	expect(t, g, h, datagram(0, false, unrel), FragmentCount)
}

func TestCommandsFarAheadOfDeliveryAreDropped(t *testing.T) {
	g, h := New(Config{ReliableWindow: 100}, 4), newFakeHost(4)
	h.connect(0)
	const delivered = 65500 // near the wrap
	h.delivered[[2]int{0, 1}] = delivered
	at := func(d int) uint16 { return uint16((delivered + d) % 65536) }
	expect(t, g, h, datagram(0, false, reliable(1, 65501, "next")), None)
	expect(t, g, h, datagram(0, false, reliable(1, at(100), "last in window")), None)
	expect(t, g, h, datagram(0, false, reliable(1, at(101), "beyond")), ReliableWindow)
	expect(t, g, h, datagram(0, false, unreliable(1, at(101), 1, "beyond")), ReliableWindow)
	// Old (already delivered) and very far ahead: libenet discards them
	// without looking at its queue.
	expect(t, g, h, datagram(0, false, reliable(1, 65400, "old")), None)
	expect(t, g, h, datagram(0, false, reliable(1, at(30000), "far")), None)
}

func TestOutOfOrderCommandsSpendABudget(t *testing.T) {
	g, h := New(Config{ReorderBurst: 100, ReorderPerSecond: 1000}, 4), newFakeHost(4)
	h.connect(0)
	// In order costs nothing.
	for i := range 500 {
		h.delivered[[2]int{0, 1}] = uint16(i)
		expect(t, g, h, datagram(0, false, reliable(1, uint16(i+1), "")), None)
	}
	// A burst in one datagram is in order too, although all but its first
	// command are ahead of what the channel had delivered when it came.
	h.delivered[[2]int{0, 1}] = 500
	h.delivered[[2]int{0, 2}] = 7
	var burst [][]byte
	for k := range 60 {
		burst = append(burst, reliable(1, uint16(501+k), ""), reliable(2, uint16(8+k), ""), unreliable(1, uint16(501+k), 1, ""))
	}
	expect(t, g, h, datagram(0, false, burst...), None)
	if g.slots[0].tokens != 100 {
		t.Fatalf("an in-order burst spent %d tokens", 100-g.slots[0].tokens)
	}
	// So are the pieces of the packet next in line, in any number of
	// datagrams: libenet delivers nothing before the last one.
	h.delivered[[2]int{0, 1}] = 1000
	for k := range 200 {
		expect(t, g, h, datagram(0, false, fragment(1, 1001, 200, uint32(k), 200*548, uint32(k)*548, "x")), None)
	}
	if g.slots[0].tokens != 100 {
		t.Fatalf("the pieces of the next packet spent %d tokens", 100-g.slots[0].tokens)
	}
	// Decreasing order: each makes libenet walk its whole queue.
	h.delivered[[2]int{0, 1}] = 0
	seq := uint16(1000)
	for range 100 {
		expect(t, g, h, datagram(0, false, reliable(1, seq, "")), None)
		seq--
	}
	expect(t, g, h, datagram(0, false, reliable(1, seq, "")), ReorderBudget)
	h.now += 10 // 10 tokens back
	cmds := [][]byte{}
	for range 10 {
		cmds = append(cmds, reliable(1, seq, ""))
		seq--
	}
	expect(t, g, h, datagram(0, false, cmds...), None)
	expect(t, g, h, datagram(0, false, reliable(1, seq, "")), ReorderBudget)
	// The budget drops are not abuse: an honest peer on a reordering link
	// can run out.
	if a := g.Abusive(); len(a) != 0 {
		t.Fatalf("flagged %v for reordering", a)
	}
}

func TestMalformedSendersAreFlaggedOnce(t *testing.T) {
	g, h := New(Config{MaxAbuse: 3}, 4), newFakeHost(4)
	h.connect(2)
	bad := datagram(2, false, []byte{0, 0, 0, 0})
	for range 2 {
		expect(t, g, h, bad, BadCommand)
	}
	if a := g.Abusive(); len(a) != 0 {
		t.Fatalf("flagged %v below the limit", a)
	}
	expect(t, g, h, bad, BadCommand)
	expect(t, g, h, bad, BadCommand)
	if a := g.Abusive(); len(a) != 1 || a[0] != 2 {
		t.Fatalf("flagged %v, want slot 2 once", a)
	}
	// A new connection in the slot starts clean.
	h.peers[2].ConnectID++
	expect(t, g, h, bad, BadCommand)
	if a := g.Abusive(); len(a) != 0 {
		t.Fatalf("the new connection inherited the old one's record: %v", a)
	}
}

func TestCompressedPeerDatagramsAreJudgedOnceDecompressed(t *testing.T) {
	g, h := New(Config{}, 4), newFakeHost(4)
	h.connect(0)
	expect(t, g, h, datagram(0, true, make([]byte, 100)), None)
	if got := g.DecompressLimit(); got != 1400-4 {
		t.Fatalf("decompress limit %d, want the MTU less the header", got)
	}
	if !g.Decompressed(fragment(1, 1, 1<<20, 0, 10, 0, ""), h) || g.Counts()[FragmentCount] != 1 {
		t.Fatal("a decompressed amplification fragment passed")
	}
	expect(t, g, h, datagram(0, true, make([]byte, 100)), None)
	if g.Decompressed(reliable(1, 1, "fine"), h) {
		t.Fatal("honest decompressed commands were dropped")
	}
	if g.Decompressed(reliable(1, 1, "no Inspect before"), h) {
		t.Fatal("Decompressed judged a datagram Inspect did not pass as compressed")
	}
}

func TestMaxFragments(t *testing.T) {
	for _, c := range []struct{ total, want uint32 }{{0, 1}, {1, 1}, {548, 1}, {549, 2}, {1 << 30, maxFragmentsPerPacket}} {
		if got := maxFragments(c.total); got != c.want {
			t.Errorf("maxFragments(%d) = %d, want %d", c.total, got, c.want)
		}
	}
}
