package relay

import "encoding/binary"

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

// Handshake message types the relay reads or writes (RFC 6347, section 4.3.2).
const handshakeHelloVerify = 3

// epoch0Handshake reads datagram b as an unencrypted (epoch 0) DTLS 1.0 or
// 1.2 handshake record and returns the type and body of the first
// handshake message in it, when that message is whole (not a fragment) and
// lies inside the record and the datagram. It reads nothing beyond len(b)
// and trusts no length field: every one is checked against what is there.
func epoch0Handshake(b []byte) (typ byte, body []byte, ok bool) {
	if len(b) < recordHeaderSize+handshakeHeaderSize || b[0] != contentHandshake {
		return 0, nil, false
	}
	if b[1] != 0xfe || (b[2] != 0xff && b[2] != 0xfd) || b[3] != 0 || b[4] != 0 {
		return 0, nil, false
	}
	recordLen := int(b[11])<<8 | int(b[12])
	if recordLen > len(b)-recordHeaderSize {
		return 0, nil, false
	}
	rec := b[recordHeaderSize : recordHeaderSize+recordLen]
	if len(rec) < handshakeHeaderSize {
		return 0, nil, false
	}
	length := uint24(rec[1:4])
	fragOffset, fragLength := uint24(rec[6:9]), uint24(rec[9:12])
	if fragOffset != 0 || fragLength != length || fragLength > len(rec)-handshakeHeaderSize {
		return 0, nil, false
	}
	return rec[0], rec[handshakeHeaderSize : handshakeHeaderSize+fragLength], true
}

// splitRecord takes the first DTLS record off datagram b: rec is its
// header and body, rest what follows; ok is false when b holds no whole
// record (nothing more in it can be read). It reads nothing beyond len(b).
func splitRecord(b []byte) (rec, rest []byte, ok bool) {
	if len(b) < recordHeaderSize {
		return nil, nil, false
	}
	end := recordHeaderSize + (int(b[11])<<8 | int(b[12]))
	if end > len(b) {
		return nil, nil, false
	}
	return b[:end], b[end:], true
}

func uint24(b []byte) int { return int(b[0])<<16 | int(b[1])<<8 | int(b[2]) }

// handshakeFailureAlert is a fatal handshake_failure alert (RFC 5246,
// section 7.2) in an epoch-0 DTLS 1.2 record answering the record in
// hello: it reuses hello's record sequence number, as a HelloVerifyRequest
// does (RFC 6347, section 4.2.1), so the client's replay window takes it.
// hello is at least a record header long.
func handshakeFailureAlert(hello []byte) []byte {
	return appendAlert(nil, binary.BigEndian.Uint64(hello[3:11])&maxSeq, alertHandshakeFailure)
}
