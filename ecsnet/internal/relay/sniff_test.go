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
