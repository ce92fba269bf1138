package relay

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"net/netip"
	"sync"
	"time"
)

// cookieJar makes and checks the cookies of a DTLS server's stateless
// HelloVerifyRequests (RFC 6347 4.2.1): a cookie is the second it was made
// and an HMAC, under a key only this relay knows, of that second, the
// client's address and port and its hello's random. Only a client that
// receives at its address can return one, and the relay keeps nothing
// for a hello until it does. Any goroutine.
type cookieJar struct {
	mu  sync.Mutex
	mac hash.Hash
	sum [sha256.Size]byte
	msg [cookieTimeSize + 16 + 2 + 32]byte
}

const (
	cookieTimeSize = 4
	cookieMACSize  = 16
	cookieSize     = cookieTimeSize + cookieMACSize
	// cookieLifetime is how long a cookie is good for: a client returns it
	// within a round trip, or a few retransmissions when hellos are lost.
	cookieLifetime = 30 * time.Second
)

func newCookieJar() *cookieJar {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		panic("relay: no randomness for the cookie key: " + err.Error())
	}
	return &cookieJar{mac: hmac.New(sha256.New, key[:])}
}

// make returns the cookie for a hello with random from a client at from,
// made at now.
func (j *cookieJar) make(now time.Time, from netip.AddrPort, random []byte) [cookieSize]byte {
	var c [cookieSize]byte
	binary.BigEndian.PutUint32(c[:cookieTimeSize], uint32(now.Unix()))
	j.sign(&c, from, random)
	return c
}

// check reports whether cookie is one this jar made for a hello with
// random from a client at from, no longer than cookieLifetime before now.
func (j *cookieJar) check(now time.Time, from netip.AddrPort, random, cookie []byte) bool {
	if len(cookie) != cookieSize {
		return false
	}
	var c [cookieSize]byte
	copy(c[:cookieTimeSize], cookie)
	made := int64(binary.BigEndian.Uint32(c[:cookieTimeSize]))
	if age := now.Unix() - made; age < 0 || age > int64(cookieLifetime/time.Second) {
		return false
	}
	j.sign(&c, from, random)
	return hmac.Equal(c[cookieTimeSize:], cookie[cookieTimeSize:])
}

// sign fills c's MAC from its time, the address and the random (32
// bytes; more is ignored).
func (j *cookieJar) sign(c *[cookieSize]byte, from netip.AddrPort, random []byte) {
	j.mu.Lock()
	defer j.mu.Unlock()
	m := j.msg[:0] // in the jar: what the hash is given escapes
	m = append(m, c[:cookieTimeSize]...)
	a := from.Addr().As16() // an IPv4 address and its IPv6-mapped form are one client
	m = append(m, a[:]...)
	m = binary.BigEndian.AppendUint16(m, from.Port())
	m = append(m, random[:min(len(random), 32)]...)
	j.mac.Reset()
	j.mac.Write(m)
	copy(c[cookieTimeSize:], j.mac.Sum(j.sum[:0]))
}

// helloVerifyRequest is the stateless answer to hello: a
// HelloVerifyRequest carrying cookie, in a DTLS 1.0 record (as RFC 6347
// 4.2.1 advises for any version) that reuses hello's record sequence
// number and message_seq, as the server keeps no numbers of its own. It is
// smaller than any ClientHello: no amplification.
func helloVerifyRequest(dst []byte, hello *clientHello, cookie []byte) []byte {
	bodyLen := 2 + 1 + len(cookie)
	dst = appendRecordHeader(dst, contentHandshake, dtls10Version, hello.recordSeq, handshakeHeaderSize+bodyLen)
	dst = appendHandshakeHeader(dst, handshakeHelloVerify, bodyLen, hello.msgSeq, 0, bodyLen)
	dst = append(dst, 0xfe, 0xff, byte(len(cookie)))
	return append(dst, cookie...)
}

// appendHandshakeHeader appends a DTLS handshake header (RFC 6347 4.2.2).
func appendHandshakeHeader(dst []byte, typ byte, length int, seq uint16, fragOffset, fragLength int) []byte {
	dst = append(dst, typ, byte(length>>16), byte(length>>8), byte(length))
	dst = binary.BigEndian.AppendUint16(dst, seq)
	dst = append(dst, byte(fragOffset>>16), byte(fragOffset>>8), byte(fragOffset))
	return append(dst, byte(fragLength>>16), byte(fragLength>>8), byte(fragLength))
}

// appendRecordHeader appends a DTLS record header (RFC 6347 4.1):
// epochSeq is the epoch (high 16 bits) and the sequence number (low 48).
func appendRecordHeader(dst []byte, typ byte, version uint16, epochSeq uint64, length int) []byte {
	dst = append(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, version)
	dst = binary.BigEndian.AppendUint64(dst, epochSeq)
	return binary.BigEndian.AppendUint16(dst, uint16(length))
}
