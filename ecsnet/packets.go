package ecsnet

import (
	"errors"
	"fmt"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
	"github.com/netburi/netburi/transport"
)

// Packet is one received payload with its sender's ID (the source in the
// Godot header), the ENet channel it came on and the transfer mode its ENet
// flags say (the transport package's Packet).
type Packet = transport.Packet

// PutPacket queues payload for the target set with SetTargetPeer, with the
// transfer mode and channel set on the peer; Poll or Flush sends it. The
// payload is copied. It is Godot's sticky API over the path Send takes:
// PutPacket(b) sends b to the SetTargetPeer target on the transfer channel
// (by mode when it is -1) with the transfer mode, TransferUnreliable
// travelling as unreliable ordered while AlwaysOrdered is set. Errors: ErrUnconfigured unless
// connected, ErrInvalidParameter for an unknown target, a payload over
// 16 MiB or a transfer channel beyond the channel count.
func (p *Peer) PutPacket(payload []byte) error {
	flags, channel := p.sendParams()
	return p.send("put packet", p.targetPeer, channel, flags, payload)
}

// send is the one path every payload takes to ENet: PutPacket's sticky
// settings and Send's arguments both end here as flags and a channel.
func (p *Peer) send(op string, target, channel int, flags uint32, payload []byte) error {
	if !p.active || p.status != Connected {
		return fmt.Errorf("ecsnet: %s: %w", op, ErrUnconfigured)
	}
	if len(payload) > MaxPacketSize {
		return fmt.Errorf("ecsnet: %s of %d bytes (max %d): %w", op, len(payload), MaxPacketSize, ErrInvalidParameter)
	}
	if channel >= p.channelCount {
		return fmt.Errorf("ecsnet: %s on channel %d of %d: %w", op, channel, p.channelCount, ErrInvalidParameter)
	}
	var to *remote
	if target != 0 {
		to = p.peers[abs(target)]
		if to == nil {
			return fmt.Errorf("ecsnet: %s to peer %d: %w", op, target, ErrInvalidParameter)
		}
	}
	if p.recorder != nil {
		p.recorder(payload)
	}
	source := uint32(p.uniqueID)
	if !p.server {
		srv := p.peers[serverID]
		if err := srv.enet.SendFramed(channel, flags, source, uint32(int32(target)), payload); err != nil {
			return sendError(target, err)
		}
		srv.stats.count(len(payload))
		return nil
	}
	if target > 0 {
		if err := to.enet.SendFramed(channel, flags, source, uint32(target), payload); err != nil {
			return sendError(target, err)
		}
		to.stats.count(len(payload))
		return nil
	}
	recipients := p.clients()
	if target < 0 {
		p.scratch = p.scratch[:0]
		for _, r := range p.peers {
			if r.id != -target {
				p.scratch = append(p.scratch, r.enet)
			}
		}
		recipients = p.scratch
	}
	refused, err := enethost.SendFramedMany(recipients, channel, flags, source, uint32(int32(target)), payload)
	if err != nil {
		return sendError(target, err)
	}
	for _, r := range p.peers {
		if r.id != -target {
			r.stats.count(len(payload))
		}
	}
	if refused > 0 {
		return sendError(target, fmt.Errorf("%d of %d peers refused the packet", refused, len(recipients)))
	}
	return nil
}

// SetPacketRecorder makes PutPacket call record with every packet it
// accepts from now on (the payload, without Godot's header); nil stops it.
// It collects samples of real play for TrainDictionary. record runs on the
// goroutine that owns the peer, inside PutPacket, and must copy what it
// keeps. (A netburi addition.)
func (p *Peer) SetPacketRecorder(record func(payload []byte)) { p.recorder = record }

func sendError(target int, err error) error {
	if errors.Is(err, enethost.ErrPacket) {
		return fmt.Errorf("ecsnet: put packet to %d: %w: %w", target, ErrCantCreate, err)
	}
	return fmt.Errorf("ecsnet: put packet to %d: %w: %w", target, ErrUnconfigured, err)
}

// sendParams maps the transfer mode to ENet flags and a channel, as Godot.
func (p *Peer) sendParams() (flags uint32, channel int) {
	switch p.transferMode {
	case TransferUnreliable:
		if !p.alwaysOrdered {
			flags = enethost.FlagUnsequenced
		}
		channel = channelUnreliable
	case TransferUnreliableOrdered:
		channel = channelUnreliable
	default:
		flags = enethost.FlagReliable
		channel = channelReliable
	}
	if p.transferChannel > channelConfig {
		channel = p.transferChannel
	}
	return flags, channel
}

// clients lists every remote's ENet peer, rebuilt only after joins and leaves.
func (p *Peer) clients() []enethost.Peer {
	if p.allDirty {
		p.all = p.all[:0]
		for _, r := range p.peers {
			if r.enet.Valid() {
				p.all = append(p.all, r.enet)
			}
		}
		p.allDirty = false
	}
	return p.all
}

// GetPacket takes the oldest received payload (see PacketPeer for its
// sender, or use Receive). It fails with ErrUnavailable when none is queued.
func (p *Peer) GetPacket() ([]byte, error) {
	pk, ok := p.Receive()
	if !ok {
		return nil, fmt.Errorf("ecsnet: get packet: %w", ErrUnavailable)
	}
	return pk.Data, nil
}

// Receive takes the oldest received packet with its sender and channel; ok
// is false when none is queued. (A netburi addition.)
func (p *Peer) Receive() (pk Packet, ok bool) {
	pk, ok = p.incoming.pop()
	if ok {
		p.lastChannel = pk.Channel
		p.lastPeer = pk.From
	}
	return pk, ok
}

// AvailablePacketCount is the number of received packets waiting.
func (p *Peer) AvailablePacketCount() int { return p.incoming.len() }

// PacketPeer is the sender of the next packet GetPacket will return (1 when
// none is queued, as Godot).
func (p *Peer) PacketPeer() int {
	pk, ok := p.incoming.peek()
	if !ok {
		return serverID
	}
	return pk.From
}

// PacketChannel is the channel of the next packet GetPacket will return, -1
// when none is queued.
func (p *Peer) PacketChannel() int {
	pk, ok := p.incoming.peek()
	if !ok {
		return -1
	}
	return pk.Channel
}

// LastPacketChannel is the channel of the packet GetPacket last returned,
// -1 before the first.
func (p *Peer) LastPacketChannel() int { return p.lastChannel }

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
