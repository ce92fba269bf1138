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

func TestHelloCookies(t *testing.T) {
	cookie := []byte("twenty bytes cookie!")
	hello := handshakeDatagram(1, clientHelloBody(make([]byte, 32), cookie))
	if got, ok := clientHelloCookie(hello); !ok || string(got) != string(cookie) {
		t.Errorf("ClientHello cookie %q %v", got, ok)
	}
	if got, ok := clientHelloCookie(handshakeDatagram(1, clientHelloBody(nil, nil))); !ok || len(got) != 0 {
		t.Errorf("first ClientHello: cookie %q %v", got, ok)
	}
	verify := handshakeDatagram(3, append([]byte{0xfe, 0xff, byte(len(cookie))}, cookie...))
	if got, ok := helloVerifyCookie(verify); !ok || string(got) != string(cookie) {
		t.Errorf("HelloVerifyRequest cookie %q %v", got, ok)
	}
	if _, ok := clientHelloCookie(verify); ok {
		t.Error("a HelloVerifyRequest read as a ClientHello")
	}
	if _, ok := helloVerifyCookie(hello); ok {
		t.Error("a ClientHello read as a HelloVerifyRequest")
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
	} {
		if got, ok := clientHelloCookie(b); ok {
			t.Errorf("%s: cookie %q accepted", name, got)
		}
	}
}

// FuzzHelloCookies: the hello readers read only the datagram, never
// panic, and return a cookie only from a whole epoch-0 ClientHello or
// HelloVerifyRequest that LooksLikeClientHello agrees with.
func FuzzHelloCookies(f *testing.F) {
	f.Add(handshakeDatagram(1, clientHelloBody(make([]byte, 32), []byte("twenty bytes cookie!"))))
	f.Add(handshakeDatagram(3, []byte{0xfe, 0xff, 2, 'h', 'i'}))
	f.Fuzz(func(t *testing.T, b []byte) {
		if cookie, ok := clientHelloCookie(b); ok {
			if !LooksLikeClientHello(b) || len(cookie) > len(b)-recordHeaderSize-handshakeHeaderSize-35 {
				t.Fatalf("cookie %x from %x", cookie, b)
			}
		}
		if cookie, ok := helloVerifyCookie(b); ok {
			if len(b) < 28 || b[0] != 22 || b[13] != 3 || len(cookie) > len(b)-28 {
				t.Fatalf("verify cookie %x from %x", cookie, b)
			}
		}
	})
}
