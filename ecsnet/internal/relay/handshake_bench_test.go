package relay

import (
	"crypto/tls"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
)

// BenchmarkHelloVerify is what a ClientHello without a cookie costs a DTLS
// server: reading it, making its cookie, writing the HelloVerifyRequest
// (the send itself aside). This is all a flood of hellos from forged
// addresses buys.
func BenchmarkHelloVerify(b *testing.B) {
	hello := fuzzHello()
	jar := newCookieJar()
	from := netip.MustParseAddrPort("192.0.2.7:40000")
	out := make([]byte, 0, 128)
	now := time.Now()
	b.ReportAllocs()
	for b.Loop() {
		ch, ok := parseClientHello(hello)
		if !ok {
			b.Fatal("no hello")
		}
		c := jar.make(now, from, ch.random)
		out = helloVerifyRequest(out[:0], &ch, c[:])
	}
}

// BenchmarkCookieCheck is what a hello carrying a cookie costs before any
// state: reading it and checking the cookie (here one made for another
// port, so the MAC is computed and compared).
func BenchmarkCookieCheck(b *testing.B) {
	jar := newCookieJar()
	from := netip.MustParseAddrPort("192.0.2.7:40000")
	now := time.Now()
	ch0, _ := parseClientHello(fuzzHello())
	cookie := jar.make(now, netip.MustParseAddrPort("192.0.2.7:40001"), ch0.random)
	hello := handshakeDatagram(handshakeClientHi, clientHelloBody(nil, cookie[:]))
	b.ReportAllocs()
	for b.Loop() {
		ch, _ := parseClientHello(hello)
		if jar.check(now, from, ch.random, ch.cookie) {
			b.Fatal("a cookie for another port passed")
		}
	}
}

// BenchmarkServerFirstFlight is what a returned cookie costs: the server's
// ephemeral key, its signature and the first flight, by certificate key.
func BenchmarkServerFirstFlight(b *testing.B) {
	ec, rc := testCerts(b)
	for _, c := range []struct {
		name string
		cert tls.Certificate
	}{
		{"ecdsa-p256", ec},
		{"rsa-2048", rc},
	} {
		b.Run(c.name, func(b *testing.B) {
			creds, err := newServerCreds(&dtls.Config{Certificates: []tls.Certificate{c.cert}})
			if err != nil {
				b.Fatal(err)
			}
			hello := rsaOrECDSAHello(creds.ecdsa)
			ch, _ := parseClientHello(hello)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := newServerHS(creds, &ch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// rsaOrECDSAHello is fuzzHello offering the suite and signature for the
// key kind.
func rsaOrECDSAHello(ecdsaKey bool) []byte {
	if ecdsaKey {
		return fuzzHello()
	}
	exts := []byte{0, 10, 0, 4, 0, 2, 0, 29, 0, 13, 0, 4, 0, 2, 4, 1, 0, 23, 0, 0}
	b := append([]byte{0xfe, 0xfd}, make([]byte, 32)...)
	b = append(b, 0, 6, 'c', 'o', 'o', 'k', 'i', 'e', 0, 2, 0xc0, 0x2f, 1, 0)
	b = append(b, byte(len(exts)>>8), byte(len(exts)))
	d := handshakeDatagram(handshakeClientHi, append(b, exts...))
	d[recordHeaderSize+5] = 1
	return d
}
