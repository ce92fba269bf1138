package systems

import (
	"fmt"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/wire"
)

// RawPacket is a game's own bytes as they arrived: the sender's true ID,
// the channel and mode they came with, the bytes (valid until the next
// receive step).
type RawPacket struct {
	From    int
	Channel int
	Mode    wire.TransferMode
	Data    []byte
}

// SendRaw queues data, a game's own bytes, for to (the destinations of
// MessageType.Send) on channel with mode; the send step delivers it. Raw
// bytes travel as Godot's RAW command (kind 4 before the bytes), so a
// Godot 3 game gets them from network_peer_packet and its send_bytes
// reaches RawReceived, and they can never pass for the system's own
// payloads. Errors: ErrInvalidChannel for a channel the network lacks or
// an unknown mode, ErrTooLarge for unreliable bytes over one datagram,
// ErrNotConnected as Send. Call it from the goroutine that runs the world.
func (n *Network) SendRaw(to, channel int, mode wire.TransferMode, data []byte) error {
	if channel <= wire.ConfigChannel || channel >= n.cfg.ChannelCount || !mode.Valid() {
		return fmt.Errorf("systems: send raw on channel %d of %d as %v: %w", channel, n.cfg.ChannelCount, mode, ErrInvalidChannel)
	}
	if mode != wire.Reliable && len(data)+1 > unreliableBudget {
		return fmt.Errorf("systems: send raw of %d bytes as %v: %w", len(data), mode, ErrTooLarge)
	}
	targets, err := n.targets(to)
	if err != nil {
		return fmt.Errorf("systems: send raw to %d: %w", to, err)
	}
	p := append([]byte{wire.KindRaw}, data...)
	for _, t := range targets {
		n.put(t, channel, mode, p)
	}
	return nil
}

// RawReceived lists the raw bytes (SendRaw, or a Godot game's send_bytes)
// that arrived this tick from accepted peers, oldest first. The slice is
// reused next tick.
func (n *Network) RawReceived() []RawPacket { return n.raw }

func (n *Network) onRaw(r *remote, pk transport.Packet) error {
	if r.state != components.PeerConnected {
		return fmt.Errorf("%w: raw bytes before acceptance", ErrMalformed)
	}
	n.addRaw(pk)
	return nil
}

func (n *Network) addRaw(pk transport.Packet) {
	n.raw = append(n.raw, RawPacket{From: pk.From, Channel: pk.Channel, Mode: pk.Mode, Data: pk.Data[1:]})
}
