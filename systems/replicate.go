package systems

import (
	"errors"
	"fmt"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/wire"
)

// sendReplication runs in the send step: a server captures a snapshot of
// every lane every SnapshotEvery ticks and queues each accepted client's
// datagrams on the lane's channel and mode; a client acknowledges each
// lane's newest complete snapshot every tick, unreliably on the lane's
// channel (acks are tiny, idempotent and ride beside pings and messages).
//
// With interest management or a budget, each client has its own snapshot
// (replication.Server.PerClient), so the server spreads the clients over
// the interval: it captures every tick and serves each client on its own
// phase of the SnapshotEvery ticks (each still gets one snapshot per
// interval), so a tick costs a share of the clients, not all of them every
// SnapshotEvery ticks. Otherwise, OwnerOnly components or not, clients
// with the same baseline and view share one encoding (and one packet), so
// every client is served on the same tick: staggering would split them
// over the phases and multiply the encodings. An owner of entities with
// OwnerOnly components gets an encoding of its own per snapshot, built
// from everyone's (see replication.Server).
func (n *Network) sendReplication() {
	every := uint32(n.cfg.SnapshotEvery)
	staggered := len(n.replServers) > 0 && n.replServers[0].PerClient() // the lanes' servers share their options
	if len(n.replServers) > 0 && (staggered || n.tick%every == 0) {
		for i, rs := range n.replServers {
			lane := n.lanes[i]
			rs.Capture(n.world, n.tick)
			for _, id := range n.ids {
				if staggered && (n.tick+uint32(id))%every != 0 {
					continue // not this client's phase
				}
				if r := n.peers[id]; r.state != components.PeerConnected {
					continue
				}
				parts, err := rs.Datagrams(id)
				if err != nil {
					continue // counted by the replication server
				}
				for _, p := range parts {
					n.put(id, lane.Channel, lane.Mode, p)
				}
			}
		}
	}
	if n.accepted {
		for i, c := range n.replClients {
			if ack := c.AckPayload(); ack != nil {
				n.put(serverID, n.lanes[i].Channel, wire.Unreliable, ack)
			}
		}
	}
}

func (n *Network) onSnapshot(r *remote, channel int, p []byte) error {
	lane, ok := replication.Lane(p)
	if !ok || lane >= len(n.replClients) || !n.accepted || r.id != 1 || n.lanes[lane].Channel != channel {
		return fmt.Errorf("%w: unexpected snapshot", ErrMalformed)
	}
	err := n.replClients[lane].HandleSnapshot(p)
	if errors.Is(err, replication.ErrNoBaseline) {
		return nil // a lost snapshot's successor, not bad input: counted by the client
	}
	return err
}

func (n *Network) onAck(r *remote, p []byte) error {
	lane, ok := replication.Lane(p)
	if !ok || lane >= len(n.replServers) || r.state != components.PeerConnected {
		return fmt.Errorf("%w: unexpected ack", ErrMalformed)
	}
	return n.replServers[lane].HandleAck(r.id, p)
}
