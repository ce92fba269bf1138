package enethost

// #include "shim.h"
import "C"

import (
	"net/netip"
	"sync"
	"unsafe"

	"github.com/netburi/netburi/ecsnet/internal/guard"
)

// guarded maps each guarded host's C pointer to its Host, for the intercept
// hook (ENet's hook gets the C host and nothing else).
var guarded sync.Map // uintptr -> *Host

// SetGuard puts the datagram guard in front of libenet on this host: every
// datagram is judged before ENet parses it (and, compressed, again once
// decompressed). resolve, when set, maps the address ENet sees to the
// real remote's (the relay's loopback sockets); pending handshakes are
// counted per resolved address. Call it once, right after NewHost.
func (h *Host) SetGuard(cfg guard.Config, resolve func(netip.AddrPort) netip.Addr) {
	h.guard = guard.New(cfg, int(h.c.peerCount))
	h.resolve = resolve
	guarded.Store(uintptr(unsafe.Pointer(h.c)), h)
	C.nb_set_intercept(h.c)
}

// GuardCounts returns the guard's drops by rule (zero without a guard).
func (h *Host) GuardCounts() guard.Counts {
	if h.guard == nil {
		return guard.Counts{}
	}
	return h.guard.Counts()
}

// Sweep frees the peer slots of handshakes pending longer than the guard
// allows and returns how many it freed, and the peers the guard found
// abusive since the last call (the caller disconnects them). Call it from
// every Poll.
func (h *Host) Sweep() (expired int, abusive []Peer) {
	if h.guard == nil {
		return 0, nil
	}
	v := (*view)(h)
	for _, i := range h.guard.Sweep(v) {
		C.enet_peer_reset(v.peer(i))
		expired++
	}
	for _, i := range h.guard.Abusive() {
		abusive = append(abusive, Peer{v.peer(i)})
	}
	return expired, abusive
}

//export netburiGuardInspect
func netburiGuardInspect(host *C.ENetHost, data *C.enet_uint8, n C.size_t) (verdict C.int) {
	v, ok := guarded.Load(uintptr(unsafe.Pointer(host)))
	if !ok {
		return 0
	}
	h := v.(*Host)
	defer func() {
		if recover() != nil {
			h.guard.Count(guard.HookFailed)
			verdict = 1
		}
	}()
	if n > C.size_t(len(host.packetData[0])) {
		h.guard.Count(guard.HookFailed)
		return 1
	}
	if h.guard.Inspect(cBytes(data, n), (*view)(h)) {
		return 1
	}
	return 0
}

// view is a Host seen as the guard's guard.View: it reads libenet's own
// memory, on the goroutine that services the host.
type view Host

func (v *view) peer(i int) *C.ENetPeer {
	return &unsafe.Slice(v.c.peers, int(v.c.peerCount))[i]
}

func (v *view) Peers() int { return int(v.c.peerCount) }

func (v *view) Peer(i int) guard.Peer {
	p := v.peer(i)
	return guard.Peer{
		State:          int(p.state),
		ConnectID:      uint32(p.connectID),
		FromSource:     p.address.host == v.c.receivedAddress.host && p.address.port == v.c.receivedAddress.port,
		OutgoingPeerID: int(p.outgoingPeerID),
		IncomingSessID: int(p.incomingSessionID),
		MTU:            int(p.mtu),
		Channels:       int(p.channelCount),
	}
}

func (v *view) Delivered(i, ch int) uint16 {
	p := v.peer(i)
	return uint16(unsafe.Slice(p.channels, int(p.channelCount))[ch].incomingReliableSequenceNumber)
}

func (v *view) key(a C.ENetAddress) netip.Addr {
	ap := netip.AddrPortFrom(ipv4(uint32(a.host)), uint16(a.port))
	if v.resolve != nil {
		return v.resolve(ap)
	}
	return ap.Addr()
}

func (v *view) Source() netip.Addr        { return v.key(v.c.receivedAddress) }
func (v *view) PeerAddr(i int) netip.Addr { return v.key(v.peer(i).address) }
func (v *view) Now() uint32               { return uint32(v.c.serviceTime) }

// ipv4 turns ENet's host field (network byte order in memory) into an
// address.
func ipv4(h uint32) netip.Addr {
	var b [4]byte
	*(*uint32)(unsafe.Pointer(&b[0])) = h
	return netip.AddrFrom4(b)
}

// cBytes views C memory as a byte slice (valid for the callback only).
func cBytes(p *C.enet_uint8, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}
