package relay

import "encoding/binary"

// clientHello is a whole DTLS ClientHello (RFC 6347 4.2.1, RFC 5246
// 7.4.1.2) read from the first record of a datagram. Its slices point into
// the datagram.
type clientHello struct {
	recordSeq   uint64 // the record's sequence number (48 bits)
	msgSeq      uint16 // the handshake message_seq
	msg         []byte // header and body, as the handshake transcript takes it
	version     uint16 // client_version
	random      []byte // 32 bytes
	sessionID   []byte
	cookie      []byte
	suites      []byte // cipher_suites, 2 bytes each
	compression []byte // compression_methods

	// Extensions (RFC 8422, RFC 5246 7.4.1.4.1, RFC 7627, RFC 5746).
	groups          []byte // supported_groups' list, 2 bytes each
	hasGroups       bool
	pointFormats    []byte // ec_point_formats' list
	hasPointFormats bool
	sigAlgs         []byte // signature_algorithms' list, 2 bytes each
	ems             bool   // extended_master_secret
	secureReneg     bool   // renegotiation_info (empty) or the SCSV in suites
	badReneg        bool   // renegotiation_info naming a previous handshake
}

// Extension types the server reads or answers.
const (
	extSupportedGroups  = 10
	extPointFormats     = 11
	extSignatureAlgs    = 13
	extExtendedMaster   = 23
	extRenegotiation    = 0xff01
	scsvRenegotiation   = 0x00ff
	dtls10Version       = 0xfeff
	dtls12Version       = 0xfefd
	handshakeServerHi   = 2
	handshakeCert       = 11
	handshakeServerKX   = 12
	handshakeServerDone = 14
	handshakeClientKX   = 16
	handshakeFinished   = 20
	contentCCS          = 20
)

// parseClientHello reads the ClientHello at the start of datagram b: the
// first record must be an epoch-0 handshake record holding the whole
// message (a fragmented ClientHello is refused: neither pion nor mbedTLS
// send one). Every length is checked against what is there; it reads
// nothing beyond len(b) and allocates nothing.
func parseClientHello(b []byte) (ch clientHello, ok bool) {
	typ, body, ok := epoch0Handshake(b)
	if !ok || typ != handshakeClientHi {
		return clientHello{}, false
	}
	ch.recordSeq = binary.BigEndian.Uint64(b[3:11]) & maxSeq
	ch.msgSeq = binary.BigEndian.Uint16(b[recordHeaderSize+4:])
	ch.msg = b[recordHeaderSize : recordHeaderSize+handshakeHeaderSize+len(body)]
	r := reader(body)
	var v []byte
	if v, ok = r.take(2); !ok {
		return clientHello{}, false
	}
	ch.version = binary.BigEndian.Uint16(v)
	if ch.random, ok = r.take(32); !ok {
		return clientHello{}, false
	}
	if ch.sessionID, ok = r.vec8(); !ok || len(ch.sessionID) > 32 {
		return clientHello{}, false
	}
	if ch.cookie, ok = r.vec8(); !ok {
		return clientHello{}, false
	}
	if ch.suites, ok = r.vec16(); !ok || len(ch.suites) < 2 || len(ch.suites)%2 != 0 {
		return clientHello{}, false
	}
	if ch.compression, ok = r.vec8(); !ok || len(ch.compression) == 0 {
		return clientHello{}, false
	}
	for i := 0; i < len(ch.suites); i += 2 {
		if binary.BigEndian.Uint16(ch.suites[i:]) == scsvRenegotiation {
			ch.secureReneg = true
		}
	}
	if len(r) == 0 {
		return ch, true // no extensions
	}
	exts, ok := r.vec16()
	if !ok || len(r) != 0 {
		return clientHello{}, false
	}
	var seen uint8 // the extensions read below, each at most once
	for e := reader(exts); len(e) > 0; {
		t, ok1 := e.take(2)
		data, ok2 := e.vec16()
		if !ok1 || !ok2 {
			return clientHello{}, false
		}
		var bit uint8
		d := reader(data)
		switch binary.BigEndian.Uint16(t) {
		case extSupportedGroups:
			bit = 1
			ch.groups, ok = d.vec16()
			ok = ok && len(d) == 0 && len(ch.groups)%2 == 0
			ch.hasGroups = true
		case extPointFormats:
			bit = 2
			ch.pointFormats, ok = d.vec8()
			ok = ok && len(d) == 0
			ch.hasPointFormats = true
		case extSignatureAlgs:
			bit = 4
			ch.sigAlgs, ok = d.vec16()
			ok = ok && len(d) == 0 && len(ch.sigAlgs)%2 == 0
		case extExtendedMaster:
			bit = 8
			ok = len(d) == 0
			ch.ems = true
		case extRenegotiation:
			bit = 16
			var prev []byte
			prev, ok = d.vec8()
			ok = ok && len(d) == 0
			ch.secureReneg = true
			ch.badReneg = len(prev) != 0
		default:
			continue // not ours to read
		}
		if !ok || seen&bit != 0 {
			return clientHello{}, false
		}
		seen |= bit
	}
	return ch, true
}

// reader reads TLS vectors off the front of a byte slice.
type reader []byte

func (r *reader) take(n int) ([]byte, bool) {
	if n > len(*r) {
		return nil, false
	}
	v := (*r)[:n:n]
	*r = (*r)[n:]
	return v, true
}

// vec8 takes a vector with a 1-byte length.
func (r *reader) vec8() ([]byte, bool) {
	n, ok := r.take(1)
	if !ok {
		return nil, false
	}
	return r.take(int(n[0]))
}

// vec16 takes a vector with a 2-byte length.
func (r *reader) vec16() ([]byte, bool) {
	n, ok := r.take(2)
	if !ok {
		return nil, false
	}
	return r.take(int(binary.BigEndian.Uint16(n)))
}

// has16 reports whether list (2-byte values) holds v.
func has16(list []byte, v uint16) bool {
	for i := 0; i+1 < len(list); i += 2 {
		if binary.BigEndian.Uint16(list[i:]) == v {
			return true
		}
	}
	return false
}
