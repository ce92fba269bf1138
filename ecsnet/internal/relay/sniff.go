package relay

// DTLS record and handshake header layout (RFC 6347, sections 4.1 and
// 4.2.2), as far as LooksLikeClientHello needs it.
const (
	recordHeaderSize    = 13
	handshakeHeaderSize = 12
	contentHandshake    = 22
	handshakeClientHi   = 1
)

// LooksLikeClientHello reports whether datagram b opens with a DTLS 1.0 or
// 1.2 record of epoch 0 carrying (the start of) a ClientHello: the only
// datagram a DTLS server lets a new remote open a session with. It reads
// nothing beyond len(b).
func LooksLikeClientHello(b []byte) bool {
	if len(b) < recordHeaderSize+handshakeHeaderSize || b[0] != contentHandshake {
		return false
	}
	if b[1] != 0xfe || (b[2] != 0xff && b[2] != 0xfd) { // DTLS 1.0 or 1.2
		return false
	}
	if b[3] != 0 || b[4] != 0 { // epoch 0: nothing is encrypted yet
		return false
	}
	length := int(b[11])<<8 | int(b[12])
	if length < handshakeHeaderSize || length > len(b)-recordHeaderSize {
		return false
	}
	return b[recordHeaderSize] == handshakeClientHi
}
