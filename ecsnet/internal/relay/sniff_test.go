package relay

import "testing"

// FuzzLooksLikeClientHello: the check reads only the datagram, never
// panics, and accepts only epoch-0 handshake records of DTLS 1.0/1.2 whose
// length fits and whose message is a ClientHello.
func FuzzLooksLikeClientHello(f *testing.F) {
	hello := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	f.Add(hello)
	f.Add([]byte{})
	f.Add([]byte{22, 0xfe, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		ok := LooksLikeClientHello(b)
		if ok && (len(b) < 25 || b[0] != 22 || b[1] != 0xfe || b[3]|b[4] != 0 || b[13] != 1) {
			t.Fatalf("accepted %x", b)
		}
	})
}

func TestLooksLikeClientHello(t *testing.T) {
	hello := []byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if !LooksLikeClientHello(hello) {
		t.Fatal("minimal hello refused")
	}
	for name, mutate := range map[string]func([]byte){
		"application data": func(b []byte) { b[0] = 23 },
		"TLS version":      func(b []byte) { b[1] = 3 },
		"epoch 1":          func(b []byte) { b[4] = 1 },
		"length too long":  func(b []byte) { b[12] = 13 },
		"length too short": func(b []byte) { b[12] = 11 },
		"server hello":     func(b []byte) { b[13] = 2 },
	} {
		b := append([]byte(nil), hello...)
		mutate(b)
		if LooksLikeClientHello(b) {
			t.Errorf("%s accepted", name)
		}
	}
	if LooksLikeClientHello(hello[:24]) {
		t.Error("truncated hello accepted")
	}
}

// handshakeDatagram is one epoch-0 DTLS 1.2 record holding one whole
// handshake message of type typ.
func handshakeDatagram(typ byte, body []byte) []byte {
	n := len(body)
	msg := append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n), 0, 0, 0, 0, 0, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
	m := len(msg)
	return append([]byte{22, 0xfe, 0xfd, 0, 0, 0, 0, 0, 0, 0, 0, byte(m >> 8), byte(m)}, msg...)
}

// clientHelloBody is a ClientHello's body up to its cookie, then one
// cipher suite and the null compression.
func clientHelloBody(sessionID, cookie []byte) []byte {
	b := append([]byte{0xfe, 0xfd}, make([]byte, 32)...)
	b = append(b, byte(len(sessionID)))
	b = append(b, sessionID...)
	b = append(b, byte(len(cookie)))
	b = append(b, cookie...)
	return append(b, 0, 2, 0xc0, 0x2b, 1, 0)
}

// parseClientHello reads a whole ClientHello and its extensions, and
// refuses anything malformed, fragmented or out of place.
func TestParseClientHello(t *testing.T) {
	cookie := []byte("twenty bytes cookie!")
	hello := handshakeDatagram(1, clientHelloBody(make([]byte, 32), cookie))
	if ch, ok := parseClientHello(hello); !ok || string(ch.cookie) != string(cookie) || len(ch.sessionID) != 32 ||
		len(ch.random) != 32 || ch.version != dtls12Version || !has16(ch.suites, 0xc02b) || ch.hasGroups || ch.ems {
		t.Errorf("ClientHello %+v %v", ch, ok)
	}
	if ch, ok := parseClientHello(handshakeDatagram(1, clientHelloBody(nil, nil))); !ok || len(ch.cookie) != 0 {
		t.Errorf("first ClientHello: cookie %q %v", ch.cookie, ok)
	}
	verify := handshakeDatagram(3, append([]byte{0xfe, 0xff, byte(len(cookie))}, cookie...))
	if got, ok := helloVerifyCookie(verify); !ok || string(got) != string(cookie) {
		t.Errorf("HelloVerifyRequest cookie %q %v", got, ok)
	}
	if _, ok := parseClientHello(verify); ok {
		t.Error("a HelloVerifyRequest read as a ClientHello")
	}
	ext := func(typ uint16, data ...byte) []byte {
		return append([]byte{byte(typ >> 8), byte(typ), byte(len(data) >> 8), byte(len(data))}, data...)
	}
	withExts := func(exts ...[]byte) []byte {
		var all []byte
		for _, e := range exts {
			all = append(all, e...)
		}
		b := clientHelloBody(nil, nil)
		b = append(b, byte(len(all)>>8), byte(len(all)))
		return handshakeDatagram(1, append(b, all...))
	}
	full := withExts(ext(extSupportedGroups, 0, 4, 0, 29, 0, 23), ext(extPointFormats, 1, 0), ext(extSignatureAlgs, 0, 2, 4, 3),
		ext(extExtendedMaster), ext(extRenegotiation, 0), ext(0x1234, 9, 9, 9))
	if ch, ok := parseClientHello(full); !ok || !ch.hasGroups || !has16(ch.groups, 29) || !has16(ch.groups, 23) ||
		!ch.hasPointFormats || !ch.ems || !ch.secureReneg || ch.badReneg || !has16(ch.sigAlgs, 0x0403) {
		t.Errorf("extensions read as %+v %v", ch, ok)
	}
	if ch, ok := parseClientHello(withExts(ext(extRenegotiation, 1, 7))); !ok || !ch.badReneg {
		t.Errorf("a renegotiation_info naming a handshake: %+v %v", ch, ok)
	}
	for name, b := range map[string][]byte{
		"truncated in the cookie": hello[:len(hello)-8],
		"session ID over 32":      handshakeDatagram(1, clientHelloBody(make([]byte, 33), cookie)),
		"cookie past the message": handshakeDatagram(1, append([]byte{0xfe, 0xfd}, append(make([]byte, 33), 200)...)),
		"fragment": func() []byte {
			b := append([]byte(nil), hello...)
			b[13+8] = 1 // fragment_offset 1
			return b
		}(),
		"record longer than the datagram": func() []byte {
			b := append([]byte(nil), hello...)
			b[12]++
			return b
		}(),
		"epoch 1": func() []byte {
			b := append([]byte(nil), hello...)
			b[4] = 1
			return b
		}(),
		"extension past the block":  withExts([]byte{0, 10, 0, 9, 0}),
		"odd group list":            withExts(ext(extSupportedGroups, 0, 3, 0, 29, 0)),
		"group list past its data":  withExts(ext(extSupportedGroups, 0, 8, 0, 29)),
		"extended master with data": withExts(ext(extExtendedMaster, 1)),
		"an extension twice":        withExts(ext(extExtendedMaster), ext(extExtendedMaster)),
		"bytes after the extensions": func() []byte {
			b := clientHelloBody(nil, nil)
			b = append(b, 0, 0, 7)
			return handshakeDatagram(1, b)
		}(),
	} {
		if ch, ok := parseClientHello(b); ok {
			t.Errorf("%s: accepted as %+v", name, ch)
		}
	}
}

// helloVerifyCookie returns the cookie of a whole HelloVerifyRequest in
// datagram b: server_version (2), then the cookie (length-prefixed).
func helloVerifyCookie(b []byte) (cookie []byte, ok bool) {
	typ, body, ok := epoch0Handshake(b)
	if !ok || typ != handshakeHelloVerify || len(body) < 3 {
		return nil, false
	}
	n := int(body[2])
	if len(body) < 3+n {
		return nil, false
	}
	return body[3 : 3+n], true
}

// FuzzParseClientHello: the hello reader reads only the datagram, never
// panics, and returns only what a whole epoch-0 ClientHello holds, which
// LooksLikeClientHello agrees with.
func FuzzParseClientHello(f *testing.F) {
	f.Add(handshakeDatagram(1, clientHelloBody(make([]byte, 32), []byte("twenty bytes cookie!"))))
	f.Add(handshakeDatagram(3, []byte{0xfe, 0xff, 2, 'h', 'i'}))
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, ok := parseClientHello(b)
		if !ok {
			return
		}
		if !LooksLikeClientHello(b) || len(ch.random) != 32 || len(ch.sessionID) > 32 || len(ch.suites)%2 != 0 ||
			len(ch.groups)%2 != 0 || len(ch.sigAlgs)%2 != 0 || len(ch.compression) == 0 ||
			len(ch.msg) < handshakeHeaderSize+2+32+4 || len(ch.msg) > len(b)-recordHeaderSize {
			t.Fatalf("%+v from %x", ch, b)
		}
	})
}
