package systems

import (
	"bytes"
	"testing"
)

type fuzzPosition struct {
	Entity uint32
	X, Y   float32
}

// FuzzDecodeMessages: a message batch from the network never panics the
// decoder, never yields a body outside the payload, and every message it
// yields re-encodes to the same batch.
func FuzzDecodeMessages(f *testing.F) {
	f.Add(appendMessage(appendMessage([]byte{kindMessages}, 0, []byte("abc")), 3, nil))
	f.Add([]byte{kindMessages, 0x80})
	f.Add([]byte{kindMessages, 0x00, 0x7f, 1})
	reg := NewRegistry()
	pos := RegisterMessage[fuzzPosition](reg, "position")
	reg.freeze()
	in := pos.info.newInbox()
	f.Fuzz(func(t *testing.T, p []byte) {
		rebuilt := []byte{kindMessages}
		err := decodeMessages(p, func(id int, body []byte) {
			rebuilt = appendMessage(rebuilt, id, body)
			_ = in.add(2, 0, body) // typed decoding of the same bytes
		})
		in.reset()
		if err == nil && !bytes.Equal(rebuilt, canonical(p)) {
			t.Fatalf("batch %x re-encodes as %x", p, rebuilt)
		}
	})
}

// canonical is p unless its varints are overlong, which decodeMessages
// accepts but appendMessage never writes; comparing needs the short form.
func canonical(p []byte) []byte {
	out := []byte{kindMessages}
	_ = decodeMessages(p, func(id int, body []byte) { out = appendMessage(out, id, body) })
	return out
}

// FuzzControlPayloads: the hello, welcome, reject, ping and pong parsers
// accept only their exact shapes, and what they accept encodes back the same.
func FuzzControlPayloads(f *testing.F) {
	f.Add(encodeHello(0x1234))
	f.Add(encodeWelcome(77, 60))
	f.Add(encodeReject("schema differs"))
	f.Add(encodePing(5))
	f.Add(encodePong(5, 99))
	f.Fuzz(func(t *testing.T, p []byte) {
		if v, s, err := parseHello(p); err == nil && (v != p[1] || !bytes.Equal(encodeHello(s)[2:], p[2:])) {
			t.Fatalf("hello %x", p)
		}
		if tick, rate, err := parseWelcome(p); err == nil && !bytes.Equal(encodeWelcome(tick, rate), p) {
			t.Fatalf("welcome %x", p)
		}
		if r, err := parseReject(p); err == nil && !bytes.Equal(encodeReject(r), p) {
			t.Fatalf("reject %x", p)
		}
		if c, err := parsePing(p); err == nil && !bytes.Equal(encodePing(c), p) {
			t.Fatalf("ping %x", p)
		}
		if c, tick, err := parsePong(p); err == nil && !bytes.Equal(encodePong(c, tick), p) {
			t.Fatalf("pong %x", p)
		}
	})
}
