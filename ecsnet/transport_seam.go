package ecsnet

import (
	"fmt"
	"time"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/wire"
)

// Peer is a transport.Transport: the network system drives it through
// the stateless Send below, never through the sticky setters.
var (
	_ transport.Transport  = (*Peer)(nil)
	_ transport.ManySender = (*Peer)(nil)
)

// Send queues payload for to (0 everyone, 1 the server, N that peer, -N
// everyone but N) on channel (1..ChannelCount()-1) with mode, whatever
// SetTargetPeer, SetTransferMode, SetTransferChannel and SetAlwaysOrdered
// say: it reads and changes none of them. Poll or Flush sends it; the
// payload is copied. Errors: as PutPacket, and ErrInvalidParameter for
// channel 0, a channel beyond the count or an unknown mode. Call it from
// the goroutine that owns the peer. (The transport.Transport side of the
// peer; Godot has no stateless send.)
func (p *Peer) Send(to, channel int, mode wire.TransferMode, payload []byte) error {
	if channel <= channelConfig || !mode.Valid() {
		return fmt.Errorf("ecsnet: send on channel %d as %v: %w", channel, mode, ErrInvalidParameter)
	}
	return p.send("send", to, channel, flagsOf(mode), payload)
}

// SendMany (server) queues payload for every client in to on channel with
// mode as one libenet packet shared by all of them (ENet counts its
// references and frees it once every peer has sent it), instead of a copy
// per client; the Godot header names no single target (0, as a
// broadcast's). It queues for every connected client in to and returns how
// many of to it could not queue for (unknown IDs, ENet refusals), with an
// error wrapping ErrInvalidParameter or ErrUnconfigured when that is not
// zero. Call it from the goroutine that owns the peer
// (transport.ManySender).
func (p *Peer) SendMany(to []int, channel int, mode wire.TransferMode, payload []byte) (int, error) {
	switch {
	case !p.active || p.status != Connected || !p.server:
		return len(to), fmt.Errorf("ecsnet: send to many (needs a server): %w", ErrUnconfigured)
	case channel <= channelConfig || channel >= p.channelCount || !mode.Valid():
		return len(to), fmt.Errorf("ecsnet: send on channel %d of %d as %v: %w", channel, p.channelCount, mode, ErrInvalidParameter)
	case len(payload) > MaxPacketSize:
		return len(to), fmt.Errorf("ecsnet: send of %d bytes (max %d): %w", len(payload), MaxPacketSize, ErrInvalidParameter)
	}
	p.scratch = p.scratch[:0]
	unknown := 0
	for _, id := range to {
		r := p.peers[id]
		if id <= serverID || r == nil || !r.enet.Valid() {
			unknown++
			continue
		}
		p.scratch = append(p.scratch, r.enet)
	}
	if p.recorder != nil {
		p.recorder(payload)
	}
	refused, err := enethost.SendFramedMany(p.scratch, channel, flagsOf(mode), uint32(p.uniqueID), 0, payload)
	if err != nil {
		return len(to), sendError(0, err)
	}
	for _, id := range to {
		if r := p.peers[id]; id > serverID && r != nil && r.enet.Valid() {
			r.stats.count(len(payload))
		}
	}
	if failed := unknown + refused; failed > 0 {
		return failed, fmt.Errorf("ecsnet: send to %d clients: %d unknown, %d refused the packet: %w", len(to), unknown, refused, ErrInvalidParameter)
	}
	return 0, nil
}

// flagsOf is the ENet flags of a transfer mode, as Godot sends them.
func flagsOf(m wire.TransferMode) uint32 {
	switch m {
	case wire.Unreliable:
		return enethost.FlagUnsequenced
	case wire.UnreliableOrdered:
		return 0
	}
	return enethost.FlagReliable
}

// modeOf is the transfer mode received ENet flags say.
func modeOf(flags uint32) wire.TransferMode {
	switch {
	case flags&enethost.FlagReliable != 0:
		return wire.Reliable
	case flags&enethost.FlagUnsequenced != 0:
		return wire.Unreliable
	}
	return wire.UnreliableOrdered
}

// LinkStats reports traffic with a known peer in the transport package's
// terms (PeerStatistics has ENet's detail). It fails with
// ErrInvalidParameter for an unknown ID.
func (p *Peer) LinkStats(id int) (transport.LinkStats, error) {
	st, err := p.PeerStatistics(id)
	if err != nil {
		return transport.LinkStats{}, err
	}
	return transport.LinkStats{
		Address: p.PeerAddress(id), Port: p.PeerPort(id),
		RTT: st.RTT, PacketLoss: st.PacketLoss,
		PacketsSent: st.PacketsSent, BytesSent: st.BytesSent,
		PacketsReceived: st.PacketsReceived, BytesReceived: st.BytesReceived,
		Dropped: st.Dropped.Total(),
	}, nil
}

// Event is NextEvent as a transport.Event.
func (p *Peer) Event() (transport.Event, bool) {
	ev, ok := p.NextEvent()
	return transport.Event(ev), ok
}

// Close is CloseConnection with Godot's default wait (100 µs).
func (p *Peer) Close() { p.CloseConnection(100 * time.Microsecond) }
