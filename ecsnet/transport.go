package ecsnet

import (
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
	"github.com/netburi/netburi/ecsnet/internal/relay"
)

// The transport: libenet binds one IPv4 socket and sends on it itself, so
// DTLS, IPv6 and the link conditioner live in a relay (internal/relay)
// between an ENet host bound on 127.0.0.1 and the real network, linked to
// the host through its socket hook (enethost.Hook) where libenet allows. A plain
// IPv4 peer without a conditioner has no relay: ENet's socket is the
// public one. A plain server bound to "*" keeps that too for IPv4 and
// takes IPv6 remotes on a relay socket of the same port number. Where the
// socket hook is available, a host that sends on its own socket (plain
// IPv4, and the dual-stack server's IPv4 remotes) batches its sends: a
// service call's datagrams leave together in sendmmsg calls rather than
// one sendmsg each (enethost.Host.EnableSendBatch), all of them before
// the ecsnet call that made ENet send returns.

var loopbackIP = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// TransportStats describe the relay (all zero for a peer without one).
type TransportStats struct {
	Relayed           bool   // the peer runs through a relay
	Sessions          int    // server: remotes the relay knows now
	PendingHandshakes int    // server: remotes not yet answered by ENet or through their DTLS handshake
	DatagramsIn       uint64 // datagrams received on the public socket
	DatagramsOut      uint64 // datagrams sent from the public socket
	Garbage           uint64 // dropped: from unexpected senders, not a DTLS hello, forged or replayed DTLS records, queue full
	Refused           uint64 // new remotes turned away while too many were pending
	// Server, DTLS: ClientHellos answered with a stateless
	// HelloVerifyRequest. The server keeps nothing for them: a session
	// starts only when a client returns the cookie, which proves it
	// receives at its address.
	HelloVerifies    uint64
	BadCookies       uint64 // server, DTLS: hellos whose cookie was forged or too old (answered with an alert)
	HandshakesFailed uint64 // DTLS handshakes that failed or timed out
	Expired          uint64 // remotes forgotten after silence
	// What the link conditioner did.
	Lost, QueueDropped, Duplicated, Reordered uint64
}

// TransportError is why the last client connection failed in the
// transport rather than in ENet (a DTLS handshake error, such as a
// certificate that did not verify), nil otherwise. It stays until the
// next CreateClient or CreateServer. (A netburi addition.)
func (p *Peer) TransportError() error { return p.relErr }

func (p *Peer) transportStats() TransportStats {
	if p.rel == nil {
		return TransportStats{}
	}
	s := p.rel.Stats()
	if hook := p.host.Hook(); hook != nil {
		_, outDropped := hook.Counts() // the in-queue's drops are the relay's garbage already
		s.Garbage += outDropped
	}
	return TransportStats{
		Relayed: true, Sessions: s.Sessions, PendingHandshakes: s.Pending, HelloVerifies: s.HelloVerifies, BadCookies: s.BadCookies,
		DatagramsIn: s.DatagramsIn, DatagramsOut: s.DatagramsOut,
		Garbage: s.Garbage, Refused: s.Refused, HandshakesFailed: s.HandshakesFailed, Expired: s.Expired,
		Lost: s.Link.Lost, QueueDropped: s.Link.QueueDropped, Duplicated: s.Link.Duplicated, Reordered: s.Link.Reordered,
	}
}

// relayTuning is the relay's bounds: its own (tests shorten them) and the
// guard's per-address bound on pending handshakes, which the relay keeps
// for the DTLS handshakes and remotes ENet has not yet seen.
func (p *Peer) relayTuning() relay.Tuning {
	t := p.tuning
	g := p.guardLimits.WithDefaults()
	if t.MaxPendingPerAddress == 0 {
		t.MaxPendingPerAddress = g.MaxPendingPerAddress
	}
	t.LimitLoopback = t.LimitLoopback || g.LimitLoopback
	return t
}

func (p *Peer) conditions() *relay.Conditions {
	if p.link == nil {
		return nil
	}
	c := p.link.internal()
	return &c
}

// newServerHost creates a server's ENet host and, when needed, its relay.
func (p *Peer) newServerHost(port int, cfg enethost.Config) (*enethost.Host, *relay.Relay, error) {
	fail := func(err error) error {
		return fmt.Errorf("ecsnet: create server on %s:%d: %w: %w", p.bindString(), port, ErrCantCreate, err)
	}
	var dc = p.dtls.enabled
	if !dc && p.link == nil && p.bindIP.Is4() {
		cfg.Bind, cfg.Port = p.bindIP, port
		host, err := enethost.NewHost(cfg)
		if err != nil {
			return nil, nil, fail(err)
		}
		enableSendBatch(host)
		return host, nil, nil
	}
	if !dc && p.link == nil && !p.bindIP.IsValid() {
		return p.newDualStackHost(port, cfg, fail)
	}
	rcfg := relay.Config{Server: true, Conditions: p.conditions(), Tuning: p.relayTuning()}
	if dc {
		d, err := p.dtlsServerConfig()
		if err != nil {
			return nil, nil, err
		}
		rcfg.DTLS = d
	}
	switch {
	case !p.bindIP.IsValid():
		rcfg.Network = "udp" // dual stack
		rcfg.Public = netip.AddrPortFrom(netip.Addr{}, uint16(port))
	case p.bindIP.Is4():
		rcfg.Network, rcfg.Public = "udp4", netip.AddrPortFrom(p.bindIP, uint16(port))
	default:
		rcfg.Network, rcfg.Public = "udp6", netip.AddrPortFrom(p.bindIP, uint16(port))
	}
	cfg.Bind, cfg.Port = loopbackIP, 0
	host, err := enethost.NewHost(cfg)
	if err != nil {
		return nil, nil, fail(err)
	}
	rcfg.ENet = netip.AddrPortFrom(loopbackIP, uint16(host.LocalPort()))
	rel, err := newRelay(host, rcfg)
	if err != nil {
		return nil, nil, fail(err)
	}
	return host, rel, nil
}

// socketHook says whether relayed hosts use enethost's socket hook where
// it is live (tests turn it off to exercise the loopback path).
var socketHook = true

// enableHook is host's socket hook, nil when there is none to use.
func enableHook(host *enethost.Host) *enethost.Hook {
	if !socketHook {
		return nil
	}
	return host.EnableHook()
}

// sendBatching says whether hosts that send on their own socket batch
// their sends where the socket hook is live (tests turn it off to
// exercise one sendmsg per datagram).
var sendBatching = true

// enableSendBatch makes host batch its sends where it can; elsewhere it
// sends as libenet does.
func enableSendBatch(host *enethost.Host) {
	if sendBatching && socketHook {
		host.EnableSendBatch()
	}
}

// destroyHost destroys host, closes its relay and frees its socket hook,
// for a peer that never started.
func destroyHost(host *enethost.Host, rel *relay.Relay) {
	hook := host.Hook()
	host.Destroy()
	closeRelay(rel)
	hook.Free()
}

// newRelay starts the relay of host, linked to it through its socket hook
// when libenet allows one (enethost.Hook), through loopback sockets
// otherwise. On error the host is destroyed.
func newRelay(host *enethost.Host, cfg relay.Config) (*relay.Relay, error) {
	hook := enableHook(host)
	if hook != nil {
		cfg.Link = hook
	}
	rel, err := relay.New(cfg)
	if err != nil {
		host.Destroy()
		hook.Free()
		return nil, err
	}
	if hook != nil {
		hook.SetOnFull(rel.PumpOut) // the send hook's queue is full: send it on now
	}
	return rel, nil
}

// newDualStackHost binds ENet on every IPv4 interface and a relay for
// IPv6 on the same port number. With port 0 the relay may find ENet's
// port taken on IPv6; it then tries again with a new host.
func (p *Peer) newDualStackHost(port int, cfg enethost.Config, fail func(error) error) (*enethost.Host, *relay.Relay, error) {
	cfg.Bind, cfg.Port = netip.Addr{}, port
	for attempt := 0; ; attempt++ {
		host, err := enethost.NewHost(cfg)
		if err != nil {
			return nil, nil, fail(err)
		}
		enetPort := host.LocalPort()
		hook := enableHook(host)
		rcfg := relay.Config{
			Server: true, Network: "udp6", Tuning: p.relayTuning(),
			Public: netip.AddrPortFrom(netip.IPv6Unspecified(), uint16(enetPort)),
			ENet:   netip.AddrPortFrom(loopbackIP, uint16(enetPort)),
		}
		if hook != nil {
			rcfg.Link = hook
		}
		rel, err := relay.New(rcfg)
		switch {
		case err == nil:
			if hook != nil {
				hook.SetOnFull(rel.PumpOut)
			}
			enableSendBatch(host) // IPv4 remotes: ENet's own socket
			return host, rel, nil
		case errors.Is(err, syscall.EAFNOSUPPORT):
			enableSendBatch(host) // no IPv6 on this machine: the hook only batches
			return host, nil, nil
		}
		host.Destroy()
		hook.Free()
		if port != 0 || attempt == 8 {
			return nil, nil, fail(err)
		}
	}
}

// newClientHost creates a client's ENet host and, when needed, its relay,
// and returns the address ENet must connect to.
func (p *Peer) newClientHost(address string, ip netip.Addr, port, clientPort int, cfg enethost.Config) (*enethost.Host, *relay.Relay, netip.AddrPort, error) {
	remote := netip.AddrPortFrom(ip, uint16(port))
	fail := func(err error) error {
		return fmt.Errorf("ecsnet: create client on %s:%d to %s: %w: %w", p.bindString(), clientPort, remote, ErrCantCreate, err)
	}
	if p.bindIP.IsValid() && p.bindIP.Is4() != ip.Is4() {
		return nil, nil, remote, fail(fmt.Errorf("bind address %s cannot reach %s", p.bindIP, ip))
	}
	if !p.dtls.enabled && p.link == nil && ip.Is4() {
		cfg.Bind, cfg.Port, cfg.NoBind = p.bindIP, clientPort, clientPort == 0
		host, err := enethost.NewHost(cfg)
		if err != nil {
			return nil, nil, remote, fail(err)
		}
		enableSendBatch(host)
		return host, nil, remote, nil
	}
	rcfg := relay.Config{Remote: remote, Network: "udp4", Conditions: p.conditions(), Tuning: p.relayTuning()}
	if ip.Is6() {
		rcfg.Network = "udp6"
	}
	rcfg.Public = netip.AddrPortFrom(netip.Addr{}, uint16(clientPort))
	if p.bindIP.IsValid() {
		rcfg.Public = netip.AddrPortFrom(p.bindIP, uint16(clientPort))
	}
	if p.dtls.enabled {
		rcfg.DTLS = p.dtlsClientConfig(address)
	}
	cfg.Bind, cfg.Port = loopbackIP, 0
	host, err := enethost.NewHost(cfg)
	if err != nil {
		return nil, nil, remote, fail(err)
	}
	rcfg.ENet = netip.AddrPortFrom(loopbackIP, uint16(host.LocalPort()))
	rel, err := newRelay(host, rcfg)
	if err != nil {
		return nil, nil, remote, fail(err)
	}
	return host, rel, rel.Loopback(), nil
}

// remoteAddr is where a remote's ENet peer really is: ENet's view,
// translated back when the relay made it.
func (p *Peer) remoteAddr(ep enethost.Peer) netip.AddrPort {
	a, port := ep.Addr()
	ap := netip.AddrPortFrom(a, uint16(port))
	if p.rel != nil {
		if real, ok := p.rel.Remote(ap); ok {
			return real
		}
	}
	return ap
}

// forget tells the relay ENet is done with a remote.
func (p *Peer) forget(ep enethost.Peer) {
	if p.rel != nil && ep.Valid() {
		p.rel.PumpOut() // the goodbye ENet just sent leaves before the linger starts
		a, port := ep.Addr()
		p.rel.Forget(netip.AddrPortFrom(a, uint16(port)))
	}
}

// checkRelay, after ENet's service call, pumps what ENet just sent through
// the relay (see relay.PumpOut), and fails a connecting client whose relay
// gave up (its DTLS handshake failed): ENet would only time out much later.
func (p *Peer) checkRelay() {
	if p.rel == nil {
		return
	}
	p.rel.PumpOut() // what the service call just sent, without a goroutine's wake-up
	if p.server || p.status != Connecting {
		return
	}
	if err := p.rel.Err(); err != nil {
		p.relErr = err
		p.events.push(Event{ConnectionFailed, 0})
		p.shutdown()
	}
}
