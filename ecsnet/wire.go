package ecsnet

import (
	"encoding/binary"

	"github.com/netburi/netburi/wire"
)

// Godot 3's wire constants (see the wire spec in the project's shared docs).
const (
	channelConfig     = wire.ConfigChannel     // system messages, server to client
	channelReliable   = wire.ReliableChannel   // default channel of reliable data
	channelUnreliable = wire.UnreliableChannel // default channel of unreliable data
	minChannels       = wire.MinChannels

	headerSize = 8 // source uint32 LE, target int32 LE

	sysAddPeer    = 0
	sysRemovePeer = 1
	sysSize       = 8

	serverID = wire.ServerID

	// MaxPacketSize is the largest payload PutPacket takes (16 MiB).
	MaxPacketSize = 16 << 20
	// MaxClients is the largest max_clients CreateServer takes (ENet's
	// peer-ID limit).
	MaxClients = 4095
)

// parseHeader splits a data packet into source, target and payload. ok is
// false when the packet is shorter than the header.
func parseHeader(b []byte) (source int, target int, payload []byte, ok bool) {
	if len(b) < headerSize {
		return 0, 0, nil, false
	}
	source = int(int32(binary.LittleEndian.Uint32(b[0:4])))
	target = int(int32(binary.LittleEndian.Uint32(b[4:8])))
	return source, target, b[headerSize:], true
}

// systemMessage encodes an ADD_PEER or REMOVE_PEER message.
func systemMessage(kind uint32, id int) []byte {
	var b [sysSize]byte
	binary.LittleEndian.PutUint32(b[0:4], kind)
	binary.LittleEndian.PutUint32(b[4:8], uint32(id))
	return b[:]
}

// parseSystemMessage decodes a system message; ok is false unless it is
// exactly 8 bytes of a known kind.
func parseSystemMessage(b []byte) (kind uint32, id int, ok bool) {
	if len(b) != sysSize {
		return 0, 0, false
	}
	kind = binary.LittleEndian.Uint32(b[0:4])
	if kind != sysAddPeer && kind != sysRemovePeer {
		return 0, 0, false
	}
	return kind, int(int32(binary.LittleEndian.Uint32(b[4:8]))), true
}
