package ecsnet

import (
	"fmt"
	"net/netip"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
	"github.com/netburi/netburi/ecsnet/internal/guard"
)

// GuardLimits bound what one sender may cost a host. Every host has a
// datagram guard in front of libenet: it reads each datagram before libenet
// parses it and drops (and counts, in HostStats.Guard) what libenet 1.3.17
// would turn into a crash, a stall or a pile of memory. SECURITY.md
// describes each rule. Zero fields take the defaults.
type GuardLimits = guard.Config

// SetGuardLimits sets the guard's limits for the next host (server or
// client) this peer creates. It fails with ErrAlreadyInUse while the peer
// is active and ErrInvalidParameter for a negative field. Call it from the
// goroutine that owns the peer. (A netburi addition.)
func (p *Peer) SetGuardLimits(l GuardLimits) error {
	if p.active {
		return fmt.Errorf("ecsnet: set guard limits: %w", ErrAlreadyInUse)
	}
	if l.ReliableWindow < 0 || l.ReorderBurst < 0 || l.ReorderPerSecond < 0 ||
		l.MaxPendingPerAddress < 0 || l.PendingTimeout < 0 || l.MaxAbuse < 0 {
		return fmt.Errorf("ecsnet: set guard limits %+v: %w", l, ErrInvalidParameter)
	}
	p.guardLimits = l
	return nil
}

// GuardLimits returns the limits in force, defaults filled in.
func (p *Peer) GuardLimits() GuardLimits { return p.guardLimits.WithDefaults() }

// GuardStats counts what the datagram guard dropped before libenet read
// it, one field per rule (SECURITY.md says what each protects against),
// and what it did about senders. Counts cover every host the peer has had.
type GuardStats struct {
	Short            uint64 // shorter than the header its flags announce
	UnknownPeer      uint64 // for a peer slot that is free, or another address's or session's
	NotConnect       uint64 // from an unknown sender, and not exactly one CONNECT
	CompressedNoPeer uint64 // from an unknown sender, compressed, too long to be a CONNECT
	PendingLimit     uint64 // a CONNECT from an address with MaxPendingPerAddress handshakes pending
	Oversize         uint64 // larger than the sender's MTU
	Truncated        uint64 // a command or its data runs past the end
	BadCommand       uint64 // an unknown command, or CONNECT from a connected peer
	BadChannel       uint64 // a send on a channel the peer does not have
	FragmentCount    uint64 // more fragments claimed than the packet's length needs
	ReliableWindow   uint64 // a command further ahead than ReliableWindow
	ReorderBudget    uint64 // out-of-order commands beyond the peer's budget
	Decompress       uint64 // did not decompress, or to more than the sender may send
	HookFailed       uint64 // a hook saw an impossible length or panicked
	PendingExpired   uint64 // handshakes freed after PendingTimeout
	AbuseDisconnects uint64 // peers disconnected past MaxAbuse
	ServiceErrors    uint64 // receive errors libenet reported and Poll went past (a datagram larger than ENet's buffer)
}

func (s *GuardStats) add(c guard.Counts) {
	s.Short += c[guard.Short]
	s.UnknownPeer += c[guard.UnknownPeer]
	s.NotConnect += c[guard.NotConnect]
	s.CompressedNoPeer += c[guard.CompressedNoPeer]
	s.PendingLimit += c[guard.PendingLimit]
	s.Oversize += c[guard.Oversize]
	s.Truncated += c[guard.Truncated]
	s.BadCommand += c[guard.BadCommand]
	s.BadChannel += c[guard.BadChannel]
	s.FragmentCount += c[guard.FragmentCount]
	s.ReliableWindow += c[guard.ReliableWindow]
	s.ReorderBudget += c[guard.ReorderBudget]
	s.Decompress += c[guard.Decompress]
	s.HookFailed += c[guard.HookFailed]
}

// Dropped is the number of datagrams the guard dropped, every rule.
func (s GuardStats) Dropped() uint64 {
	return s.Short + s.UnknownPeer + s.NotConnect + s.CompressedNoPeer + s.PendingLimit + s.Oversize +
		s.Truncated + s.BadCommand + s.BadChannel + s.FragmentCount + s.ReliableWindow +
		s.ReorderBudget + s.Decompress + s.HookFailed
}

// guardStats adds the current host's counts to the past hosts'.
func (p *Peer) guardStats() GuardStats {
	s := p.guardPast
	if p.active {
		s.add(p.host.GuardCounts())
	}
	return s
}

// installGuard puts the guard in front of a new host; pending handshakes
// are keyed by the real remote's address when the relay stands between.
func (p *Peer) installGuard(host *enethost.Host) {
	var resolve func(netip.AddrPort) netip.Addr
	if rel := p.rel; rel != nil {
		resolve = func(ap netip.AddrPort) netip.Addr {
			if real, ok := rel.Remote(ap); ok {
				return real.Addr()
			}
			return ap.Addr()
		}
	}
	host.SetGuard(p.guardLimits, resolve)
}

// sweep frees expired handshakes and disconnects peers the guard found
// abusive.
func (p *Peer) sweep() {
	expired, abusive := p.host.Sweep()
	p.guardPast.PendingExpired += uint64(expired)
	for _, ep := range abusive {
		p.guardPast.AbuseDisconnects++
		id := ep.Tag()
		switch {
		case p.server && p.peers[id] != nil && p.peers[id].enet == ep:
			_ = p.DisconnectPeer(id, true)
		case !p.server && id == serverID:
			ep.SetTag(0)
			ep.DisconnectNow(0)
			p.forget(ep)
			p.events.push(Event{ServerDisconnected, serverID})
			p.shutdown()
			return
		default:
			ep.SetTag(0)
			p.forget(ep)
			ep.Reset()
		}
	}
}
