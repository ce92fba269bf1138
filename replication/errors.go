package replication

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrMalformed: snapshot or input bytes from the network that do not
	// decode. They are dropped and counted.
	ErrMalformed = errors.New("replication: malformed data")
	// ErrNoBaseline: a snapshot refers to a baseline this client no longer
	// (or never) had; it is dropped and the server catches up from acks.
	ErrNoBaseline = errors.New("replication: baseline unknown")
	// ErrTooLarge: an entity's replicated components do not fit in one
	// snapshot datagram (ServerOptions.Budget), so it cannot be sent; a
	// programming error (a component too large, or a budget too small).
	// Server.Oversized reports it.
	ErrTooLarge = errors.New("replication: entity too large for a snapshot datagram")
)
