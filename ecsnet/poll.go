package ecsnet

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
)

// Poll services the host without blocking: it sends what PutPacket queued
// since the last call (in as few datagrams as ENet can), receives every
// waiting datagram, relays client packets (server), queues received packets
// for GetPacket and connection events for NextEvent, up to the poll limit
// (SetPollLimit): what is left waits for the next call, so a flood cannot
// hold a frame. Call it once per tick from the goroutine that owns the
// peer. It fails with ErrUnconfigured when the peer is not active.
func (p *Peer) Poll() error { return p.PollWait(0) }

// PollWait is Poll, but when nothing is waiting it blocks up to wait for the
// first datagram or event. Servers without a frame loop and tests use it
// instead of sleeping.
func (p *Peer) PollWait(wait time.Duration) error {
	if !p.active {
		return fmt.Errorf("ecsnet: poll: %w", ErrUnconfigured)
	}
	timeout := uint32(wait.Milliseconds())
	limit := p.pollLimit
	if limit == 0 {
		limit = DefaultPollLimit
	}
	if p.rel != nil {
		p.rel.PumpIn() // what waits at the relay, for this service call
	}
	var ev enethost.Event
	handled, failures := 0, 0
	for p.active {
		if handled >= limit {
			p.pollLimited++
			break
		}
		got, err := p.host.Service(&ev, timeout)
		if err != nil {
			// libenet fails the whole service call on one datagram larger
			// than its buffer (MSG_TRUNC); the next call goes on with the
			// rest. Only a run of failures is the socket's.
			p.guardPast.ServiceErrors++
			if failures++; failures >= maxServiceFailures {
				return fmt.Errorf("ecsnet: poll: %w", err)
			}
			timeout = 0
			continue
		}
		if !got {
			break
		}
		timeout = 0
		// Drain what the last receive brought in before touching the
		// socket again: one recv pass serves many events.
		for p.active {
			p.handle(&ev)
			if handled++; handled >= limit || !p.active || !p.host.CheckEvents(&ev) {
				break
			}
		}
	}
	if p.active {
		p.sweep()
	}
	if p.active {
		p.checkRelay()
	}
	return nil
}

// maxServiceFailures is how many failed service calls in a row one Poll
// takes before it reports the error.
const maxServiceFailures = 64

// DefaultPollLimit is how many events one Poll handles unless SetPollLimit
// says otherwise: far more than a server of 4095 clients sending a few
// packets each per tick needs, few enough to bound one call to
// milliseconds.
const DefaultPollLimit = 65536

// SetPollLimit sets how many ENet events (packets, connections,
// disconnections) one Poll or PollWait handles at most; 0 restores
// DefaultPollLimit. Events beyond it stay queued in ENet (and datagrams in
// the socket) for the next call; HostStats.PollLimited counts the calls
// that reached it. It fails with ErrInvalidParameter for n < 0. It may
// be called at any time from the owning goroutine. (A netburi addition;
// Godot 3.2 polls until nothing is left.)
func (p *Peer) SetPollLimit(n int) error {
	if n < 0 {
		return fmt.Errorf("ecsnet: set poll limit %d: %w", n, ErrInvalidParameter)
	}
	p.pollLimit = n
	return nil
}

// PollLimit is the limit set by SetPollLimit, 0 meaning DefaultPollLimit.
func (p *Peer) PollLimit() int { return p.pollLimit }

// Flush sends everything queued now instead of at the next Poll. Network
// systems call it once at the end of a tick.
func (p *Peer) Flush() {
	if p.active {
		p.host.Flush()
		if p.rel != nil {
			p.rel.PumpOut() // what the flush sent, now
		}
	}
}

func (p *Peer) handle(ev *enethost.Event) {
	switch ev.Type {
	case enethost.EventConnect:
		if p.server {
			p.acceptClient(ev.Peer, int(int32(ev.Data)))
		} else {
			p.serverAnswered(ev.Peer)
		}
	case enethost.EventDisconnect:
		p.lostPeer(ev.Peer)
	case enethost.EventReceive:
		p.receive(ev) // the packet is the host's again at the next service call
	}
}

func (p *Peer) acceptClient(ep enethost.Peer, id int) {
	if ep.ChannelCount() < p.channelCount {
		// It could not receive on every channel: refused whole rather
		// than accepted half-working.
		p.fewChannels++
		id = 0
	}
	if id < 2 || p.peers[id] != nil || p.refuseNew {
		// Godot's refusal: a silent reset. The client saw ENet's
		// verify-connect and will time out.
		ep.SetTag(0)
		p.forget(ep)
		ep.Reset()
		p.refused++
		return
	}
	ep.SetTag(id)
	p.applyTimeout(ep)
	p.peers[id] = &remote{id: id, enet: ep}
	p.allDirty = true
	p.events.push(Event{PeerConnected, id})
	if !p.relay {
		return
	}
	// The others all get the same announcement: one shared packet.
	p.scratch = p.scratch[:0]
	for _, other := range p.sortedClients() {
		if other.id == id {
			continue
		}
		p.sendSystem(ep, systemMessage(sysAddPeer, other.id))
		p.scratch = append(p.scratch, other.enet)
	}
	p.sendSystemMany(p.scratch, systemMessage(sysAddPeer, id))
}

func (p *Peer) serverAnswered(ep enethost.Peer) {
	ep.SetTag(serverID)
	p.peers[serverID] = &remote{id: serverID, enet: ep}
	p.allDirty = true
	p.status = Connected
	p.events.push(Event{PeerConnected, serverID})
	p.events.push(Event{ConnectionSucceeded, 0})
}

func (p *Peer) lostPeer(ep enethost.Peer) {
	id := ep.Tag()
	ep.SetTag(0)
	p.forget(ep)
	if !p.server {
		if id == 0 {
			p.events.push(Event{ConnectionFailed, 0})
		} else {
			p.events.push(Event{ServerDisconnected, serverID})
		}
		// Packets already received stay readable.
		p.shutdown()
		return
	}
	if id == 0 || p.peers[id] == nil {
		return // never accepted (refused, or still connecting)
	}
	p.removeClient(id)
}

// removeClient forgets a client, tells the others (relay on) and raises
// PeerDisconnected.
func (p *Peer) removeClient(id int) {
	delete(p.peers, id)
	p.allDirty = true
	if p.relay {
		p.scratch = p.scratch[:0]
		for _, other := range p.sortedClients() {
			p.scratch = append(p.scratch, other.enet)
		}
		p.sendSystemMany(p.scratch, systemMessage(sysRemovePeer, id))
	}
	p.events.push(Event{PeerDisconnected, id})
}

func (p *Peer) sendSystem(ep enethost.Peer, msg []byte) {
	if err := ep.SendRaw(channelConfig, enethost.FlagReliable, msg); err != nil {
		p.strayDropped++
	}
}

// sendSystemMany queues one system message for many peers as one shared
// packet.
func (p *Peer) sendSystemMany(eps []enethost.Peer, msg []byte) {
	refused, err := enethost.SendRawMany(eps, channelConfig, enethost.FlagReliable, msg)
	if err != nil {
		refused = len(eps)
	}
	p.strayDropped += uint64(refused)
}

func (p *Peer) sortedClients() []*remote {
	rs := make([]*remote, 0, len(p.peers))
	for _, r := range p.peers {
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b *remote) int { return cmp.Compare(a.id, b.id) })
	return rs
}

// receive handles one received ENet packet; the caller releases it.
func (p *Peer) receive(ev *enethost.Event) {
	from := p.peers[ev.Peer.Tag()]
	if from == nil {
		p.strayDropped++
		return
	}
	data := ev.Packet.Bytes()
	drops := &from.stats.Dropped
	if ev.Channel == channelConfig {
		if p.server {
			drops.ConfigChannel++
			return
		}
		p.systemMessage(from, data)
		return
	}
	if ev.Channel >= p.channelCount {
		drops.BadChannel++
		return
	}
	source, target, payload, ok := parseHeader(data)
	if !ok {
		drops.Short++
		return
	}
	if !p.server {
		p.deliver(from, source, ev, payload)
		return
	}
	if source != from.id {
		drops.ForgedSource++
		return
	}
	switch {
	case target == serverID:
		p.deliver(from, source, ev, payload)
	case !p.relay:
		drops.RelayOff++
	case target == 0:
		p.deliver(from, source, ev, payload)
		p.forward(ev, from, 0)
	case target < 0:
		p.forward(ev, from, -target)
		if -target != serverID {
			p.deliver(from, source, ev, payload)
		}
	default:
		to := p.peers[target]
		if to == nil {
			drops.UnknownTarget++
			return
		}
		p.scratch = append(p.scratch[:0], to.enet)
		p.relayTo(ev, from)
	}
}

// forward relays a received packet, unchanged and shared, to every client
// but its sender and exclude.
func (p *Peer) forward(ev *enethost.Event, from *remote, exclude int) {
	p.scratch = p.scratch[:0]
	for id, r := range p.peers {
		if id != from.id && id != exclude {
			p.scratch = append(p.scratch, r.enet)
		}
	}
	p.relayTo(ev, from)
}

func (p *Peer) relayTo(ev *enethost.Event, from *remote) {
	if len(p.scratch) == 0 {
		return
	}
	refused := ev.Packet.Forward(p.scratch, ev.Channel)
	from.stats.PacketsRelayed += uint64(len(p.scratch) - refused)
	from.stats.Dropped.RelayRefused += uint64(refused)
}

func (p *Peer) systemMessage(from *remote, data []byte) {
	kind, id, ok := parseSystemMessage(data)
	if !ok || id < 2 || id == p.uniqueID {
		from.stats.Dropped.BadSystemMessage++
		return
	}
	switch kind {
	case sysAddPeer:
		if p.peers[id] != nil {
			from.stats.Dropped.BadSystemMessage++
			return
		}
		p.peers[id] = &remote{id: id}
		p.events.push(Event{PeerConnected, id})
	case sysRemovePeer:
		if p.peers[id] == nil {
			from.stats.Dropped.BadSystemMessage++
			return
		}
		delete(p.peers, id)
		p.events.push(Event{PeerDisconnected, id})
	}
}

func (p *Peer) deliver(from *remote, source int, ev *enethost.Event, payload []byte) {
	from.stats.PacketsReceived++
	from.stats.BytesReceived += uint64(len(payload))
	data := make([]byte, len(payload))
	copy(data, payload)
	p.incoming.push(Packet{From: source, Channel: ev.Channel, Mode: modeOf(ev.Packet.Flags()), Data: data})
}
