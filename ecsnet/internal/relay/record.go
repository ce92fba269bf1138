package relay

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/gob"
	"errors"
	"fmt"
	"sync"

	"github.com/pion/dtls/v3"
	"github.com/pion/dtls/v3/pkg/crypto/prf"
	"golang.org/x/crypto/chacha20poly1305"
)

// recordLayer carries a DTLS 1.2 session's application data itself once
// pion has completed the handshake, so that a datagram is encrypted or
// decrypted on the goroutine that has it (the game loop's pump, the public
// socket's reader) instead of crossing pion's goroutines (a reader and a
// channel per datagram received). Everything else (handshake
// retransmissions, alerts, a record it cannot read) still goes to pion.
//
// It is keyed from pion's exported connection state (State.MarshalBinary:
// master secret, randoms, suite, sequence numbers), with pion's public PRF.
// It supports the AEAD suites netburi offers (AES-GCM, ChaCha20-Poly1305)
// and no connection IDs; newRecordLayer refuses anything else, and the
// session keeps pion's path.
//
// Sequence numbers: pion stops sending application data once the record
// layer sends (only its close_notify may follow); the record layer's own
// numbers start seqReserve above pion's next one, so that what pion still
// sends keeps numbers of its own within the remote's replay window. What
// it receives goes through a 64-record sliding replay window (RFC 6347
// 4.1.2.6) whose floor is the next number pion expected: a record pion
// already took cannot be replayed through it.
type recordLayer struct {
	explicitNonce bool // AES-GCM: 8 bytes of nonce in the record; ChaCha20: none

	outMu  sync.Mutex
	out    cipher.AEAD
	outIV  []byte
	epoch  uint16
	seq    uint64 // next
	nonce  [12]byte
	aadOut [13]byte

	inMu    sync.Mutex
	in      cipher.AEAD
	inIV    []byte
	inEpoch uint16
	floor   uint64 // lower numbers are refused
	// startFloor: the floor when the record layer took over from pion
	startFloor uint64
	latest     uint64 // highest number accepted (valid when seen)
	mask       uint64 // bit i: latest-i accepted
	seen       bool
	nonceIn    [12]byte
	aadIn      [13]byte
}

const (
	contentAlert       = 21
	contentApplication = 23
	dtls12Major        = 0xfe
	dtls12Minor        = 0xfd
	// seqReserve is how many sequence numbers are left to pion after the
	// record layer takes over sending (its close_notify).
	seqReserve = 16
	// maxSeq is the largest 48-bit sequence number.
	maxSeq       = 1<<48 - 1
	aeadTag      = 16
	replayWindow = 64
)

var errRecordLayer = errors.New("relay: record layer unavailable for this session")

// exportedState is the part of pion's exported state (gob, by field name)
// the record layer needs.
type exportedState struct {
	RemoteSequenceNumber      uint64
	HandshakeComplete         bool
	LocalEpoch, RemoteEpoch   uint16
	LocalRandom, RemoteRandom [32]byte
	CipherSuiteID             uint16
	MasterSecret              []byte
	SequenceNumber            uint64
	LocalConnectionID         []byte
	RemoteConnectionID        []byte
	IsClient                  bool
}

// newRecordLayer keys a record layer from dc, whose handshake is complete.
func newRecordLayer(dc *dtls.Conn) (*recordLayer, error) {
	st, ok := dc.ConnectionState()
	if !ok {
		return nil, errRecordLayer
	}
	raw, err := st.MarshalBinary()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRecordLayer, err)
	}
	var ex exportedState
	if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(&ex); err != nil {
		return nil, fmt.Errorf("%w: %w", errRecordLayer, err)
	}
	if !ex.HandshakeComplete || len(ex.LocalConnectionID) > 0 || len(ex.RemoteConnectionID) > 0 ||
		len(ex.MasterSecret) == 0 || ex.LocalEpoch == 0 || ex.RemoteEpoch == 0 {
		return nil, errRecordLayer
	}
	clientRandom, serverRandom := ex.LocalRandom, ex.RemoteRandom
	if !ex.IsClient {
		clientRandom, serverRandom = serverRandom, clientRandom
	}
	rl, err := keyRecordLayer(ex.CipherSuiteID, ex.MasterSecret, clientRandom[:], serverRandom[:], ex.IsClient)
	if err != nil {
		return nil, err
	}
	rl.epoch, rl.seq = ex.LocalEpoch, ex.SequenceNumber+seqReserve
	rl.inEpoch, rl.floor, rl.startFloor = ex.RemoteEpoch, ex.RemoteSequenceNumber, ex.RemoteSequenceNumber
	return rl, nil
}

// dtlsSuite is what the record layer needs to know of a cipher suite.
type dtlsSuite struct {
	keyLen, ivLen int
	hash          prf.HashFunc // the PRF's and the handshake transcript's
	newAEAD       func(key []byte) (cipher.AEAD, error)
	explicitNonce bool
	ecdsa         bool // an ECDSA certificate (else RSA)
}

// suiteOf describes a suite netburi offers (ECDHE, AES-GCM or
// ChaCha20-Poly1305); ok is false for any other.
func suiteOf(id uint16) (s dtlsSuite, ok bool) {
	switch dtls.CipherSuiteID(id) {
	case dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:
		s = dtlsSuite{keyLen: 16, ivLen: 4, hash: sha256.New, newAEAD: newGCM, explicitNonce: true}
	case dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, dtls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:
		s = dtlsSuite{keyLen: 32, ivLen: 4, hash: sha512.New384, newAEAD: newGCM, explicitNonce: true}
	case dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, dtls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:
		s = dtlsSuite{keyLen: 32, ivLen: 12, hash: sha256.New, newAEAD: chacha20poly1305.New}
	default:
		return dtlsSuite{}, false
	}
	switch dtls.CipherSuiteID(id) {
	case dtls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, dtls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		dtls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256:
		s.ecdsa = true
	}
	return s, true
}

// keyRecordLayer keys a record layer for suite from a master secret and
// the hello randoms, as the client's end or the server's; its epoch and
// numbers are the caller's to set.
func keyRecordLayer(suite uint16, masterSecret, clientRandom, serverRandom []byte, isClient bool) (*recordLayer, error) {
	su, ok := suiteOf(suite)
	if !ok {
		return nil, errRecordLayer
	}
	keys, err := prf.GenerateEncryptionKeys(masterSecret, clientRandom, serverRandom, 0, su.keyLen, su.ivLen, su.hash)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errRecordLayer, err)
	}
	outKey, outIV, inKey, inIV := keys.ServerWriteKey, keys.ServerWriteIV, keys.ClientWriteKey, keys.ClientWriteIV
	if isClient {
		outKey, outIV, inKey, inIV = inKey, inIV, outKey, outIV
	}
	rl := &recordLayer{explicitNonce: su.explicitNonce}
	if rl.out, err = su.newAEAD(outKey); err != nil {
		return nil, fmt.Errorf("%w: %w", errRecordLayer, err)
	}
	if rl.in, err = su.newAEAD(inKey); err != nil {
		return nil, fmt.Errorf("%w: %w", errRecordLayer, err)
	}
	rl.outIV, rl.inIV = append([]byte(nil), outIV...), append([]byte(nil), inIV...)
	return rl, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// overhead is what a record adds to its plaintext.
func (rl *recordLayer) overhead() int {
	if rl.explicitNonce {
		return recordHeaderSize + 8 + aeadTag
	}
	return recordHeaderSize + aeadTag
}

// makeNonce fills nonce for epoch and seq from iv: AES-GCM's is the 4-byte
// implicit IV then the explicit 8 (epoch and number); ChaCha20's is the
// 12-byte IV xor those 8, right-aligned (RFC 7905).
func (rl *recordLayer) makeNonce(nonce *[12]byte, iv []byte, epochSeq uint64) {
	if rl.explicitNonce {
		copy(nonce[:4], iv)
		binary.BigEndian.PutUint64(nonce[4:], epochSeq)
		return
	}
	copy(nonce[:], iv)
	for i := range 8 {
		nonce[4+i] ^= byte(epochSeq >> (56 - 8*i))
	}
}

// seal appends to dst one record of content type typ carrying pt and
// returns it; false once the sequence numbers are used up (the session
// must end). Any goroutine.
func (rl *recordLayer) seal(dst []byte, typ byte, pt []byte) ([]byte, bool) {
	rl.outMu.Lock()
	defer rl.outMu.Unlock()
	if rl.seq > maxSeq {
		return dst, false
	}
	epochSeq := uint64(rl.epoch)<<48 | rl.seq
	rl.seq++
	length := len(pt) + aeadTag
	if rl.explicitNonce {
		length += 8
	}
	var hdr [recordHeaderSize]byte
	hdr[0], hdr[1], hdr[2] = typ, dtls12Major, dtls12Minor
	binary.BigEndian.PutUint64(hdr[3:11], epochSeq)
	binary.BigEndian.PutUint16(hdr[11:13], uint16(length))
	dst = append(dst, hdr[:]...)
	if rl.explicitNonce {
		dst = binary.BigEndian.AppendUint64(dst, epochSeq)
	}
	// Additional data: epoch and number, type, version, plaintext length.
	binary.BigEndian.PutUint64(rl.aadOut[:8], epochSeq)
	rl.aadOut[8], rl.aadOut[9], rl.aadOut[10] = typ, dtls12Major, dtls12Minor
	binary.BigEndian.PutUint16(rl.aadOut[11:], uint16(len(pt)))
	rl.makeNonce(&rl.nonce, rl.outIV, epochSeq)
	return rl.out.Seal(dst, rl.nonce[:], pt, rl.aadOut[:]), true
}

// open decrypts b in place when it is exactly one application-data record
// of the current epoch and returns its plaintext. mine is false when b is
// not such a record (pion should have it); with mine true and ok false, b
// was forged, replayed or too old, and is dropped. Any goroutine.
func (rl *recordLayer) open(b []byte) (pt []byte, mine, ok bool) {
	return rl.openAs(b, contentApplication)
}

// openAs is open for a record of content type typ (an alert, a Finished).
func (rl *recordLayer) openAs(b []byte, typ byte) (pt []byte, mine, ok bool) {
	if len(b) < rl.overhead() || b[0] != typ || b[1] != dtls12Major || b[2] != dtls12Minor ||
		int(binary.BigEndian.Uint16(b[11:13])) != len(b)-recordHeaderSize {
		return nil, false, false
	}
	epochSeq := binary.BigEndian.Uint64(b[3:11])
	if uint16(epochSeq>>48) != rl.inEpoch {
		return nil, false, false
	}
	seq := epochSeq & maxSeq
	body := b[recordHeaderSize:]
	if rl.explicitNonce {
		body = body[8:] // after the explicit nonce
	}
	rl.inMu.Lock()
	defer rl.inMu.Unlock()
	if !rl.fresh(seq) {
		return nil, true, false
	}
	nonce := &rl.nonceIn // under inMu; a local would escape to the heap through the AEAD
	if rl.explicitNonce {
		copy(nonce[:4], rl.inIV)
		copy(nonce[4:], b[recordHeaderSize:recordHeaderSize+8])
	} else {
		rl.makeNonce(nonce, rl.inIV, epochSeq)
	}
	copy(rl.aadIn[:8], b[3:11])
	rl.aadIn[8], rl.aadIn[9], rl.aadIn[10] = typ, dtls12Major, dtls12Minor
	binary.BigEndian.PutUint16(rl.aadIn[11:], uint16(len(body)-aeadTag))
	pt, err := rl.in.Open(body[:0], nonce[:], body, rl.aadIn[:])
	if err != nil {
		return nil, true, false
	}
	rl.mark(seq)
	return pt, true, true
}

// raiseFloor refuses every record of the current epoch numbered below
// epochSeq's (epoch in the top 16 bits, as a record header has it): pion
// may still have them. Only up to takeoverSlack past the floor the record
// layer started with: the numbers come from records nobody has
// authenticated yet, and a forged one must not shut the session out.
// Any goroutine.
func (rl *recordLayer) raiseFloor(epochSeq uint64) {
	if uint16(epochSeq>>48) != rl.inEpoch {
		return
	}
	rl.inMu.Lock()
	defer rl.inMu.Unlock()
	rl.floor = max(rl.floor, min(epochSeq&maxSeq, rl.startFloor+takeoverSlack))
}

// takeoverSlack bounds how far raiseFloor may go: pion's queue holds at
// most vconnQueue datagrams, and an honest sender's numbers run a little
// ahead of what arrived.
const takeoverSlack = 2 * vconnQueue

// fresh reports whether seq may be accepted: not below the floor, not
// older than the window, not seen. rl.inMu is held.
func (rl *recordLayer) fresh(seq uint64) bool {
	if seq < rl.floor {
		return false
	}
	if !rl.seen || seq > rl.latest {
		return true
	}
	d := rl.latest - seq
	return d < replayWindow && rl.mask&(1<<d) == 0
}

// mark records seq as accepted. rl.inMu is held.
func (rl *recordLayer) mark(seq uint64) {
	switch {
	case !rl.seen:
		rl.latest, rl.mask, rl.seen = seq, 1, true
	case seq > rl.latest:
		shift := seq - rl.latest
		if shift >= replayWindow {
			rl.mask = 0
		} else {
			rl.mask <<= shift
		}
		rl.mask |= 1
		rl.latest = seq
	default:
		rl.mask |= 1 << (rl.latest - seq)
	}
}
