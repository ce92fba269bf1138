package ecsnet

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// testCert is a self-signed certificate made by a test, with its key.
type testCert struct {
	cert *x509.Certificate
	key  crypto.Signer
}

type certOptions struct {
	rsa       bool
	dnsNames  []string
	ips       []net.IP
	notBefore time.Time
	notAfter  time.Time
}

// newTestCert makes a self-signed certificate for "localhost" and
// 127.0.0.1 and ::1 (ECDSA P-256 unless o.rsa), valid for a day, unless o
// says otherwise.
func newTestCert(t testing.TB, o certOptions) testCert {
	t.Helper()
	if o.dnsNames == nil && o.ips == nil {
		o.dnsNames = []string{"localhost"}
		o.ips = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	if o.notBefore.IsZero() {
		o.notBefore = time.Now().Add(-time.Hour)
	}
	if o.notAfter.IsZero() {
		o.notAfter = time.Now().Add(24 * time.Hour)
	}
	var key crypto.Signer
	var err error
	if o.rsa {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	must(t, err)
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	must(t, err)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "netburi test"},
		NotBefore:             o.notBefore,
		NotAfter:              o.notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              o.dnsNames,
		IPAddresses:           o.ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	must(t, err)
	cert, err := x509.ParseCertificate(der)
	must(t, err)
	return testCert{cert: cert, key: key}
}

// writePEM writes the certificate and key to PEM files in a temporary
// directory (the key as SEC 1 for ECDSA, PKCS #1 for RSA, which Godot's
// mbedTLS reads) and returns their paths.
func (c testCert) writePEM(t testing.TB) (certFile, keyFile string) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.crt"), filepath.Join(dir, "key.key")
	must(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.cert.Raw}), 0o600))
	var block *pem.Block
	switch k := c.key.(type) {
	case *ecdsa.PrivateKey:
		der, err := x509.MarshalECPrivateKey(k)
		must(t, err)
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case *rsa.PrivateKey:
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	}
	must(t, os.WriteFile(keyFile, pem.EncodeToMemory(block), 0o600))
	return certFile, keyFile
}

// dtlsServer configures a DTLS server with c.
func dtlsServer(t testing.TB, c testCert) func(*Peer) {
	return func(p *Peer) {
		must(t, p.SetDTLSEnabled(true))
		must(t, p.SetDTLSCertificate(c.cert))
		must(t, p.SetDTLSKey(c.key))
	}
}

// dtlsClient configures a DTLS client trusting ca (nil: system roots).
func dtlsClient(t testing.TB, ca *x509.Certificate) func(*Peer) {
	return func(p *Peer) {
		must(t, p.SetDTLSEnabled(true))
		must(t, p.SetDTLSCertificate(ca))
	}
}

// clientAt starts a client of srv at address (not 127.0.0.1) without
// waiting.
func (n *testNet) clientAt(srv *Peer, address string, configure ...func(*Peer)) *Peer {
	n.t.Helper()
	p := NewPeer()
	for _, c := range configure {
		c(p)
	}
	must(n.t, p.CreateClient(address, srv.LocalPort(), 0, 0, 0))
	n.peers = append(n.peers, p)
	return p
}

// serverOn starts a server bound to bind (an address or "*").
func (n *testNet) serverOn(bind string, maxClients int, configure ...func(*Peer)) *Peer {
	n.t.Helper()
	p := NewPeer()
	for _, c := range configure {
		c(p)
	}
	must(n.t, p.SetBindIP(bind))
	must(n.t, p.CreateServer(0, maxClients, 0, 0))
	if p.LocalPort() == 0 {
		n.t.Fatal("server has no local port")
	}
	n.peers = append(n.peers, p)
	return p
}

// roundTrip checks that c and its server srv exchange a reliable packet
// both ways.
func (n *testNet) roundTrip(srv, c *Peer, tag string) {
	n.t.Helper()
	send(n.t, c, 1, TransferReliable, "up "+tag)
	n.waitPacket(srv, "up "+tag)
	send(n.t, srv, c.UniqueID(), TransferReliable, "down "+tag)
	n.waitPacket(c, "down "+tag)
}

// checkNoLeaks records the goroutines and open file descriptors now and,
// when the test ends (after its other cleanups), waits until both are
// back to that, failing the test if they are not within a few seconds.
func checkNoLeaks(t *testing.T) {
	t.Helper()
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for {
			g, f := runtime.NumGoroutine(), openFDs(t)
			if g <= goroutines && f <= fds {
				return
			}
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				buf = buf[:runtime.Stack(buf, true)]
				t.Fatalf("leak: %d goroutines (was %d), %d open files (was %d)\n%s", g, goroutines, f, fds, buf)
			}
			time.Sleep(10 * time.Millisecond) // polling for goroutines to exit, with a deadline
		}
	})
}
