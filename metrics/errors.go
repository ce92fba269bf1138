package metrics

import "errors"

// ErrListen: the metrics server could not listen on the address asked for.
var ErrListen = errors.New("metrics: cannot listen")
