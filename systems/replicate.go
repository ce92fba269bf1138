package systems

import (
	"fmt"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
)

// Replication payload kinds (owned by the replication package's format).
const (
	kindSnapshot = 0x30
	kindAck      = 0x31
)

// sendReplication runs in the send step: a server captures a snapshot every
// SnapshotEvery ticks and queues each accepted client's datagrams; a client
// acknowledges its newest complete snapshot every tick (acks are tiny and
// ride beside pings and messages).
func (n *Network) sendReplication() {
	ch := n.cfg.SnapshotChannel
	switch {
	case n.replServer != nil && n.tick%uint32(n.cfg.SnapshotEvery) == 0:
		n.replServer.Capture(n.world, n.tick)
		for id, r := range n.peers {
			if r.state != components.PeerConnected {
				continue
			}
			parts, err := n.replServer.Datagrams(id)
			if err != nil {
				continue // counted by the replication server
			}
			for _, p := range parts {
				n.put(id, ch, ecsnet.TransferUnreliable, p)
			}
		}
	case n.replClient != nil && n.accepted:
		if ack := n.replClient.AckPayload(); ack != nil {
			n.put(1, ch, ecsnet.TransferUnreliable, ack)
		}
	}
}

func (n *Network) onSnapshot(r *remote, p []byte) error {
	if n.replClient == nil || !n.accepted || r.id != 1 {
		return fmt.Errorf("%w: unexpected snapshot", ErrMalformed)
	}
	return n.replClient.HandleSnapshot(p)
}

func (n *Network) onAck(r *remote, p []byte) error {
	if n.replServer == nil || r.state != components.PeerConnected {
		return fmt.Errorf("%w: unexpected ack", ErrMalformed)
	}
	return n.replServer.HandleAck(r.id, p)
}
