package relay

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/dtls/v3"
)

// A DTLS client whose cookie answer reaches no session fails its handshake
// as soon as the relay's handshake_failure alert arrives: here a pion
// client gets a HelloVerifyRequest, returns the cookie, and is answered
// with the alert the relay sends for an orphaned cookie.
func TestOrphanedCookieAlertEndsTheClientsHandshake(t *testing.T) {
	server := listenLoopback(t)
	conn := listenLoopback(t)
	cl, err := dtls.Client(conn, server.LocalAddr(), &dtls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- cl.HandshakeContext(ctx) }()

	buf := make([]byte, maxDatagram)
	read := func() ([]byte, *net.UDPAddr) {
		t.Helper()
		if err := server.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		n, from, err := server.ReadFromUDP(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n], from
	}
	first, from := read()
	if ch, ok := parseClientHello(first); !ok || len(ch.cookie) != 0 {
		t.Fatalf("first datagram %x: cookie %x %v", first, ch.cookie, ok)
	}
	cookie := []byte("twenty bytes cookie!")
	verify := handshakeDatagram(handshakeHelloVerify, append([]byte{0xfe, 0xff, byte(len(cookie))}, cookie...))
	copy(verify[5:11], first[5:11])
	if _, err := server.WriteToUDP(verify, from); err != nil {
		t.Fatal(err)
	}
	for {
		second, _ := read()
		if ch, ok := parseClientHello(second); ok && string(ch.cookie) == string(cookie) {
			start := time.Now()
			if _, err := server.WriteToUDP(handshakeFailureAlert(second), from); err != nil {
				t.Fatal(err)
			}
			err := <-done
			if err == nil || errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("handshake ended with %v, want the alert's error", err)
			}
			t.Logf("the client gave up %v after the alert: %v", time.Since(start), err)
			return
		}
	}
}
