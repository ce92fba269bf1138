package ecsnet

import "errors"

// Sentinel errors of the peer, named after Godot's error codes. Every error a
// method returns wraps one of them with context; test with errors.Is.
var (
	// ErrAlreadyInUse: the peer is already active (server or client), or a
	// setting that must not change while active was changed.
	ErrAlreadyInUse = errors.New("already in use")
	// ErrCantCreate: libenet could not create the host (the port is taken,
	// the bind address is not local) or could not start connecting.
	ErrCantCreate = errors.New("can't create")
	// ErrInvalidParameter: an argument is out of range, or names a peer that
	// is not known.
	ErrInvalidParameter = errors.New("invalid parameter")
	// ErrCantResolve: the host name given to CreateClient did not resolve to
	// an IPv4 or IPv6 address.
	ErrCantResolve = errors.New("can't resolve")
	// ErrUnconfigured: the call needs an active, connected peer (or a server)
	// and this one is not.
	ErrUnconfigured = errors.New("unconfigured")
	// ErrUnavailable: nothing to return (GetPacket on an empty queue), or a
	// feature this build does not provide.
	ErrUnavailable = errors.New("unavailable")
)
