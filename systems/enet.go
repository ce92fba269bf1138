//go:build cgo

package systems

import (
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/transport"
)

// defaultTransport is ENet with Godot 3's defaults where cgo builds it.
func defaultTransport() transport.Provider { return ecsnet.Options{} }
