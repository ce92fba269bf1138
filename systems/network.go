// Package systems holds netburi's behaviour for donburi worlds: the network
// system that polls a transport (ENet through ecsnet, or any
// transport.Transport) each tick, turns its events into
// connection-event entities, keeps one entity per remote peer current,
// delivers typed messages and keeps a tick shared by server and clients.
//
// Add Network.Receive before the game's systems and Network.Send after them
// (or call ReceiveStep and SendStep yourself). A Network, its world and its
// transport belong to the goroutine that runs the world. One Registry is
// the protocol: messages (RegisterMessage) and replicated components
// (RegisterComponent), under one schema hash both ends compare.
package systems

import (
	"errors"
	"fmt"
	"slices"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/transport"
	"github.com/netburi/netburi/wire"
)

// Config tunes a network. The zero value is usable.
type Config struct {
	TickRate     int // simulation ticks per second; default 60
	MaxClients   int // server; default 32
	ChannelCount int // channels, 0 being the transport's own; default 3
	// Transport starts the network's transport; default ENet with Godot
	// 3's settings (ecsnet.Options{}, where cgo builds it). Set it to
	// ecsnet.Options for compression, DTLS and the like, or to another
	// transport such as memnet's.
	Transport transport.Provider
	// MaxMalformed is how many malformed or unknown messages a client may
	// send before the server disconnects it; default 64, negative never.
	MaxMalformed int
	// PingInterval is how often (in ticks) a client samples the server's
	// tick; default a quarter second.
	PingInterval int
	// ClientRelay lets clients send messages to each other through the
	// server (the server runs Godot's relay). Off by default: the server
	// forwards nothing and a client drops whatever does not come from the
	// server. When on, a client takes only messages from other clients,
	// each with its true sender (never 1): snapshots, ticks, welcomes and
	// every other system payload are taken from the server alone.
	ClientRelay bool

	// SnapshotEvery is how many ticks pass between snapshots; default 1
	// (every tick). 3 gives 20 Hz snapshots on a 60 Hz simulation. With
	// Interest or a ReplicationRate each client has its own snapshots and
	// is served on its own phase of the interval, spreading the cost over
	// the ticks; otherwise, OwnerOnly components or not, every client is
	// served on the same tick, so that clients with the same baseline and
	// view share one encoding and one packet.
	SnapshotEvery int
	// InterpolationDelay is how many ticks behind its estimate of the
	// server's tick a client shows interpolated components; default two
	// snapshot intervals.
	InterpolationDelay float64
	// Interest, on a server, gives each client only the entities in its
	// scope: a grid, groups and overrides (replication.Interest; set each
	// client's view with Network.SetView). Nil: every client sees every
	// replicated entity.
	Interest *replication.Interest
	// ReplicationRate, on a server, is each client's replication budget in
	// bytes per second, shared by the lanes; each snapshot carries the
	// highest-priority changes that fit its share and the rest go later.
	// Default, with Interest set: the ENet host's outgoing bandwidth
	// divided by MaxClients when ecsnet.Options.OutBandwidth is set, else
	// no budget; without Interest, no budget unless set (a budget gives
	// each client its own snapshots, which without interest management
	// hold the whole world); negative: no budget.
	ReplicationRate int
	// Headless, on a client, skips interpolation: interpolated components
	// take each snapshot's value as it is applied and no samples are kept.
	// The cheap client mode of load bots and tools that render nothing;
	// everything else (inputs, acks, ticks, prediction) runs as usual.
	Headless bool
	// PeerStatsEvery is how many ticks pass between refreshes of a remote
	// peer's statistics (components.PeerStatistics: RTT, loss, rates,
	// Malformed; on a server also components.Link); default TickRate/4
	// ticks (4 Hz), 1 every tick. The peers are spread over the period,
	// each on its own phase, so a server of 4,095 clients refreshes a
	// share of them each tick, not all of them, and the per-second rates
	// stay exact (each sample keeps its tick). A peer's state and address
	// are not statistics: they show on the tick they change.
	PeerStatsEvery int
}

func (c Config) withDefaults() Config {
	if c.TickRate <= 0 {
		c.TickRate = 60
	}
	if c.MaxClients <= 0 {
		c.MaxClients = 32
	}
	if c.ChannelCount == 0 {
		c.ChannelCount = wire.MinChannels
	}
	if c.Transport == nil {
		c.Transport = defaultTransport()
	}
	if c.MaxMalformed == 0 {
		c.MaxMalformed = 64
	}
	if c.PingInterval <= 0 {
		c.PingInterval = max(1, c.TickRate/4)
	}
	if c.SnapshotEvery <= 0 {
		c.SnapshotEvery = 1
	}
	if c.PeerStatsEvery <= 0 {
		c.PeerStatsEvery = max(1, c.TickRate/4)
	}
	if c.ReplicationRate == 0 && c.Interest != nil {
		if bw := outBandwidth(c.Transport); bw > 0 {
			c.ReplicationRate = max(1, bw/c.MaxClients)
		}
	}
	if c.InterpolationDelay <= 0 {
		c.InterpolationDelay = 2 * float64(c.SnapshotEvery)
	}
	return c
}

// Network is the network system of one world: a server or a client.
type Network struct {
	world  donburi.World
	reg    *Registry
	cfg    Config
	tr     transport.Transport
	role   components.Role
	host   donburi.Entity
	events *donburi.Query
	peers  map[int]*remote
	ids    []int // peers' IDs in ascending order: every send follows it, so a seeded transport replays exactly

	inboxes []inbox
	raw     []RawPacket
	outbox  map[outKey]*outQueue
	order   []outKey
	spare   []*outQueue // flushed queues, for the next tick's streams
	share   sharing     // flushOutbox's grouping of identical payloads
	noShare bool        // a packet per client and payload, as before sharing (benchmarks' baseline)

	tick  uint32 // server: authoritative; client: estimate
	clock uint32 // client: local ticks, never adjusted
	est   tickEstimate

	accepted bool // client: the server accepted our schema
	stats    Stats

	lanes       []components.LaneData
	replServers []*replication.Server // one per lane
	replClients []*replication.Client // one per lane, sharing one entity map

	pl pipeline // the registered input type's pipeline (input.go), or nil
}

// remote is what the system tracks of one remote peer.
type remote struct {
	id        int
	entity    donburi.Entity
	state     components.PeerState
	malformed uint64
	window    rateWindow
}

// NewServer creates the host entity and a server listening on port (0 for
// any free port; see Transport().LocalPort()). Errors: ErrInvalidChannel
// for a registration on a channel the network lacks, ErrNoTransport
// without one, and the transport's own.
func NewServer(world donburi.World, reg *Registry, port int, cfg Config) (*Network, error) {
	n, err := newNetwork(world, reg, components.Server, cfg)
	if err != nil {
		return nil, err
	}
	n.tr, err = n.cfg.Transport.Listen(port, transport.ListenOptions{
		MaxClients: n.cfg.MaxClients, Channels: n.cfg.ChannelCount, Relay: n.cfg.ClientRelay,
	})
	if err != nil {
		return nil, fmt.Errorf("systems: start server: %w", err)
	}
	n.host = world.Create(components.Host)
	n.est.synced = true
	n.updateHost()
	return n, nil
}

// NewClient creates the host entity and starts connecting to a server.
// EventConnectionSucceeded follows once the server accepted this client's
// schema.
func NewClient(world donburi.World, reg *Registry, address string, port int, cfg Config) (*Network, error) {
	n, err := newNetwork(world, reg, components.Client, cfg)
	if err != nil {
		return nil, err
	}
	n.tr, err = n.cfg.Transport.Connect(address, port, transport.ConnectOptions{Channels: n.cfg.ChannelCount})
	if err != nil {
		return nil, fmt.Errorf("systems: connect to %s:%d: %w", address, port, err)
	}
	n.host = world.Create(components.Host)
	n.updateHost()
	return n, nil
}

func newNetwork(world donburi.World, reg *Registry, role components.Role, cfg Config) (*Network, error) {
	cfg = cfg.withDefaults()
	lanes := reg.Lanes() // freezes the registry
	n := &Network{
		world:  world,
		reg:    reg,
		cfg:    cfg,
		role:   role,
		events: donburi.NewQuery(filterEvents),
		peers:  map[int]*remote{},
		outbox: map[outKey]*outQueue{},
	}
	for _, m := range reg.messages {
		if m.channel >= cfg.ChannelCount || !m.mode.Valid() {
			return nil, fmt.Errorf("systems: message %q on channel %d of %d as %v: %w", m.name, m.channel, cfg.ChannelCount, m.mode, ErrInvalidChannel)
		}
		n.inboxes = append(n.inboxes, m.newInbox())
	}
	for _, l := range lanes {
		if l.Channel < 1 || l.Channel >= cfg.ChannelCount || !l.Mode.Valid() {
			return nil, fmt.Errorf("systems: replication lane on channel %d of %d as %v: %w", l.Channel, cfg.ChannelCount, l.Mode, ErrInvalidChannel)
		}
	}
	if cfg.Transport == nil {
		return nil, ErrNoTransport
	}
	n.lanes = lanes
	if reg.input != nil {
		n.pl = reg.input.newPipeline(n)
	}
	entities := replication.NewEntityMap()
	for i := range lanes {
		if role == components.Server {
			n.replServers = append(n.replServers, replication.NewServer(reg.comps, replication.ServerOptions{Lanes: lanes, Lane: i, Interest: cfg.Interest, SnapshotBytes: cfg.snapshotBytes(len(lanes))}))
		} else {
			n.replClients = append(n.replClients, replication.NewClient(reg.comps, replication.ClientOptions{Lane: i, Entities: entities, NoInterpolation: cfg.Headless}))
		}
	}
	return n, nil
}

// Lanes are the replication lanes in use, in wire order.
func (n *Network) Lanes() []components.LaneData { return n.lanes }

// Replication is the server's replication core of a lane (nil on a client,
// without replicated components, or for an unknown lane), for its
// counters.
func (n *Network) Replication(lane int) *replication.Server {
	if lane < 0 || lane >= len(n.replServers) {
		return nil
	}
	return n.replServers[lane]
}

// ReplicationClient is a client's replication core of a lane (nil on a
// server, without replicated components, or for an unknown lane): network IDs
// to entities, counters.
func (n *Network) ReplicationClient(lane int) *replication.Client {
	if lane < 0 || lane >= len(n.replClients) {
		return nil
	}
	return n.replClients[lane]
}

// Latest is component ct's value on e, a replicated entity of this
// client's world, in the newest snapshot applied (whichever lane carries
// ct): the server's own value, where the world shows an Interpolated
// component between older snapshots (draw both to show the smoothing, or
// use it for client-side prediction). It reports false on a server, for an
// entity that did not come from replication, and when that snapshot lacks
// the component. Call it from the goroutine that runs the world.
func Latest[T any](n *Network, world donburi.World, ct *donburi.ComponentType[T], e donburi.Entity) (T, bool) {
	var zero T
	if !world.Valid(e) {
		return zero, false
	}
	entry := world.Entry(e)
	if !entry.HasComponent(components.NetworkID) {
		return zero, false
	}
	id := components.NetworkID.Get(entry).ID
	for _, c := range n.replClients {
		if v, ok := replication.Latest(c, ct, id); ok {
			return v, true
		}
	}
	return zero, false
}

// Stats reports the network system's own counters.
func (n *Network) Stats() Stats { return n.stats }

// Transport is the network's transport, for its address, statistics and
// what else the system does not wrap (with ENet, an *ecsnet.Peer). The
// system sends through its stateless Send, so nothing a game sets on the
// transport changes how the system's payloads travel; a game's own bytes
// go through SendRaw.
func (n *Network) Transport() transport.Transport { return n.tr }

// ID is this end's peer ID: 1 on a server, the client's own on a client.
func (n *Network) ID() int { return n.tr.UniqueID() }

// Tick is the network tick: the server's own, or a client's estimate of it.
func (n *Network) Tick() uint32 { return n.tick }

// Accepted reports whether a client has been accepted by its server (always
// true on a server).
func (n *Network) Accepted() bool { return n.role == components.Server || n.accepted }

// Receive is the receive step as a donburi ecs system.
func (n *Network) Receive(*ecs.ECS) { n.ReceiveStep() }

// Send is the send step as a donburi ecs system.
func (n *Network) Send(*ecs.ECS) { n.SendStep() }

// Close tells every peer goodbye and closes the transport. The world keeps
// its entities.
func (n *Network) Close() { n.tr.Close() }

// ReceiveStep runs once per tick before the game's systems: it removes last
// tick's connection events, advances the tick, polls the peer, raises this
// tick's events, keeps peer entities current and fills the message inboxes.
func (n *Network) ReceiveStep() {
	n.clearEvents()
	n.advanceTick()
	for _, b := range n.inboxes {
		b.reset()
	}
	clear(n.raw)
	n.raw = n.raw[:0]
	if n.tr.ConnectionStatus() != transport.Disconnected {
		_ = n.tr.Poll() // fails only when closed, checked above
	}
	n.drainEvents()
	for {
		pk, ok := n.tr.Receive()
		if !ok {
			break
		}
		n.handlePacket(pk)
	}
	n.drainEvents() // disconnections the packets caused
	if n.pl != nil {
		n.pl.frame()
	}
	if n.accepted {
		for _, c := range n.replClients {
			c.Apply(n.world)
			c.Interpolate(n.world, float64(n.tick)-n.cfg.InterpolationDelay)
		}
		if n.pl != nil {
			n.pl.afterApply()
		}
	}
	n.updatePeers()
	n.updateHost()
}

// SendStep runs once per tick after the game's systems: it sends what the
// tick queued, in as few packets as fit, and flushes the peer once.
func (n *Network) SendStep() {
	if n.tr.ConnectionStatus() != transport.Connected {
		n.dropOutbox()
		return
	}
	if n.role == components.Client && n.accepted && n.clock%uint32(n.cfg.PingInterval) == 0 {
		n.put(serverID, wire.UnreliableChannel, wire.Unreliable, encodePing(n.clock))
	}
	if n.pl != nil {
		n.pl.send()
	}
	n.sendReplication()
	n.flushOutbox()
	n.tr.Flush()
}

func (n *Network) advanceTick() {
	if n.role == components.Server {
		n.tick++
		return
	}
	n.clock++
	n.est.advance()
	n.tick = n.est.tick
}

// raise creates a connection-event entity for this tick.
func (n *Network) raise(kind components.EventKind, id int, reason string) {
	e := n.world.Create(components.ConnectionEvent)
	components.ConnectionEvent.SetValue(n.world.Entry(e), components.ConnectionEventData{
		Kind: kind, PeerID: id, Tick: n.tick, Reason: reason,
	})
}

func (n *Network) clearEvents() {
	var stale []donburi.Entity
	n.events.Each(n.world, func(e *donburi.Entry) { stale = append(stale, e.Entity()) })
	for _, e := range stale {
		n.world.Remove(e)
	}
}

func (n *Network) drainEvents() {
	for {
		ev, ok := n.tr.Event()
		if !ok {
			return
		}
		n.handleEvent(ev)
	}
}

func (n *Network) handleEvent(ev transport.Event) {
	switch ev.Kind {
	case transport.PeerConnected:
		if n.role == components.Client && ev.PeerID != 1 {
			return // other clients, announced by the server's relay
		}
		n.addPeer(ev.PeerID)
		n.raise(components.EventPeerConnected, ev.PeerID, "")
		if n.role == components.Client {
			n.put(serverID, wire.ReliableChannel, wire.Reliable, encodeHello(n.reg.Schema()))
		}
	case transport.PeerDisconnected:
		if n.removePeer(ev.PeerID) {
			n.raise(components.EventPeerDisconnected, ev.PeerID, "")
		}
	case transport.ConnectionFailed:
		n.raise(components.EventConnectionFailed, 0, "")
	case transport.ServerDisconnected:
		n.removePeer(1)
		n.accepted = false
		n.est = tickEstimate{}
		n.raise(components.EventServerDisconnected, 1, "")
	}
}

func (n *Network) addPeer(id int) {
	e := n.world.Create(components.RemotePeer)
	n.peers[id] = &remote{id: id, entity: e, state: components.PeerConnecting, window: newRateWindow(n.cfg.TickRate, n.cfg.PeerStatsEvery)}
	i, _ := slices.BinarySearch(n.ids, id)
	n.ids = slices.Insert(n.ids, i, id)
	st, _ := n.tr.LinkStats(id)
	components.RemotePeer.SetValue(n.world.Entry(e), components.RemotePeerData{
		ID: id, Address: st.Address, Port: st.Port, State: components.PeerConnecting,
	})
	n.refreshStats(n.peers[id]) // the rate window's first sample
}

func (n *Network) removePeer(id int) bool {
	r := n.peers[id]
	if r == nil {
		return false
	}
	delete(n.peers, id)
	if i, ok := slices.BinarySearch(n.ids, id); ok {
		n.ids = slices.Delete(n.ids, i, i+1)
	}
	for _, rs := range n.replServers {
		rs.RemoveClient(id)
	}
	if n.world.Valid(r.entity) {
		n.world.Remove(r.entity)
	}
	return true
}

func (n *Network) handlePacket(pk transport.Packet) {
	if n.role == components.Client && pk.From != serverID {
		n.fromOtherClient(pk)
		return
	}
	r := n.peers[pk.From]
	if r == nil || len(pk.Data) == 0 {
		return
	}
	var err error
	switch pk.Data[0] {
	case kindHello:
		err = n.onHello(r, pk.Data)
	case kindPing:
		err = n.onPing(r, pk.Data)
	case kindWelcome:
		err = n.onWelcome(r, pk.Data)
	case kindReject:
		err = n.onReject(r, pk.Data)
	case kindPong:
		err = n.onPong(pk.Data)
	case kindMessages:
		err = n.onMessages(r, pk.From, pk.Data)
	case wire.KindRaw:
		err = n.onRaw(r, pk)
	case kindSnapshot:
		err = n.onSnapshot(r, pk.Channel, pk.Data)
	case kindAck:
		err = n.onAck(r, pk.Data)
	default:
		err = fmt.Errorf("%w: unknown payload kind %#x", ErrMalformed, pk.Data[0])
	}
	if err != nil {
		n.malformed(r)
	}
}

// fromOtherClient takes a payload another client sent this client through
// the server's relay: messages only, with their true sender, and only
// when Config.ClientRelay allows it. Nothing from a client is ever taken
// as the server's word.
func (n *Network) fromOtherClient(pk transport.Packet) {
	if !n.cfg.ClientRelay || !n.accepted || len(pk.Data) == 0 || (pk.Data[0] != kindMessages && pk.Data[0] != wire.KindRaw) {
		n.stats.NotFromServer++
		return
	}
	if pk.Data[0] == wire.KindRaw {
		n.addRaw(pk)
		return
	}
	bad := 0
	err := decodeMessages(pk.Data, func(id int, body []byte) {
		if id >= len(n.inboxes) || n.inboxes[id].add(pk.From, n.tick, body) != nil {
			bad++
		}
	})
	if err != nil || bad > 0 {
		n.stats.PeerMalformed++
	}
}

// malformed counts bad input from a peer and, on a server, disconnects a
// client past the limit.
func (n *Network) malformed(r *remote) {
	r.malformed++
	if n.role == components.Server && n.cfg.MaxMalformed >= 0 && r.malformed > uint64(n.cfg.MaxMalformed) {
		_ = n.tr.DisconnectPeer(r.id, true) // queues PeerDisconnected, drained next
	}
}

func (n *Network) onHello(r *remote, p []byte) error {
	if n.role != components.Server || r.state != components.PeerConnecting {
		return fmt.Errorf("%w: unexpected hello", ErrMalformed)
	}
	version, schema, err := parseHello(p)
	if err != nil {
		return err
	}
	var reason string
	switch {
	case version != protocolVersion:
		reason = fmt.Sprintf("protocol version %d, server speaks %d", version, protocolVersion)
	case schema != n.reg.Schema():
		reason = fmt.Sprintf("schema %016x differs from the server's %016x (other message or component registrations)", schema, n.reg.Schema())
	}
	if reason != "" {
		n.setState(r, components.PeerRejected)
		n.put(r.id, wire.ReliableChannel, wire.Reliable, encodeReject(reason))
		n.flushOutbox()
		_ = n.tr.DisconnectPeer(r.id, false) // after the reject is delivered
		n.raise(components.EventPeerRejected, r.id, reason)
		return nil
	}
	n.setState(r, components.PeerConnected)
	n.put(r.id, wire.ReliableChannel, wire.Reliable, encodeWelcome(n.tick, n.cfg.TickRate))
	for _, rs := range n.replServers {
		rs.AddClient(r.id)
	}
	n.raise(components.EventPeerAccepted, r.id, "")
	return nil
}

func (n *Network) onPing(r *remote, p []byte) error {
	clock, err := parsePing(p)
	if err != nil || n.role != components.Server || r.state != components.PeerConnected {
		return errors.Join(err, ErrMalformed)
	}
	n.put(r.id, wire.UnreliableChannel, wire.Unreliable, encodePong(clock, n.tick))
	return nil
}

func (n *Network) onWelcome(r *remote, p []byte) error {
	tick, _, err := parseWelcome(p)
	if err != nil || n.role != components.Client || n.accepted {
		return errors.Join(err, ErrMalformed)
	}
	n.accepted = true
	n.setState(r, components.PeerConnected)
	n.est.start(tick)
	n.tick = n.est.tick
	n.raise(components.EventConnectionSucceeded, 1, "")
	return nil
}

func (n *Network) onReject(r *remote, p []byte) error {
	reason, err := parseReject(p)
	if err != nil || n.role != components.Client || n.accepted {
		return errors.Join(err, ErrMalformed)
	}
	n.setState(r, components.PeerRejected)
	n.raise(components.EventConnectionRejected, 1, reason)
	return nil
}

func (n *Network) onPong(p []byte) error {
	clock, tick, err := parsePong(p)
	if err != nil || n.role != components.Client || !n.accepted || clock > n.clock {
		return errors.Join(err, ErrMalformed)
	}
	n.est.sample(tick, n.clock-clock)
	n.tick = n.est.tick
	return nil
}

func (n *Network) onMessages(r *remote, from int, p []byte) error {
	if r.state != components.PeerConnected {
		return fmt.Errorf("%w: messages before acceptance", ErrMalformed)
	}
	bad := 0
	err := decodeMessages(p, func(id int, body []byte) {
		if id >= len(n.inboxes) || n.inboxes[id].add(from, n.tick, body) != nil {
			bad++
		}
	})
	for range bad {
		n.malformed(r)
	}
	return err
}

// setState moves a peer to state and shows it on its entity at once (the
// statistics wait for their refresh; a state change does not).
func (n *Network) setState(r *remote, state components.PeerState) {
	r.state = state
	if n.world.Valid(r.entity) {
		components.RemotePeer.Get(n.world.Entry(r.entity)).State = state
	}
}

// updatePeers refreshes the statistics of the peers whose phase this tick
// is: each peer every PeerStatsEvery ticks, on the tick where
// (tick+ID) % PeerStatsEvery is 0 (by localTick), so the cost is spread
// over the period.
func (n *Network) updatePeers() {
	for _, id := range n.ids {
		if n.statsDue(id) {
			n.refreshStats(n.peers[id])
		}
	}
}

// statsDue reports whether this tick is peer id's phase of PeerStatsEvery.
func (n *Network) statsDue(id int) bool {
	return (n.localTick()+uint32(id))%uint32(n.cfg.PeerStatsEvery) == 0
}

// localTick counts this end's ticks without jumps: the server's tick, a
// client's own clock (its estimate of the server's tick moves with pongs).
func (n *Network) localTick() uint32 {
	if n.role == components.Server {
		return n.tick
	}
	return n.clock
}

// refreshStats samples a peer's link statistics onto its entity.
func (n *Network) refreshStats(r *remote) {
	st, err := n.tr.LinkStats(r.id)
	if err != nil {
		return
	}
	data := components.RemotePeer.Get(n.world.Entry(r.entity))
	data.Stats.RTT = st.RTT
	data.Stats.PacketLoss = st.PacketLoss
	data.Stats.Malformed = r.malformed + st.Dropped
	r.window.push(n.localTick(), st.BytesReceived, st.BytesSent, st.PacketsReceived, st.PacketsSent)
	data.Stats.BytesInPerSecond, data.Stats.BytesOutPerSecond,
		data.Stats.PacketsInPerSec, data.Stats.PacketsOutPerSec = r.window.rates(n.cfg.TickRate)
}

func (n *Network) updateHost() {
	components.Host.SetValue(n.world.Entry(n.host), components.HostData{
		Role: n.role, TickRate: n.cfg.TickRate, Tick: n.tick,
		Synced: n.role == components.Server || n.est.synced,
	})
}
