package ecsnet

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

var allCompressionModes = []CompressionMode{CompressNone, CompressRangeCoder, CompressFastLZ, CompressZlib, CompressZstd, CompressZstdDict}

// testDictionary is trained once on captured game traffic.
func testDictionary(t testing.TB) []byte {
	t.Helper()
	train, _ := gameCorpus(t, arcade)
	d, err := TrainDictionary(train, 16<<10)
	must(t, err)
	return d
}

func withCompression(t testing.TB, mode CompressionMode, dictionary []byte) func(*Peer) {
	return func(p *Peer) {
		must(t, p.SetCompressionMode(mode))
		if mode == CompressZstdDict {
			must(t, p.SetCompressionDictionary(dictionary))
		}
	}
}

// compressible builds a payload of n bytes that every mode can shrink.
func compressible(tag string, n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "%s entity %04d x=%d y=%d hp=100;", tag, i%50, (i*7)%640, (i*3)%480)
	}
	return b.Bytes()[:n]
}

// Two netburi peers in the same mode exchange every transfer mode, small
// and fragmented packets, byte-exact; compressing modes put fewer bytes on
// the wire than they deliver, and nothing fails to decompress.
func TestCompressionRoundTripsEveryModeAndTransferMode(t *testing.T) {
	dictionary := testDictionary(t)
	for _, mode := range allCompressionModes {
		t.Run(mode.String(), func(t *testing.T) {
			n := newTestNet(t)
			srv := n.server(2, withCompression(t, mode, dictionary))
			cl := n.connected(srv, withCompression(t, mode, dictionary))
			for _, tm := range []TransferMode{TransferUnreliable, TransferUnreliableOrdered, TransferReliable} {
				sizes := []int{1, 20, 700}
				if tm == TransferReliable {
					sizes = append(sizes, 5000, 40000) // fragmented
				}
				for _, size := range sizes {
					for _, dir := range []struct {
						from, to *Peer
						target   int
					}{{cl, srv, 1}, {srv, cl, cl.UniqueID()}} {
						tag := fmt.Sprintf("%v-%d-%d", tm, size, dir.from.UniqueID())
						want := compressible(tag, size)
						n.until(defaultWait, tag, func() bool {
							dir.from.SetTargetPeer(dir.target)
							dir.from.SetTransferMode(tm)
							must(t, dir.from.PutPacket(want))
							for _, pk := range n.packets[dir.to] {
								if bytes.Equal(pk.Data, want) {
									return true
								}
							}
							return false
						})
					}
				}
			}
			for _, pair := range []struct {
				p     *Peer
				other int
			}{{srv, cl.UniqueID()}, {cl, 1}} {
				st := pair.p.Stats()
				if st.DecompressFailed != 0 {
					t.Errorf("peer %d: %d datagrams failed to decompress", pair.p.UniqueID(), st.DecompressFailed)
				}
				ps, err := pair.p.PeerStatistics(pair.other)
				must(t, err)
				if mode != CompressNone && float64(st.BytesSent) > 0.6*float64(ps.BytesSent) {
					t.Errorf("peer %d sent %d UDP bytes for %d payload bytes: not compressed", pair.p.UniqueID(), st.BytesSent, ps.BytesSent)
				}
			}
		})
	}
}

// Peers whose dictionaries differ, or of which one has none, cannot talk:
// every datagram is dropped and counted, nothing is delivered corrupted, and
// the server keeps serving clients that match it.
func TestMismatchedDictionaryFailsCleanly(t *testing.T) {
	dictionary := testDictionary(t)
	train, _ := gameCorpus(t, physics)
	other, err := TrainDictionary(train, 16<<10)
	must(t, err)
	cases := []struct {
		name   string
		client func(*Peer)
	}{
		{"other dictionary", withCompression(t, CompressZstdDict, other)},
		{"plain zstd", withCompression(t, CompressZstd, nil)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newTestNet(t)
			srv := n.server(4, withCompression(t, CompressZstdDict, dictionary))
			bad := n.client(srv, c.client, shortTimeout(t))
			n.waitEvent(bad, Event{ConnectionFailed, 0})
			if srv.Stats().DecompressFailed == 0 && bad.Stats().DecompressFailed == 0 {
				t.Error("no datagram was counted as undecodable")
			}
			if len(srv.Peers()) != 0 {
				t.Errorf("server accepted %v", srv.Peers())
			}
			good := n.connected(srv, withCompression(t, CompressZstdDict, dictionary))
			send(t, good, 1, TransferReliable, "still serving")
			n.waitPacket(srv, "still serving")
		})
	}
}

// Hostile compressed datagrams: every decoder rejects truncated and
// bit-flipped input and anything that would decompress past the datagram
// limit, without writing past its output.
func TestDecodersRejectBadDatagrams(t *testing.T) {
	dictionary := testDictionary(t)
	zlibBomb := func() []byte {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		w.Write(make([]byte, 1<<20))
		w.Close()
		return b.Bytes()
	}()
	zstdBomb := func() []byte {
		enc, _ := zstd.NewWriter(nil)
		defer enc.Close()
		return enc.EncodeAll(make([]byte, 1<<20), nil)
	}()
	for _, mode := range allCompressionModes[2:] {
		t.Run(mode.String(), func(t *testing.T) {
			c, err := newDatagramCodec(mode, dictionary)
			must(t, err)
			original := compressible("bad input", 900)
			z := make([]byte, len(original))
			zn := c.Compress(original, z)
			if zn == 0 || zn >= len(original) {
				t.Fatalf("did not compress: %d of %d", zn, len(original))
			}
			z = z[:zn]
			out := make([]byte, datagramLimit+64)
			limit := out[:datagramLimit]
			if n := c.Decompress(z, limit); !bytes.Equal(limit[:n], original) {
				t.Fatalf("round trip gave %d bytes", n)
			}
			bad := map[string][]byte{
				"empty":       {},
				"truncated":   z[:len(z)/2],
				"one byte":    z[:1],
				"garbage":     []byte(strings.Repeat("\xff\x00\x13", 50)),
				"zlib bomb":   zlibBomb,
				"zstd bomb":   zstdBomb,
				"bomb+suffix": append(append([]byte{}, zstdBomb[4:]...), 1, 2, 3),
			}
			if dc, ok := c.(*zstdDictCodec); ok {
				blocks, _ := frameBlocks(zstdBomb)
				bad["tagged bomb"] = append(append([]byte{}, dc.tag[:]...), blocks...)
			}
			for name, in := range bad {
				for i := range out {
					out[i] = 0xAA
				}
				n := c.Decompress(in, limit)
				// FastLZ blocks carry no length: cut at an instruction
				// boundary, they decode to a prefix (ENet then drops the
				// incomplete command). Anything else must be dropped.
				prefix := mode == CompressFastLZ && name == "truncated" && bytes.HasPrefix(original, limit[:n])
				if n != 0 && !prefix {
					t.Errorf("%s: decoded %d bytes, want a drop", name, n)
				}
				for i, b := range out[datagramLimit:] {
					if b != 0xAA {
						t.Fatalf("%s: wrote past the limit at %d", name, datagramLimit+i)
					}
				}
			}
			// Bit flips must never decode to something longer than allowed;
			// they are counted when they fail.
			before := c.failures()
			for i := range z {
				flipped := append([]byte(nil), z...)
				flipped[i] ^= 0x5a
				c.Decompress(flipped, limit)
			}
			if c.failures() == before {
				t.Error("no bit-flipped datagram was counted as a failure")
			}
		})
	}
}

// The dictionary mode sends a 2-byte dictionary tag and the zstd blocks,
// not the frame header both ends can rebuild; a peer with another
// dictionary drops every such datagram and counts it.
func TestDictionaryModeImpliesTheFrameHeader(t *testing.T) {
	dictionary := testDictionary(t)
	c, err := newZstdDictCodec(dictionary)
	must(t, err)
	train, _ := gameCorpus(t, physics)
	d, err := TrainDictionary(train[:400], 4<<10)
	must(t, err)
	other, err := newZstdDictCodec(d)
	must(t, err)
	if other.tag == c.tag {
		t.Fatal("two different dictionaries share a tag")
	}
	g := newGameSim(3, 200, arcade)
	g.step()
	for _, datagram := range [][]byte{g.input(1), g.chat(), g.state(0, 40)} {
		full := c.enc.EncodeAll(datagram, nil)
		blocks, ok := frameBlocks(full)
		if !ok {
			t.Fatalf("encoder wrote a frame we cannot parse: % x", full[:8])
		}
		wire := make([]byte, len(datagram)+64) // room to show the form even where ENet would send it raw
		n := c.Compress(datagram, wire)
		if n != dictTagSize+len(blocks) || !bytes.Equal(wire[:dictTagSize], c.tag[:]) {
			t.Fatalf("%d-byte datagram: wire %d bytes (% x...), want tag + %d bytes of blocks", len(datagram), n, wire[:4], len(blocks))
		}
		out := make([]byte, datagramLimit)
		if m := c.Decompress(wire[:n], out); !bytes.Equal(out[:m], datagram) {
			t.Fatalf("%d-byte datagram: round trip gave %d bytes", len(datagram), m)
		}
		before := other.failures()
		if m := other.Decompress(wire[:n], out); m != 0 || other.failures() != before+1 {
			t.Fatalf("other dictionary decoded %d bytes, %d failures counted", m, other.failures()-before)
		}
	}
}

// The dictionary workflow of a game: record the packets of a play session,
// train on them, ship the dictionary to both ends. The recorder sees every
// packet PutPacket accepts, as sent, and nothing once removed; the trained
// dictionary carries the next session in fewer bytes than plain zstd.
func TestRecordedPlayTrainsADictionary(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(2)
	c := n.connected(srv)
	var recorded [][]byte
	record := func(p []byte) { recorded = append(recorded, bytes.Clone(p)) }
	srv.SetPacketRecorder(record)
	c.SetPacketRecorder(record)
	var sent [][]byte
	g := newGameSim(11, 200, arcade)
	for range 120 {
		g.step()
		for first := 0; first < len(g.ents); first += 40 {
			p := g.state(first, 40)
			send(t, srv, 0, TransferUnreliableOrdered, string(p))
			sent = append(sent, p)
		}
		p := g.input(0)
		send(t, c, 1, TransferUnreliable, string(p))
		sent = append(sent, p)
		n.pump()
	}
	srv.SetPacketRecorder(nil)
	c.SetPacketRecorder(nil)
	send(t, srv, 0, TransferReliable, "not recorded")
	if len(recorded) != len(sent) {
		t.Fatalf("recorded %d packets, sent %d", len(recorded), len(sent))
	}
	for i := range sent {
		if !bytes.Equal(recorded[i], sent[i]) {
			t.Fatalf("packet %d recorded as %d bytes, sent %d", i, len(recorded[i]), len(sent[i]))
		}
	}
	dictionary, err := TrainDictionary(recorded, 8<<10)
	must(t, err)
	withDict, err := newDatagramCodec(CompressZstdDict, dictionary)
	must(t, err)
	plain, err := newDatagramCodec(CompressZstd, nil)
	must(t, err)
	_, test := gameCorpus(t, arcade) // another session, as ENet sends it
	out := make([]byte, datagramLimit)
	dictBytes, plainBytes := 0, 0
	for _, d := range test {
		dictBytes += wireSize(withDict, d, out)
		plainBytes += wireSize(plain, d, out)
	}
	if dictBytes >= plainBytes {
		t.Errorf("trained on recorded play: %d bytes on the wire, plain zstd %d", dictBytes, plainBytes)
	}
}
