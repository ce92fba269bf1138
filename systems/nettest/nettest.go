// Package nettest runs a server world and client worlds in one process and
// steps them tick by tick, for netburi's own tests and for games testing
// their networked systems. By default they talk over an in-memory network
// (transport/memnet): seeded, conditioned by Options.Link, its clock
// advanced one tick per Step, the same on every run. With
// Config.Transport set (ecsnet.Options{BindIP: "127.0.0.1"} for ENet over
// loopback), they use that transport instead.
//
// A Harness and its worlds belong to the test's goroutine.
package nettest

import (
	"fmt"
	"testing"
	"time"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/transport/memnet"
)

// Node is one world with its network system: the server or a client.
type Node struct {
	World donburi.World
	ECS   *ecs.ECS
	Net   *systems.Network
}

// Step runs one tick of this node alone: receive, game systems, send.
func (n *Node) Step() { n.ECS.Update() }

// Events are the connection events this node raised in its current tick.
func (n *Node) Events() []components.ConnectionEventData {
	var out []components.ConnectionEventData
	components.ConnectionEvent.Each(n.World, func(e *donburi.Entry) {
		out = append(out, components.ConnectionEvent.GetValue(e))
	})
	return out
}

// Peers are the node's remote-peer components, by peer ID.
func (n *Node) Peers() map[int]components.RemotePeerData {
	out := map[int]components.RemotePeerData{}
	components.RemotePeer.Each(n.World, func(e *donburi.Entry) {
		p := components.RemotePeer.GetValue(e)
		out[p.ID] = p
	})
	return out
}

// Options configure a Harness.
type Options struct {
	// Registry is shared by the server and every client unless
	// ClientRegistry says otherwise.
	Registry *systems.Registry
	// ClientRegistry, when set, gives client i its own registry.
	ClientRegistry func(i int) *systems.Registry
	Clients        int
	// Config is every node's network configuration. Config.Transport, when
	// set, replaces the in-memory network.
	Config systems.Config
	// Seed and Link make the in-memory network's losses, delays and client
	// IDs (change the link later with Harness.Mem.SetLink).
	Seed uint64
	Link memnet.Link
	// Mem, when set, is the in-memory network to run on (Seed and Link are
	// then its own); Config.Transport may wrap it. Step advances it.
	Mem *memnet.Network
	// Systems, when set, adds a node's game systems; they run between the
	// receive and the send step. i is -1 for the server.
	Systems func(i int, n *Node)
	// RealTime paces Step at the tick rate instead of as fast as possible
	// (for a real transport; the in-memory network's clock moves one tick
	// per Step either way).
	RealTime bool
	// Deadline bounds StepUntil in wall time; default 20 s.
	Deadline time.Duration
}

// Harness is a server and its clients.
type Harness struct {
	t       testing.TB
	opts    Options
	Server  *Node
	Clients []*Node
	// Mem is the in-memory network (nil on another transport).
	Mem    *memnet.Network
	ticker *time.Ticker
	tick   time.Duration
}

// New starts a server (on the in-memory network, or port 0 of the given
// transport) and opts.Clients clients of it, without waiting for them;
// Connect waits. Everything closes at the end of the test.
func New(t testing.TB, opts Options) *Harness {
	t.Helper()
	if opts.Deadline == 0 {
		opts.Deadline = 20 * time.Second
	}
	h := &Harness{t: t, opts: opts}
	cfg := opts.Config
	h.Mem = opts.Mem
	if cfg.Transport == nil {
		if h.Mem == nil {
			h.Mem = memnet.New(opts.Seed, opts.Link)
		}
		cfg.Transport = h.Mem
	}
	h.opts.Config.Transport = cfg.Transport
	h.tick = time.Second / time.Duration(max(1, tickRate(cfg)))
	world := donburi.NewWorld()
	net, err := systems.NewServer(world, opts.Registry, 0, cfg)
	if err != nil {
		t.Fatalf("nettest: server: %v", err)
	}
	h.Server = h.node(world, net, -1)
	t.Cleanup(h.Close)
	for range opts.Clients {
		h.AddClient()
	}
	if opts.RealTime && h.Mem == nil {
		h.ticker = time.NewTicker(time.Second / time.Duration(max(1, tickRate(cfg))))
	}
	return h
}

func tickRate(cfg systems.Config) int {
	if cfg.TickRate > 0 {
		return cfg.TickRate
	}
	return 60
}

func (h *Harness) node(world donburi.World, net *systems.Network, i int) *Node {
	n := &Node{World: world, ECS: ecs.NewECS(world), Net: net}
	n.ECS.AddSystem(net.Receive)
	if h.opts.Systems != nil {
		h.opts.Systems(i, n)
	}
	n.ECS.AddSystem(net.Send)
	return n
}

// AddClient starts one more client (a late joiner) and returns it.
func (h *Harness) AddClient() *Node {
	h.t.Helper()
	i := len(h.Clients)
	reg := h.opts.Registry
	if h.opts.ClientRegistry != nil {
		reg = h.opts.ClientRegistry(i)
	}
	cfg := h.opts.Config
	world := donburi.NewWorld()
	net, err := systems.NewClient(world, reg, "127.0.0.1", h.Server.Net.Transport().LocalPort(), cfg)
	if err != nil {
		h.t.Fatalf("nettest: client %d: %v", i, err)
	}
	n := h.node(world, net, i)
	h.Clients = append(h.Clients, n)
	return n
}

// Step advances the in-memory network's clock by one tick and runs one
// tick of the server, then of every client.
func (h *Harness) Step() {
	if h.ticker != nil {
		<-h.ticker.C
	}
	if h.Mem != nil {
		h.Mem.Advance(h.tick)
	}
	h.Server.Step()
	for _, c := range h.Clients {
		c.Step()
	}
}

// StepUntil steps until cond holds, failing the test after maxTicks ticks or
// the wall-clock deadline. It returns the ticks taken.
func (h *Harness) StepUntil(maxTicks int, what string, cond func() bool) int {
	h.t.Helper()
	end := time.Now().Add(h.opts.Deadline)
	for i := 0; ; i++ {
		if cond() {
			return i
		}
		if i >= maxTicks || time.Now().After(end) {
			h.t.Fatalf("nettest: %s: not reached after %d ticks", what, i)
		}
		h.Step()
	}
}

// Connect steps until every client has been accepted by the server.
func (h *Harness) Connect() {
	h.t.Helper()
	h.StepUntil(10000, "every client accepted", func() bool {
		for _, c := range h.Clients {
			if !c.Net.Accepted() {
				return false
			}
		}
		return true
	})
}

// Close closes every node's network.
func (h *Harness) Close() {
	if h.ticker != nil {
		h.ticker.Stop()
	}
	for _, c := range h.Clients {
		c.Net.Close()
	}
	h.Server.Net.Close()
}

// String describes the harness for failure messages.
func (h *Harness) String() string {
	return fmt.Sprintf("server tick %d, %d clients", h.Server.Net.Tick(), len(h.Clients))
}
