package systems

import (
	"encoding/binary"
	"fmt"

	"github.com/netburi/netburi/wire"
)

// Payload kinds of the network system (the wire package owns them all).
const (
	kindHello    = wire.KindHello
	kindWelcome  = wire.KindWelcome
	kindReject   = wire.KindReject
	kindPing     = wire.KindPing
	kindPong     = wire.KindPong
	kindMessages = wire.KindMessages
	kindSnapshot = wire.KindSnapshot
	kindAck      = wire.KindAck
)

// serverID is the server's peer ID on every transport.
const serverID = wire.ServerID

// protocolVersion changes whenever this wire format does.
const protocolVersion = 1

// unreliableBudget keeps an unreliable payload inside one datagram.
const unreliableBudget = wire.UnreliableBudget

func encodeHello(schema uint64) []byte {
	b := []byte{kindHello, protocolVersion}
	return binary.LittleEndian.AppendUint64(b, schema)
}

func parseHello(p []byte) (version byte, schema uint64, err error) {
	if len(p) != 10 || p[0] != kindHello {
		return 0, 0, fmt.Errorf("%w: hello of %d bytes", ErrMalformed, len(p))
	}
	return p[1], binary.LittleEndian.Uint64(p[2:]), nil
}

func encodeWelcome(tick uint32, rate int) []byte {
	b := binary.LittleEndian.AppendUint32([]byte{kindWelcome}, tick)
	return binary.LittleEndian.AppendUint16(b, uint16(rate))
}

func parseWelcome(p []byte) (tick uint32, rate int, err error) {
	if len(p) != 7 || p[0] != kindWelcome {
		return 0, 0, fmt.Errorf("%w: welcome of %d bytes", ErrMalformed, len(p))
	}
	return binary.LittleEndian.Uint32(p[1:]), int(binary.LittleEndian.Uint16(p[5:])), nil
}

// maxReason bounds a rejection reason.
const maxReason = 256

func encodeReject(reason string) []byte {
	if len(reason) > maxReason {
		reason = reason[:maxReason]
	}
	return append([]byte{kindReject}, reason...)
}

func parseReject(p []byte) (string, error) {
	if len(p) < 1 || len(p) > 1+maxReason || p[0] != kindReject {
		return "", fmt.Errorf("%w: reject of %d bytes", ErrMalformed, len(p))
	}
	return string(p[1:]), nil
}

func encodePing(clock uint32) []byte {
	return binary.LittleEndian.AppendUint32([]byte{kindPing}, clock)
}

func parsePing(p []byte) (uint32, error) {
	if len(p) != 5 || p[0] != kindPing {
		return 0, fmt.Errorf("%w: ping of %d bytes", ErrMalformed, len(p))
	}
	return binary.LittleEndian.Uint32(p[1:]), nil
}

func encodePong(clock, tick uint32) []byte {
	b := binary.LittleEndian.AppendUint32([]byte{kindPong}, clock)
	return binary.LittleEndian.AppendUint32(b, tick)
}

func parsePong(p []byte) (clock, tick uint32, err error) {
	if len(p) != 9 || p[0] != kindPong {
		return 0, 0, fmt.Errorf("%w: pong of %d bytes", ErrMalformed, len(p))
	}
	return binary.LittleEndian.Uint32(p[1:]), binary.LittleEndian.Uint32(p[5:]), nil
}

// appendMessage adds one message to a kindMessages payload.
func appendMessage(b []byte, id int, body []byte) []byte {
	b = binary.AppendUvarint(b, uint64(id))
	b = binary.AppendUvarint(b, uint64(len(body)))
	return append(b, body...)
}

// messageOverhead is the most appendMessage adds besides the body.
const messageOverhead = 2 * binary.MaxVarintLen32

// decodeMessages calls fn for each message of a kindMessages payload (kind
// byte included) and stops at the first malformed entry, returning how many
// messages were cut off by it as an error. Bodies alias p.
func decodeMessages(p []byte, fn func(id int, body []byte)) error {
	if len(p) < 1 || p[0] != kindMessages {
		return fmt.Errorf("%w: not a message batch", ErrMalformed)
	}
	p = p[1:]
	for len(p) > 0 {
		id, n := binary.Uvarint(p)
		if n <= 0 || id > 1<<20 {
			return fmt.Errorf("%w: bad message type", ErrMalformed)
		}
		p = p[n:]
		size, n := binary.Uvarint(p)
		if n <= 0 || size > uint64(len(p)-n) {
			return fmt.Errorf("%w: bad message length", ErrMalformed)
		}
		p = p[n:]
		fn(int(id), p[:size])
		p = p[size:]
	}
	return nil
}
