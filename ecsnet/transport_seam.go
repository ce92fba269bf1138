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
var _ transport.Transport = (*Peer)(nil)

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
