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
)
