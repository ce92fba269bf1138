package ecsnet

import (
	"testing"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
)

// Where libenet's own socket calls go past the hook (a libenet built with
// -Bsymbolic or LTO: the hook's symbols are linked, but libenet never calls
// them), the hook's probe misses, relayed peers get no hook and run through
// the relay's loopback sockets: the same traffic arrives, in order, rather
// than being pushed into a queue ENet never reads.
func TestRelayedPeersWhenLibenetBypassesTheHook(t *testing.T) {
	enethost.SimulateHookBypass(true)
	defer enethost.SimulateHookBypass(false)
	for name, cfg := range relayedConfigs(t) {
		t.Run(name, func(t *testing.T) {
			n := newTestNet(t)
			srv := n.server(4, cfg[0])
			cl := n.connected(srv, cfg[1])
			for _, p := range []*Peer{srv, cl} {
				if p.host.Hook() != nil {
					t.Fatal("a relayed peer was hooked although libenet's calls go past the hook")
				}
				if !p.transportStats().Relayed {
					t.Fatal("the peer has no relay")
				}
			}
			streamInOrder(t, n, srv, cl, 300)
			for _, p := range []*Peer{srv, cl} {
				if s := p.transportStats(); s.DatagramsIn == 0 || s.DatagramsOut == 0 {
					t.Errorf("the relay moved %d datagrams in and %d out", s.DatagramsIn, s.DatagramsOut)
				}
			}
		})
	}
}
