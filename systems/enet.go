//go:build cgo

package systems

import (
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/transport"
)

// defaultTransport is ENet with Godot 3's defaults where cgo builds it.
func defaultTransport() transport.Provider { return ecsnet.Options{} }

// outBandwidth is an ENet transport's outgoing bandwidth limit (0: none or
// not ENet).
func outBandwidth(p transport.Provider) int {
	switch o := p.(type) {
	case ecsnet.Options:
		return o.OutBandwidth
	case *ecsnet.Options:
		if o != nil {
			return o.OutBandwidth
		}
	}
	return 0
}
