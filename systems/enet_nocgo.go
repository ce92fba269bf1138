//go:build !cgo

package systems

import "github.com/netburi/netburi/transport"

// defaultTransport is none without cgo (ENet needs it): Config.Transport
// must name one.
func defaultTransport() transport.Provider { return nil }
