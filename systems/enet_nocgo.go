//go:build !cgo

package systems

import "github.com/netburi/netburi/transport"

// defaultTransport is none without cgo (ENet needs it): Config.Transport
// must name one.
func defaultTransport() transport.Provider { return nil }

// outBandwidth is 0 without cgo: no ENet.
func outBandwidth(transport.Provider) int { return 0 }
