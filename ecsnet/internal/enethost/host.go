// Package enethost is the only cgo in netburi: a thin layer over libenet
// (through github.com/codecat/go-enet, and directly where go-enet has no
// call) that ecsnet.Peer drives. It also interposes libenet's socket calls
// (hook.c, Hook) so that a host behind the relay exchanges datagrams with
// it in memory (EnableHook), and a host that sends on its own socket
// batches its sends (EnableSendBatch: a batch-only Hook, without the
// relay's queues and eventfd); every other socket goes to libenet
// unchanged.
//
// Nothing here is safe for concurrent use: one goroutine owns a Host and
// every Peer and Packet that came from it, as libenet itself requires.
package enethost

// #cgo pkg-config: libenet
// #include <stdlib.h>
// #include "shim.h"
// #include "hook.h"
import "C"

import (
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"unsafe"

	enet "github.com/codecat/go-enet"

	"github.com/netburi/netburi/ecsnet/internal/guard"
)

// Packet flags, as libenet defines them.
const (
	FlagReliable    = uint32(C.ENET_PACKET_FLAG_RELIABLE)
	FlagUnsequenced = uint32(C.ENET_PACKET_FLAG_UNSEQUENCED)
)

// MaxPeers is ENet's protocol limit on peers per host.
const MaxPeers = int(C.ENET_PROTOCOL_MAXIMUM_PEER_ID)

// Errors reported by this package. ecsnet wraps them in its own sentinels.
var (
	ErrCreate  = errors.New("enet: cannot create host")
	ErrConnect = errors.New("enet: cannot start connection")
	ErrPacket  = errors.New("enet: cannot create packet")
	ErrSend    = errors.New("enet: peer refused packet")
)

var initOnce sync.Once

func initialize() {
	initOnce.Do(func() {
		if C.enet_initialize() != 0 {
			panic("enethost: enet_initialize failed")
		}
	})
}

// Host is one libenet host: a UDP socket and its peers.
type Host struct {
	handle  enet.Host // go-enet's handle; it created the host and destroys it
	c       *C.ENetHost
	ev      *C.ENetEvent  // C memory for service results: no Go pointer crosses
	held    *C.ENetPacket // the last received packet handed out, released on the next call
	guard   *guard.Guard  // nil until SetGuard
	resolve func(netip.AddrPort) netip.Addr
	hook    *Hook // nil unless EnableHook or EnableSendBatch
}

// Config says how to create a host.
type Config struct {
	// Bind is the local address; invalid means "no explicit bind" (a client
	// with no client port), an unspecified address means all interfaces.
	Bind    netip.Addr
	Port    int
	NoBind  bool // create the socket without binding it (client, port 0)
	Peers   int
	Chans   int
	InBW    uint32
	OutBW   uint32
	MaxSize int // largest packet accepted or sent (ENet's maximumPacketSize)
}

// NewHost creates a host. It returns ErrCreate when libenet refuses (for
// example when the port is taken).
func NewHost(cfg Config) (*Host, error) {
	initialize()
	var addr enet.Address
	if !cfg.NoBind {
		if !cfg.Bind.IsValid() || cfg.Bind.IsUnspecified() {
			addr = enet.NewListenAddress(uint16(cfg.Port))
		} else {
			addr = enet.NewAddress(cfg.Bind.String(), uint16(cfg.Port))
		}
	}
	h, err := enet.NewHost(addr, uint64(cfg.Peers), uint64(cfg.Chans), cfg.InBW, cfg.OutBW)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCreate, err)
	}
	host := &Host{handle: h, c: hostPointer(h), ev: (*C.ENetEvent)(C.calloc(1, C.sizeof_ENetEvent))}
	if host.c == nil || int(host.c.peerCount) != cfg.Peers || int(host.c.channelLimit) != cfg.Chans {
		// go-enet's pinned layout is what we reach into; fail loudly if
		// that ever stops being true rather than corrupt memory.
		panic("enethost: go-enet host layout is not the one this package knows")
	}
	if cfg.MaxSize > 0 {
		host.c.maximumPacketSize = C.size_t(cfg.MaxSize)
	}
	return host, nil
}

// hostPointer reaches the ENetHost inside go-enet's *enetHost, whose only
// field is that pointer.
func hostPointer(h enet.Host) *C.ENetHost {
	type iface struct{ typ, data unsafe.Pointer }
	data := (*iface)(unsafe.Pointer(&h)).data
	return *(**C.ENetHost)(data)
}

// peerPointer reaches the ENetPeer inside go-enet's enetPeer, a struct of one
// pointer, which Go stores directly in the interface's data word.
func peerPointer(p enet.Peer) *C.ENetPeer {
	type iface struct{ typ, data unsafe.Pointer }
	return (*C.ENetPeer)((*iface)(unsafe.Pointer(&p)).data)
}

// Destroy frees the host, its socket and every peer. The Host must not be
// used afterwards.
func (h *Host) Destroy() {
	if h.handle == nil {
		return
	}
	guarded.Delete(uintptr(unsafe.Pointer(h.c)))
	C.nb_release(h.held)
	if h.hook != nil && h.hook.c != nil {
		C.nb_hook_detach(h.hook.c) // sends the batch; before the socket's number can be reused
	}
	h.handle.Destroy()
	C.free(unsafe.Pointer(h.ev))
	h.handle, h.c, h.ev, h.held = nil, nil, nil, nil
}

// LocalPort is the UDP port the socket is bound to (0 before a client's
// first send when it was created unbound).
func (h *Host) LocalPort() int { return int(C.nb_local_port(h.c)) }

// Connect starts connecting to an IPv4 address, asking for chans channels
// and sending data with the CONNECT command.
func (h *Host) Connect(addr netip.Addr, port, chans int, data uint32) (Peer, error) {
	p, err := h.handle.Connect(enet.NewAddress(addr.String(), uint16(port)), chans, data)
	if err != nil {
		return Peer{}, fmt.Errorf("%w: %v", ErrConnect, err)
	}
	return Peer{peerPointer(p)}, nil
}

// Flush sends every queued command now (and the send batch, if the host's
// Hook has one: EnableSendBatch).
func (h *Host) Flush() { C.nb_host_flush(h.c) }

// Totals returns the host's UDP totals since creation (ENet's wrapping
// 32-bit counters).
func (h *Host) Totals() (sentBytes, sentDatagrams, recvBytes, recvDatagrams uint32) {
	return uint32(h.c.totalSentData), uint32(h.c.totalSentPackets),
		uint32(h.c.totalReceivedData), uint32(h.c.totalReceivedPackets)
}

// EventType says what an Event reports.
type EventType int

// Event types, as libenet defines them.
const (
	EventNone       EventType = C.ENET_EVENT_TYPE_NONE
	EventConnect    EventType = C.ENET_EVENT_TYPE_CONNECT
	EventDisconnect EventType = C.ENET_EVENT_TYPE_DISCONNECT
	EventReceive    EventType = C.ENET_EVENT_TYPE_RECEIVE
)

// Event is one libenet event. A receive event's Packet is lent: it stays
// valid until the next Service or CheckEvents call on the same host, which
// releases it (one cgo crossing for both).
type Event struct {
	Type    EventType
	Peer    Peer
	Channel int
	Data    uint32
	Packet  Packet
}

func (h *Host) fill(e *Event) {
	c := h.ev
	e.Type = EventType(c._type)
	e.Peer = Peer{c.peer}
	e.Channel = int(c.channelID)
	e.Data = uint32(c.data)
	e.Packet = Packet{c.packet}
	h.held = c.packet
}

// Service releases the packet lent by the previous call, sends queued
// commands, receives datagrams and returns the next event, waiting up to
// timeoutMS milliseconds for one. It reports false when there was none. A
// socket error is returned as an error.
func (h *Host) Service(ev *Event, timeoutMS uint32) (bool, error) {
	held := h.held
	h.held = nil
	r := C.nb_service(h.c, h.ev, C.enet_uint32(timeoutMS), held)
	if r < 0 {
		return false, errors.New("enet: host service failed")
	}
	if r == 0 {
		return false, nil
	}
	h.fill(ev)
	return true, nil
}

// CheckEvents releases the packet lent by the previous call and returns the
// next already-received event without any I/O.
func (h *Host) CheckEvents(ev *Event) bool {
	held := h.held
	h.held = nil
	if C.nb_check_events(h.c, h.ev, held) <= 0 {
		return false
	}
	h.fill(ev)
	return true
}

// Peer is a handle on one libenet peer of a Host. The zero Peer is none.
type Peer struct{ c *C.ENetPeer }

// Valid reports whether p refers to a peer.
func (p Peer) Valid() bool { return p.c != nil }

// Tag is the application value stored in the peer (0 when unset); ecsnet
// keeps the peer's network ID there.
func (p Peer) Tag() int { return int(*(*C.long)(unsafe.Pointer(&p.c.data))) }

// SetTag stores an application value in the peer.
func (p Peer) SetTag(v int) { C.nb_set_peer_tag(p.c, C.long(v)) }

// Addr is the peer's IPv4 address and port.
func (p Peer) Addr() (netip.Addr, int) {
	return ipv4(uint32(p.c.address.host)), int(p.c.address.port)
}

// ChannelCount is the number of channels ENet gave the peer: what it asked
// for, at most the host's limit.
func (p Peer) ChannelCount() int { return int(p.c.channelCount) }

// Stats are ENet's own measurements of a peer.
type Stats struct {
	RTTMillis         uint32 // mean round-trip time
	RTTVarianceMillis uint32
	PacketLoss        float64 // mean loss of reliable packets, 0..1
	MTU               int
}

// Stats reads the peer's ENet measurements.
func (p Peer) Stats() Stats {
	return Stats{
		RTTMillis:         uint32(p.c.roundTripTime),
		RTTVarianceMillis: uint32(p.c.roundTripTimeVariance),
		PacketLoss:        float64(p.c.packetLoss) / float64(C.ENET_PEER_PACKET_LOSS_SCALE),
		MTU:               int(p.c.mtu),
	}
}

// SetTimeout sets ENet's timeout limit and bounds (milliseconds).
func (p Peer) SetTimeout(limit, minMS, maxMS uint32) {
	C.enet_peer_timeout(p.c, C.enet_uint32(limit), C.enet_uint32(minMS), C.enet_uint32(maxMS))
}

// DisconnectNow drops the peer at once after one unreliable notice; no
// event follows.
func (p Peer) DisconnectNow(data uint32) { C.nb_disconnect_now(p.c, C.enet_uint32(data)) }

// DisconnectLater disconnects once queued packets have been sent; a
// disconnect event follows.
func (p Peer) DisconnectLater(data uint32) { C.enet_peer_disconnect_later(p.c, C.enet_uint32(data)) }

// Reset forgets the peer without telling it.
func (p Peer) Reset() { C.enet_peer_reset(p.c) }

// SendFramed queues payload behind an 8-byte Godot header on channel.
// The payload is copied; on failure nothing stays queued.
func (p Peer) SendFramed(channel int, flags, source, target uint32, payload []byte) error {
	r := C.nb_send_framed(p.c, C.enet_uint8(channel), C.enet_uint32(flags),
		C.enet_uint32(source), C.enet_uint32(target), bytesPtr(payload), C.size_t(len(payload)))
	return sendResult(r)
}

// SendRaw queues data as-is on channel. The data is copied.
func (p Peer) SendRaw(channel int, flags uint32, data []byte) error {
	return sendResult(C.nb_send_raw(p.c, C.enet_uint8(channel), C.enet_uint32(flags), bytesPtr(data), C.size_t(len(data))))
}

func sendResult(r C.int) error {
	switch {
	case r == -1:
		return ErrPacket
	case r != 0:
		return ErrSend
	}
	return nil
}

// SendFramedMany queues one shared packet (header + payload) on every peer
// and returns how many refused it.
func SendFramedMany(peers []Peer, channel int, flags, source, target uint32, payload []byte) (refused int, err error) {
	if len(peers) == 0 {
		return 0, nil
	}
	arr := addrsOf(peers)
	r := C.nb_send_framed_many(arr.c(), C.size_t(len(peers)),
		C.enet_uint8(channel), C.enet_uint32(flags), C.enet_uint32(source), C.enet_uint32(target),
		bytesPtr(payload), C.size_t(len(payload)))
	arr.done()
	if r < 0 {
		return 0, ErrPacket
	}
	return int(r), nil
}

// SendRawMany queues one shared packet of data as-is on every peer and
// returns how many refused it.
func SendRawMany(peers []Peer, channel int, flags uint32, data []byte) (refused int, err error) {
	if len(peers) == 0 {
		return 0, nil
	}
	arr := addrsOf(peers)
	r := C.nb_send_raw_many(arr.c(), C.size_t(len(peers)),
		C.enet_uint8(channel), C.enet_uint32(flags), bytesPtr(data), C.size_t(len(data)))
	arr.done()
	if r < 0 {
		return 0, ErrPacket
	}
	return int(r), nil
}

// Packet is a received libenet packet.
type Packet struct{ c *C.ENetPacket }

// Bytes views the packet's data without copying; the view dies with the
// next Service or CheckEvents call.
func (k Packet) Bytes() []byte {
	if k.c == nil || k.c.dataLength == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(k.c.data)), int(k.c.dataLength))
}

// Flags are the packet's ENet flags as received.
func (k Packet) Flags() uint32 { return uint32(k.c.flags) }

// Forward queues this received packet, shared, on every peer and returns how
// many refused it (they hold it by reference; the host's own hold ends at
// the next Service or CheckEvents call).
func (k Packet) Forward(peers []Peer, channel int) int {
	if len(peers) == 0 {
		return 0
	}
	arr := addrsOf(peers)
	r := C.nb_forward(arr.c(), C.size_t(len(peers)), C.enet_uint8(channel), k.c)
	arr.done()
	return int(r)
}

// peerAddrs is a list of peers as plain addresses, for C: a []Peer holds
// pointers, so cgo's pointer check would walk every element of it on each
// call (microseconds at thousands of peers, every snapshot), while an
// array of uintptr is checked at once. C reads it during the call only.
type peerAddrs struct{ buf *[]uintptr }

var peerScratch = sync.Pool{New: func() any { return new([]uintptr) }}

// addrsOf fills a scratch array with peers' addresses; done returns it.
func addrsOf(peers []Peer) peerAddrs {
	buf := peerScratch.Get().(*[]uintptr)
	a := (*buf)[:0]
	for _, p := range peers {
		a = append(a, uintptr(unsafe.Pointer(p.c)))
	}
	*buf = a
	return peerAddrs{buf}
}

func (a peerAddrs) c() **C.ENetPeer { return (**C.ENetPeer)(unsafe.Pointer(&(*a.buf)[0])) }
func (a peerAddrs) done()           { peerScratch.Put(a.buf) }

func bytesPtr(b []byte) unsafe.Pointer {
	if len(b) == 0 {
		return nil
	}
	return unsafe.Pointer(&b[0])
}

// PortOf is the UDP port a go-enet host is bound to; go-enet itself cannot
// tell. Benchmarks use it to run plain go-enet on port 0.
func PortOf(h enet.Host) int { return int(C.nb_local_port(hostPointer(h))) }
