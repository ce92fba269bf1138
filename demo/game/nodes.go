package game

import (
	"cmp"
	"crypto"
	"crypto/x509"
	"fmt"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/assets"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/systems"
)

// Settings are the transport choices a server and its clients share (or,
// for the link conditioner, one peer's own).
type Settings struct {
	Compression ecsnet.CompressionMode
	// DTLS, when set, encrypts the traffic.
	DTLS *DTLSSettings
	// Link, when set, puts a link conditioner on the peer (a zero value is
	// a perfect link that can be degraded later, live).
	Link *ecsnet.LinkConditions
	// BindIP is the local address; "" is every interface for a server.
	BindIP string
	// MaxClients is how many clients a server takes; default 128.
	MaxClients int
	// Dictionary is the zstd dictionary for ecsnet.CompressZstdDict; nil
	// is the demo's own (assets.Dictionary).
	Dictionary []byte
	// Record, when set, gets every packet the node sends (see
	// ecsnet.Peer.SetPacketRecorder), on the node's goroutine.
	Record func(payload []byte)
}

// DTLSSettings are a server's certificate and key, or the certificate a
// client trusts (nil with Verify false: encrypted, server unauthenticated).
type DTLSSettings struct {
	Cert   *x509.Certificate
	Key    crypto.Signer // servers only
	Verify bool          // clients: check the server against Cert
}

// Config is the network configuration of a demo node.
func (p *Protocol) Config(s Settings) systems.Config {
	return systems.Config{
		TickRate:      TickRate,
		SnapshotEvery: SnapshotEvery,
		Replication:   p.Replication,
		Compression:   s.Compression,
		BindIP:        s.BindIP,
		MaxClients:    cmp.Or(s.MaxClients, 128),
		Configure: func(peer *ecsnet.Peer) error {
			if d := s.DTLS; d != nil {
				if err := peer.SetDTLSEnabled(true); err != nil {
					return err
				}
				if err := peer.SetDTLSCertificate(d.Cert); err != nil {
					return err
				}
				if d.Key != nil {
					if err := peer.SetDTLSKey(d.Key); err != nil {
						return err
					}
				} else if err := peer.SetDTLSVerify(d.Verify); err != nil {
					return err
				}
			}
			if s.Compression == ecsnet.CompressZstdDict {
				d := s.Dictionary
				if d == nil {
					d = assets.Dictionary()
				}
				if err := peer.SetCompressionDictionary(d); err != nil {
					return err
				}
			}
			peer.SetPacketRecorder(s.Record)
			if s.Link != nil {
				return peer.SetLinkConditioner(*s.Link)
			}
			return nil
		},
	}
}

// ServerNode is a server world: the network system around the simulation.
type ServerNode struct {
	World donburi.World
	ECS   *ecs.ECS
	Net   *systems.Network
	Sim   *ServerSim
}

// NewServerNode starts a server listening on port (0: any free port, see
// Net.Peer().LocalPort()).
func NewServerNode(p *Protocol, port int, s Settings, opts ServerOptions) (*ServerNode, error) {
	w := donburi.NewWorld()
	net, err := systems.NewServer(w, p.Messages, port, p.Config(s))
	if err != nil {
		return nil, fmt.Errorf("demo server on port %d: %w", port, err)
	}
	sim := NewServerSim(p, net, opts)
	e := ecs.NewECS(w).AddSystem(net.Receive).AddSystem(sim.Update).AddSystem(net.Send)
	return &ServerNode{World: w, ECS: e, Net: net, Sim: sim}, nil
}

// Step runs one server tick.
func (n *ServerNode) Step() { n.ECS.Update() }

// ClientNode is a client world: the network system around the pilot and
// the scoreboard.
type ClientNode struct {
	*View
	World  donburi.World
	ECS    *ecs.ECS
	Net    *systems.Network
	Pilot  *Pilot
	Scores *Scoreboard
}

// NewClientNode connects to a server; source steers this client's ship.
func NewClientNode(p *Protocol, host string, port int, s Settings, source InputSource) (*ClientNode, error) {
	w := donburi.NewWorld()
	cfg := p.Config(s)
	net, err := systems.NewClient(w, p.Messages, host, port, cfg)
	if err != nil {
		return nil, fmt.Errorf("demo client of %s:%d: %w", host, port, err)
	}
	view := NewView(w, net)
	n := &ClientNode{View: view, World: w, Net: net, Pilot: NewPilot(p, view, source), Scores: NewScoreboard(p, net)}
	n.ECS = ecs.NewECS(w).AddSystem(net.Receive).AddSystem(n.Scores.Update).AddSystem(n.Pilot.Update).AddSystem(net.Send)
	return n, nil
}

// Step runs one client tick.
func (n *ClientNode) Step() { n.ECS.Update() }
