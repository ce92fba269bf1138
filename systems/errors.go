package systems

import "errors"

// Sentinel errors of the network system; test with errors.Is.
var (
	// ErrNotConnected: the destination is not an accepted peer (or this
	// client is not accepted yet).
	ErrNotConnected = errors.New("systems: not connected")
	// ErrUnknownMessage: the message type is not in this network's registry.
	ErrUnknownMessage = errors.New("systems: message type not registered")
	// ErrTooLarge: an unreliable message does not fit in one datagram.
	ErrTooLarge = errors.New("systems: message too large for an unreliable datagram")
	// ErrInvalidChannel: a message registration (Via), a replication lane
	// or SendRaw names a channel the network does not have (0 is the
	// transport's; Config.ChannelCount bounds the rest) or an unknown
	// transfer mode.
	ErrInvalidChannel = errors.New("systems: channel out of range")
	// ErrNoTransport: Config.Transport is unset and this build has no
	// default (ENet needs cgo).
	ErrNoTransport = errors.New("systems: no transport (set Config.Transport)")
	// ErrMalformed: bytes from the network that do not decode.
	ErrMalformed = errors.New("systems: malformed message")
)
