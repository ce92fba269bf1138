package game

import (
	"fmt"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/assets"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
)

// Settings are the transport choices a server and its clients share (or,
// for the link conditioner, one peer's own). A nil Dictionary with
// ecsnet.CompressZstdDict is the demo's own (assets.Dictionary).
type Settings = ecsnet.Options

// Config is the network configuration of a demo node.
func (p *Protocol) Config(s Settings) systems.Config {
	if s.Compression == ecsnet.CompressZstdDict && s.Dictionary == nil {
		s.Dictionary = assets.Dictionary()
	}
	return systems.Config{
		TickRate:      TickRate,
		SnapshotEvery: SnapshotEvery,
		MaxClients:    128,
		Transport:     s,
		// On the server: drones within ViewRadius of each player's ship
		// (ServerSim sets the views), ships and gems to everyone, within
		// a budget of ReplicationRate. Clients ignore both.
		Interest: &replication.Interest{
			Position: replication.PositionOf(Position, func(p *PositionData) (float64, float64) { return p.Pixels() }),
			CellSize: ViewRadius / 2,
		},
		ReplicationRate: ReplicationRate,
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
// Net.Transport().LocalPort()).
func NewServerNode(p *Protocol, port int, s Settings, opts ServerOptions) (*ServerNode, error) {
	return newServerNode(p, port, p.Config(s), opts)
}

// newServerNode is NewServerNode with a network configuration of the
// caller's (the dedicated server sets its own MaxClients).
func newServerNode(p *Protocol, port int, cfg systems.Config, opts ServerOptions) (*ServerNode, error) {
	if opts.ViewRadius > 0 && cfg.Interest != nil {
		in := *cfg.Interest
		in.CellSize = max(opts.ViewRadius/2, 16) // the grid follows the view's size
		cfg.Interest = &in
	}
	w := donburi.NewWorld()
	net, err := systems.NewServer(w, p.Registry, port, cfg)
	if err != nil {
		return nil, fmt.Errorf("demo server on port %d: %w", port, err)
	}
	sim := NewServerSim(p, net, opts)
	e := ecs.NewECS(w).AddSystem(net.Receive).AddSystem(sim.Update).AddSystem(net.Send)
	return &ServerNode{World: w, ECS: e, Net: net, Sim: sim}, nil
}

// Step runs one server tick.
func (n *ServerNode) Step() { n.ECS.Update() }

// ClientNode is a client world: the network system around the drones'
// motion, the pilot and the scoreboard.
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
	net, err := systems.NewClient(w, p.Registry, host, port, cfg)
	if err != nil {
		return nil, fmt.Errorf("demo client of %s:%d: %w", host, port, err)
	}
	view := NewView(w, net)
	n := &ClientNode{View: view, World: w, Net: net, Pilot: NewPilot(p, view, source), Scores: NewScoreboard(p, net)}
	drones := NewDroneSystem(net)
	n.ECS = ecs.NewECS(w).AddSystem(net.Receive).AddSystem(drones.Update).AddSystem(n.Scores.Update).AddSystem(n.Pilot.Update).AddSystem(net.Send)
	return n, nil
}

// Step runs one client tick.
func (n *ClientNode) Step() { n.ECS.Update() }

// peerOf is the ENet peer under a demo network (the demo runs on ENet).
func peerOf(n *systems.Network) *ecsnet.Peer { return n.Transport().(*ecsnet.Peer) }
