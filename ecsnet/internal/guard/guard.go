// Package guard judges every datagram an ENet host receives before libenet
// parses it, in pure Go on the raw bytes: what libenet 1.3.17 would let an
// attacker turn into a crash, a stall or a pile of memory is dropped and
// counted by rule. The cgo layer (enethost) calls Inspect from ENet's
// intercept hook, Decompressed from its decompressor hook and Sweep from
// every Poll, all on the goroutine that owns the host; a Guard is not safe
// for concurrent use.
package guard

import (
	"encoding/binary"
	"net/netip"
	"time"
)

// Rule names why the guard dropped a datagram.
type Rule int

// The rules, each with the libenet behaviour it protects against.
const (
	// None: the datagram passes.
	None Rule = iota
	// Short: shorter than the protocol header its flags announce. libenet
	// subtracts the full header size from the length and hands the
	// decompressor a length near 2^64.
	Short
	// UnknownPeer: addressed to a peer slot that does not exist, is free,
	// or belongs to another address or session. libenet drops these too;
	// the guard drops them first so they are counted and never reach a
	// decompressor.
	UnknownPeer
	// NotConnect: addressed to no peer but not exactly one CONNECT command,
	// the only thing libenet accepts from an unknown sender.
	NotConnect
	// CompressedNoPeer: addressed to no peer, compressed, and too long to
	// be a compressed CONNECT. libenet decompresses such datagrams before
	// any check, so each one costs the server a full decompression.
	CompressedNoPeer
	// PendingLimit: a CONNECT from an address that already has as many
	// handshakes pending as it may. Each CONNECT takes a peer slot until
	// the handshake completes or libenet times it out (about 30 s).
	PendingLimit
	// Oversize: larger than the sending peer's MTU (ENet's senders never
	// exceed it).
	Oversize
	// Truncated: a command header or a command's data runs past the end of
	// the datagram.
	Truncated
	// BadCommand: a command number libenet does not know, or a CONNECT
	// from a peer that is already connected.
	BadCommand
	// BadChannel: a send on a channel the peer does not have.
	BadChannel
	// FragmentCount: a fragment that claims more fragments than its total
	// length can need. libenet allocates and zeroes a bitmap of the claimed
	// count (up to 128 KiB) for every new fragmented packet.
	FragmentCount
	// ReliableWindow: a command queued further ahead of the channel's
	// delivered sequence number than the configured window. libenet keeps
	// up to 28,671 of them per channel, in a list that each insertion walks.
	ReliableWindow
	// ReorderBudget: the peer has spent its budget of out-of-order
	// commands. Each one makes libenet walk the waiting list; sent in
	// decreasing order, every insertion walks all of it.
	ReorderBudget
	// Decompress: the datagram did not decompress, or decompressed to more
	// than the peer may send.
	Decompress
	// HookFailed: a hook was handed a length outside ENet's buffers, or
	// panicked; the datagram is dropped and the host keeps serving.
	HookFailed
	// NumRules is the number of rules, None included.
	NumRules
)

var ruleNames = [NumRules]string{
	"None", "Short", "UnknownPeer", "NotConnect", "CompressedNoPeer", "PendingLimit", "Oversize",
	"Truncated", "BadCommand", "BadChannel", "FragmentCount", "ReliableWindow", "ReorderBudget",
	"Decompress", "HookFailed",
}

func (r Rule) String() string {
	if r < 0 || r >= NumRules {
		return "Rule(?)"
	}
	return ruleNames[r]
}

// abusive reports whether an honest ENet peer can never break rule r, so
// that breaking it counts towards disconnecting the sender.
func (r Rule) abusive() bool {
	switch r {
	case Oversize, Truncated, BadCommand, BadChannel, FragmentCount, Decompress:
		return true
	}
	return false
}

// Counts are drops by rule (index None is unused).
type Counts [NumRules]uint64

// Config bounds what a sender may cost. Zero fields take the defaults.
type Config struct {
	// ReliableWindow is how many sequence numbers ahead of what a channel
	// has delivered a command may arrive and wait (default 1024).
	ReliableWindow int
	// ReorderBurst and ReorderPerSecond bound the out-of-order commands a
	// peer may send: a token bucket of ReorderBurst tokens refilled at
	// ReorderPerSecond (defaults 8192 and 8192).
	ReorderBurst, ReorderPerSecond int
	// MaxPendingPerAddress bounds the handshakes one IP address may have
	// pending on a server at once (default 4). Behind the relay (DTLS,
	// IPv6, link conditioner) the address is the real remote's.
	MaxPendingPerAddress int
	// LimitLoopback bounds loopback addresses too. By default they are
	// exempt: no remote can send from them, and bots or a load test on the
	// server's machine connect many at once. (A load test from another
	// machine needs a higher MaxPendingPerAddress.)
	LimitLoopback bool
	// PendingTimeout frees the slot of a handshake that has not completed
	// in this time (default 5 s; ENet's own is about 30 s).
	PendingTimeout time.Duration
	// MaxAbuse is how many datagrams a connected peer may send that no
	// honest ENet peer sends (malformed, larger than its MTU, not
	// decompressing) before it is disconnected (default 64).
	MaxAbuse int
}

// Defaults of Config.
const (
	DefaultReliableWindow       = 1024
	DefaultReorderBurst         = 8192
	DefaultReorderPerSecond     = 8192
	DefaultMaxPendingPerAddress = 4
	DefaultPendingTimeout       = 5 * time.Second
	DefaultMaxAbuse             = 64
)

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.ReliableWindow <= 0 {
		c.ReliableWindow = DefaultReliableWindow
	}
	if c.ReliableWindow > reliableWindowsQueued {
		c.ReliableWindow = reliableWindowsQueued
	}
	if c.ReorderBurst <= 0 {
		c.ReorderBurst = DefaultReorderBurst
	}
	if c.ReorderPerSecond <= 0 {
		c.ReorderPerSecond = DefaultReorderPerSecond
	}
	if c.MaxPendingPerAddress <= 0 {
		c.MaxPendingPerAddress = DefaultMaxPendingPerAddress
	}
	if c.PendingTimeout <= 0 {
		c.PendingTimeout = DefaultPendingTimeout
	}
	if c.MaxAbuse <= 0 {
		c.MaxAbuse = DefaultMaxAbuse
	}
	return c
}

// ENet peer states the guard tells apart (ENetPeerState).
const (
	StateDisconnected         = 0
	StateAcknowledgingConnect = 2
	StateConnectionPending    = 3
	StateZombie               = 9
)

// Peer is what the guard needs to know of one ENet peer slot.
type Peer struct {
	State          int
	ConnectID      uint32
	FromSource     bool // the slot's address is the datagram's source
	OutgoingPeerID int  // the remote's index for this peer, 0xFFF before it answered
	IncomingSessID int
	MTU            int
	Channels       int
}

// View is the guard's window on the host it protects, read from the host's
// memory by the cgo layer.
type View interface {
	// Peers is the number of peer slots.
	Peers() int
	// Peer describes slot i (0 <= i < Peers()).
	Peer(i int) Peer
	// Delivered is the last reliable sequence number slot i delivered on
	// channel ch (0 <= ch < Peer(i).Channels).
	Delivered(i, ch int) uint16
	// Source is the address the datagram came from, as the guard keys
	// pending handshakes (the real remote behind a relay).
	Source() netip.Addr
	// PeerAddr is slot i's address, keyed like Source.
	PeerAddr(i int) netip.Addr
	// Now is the host's clock in milliseconds.
	Now() uint32
}

// slot is the guard's memory of one peer slot, for the connection that
// holds it now (ConnectID).
type slot struct {
	live         bool // describes the connection ConnectID
	connectID    uint32
	pendingSeen  bool // Sweep has seen the handshake pending since pendingSince
	pendingSince uint32
	tokens       int
	refilled     uint32
	abuse        int
	flagged      bool
}

// Guard protects one host. See the package comment.
type Guard struct {
	cfg     Config
	counts  Counts
	slots   []slot
	pending map[netip.Addr]int
	abusive []int
	swept   uint32 // host time of the last sweep
	sweptAt bool

	// The datagram being decompressed: its slot (-1 for no peer) and the
	// header size, set by Inspect for Decompressed.
	current    int
	currentMTU int
}

// New returns a guard for a host of peers slots.
func New(cfg Config, peers int) *Guard {
	return &Guard{cfg: cfg.WithDefaults(), slots: make([]slot, peers), pending: map[netip.Addr]int{}}
}

// Config is the guard's configuration, defaults filled in.
func (g *Guard) Config() Config { return g.cfg }

// Counts returns the drops so far, by rule.
func (g *Guard) Counts() Counts { return g.counts }

// Count records a drop the guard's caller decided (HookFailed) against the
// datagram being handled.
func (g *Guard) Count(r Rule) { g.counts[r]++ }

func (g *Guard) drop(r Rule) bool {
	g.counts[r]++
	return true
}

// slotFor returns slot i's memory for the connection in it now.
func (g *Guard) slotFor(i int, p Peer, now uint32) *slot {
	s := &g.slots[i]
	if !s.live || s.connectID != p.ConnectID {
		*s = slot{live: true, connectID: p.ConnectID, tokens: g.cfg.ReorderBurst, refilled: now}
	}
	return s
}

// Inspect judges a datagram as ENet received it, before ENet reads it, and
// reports whether to drop it. A compressed datagram that passes is judged
// again by Decompressed once the codec has run; DecompressLimit says how
// many bytes it may decompress to.
func (g *Guard) Inspect(d []byte, v View) (drop bool) {
	g.current, g.currentMTU = -1, 0
	h, ok := ParseHeader(d)
	if !ok {
		return g.drop(Short)
	}
	body := d[h.Size:]
	if h.PeerID == noPeer {
		if h.Compressed {
			// ENet compresses only what gets smaller, so a compressed
			// CONNECT is shorter than a CONNECT.
			if len(body) >= connectSize {
				return g.drop(CompressedNoPeer)
			}
		} else if !isConnect(body) {
			return g.drop(NotConnect)
		}
		src := v.Source() // behind a relay, a lookup under its lock: once
		if g.limited(src) && g.pending[src] >= g.cfg.MaxPendingPerAddress {
			return g.drop(PendingLimit)
		}
		if h.Compressed {
			g.currentMTU = connectSize
			return false
		}
		g.pending[src]++
		return false
	}
	i := h.PeerID
	if i >= v.Peers() {
		return g.drop(UnknownPeer)
	}
	p := v.Peer(i)
	if p.State == StateDisconnected || p.State == StateZombie || !p.FromSource ||
		(p.OutgoingPeerID < noPeer && h.Session != p.IncomingSessID) {
		return g.drop(UnknownPeer)
	}
	s := g.slotFor(i, p, v.Now())
	if len(d) > max(p.MTU, minMTU) {
		return g.abuse(i, s, Oversize)
	}
	if h.Compressed {
		g.current, g.currentMTU = i, max(p.MTU, minMTU)-h.Size
		return false
	}
	if r := g.commands(body, i, p, s, v); r != None {
		return g.abuse(i, s, r)
	}
	return false
}

// limited reports whether handshakes from a are bounded per address.
func (g *Guard) limited(a netip.Addr) bool { return g.cfg.LimitLoopback || !a.IsLoopback() }

// DecompressLimit is how many bytes the datagram Inspect just passed may
// decompress to.
func (g *Guard) DecompressLimit() int { return g.currentMTU }

// Decompressed judges the commands of the compressed datagram Inspect just
// passed, as the codec produced them (cmds is nil when the codec failed),
// and reports whether to drop it.
func (g *Guard) Decompressed(cmds []byte, v View) (drop bool) {
	if g.currentMTU == 0 {
		return false // not a datagram Inspect passed as compressed
	}
	defer func() { g.current, g.currentMTU = -1, 0 }()
	if g.current < 0 {
		if cmds == nil {
			return g.drop(Decompress)
		}
		if !isConnect(cmds) {
			return g.drop(NotConnect)
		}
		g.pending[v.Source()]++
		return false
	}
	i := g.current
	p := v.Peer(i)
	s := g.slotFor(i, p, v.Now())
	if cmds == nil {
		return g.abuse(i, s, Decompress)
	}
	if r := g.commands(cmds, i, p, s, v); r != None {
		return g.abuse(i, s, r)
	}
	return false
}

// abuse counts a drop against slot i and flags the peer once it has sent
// more than MaxAbuse datagrams no honest peer sends.
func (g *Guard) abuse(i int, s *slot, r Rule) bool {
	g.counts[r]++
	if !r.abusive() {
		return true
	}
	s.abuse++
	if s.abuse >= g.cfg.MaxAbuse && !s.flagged {
		s.flagged = true
		g.abusive = append(g.abusive, i)
	}
	return true
}

// Abusive returns the slots flagged since the last call, for the host to
// disconnect, and forgets them.
func (g *Guard) Abusive() []int {
	a := g.abusive
	g.abusive = g.abusive[:0:0]
	return a
}

func isConnect(b []byte) bool {
	return len(b) == connectSize && b[0]&cmdMask == cmdConnect
}

// delivery follows, through one datagram, what each channel will have
// delivered once libenet has handled the commands before the current one:
// a burst of reliable commands in one datagram is in order although all
// but the first are ahead of what the channel had delivered when the
// datagram arrived.
type delivery struct {
	n    int
	ch   [8]int
	next [8]uint16
	i    int
	view View
}

// at returns the channel's delivered sequence number and a slot to advance
// it (nil when not tracked).
func (d *delivery) at(ch int) (uint16, *uint16) {
	for k := range d.n {
		if d.ch[k] == ch {
			return d.next[k], &d.next[k]
		}
	}
	seq := d.view.Delivered(d.i, ch)
	if d.n == len(d.ch) {
		return seq, nil
	}
	d.ch[d.n], d.next[d.n] = ch, seq
	d.n++
	return seq, &d.next[d.n-1]
}

// commands judges a peer's uncompressed commands.
func (g *Guard) commands(c []byte, i int, p Peer, s *slot, v View) Rule {
	outOfOrder := 0
	del := delivery{i: i, view: v}
	for len(c) > 0 {
		if len(c) < cmdHeaderSize {
			return Truncated
		}
		n := int(c[0] & cmdMask)
		if n >= cmdCount || commandSizes[n] == 0 || n == cmdConnect {
			return BadCommand
		}
		size := commandSizes[n]
		if len(c) < size {
			return Truncated
		}
		if off := dataLengthOffset[n]; off > 0 {
			size += int(binary.BigEndian.Uint16(c[off:]))
			if len(c) < size {
				return Truncated
			}
		}
		switch n {
		case cmdSendReliable, cmdSendFragment, cmdSendUnreliable, cmdSendUnreliableFrag:
			ch := int(c[1])
			if ch >= p.Channels {
				return BadChannel
			}
			own := binary.BigEndian.Uint16(c[2:])
			seq := own
			if n == cmdSendFragment {
				seq = binary.BigEndian.Uint16(c[4:]) // the packet's first fragment
			}
			if n == cmdSendFragment || n == cmdSendUnreliableFrag {
				count, total := binary.BigEndian.Uint32(c[8:]), binary.BigEndian.Uint32(c[16:])
				if count > maxFragments(total) {
					return FragmentCount
				}
			}
			delivered, advance := del.at(ch)
			switch {
			case n == cmdSendReliable && ahead(own, delivered) == 1:
				// Next in line.
				if advance != nil {
					*advance = own
				}
			case n == cmdSendFragment && ahead(seq, delivered) == 1:
				// A piece of the packet next in line: libenet finds its
				// first fragment at the end of the queue, and delivers
				// nothing until every piece is in.
			default:
				d := ahead(seq, delivered)
				if d <= 0 || d >= reliableWindowsQueued {
					break // delivered already, or discarded by libenet unread
				}
				// libenet queues it to wait for its turn.
				if d > g.cfg.ReliableWindow {
					return ReliableWindow
				}
				outOfOrder++
			}
		case cmdSendUnsequenced:
			if int(c[1]) >= p.Channels {
				return BadChannel
			}
		}
		c = c[size:]
	}
	if outOfOrder > 0 && !g.spend(s, outOfOrder, v.Now()) {
		return ReorderBudget
	}
	return None
}

// spend takes n out-of-order tokens from the slot's bucket, refilled at
// ReorderPerSecond up to ReorderBurst; false when there are not enough.
func (g *Guard) spend(s *slot, n int, now uint32) bool {
	if elapsed := now - s.refilled; elapsed > 0 {
		add := int(min(uint64(elapsed)*uint64(g.cfg.ReorderPerSecond)/1000, uint64(g.cfg.ReorderBurst)))
		if add > 0 {
			s.tokens = min(s.tokens+add, g.cfg.ReorderBurst)
			s.refilled = now
		}
	}
	if s.tokens < n {
		return false
	}
	s.tokens -= n
	return true
}

// sweepEvery is how often Sweep looks at every slot.
const sweepEvery = 100 // ms

// Sweep recounts pending handshakes by address and returns the slots whose
// handshake has been pending longer than PendingTimeout, for the host to
// free. Call it from every Poll; it looks at the slots at most every
// 100 ms.
func (g *Guard) Sweep(v View) (expired []int) {
	now := v.Now()
	if g.sweptAt && now-g.swept < sweepEvery {
		return nil
	}
	g.swept, g.sweptAt = now, true
	clear(g.pending)
	limit := uint32(g.cfg.PendingTimeout / time.Millisecond)
	for i := range v.Peers() {
		p := v.Peer(i)
		if p.State != StateAcknowledgingConnect && p.State != StateConnectionPending {
			g.slots[i].pendingSeen = false
			continue
		}
		s := g.slotFor(i, p, now)
		if !s.pendingSeen {
			s.pendingSeen, s.pendingSince = true, now
		}
		if now-s.pendingSince >= limit {
			expired = append(expired, i)
			continue
		}
		g.pending[v.PeerAddr(i)]++
	}
	return expired
}
