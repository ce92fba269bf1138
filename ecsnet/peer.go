package ecsnet

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
	"github.com/netburi/netburi/ecsnet/internal/relay"
)

// Peer is Godot 3's NetworkedMultiplayerENet in Go: a server (ID 1) or a
// client of one, on a libenet host, speaking Godot 3's wire format.
//
// A Peer is not safe for concurrent use: one goroutine (usually the game
// loop) owns it and makes every call, as libenet requires of its host.
type Peer struct {
	// Settings (kept across hosts).
	alwaysOrdered   bool
	channelCount    int
	compression     CompressionMode
	dictionary      []byte // for CompressZstdDict
	refuseNew       bool
	serverRelay     bool
	transferChannel int
	transferMode    TransferMode
	bindIP          netip.Addr // invalid means "*"
	targetPeer      int
	timeout         peerTimeout
	dtls            dtlsSettings
	link            *LinkConditions // nil: no link conditioner
	tuning          relay.Tuning    // tests shorten the relay's timeouts
	pollLimit       int             // 0: DefaultPollLimit
	recorder        func([]byte)    // SetPacketRecorder
	guardLimits     GuardLimits

	// The active host, if any.
	host     *enethost.Host
	rel      *relay.Relay  // nil when ENet's socket is the public one
	relErr   error         // see TransportError
	codec    datagramCodec // nil for none and the range coder
	active   bool
	server   bool
	relay    bool // serverRelay as it was when the server was created
	uniqueID int
	status   ConnectionStatus
	peers    map[int]*remote
	all      []enethost.Peer // every remote with an ENet peer, rebuilt when dirty
	allDirty bool
	scratch  []enethost.Peer

	incoming     fifo[Packet]
	lastChannel  int
	lastPeer     int
	events       fifo[Event]
	refused      uint64
	strayDropped uint64
	pollLimited  uint64
	guardPast    GuardStats // guard counts of past hosts, and what Poll did about senders
	fewChannels  uint64
}

// remote is one known peer: on a server every client; on a client the server
// (with an ENet peer) and the other clients it announced (without).
type remote struct {
	id    int
	enet  enethost.Peer
	stats PeerStats
}

type peerTimeout struct {
	set          bool
	limit        uint32
	minMS, maxMS uint32
}

// NewPeer returns an inactive peer with Godot 3's defaults: 3 channels,
// reliable transfer mode, transfer channel -1 (by mode), server relay on,
// no compression, not always ordered, bind address "*".
func NewPeer() *Peer {
	return &Peer{
		channelCount:    minChannels,
		serverRelay:     true,
		transferChannel: -1,
		transferMode:    TransferReliable,
		uniqueID:        serverID,
		lastChannel:     -1,
	}
}

// AlwaysOrdered reports whether unreliable packets are sequenced (late ones
// dropped) rather than unsequenced.
func (p *Peer) AlwaysOrdered() bool { return p.alwaysOrdered }

// SetAlwaysOrdered makes TransferUnreliable sequenced (true) or unsequenced
// (false, the default). It applies to the next PutPacket.
func (p *Peer) SetAlwaysOrdered(on bool) { p.alwaysOrdered = on }

// ChannelCount is the number of ENet channels a host is created with and
// asks for on connect (default 3).
func (p *Peer) ChannelCount() int { return p.channelCount }

// SetChannelCount sets the channel count for the next host: at least 3 (the
// config, reliable and unreliable channels), at most 255. It fails with
// ErrAlreadyInUse while active and ErrInvalidParameter out of range.
func (p *Peer) SetChannelCount(n int) error {
	if p.active {
		return fmt.Errorf("ecsnet: set channel count: %w", ErrAlreadyInUse)
	}
	if n < minChannels || n > 255 {
		return fmt.Errorf("ecsnet: set channel count %d (want 3..255): %w", n, ErrInvalidParameter)
	}
	p.channelCount = n
	if p.transferChannel >= n {
		p.transferChannel = -1
	}
	return nil
}

// CompressionMode is the datagram compression the next host uses.
func (p *Peer) CompressionMode() CompressionMode { return p.compression }

// SetCompressionMode sets the datagram compression for the next host
// (CompressZstdDict also needs SetCompressionDictionary). It
// fails with ErrAlreadyInUse while active and ErrInvalidParameter for an
// unknown mode.
func (p *Peer) SetCompressionMode(m CompressionMode) error {
	if p.active {
		return fmt.Errorf("ecsnet: set compression mode: %w", ErrAlreadyInUse)
	}
	if m < CompressNone || m > CompressZstdDict {
		return fmt.Errorf("ecsnet: set compression mode %v: %w", m, ErrInvalidParameter)
	}
	p.compression = m
	return nil
}

// RefuseNewConnections reports whether a server turns new clients away.
func (p *Peer) RefuseNewConnections() bool { return p.refuseNew }

// SetRefuseNewConnections makes a server silently reset new clients (as
// Godot does: they see a connection that then times out). It takes effect
// at once; CreateServer turns it off again.
func (p *Peer) SetRefuseNewConnections(on bool) { p.refuseNew = on }

// ServerRelay reports whether a server relays client packets to other
// clients and announces clients to each other.
func (p *Peer) ServerRelay() bool { return p.serverRelay }

// SetServerRelay sets server relay (default on) for the next server; a
// running server keeps the value it was created with (Godot forbids the
// change while active).
func (p *Peer) SetServerRelay(on bool) { p.serverRelay = on }

// TransferChannel is the channel PutPacket uses; -1 means by transfer mode
// (1 for reliable, 2 otherwise).
func (p *Peer) TransferChannel() int { return p.transferChannel }

// SetTransferChannel sets the channel for PutPacket: -1 (by mode) or
// 1..ChannelCount()-1. Channel 0 is Godot's config channel and is refused
// with ErrInvalidParameter, as is any value out of range.
func (p *Peer) SetTransferChannel(ch int) error {
	if ch < -1 || ch == channelConfig || ch >= p.channelCount {
		return fmt.Errorf("ecsnet: set transfer channel %d (want -1 or 1..%d): %w", ch, p.channelCount-1, ErrInvalidParameter)
	}
	p.transferChannel = ch
	return nil
}

// TransferMode is how PutPacket sends.
func (p *Peer) TransferMode() TransferMode { return p.transferMode }

// SetTransferMode sets how PutPacket sends. An unknown mode is sent as
// reliable.
func (p *Peer) SetTransferMode(m TransferMode) { p.transferMode = m }

// SetBindIP sets the local address hosts bind to: an IPv4 or IPv6
// address, or "*" for all interfaces (the default; a server then takes
// IPv4 and IPv6 clients). It fails with ErrInvalidParameter for anything
// else, and ErrAlreadyInUse while active.
func (p *Peer) SetBindIP(ip string) error {
	if p.active {
		return fmt.Errorf("ecsnet: set bind ip: %w", ErrAlreadyInUse)
	}
	if ip == "*" {
		p.bindIP = netip.Addr{}
		return nil
	}
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return fmt.Errorf("ecsnet: set bind ip %q (want an IP address or \"*\"): %w", ip, ErrInvalidParameter)
	}
	p.bindIP = a.Unmap()
	return nil
}

// SetTimeout sets ENet's peer timeout for connections made from now on:
// a peer is dropped once it has gone unacknowledged for maximum, or for
// minimum after limit retransmission doublings. Zero values restore ENet's
// defaults (32, 5 s, 30 s). It fails with ErrInvalidParameter for negative
// values or minimum > maximum. (A netburi addition; Godot 3.2 has none.)
func (p *Peer) SetTimeout(limit int, minimum, maximum time.Duration) error {
	if limit < 0 || minimum < 0 || maximum < 0 || minimum > maximum {
		return fmt.Errorf("ecsnet: set timeout %d, %v, %v: %w", limit, minimum, maximum, ErrInvalidParameter)
	}
	if limit == 0 && minimum == 0 && maximum == 0 {
		p.timeout = peerTimeout{}
		return nil
	}
	p.timeout = peerTimeout{set: true, limit: uint32(limit), minMS: uint32(minimum.Milliseconds()), maxMS: uint32(maximum.Milliseconds())}
	return nil
}

// SetTargetPeer sets where PutPacket sends: 0 everyone, 1 the server, N > 1
// that peer, -N everyone but N. It is checked when sending.
func (p *Peer) SetTargetPeer(id int) { p.targetPeer = id }

// UniqueID is this peer's network ID: 1 for a server (and an inactive
// peer), the random ID a client chose when it called CreateClient.
func (p *Peer) UniqueID() int { return p.uniqueID }

// IsServer reports whether the peer is an active server.
func (p *Peer) IsServer() bool { return p.active && p.server }

// ConnectionStatus is where the peer stands.
func (p *Peer) ConnectionStatus() ConnectionStatus { return p.status }

// LocalPort is the UDP port the active host is bound to (0 when inactive,
// or for a plain IPv4 client before its first datagram when created with
// port 0). It is the public port: with a relay (DTLS, IPv6, link
// conditioner) the relay's. A server created on port 0 learns its port
// here.
func (p *Peer) LocalPort() int {
	if !p.active {
		return 0
	}
	if p.rel != nil {
		return p.rel.Port()
	}
	return p.host.LocalPort()
}

// PeerAddress is the IP address of a connected peer ("" when unknown or, on
// a client, for peers that are only known through the server).
func (p *Peer) PeerAddress(id int) string {
	r := p.peers[id]
	if !p.active || r == nil || !r.enet.Valid() {
		return ""
	}
	return p.remoteAddr(r.enet).Addr().String()
}

// PeerPort is the UDP port of a connected peer (0 when unknown).
func (p *Peer) PeerPort(id int) int {
	r := p.peers[id]
	if !p.active || r == nil || !r.enet.Valid() {
		return 0
	}
	return int(p.remoteAddr(r.enet).Port())
}

// Peers returns the IDs of the known peers in ascending order (on a client:
// the server and the clients it announced).
func (p *Peer) Peers() []int {
	ids := make([]int, 0, len(p.peers))
	for id := range p.peers {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// NextEvent takes the oldest queued connection event; ok is false when
// there is none. Poll queues them.
func (p *Peer) NextEvent() (ev Event, ok bool) { return p.events.pop() }
