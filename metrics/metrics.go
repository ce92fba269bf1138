// Package metrics exports a netburi network's counters to Prometheus: host
// and peer traffic, round trips and loss, drops by reason, the datagram
// guard's drops by rule and what it did about senders, the relay's
// counters, replication bytes and encode time per lane, input lateness and
// tick time. The host, guard and relay series are an ENet transport's
// (ecsnet.Peer); on another transport (such as transport/memnet) the
// per-peer series come from transport.LinkStats, their drops unclassified.
//
// Collecting is cheap by construction: nothing is counted per packet for
// metrics' sake. The game loop, which owns the world and the peer, calls
// Update once per tick; every PublishEvery ticks it reads the counters the
// network already keeps into an immutable snapshot. A scrape, on the HTTP
// server's goroutine, reads only the newest snapshot and never touches the
// peer.
package metrics

import (
	"reflect"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/transport"
)

// Options tune a Network's metrics. The zero value is usable.
type Options struct {
	// Namespace prefixes every metric name; default "netburi".
	Namespace string
	// PublishEvery is how many ticks pass between snapshots of the
	// counters; default DefaultPublishEvery.
	PublishEvery int
	// PerPeer adds series labelled by peer ID (RTT, loss, payload bytes).
	// Off by default: one series per client is one per player on a busy
	// fleet.
	PerPeer bool
	// Inputs, when set, reports a server's cumulative input counters:
	// inputs that arrived after their tick was simulated, and inputs
	// dropped for claiming impossible ticks (systems.InputStats' Late and
	// Early); it is called on the game loop's goroutine at each snapshot.
	Inputs func() (late, malformed uint64)
	// TickBuckets are the tick-duration histogram's upper bounds in
	// seconds; default 0.1 ms to 66 ms, around a 60 Hz budget.
	TickBuckets []float64
}

// DefaultPublishEvery is the default ticks between snapshots: half a
// second at 60 ticks per second, far fresher than a scrape interval.
const DefaultPublishEvery = 30

func (o Options) withDefaults() Options {
	if o.Namespace == "" {
		o.Namespace = "netburi"
	}
	if o.PublishEvery <= 0 {
		o.PublishEvery = DefaultPublishEvery
	}
	if o.TickBuckets == nil {
		o.TickBuckets = []float64{.0001, .00025, .0005, .001, .002, .004, .008, .0166, .033, .066}
	}
	return o
}

// hostDropSkip are HostStats fields that are not drops (exported on their
// own); every other unsigned counter in HostStats (and in structs or rule
// maps nested in it) is a drop reason of netburi_host_drops_total. The
// guard's counters have series of their own (guardEvents below).
var hostDropSkip = []string{"RefusedConnections", "RefusedFewChannels", "PollLimited",
	"DatagramsSent", "DatagramsReceived", "BytesSent", "BytesReceived", "Transport", "Guard",
	"BatchedSends", "SendCalls"}

// guardEvents are GuardStats fields that count what the guard did rather
// than datagrams it dropped (GuardStats.Dropped leaves them out): they are
// netburi_guard_events_total; every other counter of GuardStats is a rule
// of netburi_guard_drops_total.
var guardEvents = []string{"PendingExpired", "AbuseDisconnects", "ServiceErrors"}

// relaySkip are TransportStats fields exported on their own.
var relaySkip = []string{"Relayed", "Sessions", "PendingHandshakes", "DatagramsIn", "DatagramsOut"}

var (
	peerDropFields   = newCounterFields(reflect.TypeFor[ecsnet.DropCounts]())
	hostDropFields   = newCounterFields(reflect.TypeFor[ecsnet.HostStats](), hostDropSkip...)
	guardDropFields  = newCounterFields(reflect.TypeFor[ecsnet.GuardStats](), guardEvents...)
	guardEventFields = newCounterFields(reflect.TypeFor[ecsnet.GuardStats](), guardDropFields.names()...)
	relayFields      = newCounterFields(reflect.TypeFor[ecsnet.TransportStats](), relaySkip...)
)

// Network collects the metrics of one systems.Network. Register it with a
// prometheus.Registerer (it is a prometheus.Collector); call Update (or add
// it as a system after the network's send step) and ObserveTick on the
// game loop's goroutine. Collect and Describe are safe from any goroutine.
type Network struct {
	net   *systems.Network
	world donburi.World
	peers *donburi.Query // one per Network: a query caches per world, unsynchronised
	opts  Options
	d     descs
	tick  prometheus.Histogram

	snap atomic.Pointer[snapshot]

	// Owned by the game loop.
	calls    int
	last     map[int]peerCounters
	departed peerCounters
	udp      [4]wrapping // bytes sent, received; datagrams sent, received
}

// peerCounters are the cumulative counters of one peer (or a sum).
type peerCounters struct {
	bytesSent, bytesReceived, packetsSent, packetsReceived, packetsRelayed uint64
	drops                                                                  ecsnet.DropCounts
	// unclassified are drops a transport other than ENet reports without
	// a cause (transport.LinkStats.Dropped).
	unclassified uint64
}

func (a *peerCounters) add(b peerCounters) {
	a.bytesSent += b.bytesSent
	a.bytesReceived += b.bytesReceived
	a.packetsSent += b.packetsSent
	a.packetsReceived += b.packetsReceived
	a.packetsRelayed += b.packetsRelayed
	a.unclassified += b.unclassified
	da, db := reflect.ValueOf(&a.drops).Elem(), reflect.ValueOf(b.drops)
	for i := range da.NumField() {
		da.Field(i).SetUint(da.Field(i).Uint() + db.Field(i).Uint())
	}
}

// wrapping widens one of ENet's wrapping 32-bit counters.
type wrapping struct {
	prev  uint32
	total uint64
}

func (w *wrapping) update(v uint32) uint64 {
	w.total += uint64(v - w.prev)
	w.prev = v
	return w.total
}

// snapshot is what a scrape sees; immutable once published.
type snapshot struct {
	tick         uint32
	peersByState map[components.PeerState]int
	// enet: the transport is an ENet peer, and the host, guard and relay
	// series below are its own; other transports have none of them.
	enet                  bool
	udp                   [4]uint64
	refused, pollLimited  uint64
	refusedFewChannels    uint64
	hostDrops             []labelled
	guardDrops            []labelled
	guardEvents           []labelled
	relayed               bool
	relaySessions         int
	relayPending          int
	relayIn, relayOut     uint64
	relay                 []labelled
	payload               peerCounters
	peerDrops             []labelled
	rttMean, rttMax       float64
	lossMean, lossMax     float64
	lanes                 []laneSnapshot
	hasInputs             bool
	inputsLate, inputsBad uint64
	perPeer               []peerSnapshot
}

type laneSnapshot struct {
	lane, channel, mode                 string
	datagrams, bytes                    uint64
	encode                              float64
	fullStates, oversize, malformedAcks uint64
}

type peerSnapshot struct {
	id        string
	rtt, loss float64
	c         peerCounters
}

// New returns the metrics of net, whose world is world. Call it on the
// game loop's goroutine; it takes a first snapshot.
func New(world donburi.World, net *systems.Network, opts Options) *Network {
	opts = opts.withDefaults()
	m := &Network{
		net: net, world: world, opts: opts,
		peers: donburi.NewQuery(filter.Contains(components.RemotePeer)),
		d:     newDescs(opts.Namespace),
		last:  map[int]peerCounters{},
		tick: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: opts.Namespace, Name: "tick_duration_seconds",
			Help:    "Time the game loop spent in one tick (receive, game systems, send), as the loop reported it.",
			Buckets: opts.TickBuckets,
		}),
	}
	m.publish()
	return m
}

// Update is the per-tick hook, as a donburi ecs system run by the game
// loop: add it after the network's send step. Every PublishEvery calls it
// publishes a snapshot. A peer that leaves between two snapshots keeps the
// counts of the last one it was in; its traffic after that is not counted
// in the payload and peer-drop totals (the UDP totals have it).
func (m *Network) Update(*ecs.ECS) { m.Step() }

// Step is Update without the ecs argument (on the game loop's goroutine).
func (m *Network) Step() {
	m.calls++
	if m.calls%m.opts.PublishEvery == 0 {
		m.publish()
	}
}

// ObserveTick records one tick's duration (safe from any goroutine).
func (m *Network) ObserveTick(d time.Duration) { m.tick.Observe(d.Seconds()) }

// Publish takes a snapshot now (on the game loop's goroutine), for a final
// state before shutting down or in tests.
func (m *Network) Publish() { m.publish() }

func (m *Network) publish() {
	tr := m.net.Transport()
	peer, enet := tr.(*ecsnet.Peer)
	s := &snapshot{tick: m.net.Tick(), peersByState: map[components.PeerState]int{}, enet: enet}
	if enet {
		hs := peer.Stats()
		s.udp = [4]uint64{m.udp[0].update(hs.BytesSent), m.udp[1].update(hs.BytesReceived),
			m.udp[2].update(hs.DatagramsSent), m.udp[3].update(hs.DatagramsReceived)}
		s.refused, s.refusedFewChannels, s.pollLimited = hs.RefusedConnections, hs.RefusedFewChannels, hs.PollLimited
		s.hostDrops = hostDropFields.values(hs, nil)
		s.guardDrops = guardDropFields.values(hs.Guard, nil)
		s.guardEvents = guardEventFields.values(hs.Guard, nil)
		t := hs.Transport
		s.relayed, s.relaySessions, s.relayPending = t.Relayed, t.Sessions, t.PendingHandshakes
		s.relayIn, s.relayOut = t.DatagramsIn, t.DatagramsOut
		s.relay = relayFields.values(t, nil)
	}

	seen := make(map[int]peerCounters, len(m.last))
	var rttSum, lossSum float64
	n := 0
	m.peers.Each(m.world, func(e *donburi.Entry) {
		rp := components.RemotePeer.Get(e)
		s.peersByState[rp.State]++
		c, rtt, loss, ok := peerStats(tr, peer, rp.ID)
		if !ok {
			return
		}
		seen[rp.ID] = c
		s.payload.add(c)
		rttSum += rtt
		lossSum += loss
		s.rttMax = max(s.rttMax, rtt)
		s.lossMax = max(s.lossMax, loss)
		n++
		if m.opts.PerPeer {
			s.perPeer = append(s.perPeer, peerSnapshot{strconv.Itoa(rp.ID), rtt, loss, c})
		}
	})
	for id, c := range m.last {
		if _, ok := seen[id]; !ok {
			m.departed.add(c) // its traffic since the last snapshot is not counted
		}
	}
	m.last = seen
	s.payload.add(m.departed)
	if n > 0 {
		s.rttMean, s.lossMean = rttSum/float64(n), lossSum/float64(n)
	}
	s.peerDrops = peerDropFields.values(s.payload.drops, nil)

	for i, l := range m.net.Lanes() {
		rs := m.net.Replication(i)
		if rs == nil {
			break
		}
		st := rs.Stats()
		s.lanes = append(s.lanes, laneSnapshot{
			lane: strconv.Itoa(i), channel: strconv.Itoa(l.Channel), mode: l.Mode.String(),
			datagrams: st.DatagramsSent, bytes: st.BytesSent, encode: st.EncodeTime.Seconds(),
			fullStates: st.FullStates, oversize: st.OversizeDrops, malformedAcks: st.Malformed,
		})
	}
	if m.opts.Inputs != nil {
		s.hasInputs = true
		s.inputsLate, s.inputsBad = m.opts.Inputs()
	}
	m.snap.Store(s)
}

// peerStats reads one remote peer's counters, RTT in seconds and loss: from
// ENet's statistics (drops by cause) when the transport is an ENet peer,
// from transport.LinkStats otherwise. ok is false for a peer the transport
// no longer knows.
func peerStats(tr transport.Transport, peer *ecsnet.Peer, id int) (c peerCounters, rtt, loss float64, ok bool) {
	if peer != nil {
		st, err := peer.PeerStatistics(id)
		if err != nil {
			return c, 0, 0, false
		}
		c = peerCounters{st.BytesSent, st.BytesReceived, st.PacketsSent, st.PacketsReceived, st.PacketsRelayed, st.Dropped, 0}
		return c, st.RTT.Seconds(), st.PacketLoss, true
	}
	st, err := tr.LinkStats(id)
	if err != nil {
		return c, 0, 0, false
	}
	c = peerCounters{bytesSent: st.BytesSent, bytesReceived: st.BytesReceived, packetsSent: st.PacketsSent,
		packetsReceived: st.PacketsReceived, unclassified: st.Dropped}
	return c, st.RTT.Seconds(), st.PacketLoss, true
}
