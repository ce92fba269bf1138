package agones

import "errors"

// Sentinel errors; every error this package returns wraps one (test with
// errors.Is).
var (
	// ErrUnreachable: the SDK sidecar did not answer (not running, wrong
	// port, timed out).
	ErrUnreachable = errors.New("agones: SDK sidecar unreachable")
	// ErrStatus: the sidecar answered with an HTTP error status.
	ErrStatus = errors.New("agones: SDK sidecar refused the request")
	// ErrMalformed: the sidecar's answer was not the documented JSON.
	ErrMalformed = errors.New("agones: malformed answer from the SDK sidecar")
	// ErrQueueFull: a request was dropped because too many were waiting
	// (the sidecar is slow or down).
	ErrQueueFull = errors.New("agones: request queue full")
	// ErrClosed: the SDK was closed.
	ErrClosed = errors.New("agones: SDK closed")
)
