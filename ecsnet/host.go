package ecsnet

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
	"github.com/netburi/netburi/ecsnet/internal/relay"
)

func closeRelay(rel *relay.Relay) {
	if rel != nil {
		rel.Close()
	}
}

// CreateServer starts a server (ID 1) on port (0 picks a free one; see
// LocalPort) for at most maxClients clients (1..4095), with ENet's bandwidth
// limits in bytes per second (0 = unlimited). Errors: ErrAlreadyInUse when
// active, ErrInvalidParameter for out-of-range arguments (or DTLS on
// without a matching key and certificate), ErrCantCreate when the host
// cannot be created (port taken).
func (p *Peer) CreateServer(port, maxClients, inBandwidth, outBandwidth int) error {
	if p.active {
		return fmt.Errorf("ecsnet: create server: %w", ErrAlreadyInUse)
	}
	if port < 0 || port > 65535 {
		return fmt.Errorf("ecsnet: create server on port %d: %w", port, ErrInvalidParameter)
	}
	if maxClients < 1 || maxClients > MaxClients {
		return fmt.Errorf("ecsnet: create server for %d clients (want 1..%d): %w", maxClients, MaxClients, ErrInvalidParameter)
	}
	if err := checkBandwidth("create server", inBandwidth, outBandwidth); err != nil {
		return err
	}
	if err := p.checkCompression(); err != nil {
		return err
	}
	host, rel, err := p.newServerHost(port, enethost.Config{
		Peers: maxClients, Chans: p.channelCount,
		InBW: uint32(inBandwidth), OutBW: uint32(outBandwidth), MaxSize: MaxPacketSize + headerSize,
	})
	if err != nil {
		return err
	}
	if err := p.setupCompressor(host); err != nil {
		destroyHost(host, rel)
		return err
	}
	p.start(host, rel, true)
	p.uniqueID = serverID
	p.status = Connected
	return nil
}

// CreateClient starts connecting to a server at address (an IPv4 or IPv6
// literal, or a host name with A or AAAA records) and port. clientPort 0
// binds any free port; otherwise the client binds the bind IP and that
// port. With DTLS, address is also the host name the server's
// certificate must name. Bandwidths are
// ENet's limits in bytes per second (0 = unlimited). The client picks a
// random ID (UniqueID) and reports Connecting until the server answers:
// Poll then queues PeerConnected(1) and ConnectionSucceeded, or
// ConnectionFailed. Errors: ErrAlreadyInUse, ErrInvalidParameter,
// ErrCantResolve, ErrCantCreate.
func (p *Peer) CreateClient(address string, port, inBandwidth, outBandwidth, clientPort int) error {
	if p.active {
		return fmt.Errorf("ecsnet: create client: %w", ErrAlreadyInUse)
	}
	if port < 0 || port > 65535 {
		return fmt.Errorf("ecsnet: create client to port %d: %w", port, ErrInvalidParameter)
	}
	if clientPort < 0 || clientPort > 65535 {
		return fmt.Errorf("ecsnet: create client on client port %d: %w", clientPort, ErrInvalidParameter)
	}
	if err := checkBandwidth("create client", inBandwidth, outBandwidth); err != nil {
		return err
	}
	if err := p.checkCompression(); err != nil {
		return err
	}
	ip, err := resolve(address)
	if err != nil {
		return err
	}
	host, rel, target, err := p.newClientHost(address, ip, port, clientPort, enethost.Config{
		Peers: 1, Chans: p.channelCount,
		InBW: uint32(inBandwidth), OutBW: uint32(outBandwidth), MaxSize: MaxPacketSize + headerSize,
	})
	if err != nil {
		return err
	}
	if err := p.setupCompressor(host); err != nil {
		destroyHost(host, rel)
		return err
	}
	id := 2 + rand.IntN(math.MaxInt32-1) // 2..0x7FFFFFFF
	ep, err := host.Connect(target.Addr(), int(target.Port()), p.channelCount, uint32(id))
	if err != nil {
		destroyHost(host, rel)
		return fmt.Errorf("ecsnet: connect to %s:%d: %w: %w", ip, port, ErrCantCreate, err)
	}
	p.applyTimeout(ep)
	p.start(host, rel, false)
	p.uniqueID = id
	p.status = Connecting
	return nil
}

func checkBandwidth(op string, in, out int) error {
	if in < 0 || out < 0 || in > math.MaxUint32 || out > math.MaxUint32 {
		return fmt.Errorf("ecsnet: %s with bandwidth in %d, out %d: %w", op, in, out, ErrInvalidParameter)
	}
	return nil
}

// lookupNetIP resolves host names (tests replace it to serve AAAA and A
// records without a DNS server).
var lookupNetIP = net.DefaultResolver.LookupNetIP

// resolve turns an IPv4 or IPv6 literal or a host name (A or AAAA records,
// the resolver's first answer) into an address.
func resolve(address string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(address); err == nil {
		if a.Zone() != "" {
			return netip.Addr{}, fmt.Errorf("ecsnet: create client to %s (no zones): %w", address, ErrInvalidParameter)
		}
		return a.Unmap(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, err := lookupNetIP(ctx, "ip", address)
	if err == nil && len(ips) == 0 {
		err = errors.New("no addresses")
	}
	if err != nil {
		return netip.Addr{}, fmt.Errorf("ecsnet: create client to %q: %w: %w", address, ErrCantResolve, err)
	}
	return ips[0].Unmap(), nil
}

func (p *Peer) bindString() string {
	if !p.bindIP.IsValid() {
		return "*"
	}
	return p.bindIP.String()
}

func (p *Peer) start(host *enethost.Host, rel *relay.Relay, server bool) {
	p.host = host
	p.rel = rel
	p.installGuard(host)
	p.relErr = nil
	p.active = true
	p.server = server
	p.relay = p.serverRelay
	p.refuseNew = false
	p.peers = make(map[int]*remote)
	p.allDirty = true
}

func (p *Peer) applyTimeout(ep enethost.Peer) {
	if p.timeout.set {
		ep.SetTimeout(p.timeout.limit, p.timeout.minMS, p.timeout.maxMS)
	}
}

// CloseConnection disconnects every connected peer at once (they are told,
// unreliably), flushes, waits wait (so the notices leave before the socket
// closes; Godot's default is 100µs), destroys the host and resets the peer
// to Disconnected with ID 1. Queued packets and events are discarded; no
// events are raised. Closing an inactive peer does nothing.
func (p *Peer) CloseConnection(wait time.Duration) {
	if !p.active {
		return
	}
	told := false
	for _, r := range p.peers {
		if r.enet.Valid() {
			r.enet.SetTag(0)
			r.enet.DisconnectNow(uint32(p.uniqueID))
			told = true
		}
	}
	if told {
		p.Flush() // through the relay too
		if wait > 0 {
			time.Sleep(wait)
		}
	}
	p.shutdown()
	p.incoming.clear()
	p.events.clear()
	p.lastChannel = -1
}

// shutdown destroys the host and resets the connection state; queues stay.
func (p *Peer) shutdown() {
	p.guardPast.add(p.host.GuardCounts())
	if p.rel != nil {
		p.rel.PumpOut() // what ENet sent last, while the host's socket hook holds it
	}
	hook := p.host.Hook()
	p.host.Destroy()
	p.host = nil
	closeRelay(p.rel) // forwards what ENet sent last, then stops
	p.rel = nil
	hook.Free() // no relay goroutine can push to it now
	p.active = false
	p.server = false
	p.peers = nil
	p.all = p.all[:0]
	p.uniqueID = serverID
	p.status = Disconnected
}

// DisconnectPeer disconnects a client from this server. With now, the
// client is dropped at once: the server raises PeerDisconnected and (relay
// on) tells the others itself. Without, the client is disconnected once its
// queued packets are delivered and the usual events follow in Poll.
// Errors: ErrUnconfigured unless an active server, ErrInvalidParameter for
// an unknown ID.
func (p *Peer) DisconnectPeer(id int, now bool) error {
	if !p.active || !p.server {
		return fmt.Errorf("ecsnet: disconnect peer %d (needs an active server): %w", id, ErrUnconfigured)
	}
	r := p.peers[id]
	if r == nil {
		return fmt.Errorf("ecsnet: disconnect peer %d: %w", id, ErrInvalidParameter)
	}
	if !now {
		r.enet.DisconnectLater(0)
		return nil
	}
	r.enet.SetTag(0)
	r.enet.DisconnectNow(0)
	p.forget(r.enet)
	p.removeClient(id)
	return nil
}

// checkCompression refuses a dictionary mode without a dictionary.
func (p *Peer) checkCompression() error {
	if p.compression == CompressZstdDict && len(p.dictionary) == 0 {
		return fmt.Errorf("ecsnet: zstd dictionary mode needs SetCompressionDictionary: %w", ErrInvalidParameter)
	}
	return nil
}

// setupCompressor hooks the chosen compression into ENet.
func (p *Peer) setupCompressor(host *enethost.Host) error {
	p.codec = nil
	switch p.compression {
	case CompressNone:
		return nil
	case CompressRangeCoder:
		if err := host.UseRangeCoder(); err != nil {
			return fmt.Errorf("ecsnet: range coder: %w: %w", ErrCantCreate, err)
		}
		return nil
	}
	codec, err := newDatagramCodec(p.compression, p.dictionary)
	if err != nil {
		return err
	}
	if err := host.SetCodec(codec); err != nil {
		return fmt.Errorf("ecsnet: %v compressor: %w: %w", p.compression, ErrCantCreate, err)
	}
	p.codec = codec
	return nil
}
