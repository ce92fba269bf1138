package guard

import "encoding/binary"

// ENet 1.3.17's protocol, as protocol.h lays it out: what the guard must
// read to judge a datagram. Every multi-byte field is big-endian.
const (
	headerSize     = 2 // peer ID and header flags
	sentTimeSize   = 2 // present when flagSentTime is set
	cmdHeaderSize  = 4 // command, channel ID, reliable sequence number
	noPeer         = 0xFFF
	peerIDMask     = 0x0FFF
	flagCompressed = 1 << 14
	flagSentTime   = 1 << 15
	sessionShift   = 12
	sessionMask    = 3 << sessionShift

	cmdMask = 0x0F

	cmdAcknowledge         = 1
	cmdConnect             = 2
	cmdVerifyConnect       = 3
	cmdDisconnect          = 4
	cmdPing                = 5
	cmdSendReliable        = 6
	cmdSendUnreliable      = 7
	cmdSendFragment        = 8
	cmdSendUnsequenced     = 9
	cmdBandwidthLimit      = 10
	cmdThrottleConfigure   = 11
	cmdSendUnreliableFrag  = 12
	cmdCount               = 13
	connectSize            = 48 // ENetProtocolConnect
	fragmentHeaderSize     = 24 // ENetProtocolSendFragment
	minMTU                 = 576
	maxMTU                 = 4096
	reliableWindowSize     = 0x1000 // ENET_PEER_RELIABLE_WINDOW_SIZE
	freeReliableWindows    = 8      // ENET_PEER_FREE_RELIABLE_WINDOWS
	reliableWindowsQueued  = (freeReliableWindows - 1) * reliableWindowSize
	maxFragmentsPerPacket  = 1024 * 1024 // ENET_PROTOCOL_MAXIMUM_FRAGMENT_COUNT
	minFragmentPayloadSize = minMTU - headerSize - sentTimeSize - fragmentHeaderSize
)

// commandSizes are ENet's fixed command sizes (commandSizes in protocol.c);
// 0 marks a number ENet refuses.
var commandSizes = [cmdCount]int{
	0,  // none
	8,  // acknowledge
	48, // connect
	44, // verify connect
	8,  // disconnect
	4,  // ping
	6,  // send reliable
	8,  // send unreliable
	24, // send fragment
	8,  // send unsequenced
	12, // bandwidth limit
	16, // throttle configure
	24, // send unreliable fragment
}

// dataLengthOffset is where a data-carrying command keeps the length of
// the data that follows it (0: the command carries none).
var dataLengthOffset = [cmdCount]int{
	cmdSendReliable:       4,
	cmdSendUnreliable:     6,
	cmdSendFragment:       6,
	cmdSendUnsequenced:    6,
	cmdSendUnreliableFrag: 6,
}

// Header is a datagram's ENet protocol header, parsed.
type Header struct {
	PeerID     int  // the receiver's peer index, 0xFFF for none
	Session    int  // the session ID bits
	Compressed bool // the commands are compressed with the host's codec
	Size       int  // bytes the header takes (2 or 4)
}

// ParseHeader reads a datagram's protocol header; ok is false when the
// datagram is shorter than the header it announces. libenet 1.3.17 checks
// only the first two bytes, then subtracts the full header size from the
// length, which underflows on a 2- or 3-byte datagram.
func ParseHeader(d []byte) (h Header, ok bool) {
	if len(d) < headerSize {
		return Header{}, false
	}
	v := binary.BigEndian.Uint16(d)
	h = Header{
		PeerID:     int(v & peerIDMask),
		Session:    int(v&sessionMask) >> sessionShift,
		Compressed: v&flagCompressed != 0,
		Size:       headerSize,
	}
	if v&flagSentTime != 0 {
		h.Size += sentTimeSize
	}
	return h, len(d) >= h.Size
}

// maxFragments is how many fragments a packet of total bytes can honestly
// need: ENet cuts packets into pieces of its MTU less the headers, and no
// peer's MTU is below ENet's minimum.
func maxFragments(total uint32) uint32 {
	n := (uint64(total) + minFragmentPayloadSize - 1) / minFragmentPayloadSize
	if n == 0 {
		n = 1
	}
	return uint32(min(n, maxFragmentsPerPacket))
}

// ahead is how far sequence number s is ahead of ENet's last delivered
// reliable sequence number on a channel (modulo 2^16, as ENet counts).
func ahead(s, delivered uint16) int { return int(uint16(s - delivered)) }
