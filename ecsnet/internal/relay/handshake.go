package relay

import (
	"crypto"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
)

// The relay's DTLS 1.2 server handshake (RFC 6347 over RFC 5246, with
// ECDHE key exchange from RFC 8422, the extended master secret of RFC 7627
// and RFC 5746's secure renegotiation signal), for the suites netburi
// offers: ECDHE with an ECDSA or RSA certificate, AES-GCM or
// ChaCha20-Poly1305. It exists so that a server keeps nothing for a
// ClientHello until its sender returns a stateless cookie (cookie.go);
// pion's server cannot take up a handshake whose HelloVerifyRequest it did
// not send. It does no I/O: handle takes a datagram and returns what to
// send, and the session that owns it sends.
//
// What it leaves out, on purpose: client certificates, session resumption
// (a client offering a session gets a full handshake), renegotiation,
// connection IDs, and fragmented messages from the client (its
// ClientKeyExchange and Finished are a few dozen bytes; pion and mbedTLS
// send them whole). Its own flight is fragmented to flightMTU.

// serverCreds is what a DTLS server proves itself with, read once from
// the relay's dtls.Config.
type serverCreds struct {
	chain  [][]byte // DER certificates, the leaf first
	key    crypto.Signer
	ecdsa  bool     // an ECDSA key (else RSA)
	suites []uint16 // the server's preference, those its key can serve
	ems    dtls.ExtendedMasterSecretType
}

// errDTLSConfig: a server dtls.Config the relay's handshake cannot honour.
var errDTLSConfig = errors.New("relay: unsupported DTLS server configuration")

// Suites are the cipher suites the relay speaks (its server handshake and
// its record layer), in netburi's order of preference; a server config
// that names none offers these.
var Suites = []dtls.CipherSuiteID{
	dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	dtls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// newServerCreds reads the first certificate of cfg and the suites it
// names that the handshake implements and the key can sign for.
func newServerCreds(cfg *dtls.Config) (*serverCreds, error) {
	if len(cfg.Certificates) == 0 || len(cfg.Certificates[0].Certificate) == 0 {
		return nil, fmt.Errorf("%w: no certificate", errDTLSConfig)
	}
	if cfg.ClientAuth != dtls.NoClientCert || cfg.PSK != nil {
		return nil, fmt.Errorf("%w: client certificates and pre-shared keys are not offered", errDTLSConfig)
	}
	cert := cfg.Certificates[0]
	c := &serverCreds{chain: cert.Certificate, ems: cfg.ExtendedMasterSecret}
	switch k := cert.PrivateKey.(type) {
	case *ecdsa.PrivateKey:
		c.key, c.ecdsa = k, true
	case *rsa.PrivateKey:
		c.key = k
	default:
		return nil, fmt.Errorf("%w: a %T key (want ECDSA or RSA)", errDTLSConfig, cert.PrivateKey)
	}
	suites := cfg.CipherSuites
	if len(suites) == 0 {
		suites = Suites
	}
	for _, id := range suites {
		if su, ok := suiteOf(uint16(id)); ok && su.ecdsa == c.ecdsa {
			c.suites = append(c.suites, uint16(id))
		}
	}
	if len(c.suites) == 0 {
		return nil, fmt.Errorf("%w: no suite for this key among %v", errDTLSConfig, suites)
	}
	return c, nil
}

// Alert descriptions (RFC 5246 7.2).
const (
	alertCloseNotify          = 0
	alertUnexpectedMessage    = 10
	alertHandshakeFailure     = 40
	alertIllegalParameter     = 47
	alertDecodeError          = 50
	alertDecryptError         = 51
	alertProtocolVersion      = 70
	alertInsufficientSecurity = 71
	alertInternalError        = 80
	alertFatal                = 2
)

// hsAlert is why a handshake failed, with the alert that tells the client.
type hsAlert struct {
	desc byte
	why  string
}

func (e *hsAlert) Error() string {
	return fmt.Sprintf("relay: dtls handshake: %s (alert %d)", e.why, e.desc)
}

// errPeerAlert: the client ended the handshake or the session with an alert.
var errPeerAlert = errors.New("relay: dtls: the remote sent an alert")

// flightMTU bounds the datagrams of the server's flights (pion's default,
// under the IPv6 minimum path MTU with room for headers).
const flightMTU = 1200

// maxResends bounds how often the server repeats a flight for one
// session (the client retransmitting its own): a verified but hostile
// client cannot turn small datagrams into a stream of certificates.
const maxResends = 8

// Named groups (RFC 8422 5.1.1), in the server's preference.
var serverGroups = []struct {
	id    uint16
	curve func() ecdh.Curve
}{{29, ecdh.X25519}, {23, ecdh.P256}, {24, ecdh.P384}}

// serverHS is one client's handshake, from its cookie-bearing ClientHello
// to the server's Finished, and the record layer it keys. Not safe for
// concurrent use: the session serialises its calls.
type serverHS struct {
	suiteID      uint16
	suite        dtlsSuite
	ems          bool
	clientRandom [32]byte
	serverRandom [32]byte
	priv         *ecdh.PrivateKey
	transcript   []byte // every handshake message so far, unfragmented (RFC 6347 4.2.6)
	chSeq        uint16 // the ClientHello's message_seq: the server's first
	nextRec      uint64 // the next epoch-0 record number
	flight4      [][]byte

	master  []byte
	rl      *recordLayer // once the ClientKeyExchange is in
	done    bool         // the client's Finished checked, flight6 made
	flight6 []byte
	resends int
}

// newServerHS negotiates with a verified ClientHello and makes the
// server's first flight (ServerHello, Certificate, ServerKeyExchange,
// ServerHelloDone).
func newServerHS(c *serverCreds, ch *clientHello) (*serverHS, error) {
	if ch.version > dtls12Version { // DTLS versions count down: 1.0 is 0xfeff
		return nil, &hsAlert{alertProtocolVersion, "the client does not speak DTLS 1.2"}
	}
	if !slices.Contains(ch.compression, 0) {
		return nil, &hsAlert{alertIllegalParameter, "no null compression"}
	}
	if ch.hasPointFormats && !slices.Contains(ch.pointFormats, 0) {
		return nil, &hsAlert{alertIllegalParameter, "no uncompressed points"}
	}
	if ch.badReneg {
		return nil, &hsAlert{alertHandshakeFailure, "renegotiation"}
	}
	if ch.recordSeq > maxSeq-1<<16 { // ours follow it, and must stay in 48 bits
		return nil, &hsAlert{alertIllegalParameter, "record numbers about to run out"}
	}
	// Record numbers start past the hello's: the HelloVerifyRequest took
	// the first hello's, and the client's replay window must see ours as new.
	h := &serverHS{chSeq: ch.msgSeq, nextRec: ch.recordSeq + 1}
	copy(h.clientRandom[:], ch.random)
	for _, id := range c.suites {
		if has16(ch.suites, id) {
			h.suiteID = id
			break
		}
	}
	if h.suiteID == 0 {
		return nil, &hsAlert{alertHandshakeFailure, "no cipher suite in common"}
	}
	h.suite, _ = suiteOf(h.suiteID)
	switch {
	case c.ems == dtls.DisableExtendedMasterSecret:
	case ch.ems:
		h.ems = true
	case c.ems == dtls.RequireExtendedMasterSecret:
		return nil, &hsAlert{alertInsufficientSecurity, "no extended master secret"}
	}
	var curve ecdh.Curve
	var group uint16
	for _, g := range serverGroups {
		if !ch.hasGroups && g.id == 23 || ch.hasGroups && has16(ch.groups, g.id) {
			curve, group = g.curve(), g.id
			break
		}
	}
	if curve == nil {
		return nil, &hsAlert{alertHandshakeFailure, "no named group in common"}
	}
	sigAlg, sigHash := pickSignature(ch.sigAlgs, c.ecdsa)
	if sigAlg == 0 {
		return nil, &hsAlert{alertHandshakeFailure, "no signature algorithm in common"}
	}
	var err error
	if h.priv, err = curve.GenerateKey(rand.Reader); err != nil {
		return nil, &hsAlert{alertInternalError, err.Error()}
	}
	if _, err := rand.Read(h.serverRandom[:]); err != nil {
		return nil, &hsAlert{alertInternalError, err.Error()}
	}
	h.transcript = append(h.transcript, ch.msg...)

	// ServerHello: no session ID (nothing to resume), null compression.
	sh := binary.BigEndian.AppendUint16(nil, dtls12Version)
	sh = append(sh, h.serverRandom[:]...)
	sh = append(sh, 0)
	sh = binary.BigEndian.AppendUint16(sh, h.suiteID)
	sh = append(sh, 0)
	var exts []byte
	if ch.secureReneg {
		exts = append(exts, 0xff, 0x01, 0, 1, 0)
	}
	if h.ems {
		exts = append(exts, 0, extExtendedMaster, 0, 0)
	}
	if ch.hasPointFormats {
		exts = append(exts, 0, extPointFormats, 0, 2, 1, 0)
	}
	if len(exts) > 0 {
		sh = binary.BigEndian.AppendUint16(sh, uint16(len(exts)))
		sh = append(sh, exts...)
	}

	var cert []byte
	for _, der := range c.chain {
		cert = appendUint24(cert, len(der))
		cert = append(cert, der...)
	}
	cert = append(appendUint24(nil, len(cert)), cert...)

	// ServerKeyExchange: the ephemeral key, signed with the randoms.
	pub := h.priv.PublicKey().Bytes()
	ske := []byte{3} // named_curve
	ske = binary.BigEndian.AppendUint16(ske, group)
	ske = append(ske, byte(len(pub)))
	ske = append(ske, pub...)
	d := sigHash.New()
	d.Write(h.clientRandom[:])
	d.Write(h.serverRandom[:])
	d.Write(ske)
	sig, err := c.key.Sign(rand.Reader, d.Sum(nil), sigHash)
	if err != nil {
		return nil, &hsAlert{alertInternalError, "signing: " + err.Error()}
	}
	ske = binary.BigEndian.AppendUint16(ske, sigAlg)
	ske = binary.BigEndian.AppendUint16(ske, uint16(len(sig)))
	ske = append(ske, sig...)

	f := flightWriter{rec: &h.nextRec}
	for i, m := range []struct {
		typ  byte
		body []byte
	}{{handshakeServerHi, sh}, {handshakeCert, cert}, {handshakeServerKX, ske}, {handshakeServerDone, nil}} {
		seq := h.chSeq + uint16(i)
		h.transcript = appendHandshakeHeader(h.transcript, m.typ, len(m.body), seq, 0, len(m.body))
		h.transcript = append(h.transcript, m.body...)
		f.message(m.typ, seq, m.body)
	}
	h.flight4 = f.finish()
	return h, nil
}

// pickSignature chooses the ServerKeyExchange's signature from the
// client's signature_algorithms (RFC 5246 7.4.1.4.1), SHA-256 first.
func pickSignature(offered []byte, ecdsaKey bool) (alg uint16, h crypto.Hash) {
	sig := uint16(1) // rsa (PKCS #1 v1.5)
	if ecdsaKey {
		sig = 3
	}
	for _, c := range []struct {
		hash byte
		h    crypto.Hash
	}{{4, crypto.SHA256}, {5, crypto.SHA384}, {6, crypto.SHA512}} {
		if a := uint16(c.hash)<<8 | sig; has16(offered, a) {
			return a, c.h
		}
	}
	return 0, 0
}

// flightWriter packs a flight's handshake messages into epoch-0 records
// and the records into datagrams of at most flightMTU, fragmenting
// messages that do not fit.
type flightWriter struct {
	rec  *uint64 // the next record number
	cur  []byte
	done [][]byte
}

func (f *flightWriter) message(typ byte, seq uint16, body []byte) {
	const minFragment = 64
	for off := 0; ; {
		room := flightMTU - len(f.cur) - recordHeaderSize - handshakeHeaderSize
		if room < min(minFragment, len(body)-off) && len(f.cur) > 0 {
			f.done = append(f.done, f.cur)
			f.cur = nil
			continue
		}
		n := min(room, len(body)-off)
		f.cur = appendRecordHeader(f.cur, contentHandshake, dtls12Version, *f.rec, handshakeHeaderSize+n)
		*f.rec++
		f.cur = appendHandshakeHeader(f.cur, typ, len(body), seq, off, n)
		f.cur = append(f.cur, body[off:off+n]...)
		if off += n; off == len(body) {
			return
		}
	}
}

func (f *flightWriter) finish() [][]byte {
	if len(f.cur) > 0 {
		f.done = append(f.done, f.cur)
	}
	return f.done
}

// handle takes one datagram from the client and returns the datagrams to
// send back (shared with later calls: the caller sends them before the
// next call). With an error the handshake is over; an *hsAlert says what to
// tell the client (alert), errPeerAlert that the client ended it. Records
// it cannot use are skipped, as DTLS does with anything invalid; it reads
// nothing beyond len(b), and decrypts in place.
func (h *serverHS) handle(b []byte) (send [][]byte, err error) {
	repeat := false // the client repeated a flight: ours was lost
	for rec, rest, ok := splitRecord(b); ok; rec, rest, ok = splitRecord(rest) {
		typ, epoch := rec[0], binary.BigEndian.Uint16(rec[3:5])
		if rec[1] != dtls12Major || (rec[2] != dtls12Minor && rec[2] != 0xff) {
			continue
		}
		body := rec[recordHeaderSize:]
		switch {
		case epoch == 0 && typ == contentHandshake:
			r, err := h.handshakeRecord(body)
			if err != nil {
				return nil, err
			}
			repeat = repeat || r
		case epoch == 0 && typ == contentCCS:
			// The keys change with the next record; an epoch-1 record
			// that opens is proof enough, so nothing waits for this.
		case epoch == 0 && typ == contentAlert && h.rl == nil:
			// Unauthenticated, so heard only until the keys exist (a
			// client refusing the certificate says so here); later,
			// anyone could forge it to end the session.
			if len(body) == 2 && (body[0] == alertFatal || body[1] == alertCloseNotify) {
				return nil, errPeerAlert
			}
		case epoch == 1 && h.rl != nil && typ == contentAlert:
			if pt, _, ok := h.rl.openAs(rec, contentAlert); ok && len(pt) == 2 && (pt[0] == alertFatal || pt[1] == alertCloseNotify) {
				return nil, errPeerAlert
			}
		case epoch == 1 && h.rl != nil && typ == contentHandshake && !h.done:
			pt, _, ok := h.rl.openAs(rec, contentHandshake)
			if !ok {
				continue // forged or replayed
			}
			if err := h.finished(pt); err != nil {
				return nil, err
			}
			return [][]byte{h.flight6}, nil
		}
	}
	if !repeat || h.resends >= maxResends {
		return nil, nil
	}
	h.resends++
	if h.done {
		return [][]byte{h.flight6}, nil
	}
	return h.flight4, nil
}

// handshakeRecord reads the handshake messages of an epoch-0 record: a
// repeated ClientHello or ClientKeyExchange (repeat: the client missed our
// flight), or the first ClientKeyExchange.
func (h *serverHS) handshakeRecord(body []byte) (repeat bool, err error) {
	for len(body) >= handshakeHeaderSize {
		typ := body[0]
		length := uint24(body[1:4])
		seq := binary.BigEndian.Uint16(body[4:6])
		off, n := uint24(body[6:9]), uint24(body[9:12])
		if n > len(body)-handshakeHeaderSize {
			return repeat, nil
		}
		frag := body[handshakeHeaderSize : handshakeHeaderSize+n]
		body = body[handshakeHeaderSize+n:]
		switch {
		case typ == handshakeClientHi && seq == h.chSeq:
			repeat = true
		case typ == handshakeClientKX && seq == h.chSeq+1 && h.rl != nil:
			repeat = repeat || h.done // (before done, its Finished follows)
		case typ == handshakeClientKX && seq == h.chSeq+1 && off == 0 && n == length:
			if err := h.clientKeyExchange(frag); err != nil {
				return repeat, err
			}
		}
	}
	return repeat, nil
}

// clientKeyExchange takes the client's ephemeral key and keys the session.
func (h *serverHS) clientKeyExchange(body []byte) error {
	r := reader(body)
	point, ok := r.vec8()
	if !ok || len(r) != 0 {
		return &hsAlert{alertDecodeError, "malformed ClientKeyExchange"}
	}
	pub, err := h.priv.Curve().NewPublicKey(point)
	if err != nil {
		return &hsAlert{alertIllegalParameter, "the client's key is not on the curve"}
	}
	pms, err := h.priv.ECDH(pub)
	if err != nil {
		return &hsAlert{alertIllegalParameter, "the client's key is degenerate"}
	}
	h.transcript = appendHandshakeHeader(h.transcript, handshakeClientKX, len(body), h.chSeq+1, 0, len(body))
	h.transcript = append(h.transcript, body...)
	if h.ems {
		d := h.suite.hash()
		d.Write(h.transcript)
		h.master, err = prf.ExtendedMasterSecret(pms, d.Sum(nil), h.suite.hash)
	} else {
		h.master, err = prf.MasterSecret(pms, h.clientRandom[:], h.serverRandom[:], h.suite.hash)
	}
	if err != nil {
		return &hsAlert{alertInternalError, err.Error()}
	}
	if h.rl, err = keyRecordLayer(h.suiteID, h.master, h.clientRandom[:], h.serverRandom[:], false); err != nil {
		return &hsAlert{alertInternalError, err.Error()}
	}
	h.rl.epoch, h.rl.inEpoch = 1, 1
	return nil
}

// finished checks the client's Finished (the decrypted record pt) and
// makes the server's last flight: ChangeCipherSpec, Finished.
func (h *serverHS) finished(pt []byte) error {
	const verifyLen = 12
	if len(pt) != handshakeHeaderSize+verifyLen || pt[0] != handshakeFinished || uint24(pt[1:4]) != verifyLen ||
		binary.BigEndian.Uint16(pt[4:6]) != h.chSeq+2 || uint24(pt[6:9]) != 0 || uint24(pt[9:12]) != verifyLen {
		return &hsAlert{alertUnexpectedMessage, "expected the client's Finished"}
	}
	want, err := prf.VerifyDataClient(h.master, h.transcript, h.suite.hash)
	if err != nil {
		return &hsAlert{alertInternalError, err.Error()}
	}
	if !hmac.Equal(want, pt[handshakeHeaderSize:]) {
		return &hsAlert{alertDecryptError, "the client's Finished does not match"}
	}
	h.transcript = append(h.transcript, pt...)
	verify, err := prf.VerifyDataServer(h.master, h.transcript, h.suite.hash)
	if err != nil {
		return &hsAlert{alertInternalError, err.Error()}
	}
	fin := appendHandshakeHeader(nil, handshakeFinished, verifyLen, h.chSeq+4, 0, verifyLen)
	fin = append(fin, verify...)
	out := appendRecordHeader(nil, contentCCS, dtls12Version, h.nextRec, 1)
	h.nextRec++
	out = append(out, 1)
	out, ok := h.rl.seal(out, contentHandshake, fin)
	if !ok {
		return &hsAlert{alertInternalError, "sequence numbers"}
	}
	h.flight6, h.done, h.transcript, h.flight4 = out, true, nil, nil
	return nil
}

// alert is a fatal alert record for the client, in epoch 0 (the client
// reads epoch 0 until the server's ChangeCipherSpec).
func (h *serverHS) alert(desc byte) []byte {
	h.nextRec++
	return appendAlert(nil, h.nextRec-1, desc)
}

// appendAlert appends a fatal alert in an epoch-0 record numbered seq.
func appendAlert(dst []byte, seq uint64, desc byte) []byte {
	dst = appendRecordHeader(dst, contentAlert, dtls12Version, seq, 2)
	return append(dst, alertFatal, desc)
}

func appendUint24(b []byte, v int) []byte { return append(b, byte(v>>16), byte(v>>8), byte(v)) }
