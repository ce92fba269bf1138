package ecsnet

import (
	"fmt"
	"time"
)

// PeerStats describes traffic with one remote peer. Counts are of
// application payloads (after the Godot header), since the peer connected.
type PeerStats struct {
	RTT         time.Duration // ENet's mean round-trip time
	RTTVariance time.Duration
	PacketLoss  float64 // ENet's mean loss of reliable packets, 0..1

	PacketsSent, BytesSent         uint64 // queued by PutPacket for this peer
	PacketsReceived, BytesReceived uint64 // delivered to this peer's GetPacket queue
	PacketsRelayed                 uint64 // server: packets from this peer forwarded to others

	Dropped DropCounts // what this peer sent that was dropped, by cause
}

// DropCounts counts packets dropped as malformed or not allowed, by cause.
type DropCounts struct {
	Short            uint64 // data packet shorter than the 8-byte header
	ForgedSource     uint64 // header source is not the sender's ID
	UnknownTarget    uint64 // relay to a peer the server does not know
	ConfigChannel    uint64 // data on channel 0 sent to a server
	BadChannel       uint64 // channel beyond the channel count
	RelayOff         uint64 // addressed to others while the server does not relay
	BadSystemMessage uint64 // client: a system message of the wrong size, kind or ID
	RelayRefused     uint64 // server: a forward ENet refused
}

// Total is the sum of every cause.
func (d DropCounts) Total() uint64 {
	return d.Short + d.ForgedSource + d.UnknownTarget + d.ConfigChannel +
		d.BadChannel + d.RelayOff + d.BadSystemMessage + d.RelayRefused
}

func (s *PeerStats) count(n int) {
	s.PacketsSent++
	s.BytesSent += uint64(n)
}

// PeerStatistics reports traffic with a known peer. On a client, peers known
// only through the server have counts but no RTT. It fails with
// ErrInvalidParameter for an unknown ID.
func (p *Peer) PeerStatistics(id int) (PeerStats, error) {
	r := p.peers[id]
	if r == nil {
		return PeerStats{}, fmt.Errorf("ecsnet: statistics of peer %d: %w", id, ErrInvalidParameter)
	}
	s := r.stats
	if r.enet.Valid() {
		e := r.enet.Stats()
		s.RTT = time.Duration(e.RTTMillis) * time.Millisecond
		s.RTTVariance = time.Duration(e.RTTVarianceMillis) * time.Millisecond
		s.PacketLoss = e.PacketLoss
	}
	return s, nil
}

// HostStats describes the whole host.
type HostStats struct {
	RefusedConnections uint64 // server: connections reset (bad or duplicate ID, too few channels, refusing)
	RefusedFewChannels uint64 // server: of those, clients that asked for fewer channels than the server has
	StrayDropped       uint64 // packets from peers not (or no longer) known, or system messages ENet refused
	PollLimited        uint64 // Poll calls that reached the poll limit, leaving any further events for the next call (SetPollLimit)
	DecompressFailed   uint64 // datagrams dropped because they did not decompress (current or last host; not counted for the range coder, which ENet runs itself)
	// UDP totals of the current host (ENet's wrapping 32-bit counters).
	DatagramsSent, DatagramsReceived uint32
	BytesSent, BytesReceived         uint32
	// The send batch of a host that sends on its own socket (current
	// host: plain IPv4, and a dual-stack server's IPv4 remotes): datagrams sent many per system call, the
	// sendmmsg calls that sent them, and datagrams the socket refused
	// (its buffer full), which ENet counts as sent. All zero where
	// libenet's socket calls cannot be hooked: one sendmsg per datagram.
	BatchedSends, SendCalls, SendsRefused uint64
	// The relay under DTLS, IPv6 and the link conditioner.
	Transport TransportStats
	// The datagram guard in front of libenet (GuardLimits).
	Guard GuardStats
}

// Stats reports host-wide counters.
func (p *Peer) Stats() HostStats {
	s := HostStats{RefusedConnections: p.refused, RefusedFewChannels: p.fewChannels, StrayDropped: p.strayDropped, PollLimited: p.pollLimited, Guard: p.guardStats()}
	if p.active {
		s.BytesSent, s.DatagramsSent, s.BytesReceived, s.DatagramsReceived = p.host.Totals()
	}
	if p.codec != nil {
		s.DecompressFailed = p.codec.failures()
	}
	if p.active {
		b := p.host.Hook().BatchCounts()
		s.BatchedSends, s.SendCalls, s.SendsRefused = b.Datagrams, b.Calls, b.Dropped
	}
	s.Transport = p.transportStats()
	return s
}
