package ecsnet

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/netburi/netburi/ecsnet/internal/relay"
	"github.com/pion/dtls/v3"
	"github.com/pion/logging"
)

// dtlsSettings are the DTLS settings kept across hosts.
type dtlsSettings struct {
	enabled   bool
	skipCheck bool // verify off (the zero value verifies, as Godot)
	cert      *x509.Certificate
	key       crypto.Signer
}

// DTLSEnabled reports whether the next host encrypts its traffic with DTLS.
func (p *Peer) DTLSEnabled() bool { return p.dtls.enabled }

// SetDTLSEnabled turns DTLS on or off for the next host (Godot's
// use_dtls). A DTLS server needs SetDTLSKey and SetDTLSCertificate; a
// client verifies the server (see SetDTLSVerify). DTLS peers talk only to
// DTLS peers. It fails with ErrAlreadyInUse while active. Call it from the
// goroutine that owns the peer, as every setter.
func (p *Peer) SetDTLSEnabled(on bool) error {
	if p.active {
		return fmt.Errorf("ecsnet: set dtls enabled: %w", ErrAlreadyInUse)
	}
	p.dtls.enabled = on
	return nil
}

// DTLSVerify reports whether a DTLS client verifies the server's
// certificate chain and host name (default true).
func (p *Peer) DTLSVerify() bool { return !p.dtls.skipCheck }

// SetDTLSVerify sets whether a DTLS client verifies the server: its chain
// must lead to the certificate set with SetDTLSCertificate (or, without
// one, to the system roots) and name the host given to CreateClient. Off,
// any certificate is accepted: the traffic is encrypted but the server
// unauthenticated. It fails with ErrAlreadyInUse while active.
func (p *Peer) SetDTLSVerify(on bool) error {
	if p.active {
		return fmt.Errorf("ecsnet: set dtls verify: %w", ErrAlreadyInUse)
	}
	p.dtls.skipCheck = !on
	return nil
}

// SetDTLSCertificate sets a server's certificate, or the certificate a
// client trusts as its only root (nil: the system roots). It fails with
// ErrAlreadyInUse while active.
func (p *Peer) SetDTLSCertificate(cert *x509.Certificate) error {
	if p.active {
		return fmt.Errorf("ecsnet: set dtls certificate: %w", ErrAlreadyInUse)
	}
	p.dtls.cert = cert
	return nil
}

// SetDTLSKey sets a server's private key (ECDSA or RSA; it must match the
// certificate). It fails with ErrAlreadyInUse while active.
func (p *Peer) SetDTLSKey(key crypto.Signer) error {
	if p.active {
		return fmt.Errorf("ecsnet: set dtls key: %w", ErrAlreadyInUse)
	}
	p.dtls.key = key
	return nil
}

// LoadDTLSFiles reads a PEM certificate (the first CERTIFICATE block) and,
// unless keyFile is "", a PEM private key (PKCS #8, PKCS #1 RSA or SEC 1
// EC), for SetDTLSCertificate and SetDTLSKey. Godot's
// X509Certificate.load and CryptoKey.load read the same files. Errors
// wrap ErrInvalidParameter (or the file system's error). Safe to call from
// any goroutine.
func LoadDTLSFiles(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	data, err := os.ReadFile(certFile)
	if err != nil {
		return nil, nil, fmt.Errorf("ecsnet: load dtls certificate: %w", err)
	}
	var cert *x509.Certificate
	for rest := data; cert == nil; {
		var block *pem.Block
		if block, rest = pem.Decode(rest); block == nil {
			return nil, nil, fmt.Errorf("ecsnet: load dtls certificate %s: no CERTIFICATE block: %w", certFile, ErrInvalidParameter)
		}
		if block.Type == "CERTIFICATE" {
			if cert, err = x509.ParseCertificate(block.Bytes); err != nil {
				return nil, nil, fmt.Errorf("ecsnet: load dtls certificate %s: %w: %w", certFile, ErrInvalidParameter, err)
			}
		}
	}
	if keyFile == "" {
		return cert, nil, nil
	}
	data, err = os.ReadFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("ecsnet: load dtls key: %w", err)
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, nil, fmt.Errorf("ecsnet: load dtls key %s: no PEM block: %w", keyFile, ErrInvalidParameter)
	}
	key, err := parseKey(block.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("ecsnet: load dtls key %s: %w: %w", keyFile, ErrInvalidParameter, err)
	}
	return cert, key, nil
}

func parseKey(der []byte) (crypto.Signer, error) {
	if k, err := x509.ParsePKCS8PrivateKey(der); err == nil {
		if s, ok := k.(crypto.Signer); ok {
			return s, nil
		}
		return nil, fmt.Errorf("a %T cannot sign", k)
	}
	if k, err := x509.ParseECPrivateKey(der); err == nil {
		return k, nil
	}
	if k, err := x509.ParsePKCS1PrivateKey(der); err == nil {
		return k, nil
	}
	return nil, errors.New("not a PKCS #8, SEC 1 or PKCS #1 private key")
}

// dtlsSuites are what Godot 3.2's mbedTLS 2.16 offers by default and both
// pion (the client) and the relay's server handshake implement: ECDHE with
// ECDSA or RSA certificates, AES-GCM and ChaCha20-Poly1305.
var dtlsSuites = relay.Suites

func quietLogs() logging.LoggerFactory {
	f := logging.NewDefaultLoggerFactory()
	f.DefaultLogLevel = logging.LogLevelDisabled
	return f
}

// dtlsServerConfig checks a server's key and certificate and builds the
// configuration the relay's own server handshake reads (the certificate,
// the suites, the extended master secret; no client certificates). Its
// HelloVerifyRequest cookies are the relay's, stateless.
func (p *Peer) dtlsServerConfig() (*dtls.Config, error) {
	d := p.dtls
	if d.cert == nil || d.key == nil {
		return nil, fmt.Errorf("ecsnet: create server with dtls needs SetDTLSKey and SetDTLSCertificate: %w", ErrInvalidParameter)
	}
	pub, ok := d.key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(d.cert.PublicKey) {
		return nil, fmt.Errorf("ecsnet: create server with dtls: the key does not match the certificate: %w", ErrInvalidParameter)
	}
	switch d.key.(type) {
	case *ecdsa.PrivateKey, *rsa.PrivateKey:
	default:
		return nil, fmt.Errorf("ecsnet: create server with dtls: a %T key (want ECDSA or RSA): %w", d.key, ErrInvalidParameter)
	}
	return &dtls.Config{
		Certificates:         []tls.Certificate{{Certificate: [][]byte{d.cert.Raw}, PrivateKey: d.key, Leaf: d.cert}},
		CipherSuites:         dtlsSuites,
		ClientAuth:           dtls.NoClientCert,
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		LoggerFactory:        quietLogs(),
	}, nil
}

// dtlsClientConfig verifies the server against the set certificate (or
// the system roots) and serverName, the address given to CreateClient.
func (p *Peer) dtlsClientConfig(serverName string) *dtls.Config {
	var roots *x509.CertPool
	if p.dtls.cert != nil {
		roots = x509.NewCertPool()
		roots.AddCert(p.dtls.cert)
	}
	return &dtls.Config{
		RootCAs:              roots,
		InsecureSkipVerify:   p.dtls.skipCheck,
		ServerName:           serverName,
		CipherSuites:         dtlsSuites,
		ExtendedMasterSecret: dtls.RequestExtendedMasterSecret,
		LoggerFactory:        quietLogs(),
	}
}
