package ecsnet

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// A game's traffic, for compression tests and benchmarks: a server moving
// 200 entities and sending their state unreliably every tick, chat relayed
// reliably now and then, and clients sending redundant inputs every tick.
// The payloads are what a straightforward game would send (float32
// positions, IDs, short strings); the datagrams are captured at ENet's
// compressor hook of real hosts, so they hold ENet's own command headers,
// acknowledgements and pings exactly as a compressor sees them.

// Payload kinds stay outside Godot's MultiplayerAPI commands (0..4).
const (
	kindState = 10
	kindChat  = 11
	kindInput = 12
)

type simEntity struct {
	x, y, vx, vy float32
	angle        uint16
	kind         uint8
}

type gameSim struct {
	rng   *rand.Rand
	ents  []simEntity
	tick  uint32
	style int
}

// Movement styles of the simulated game.
const (
	// arcade: pixel-art movement, as most Ebiten games: whole-pixel start
	// positions, speeds in half pixels per tick, eight facing directions.
	arcade = iota
	// physics: continuous speeds and headings, so every float32 position
	// carries noise in its low mantissa bits.
	physics
)

func newGameSim(seed uint64, entities, style int) *gameSim {
	g := &gameSim{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), style: style}
	for range entities {
		e := simEntity{kind: uint8(g.rng.IntN(4))}
		if style == arcade {
			e.x, e.y = float32(g.rng.IntN(2000)), float32(g.rng.IntN(2000))
			e.vx, e.vy = float32(g.rng.IntN(9)-4)/2, float32(g.rng.IntN(9)-4)/2
			e.angle = uint16(g.rng.IntN(8)) << 13
		} else {
			e.x, e.y = g.rng.Float32()*2000, g.rng.Float32()*2000
			e.vx, e.vy = (g.rng.Float32()-0.5)*4, (g.rng.Float32()-0.5)*4
			e.angle = uint16(g.rng.IntN(65536))
		}
		g.ents = append(g.ents, e)
	}
	return g
}

// step moves every entity; a third of them rest.
func (g *gameSim) step() {
	g.tick++
	for i := range g.ents {
		e := &g.ents[i]
		if i%3 == 0 {
			continue
		}
		e.x += e.vx
		e.y += e.vy
		if e.x < 0 || e.x > 2000 {
			e.vx = -e.vx
		}
		if e.y < 0 || e.y > 2000 {
			e.vy = -e.vy
		}
		if g.style == physics {
			e.angle += uint16(e.vx * 100)
		}
	}
}

// state encodes entities [first, first+count): kind, tick, count, then per
// entity id u16, x f32, y f32, angle u16, kind u8.
func (g *gameSim) state(first, count int) []byte {
	b := []byte{kindState}
	b = binary.LittleEndian.AppendUint32(b, g.tick)
	b = binary.LittleEndian.AppendUint16(b, uint16(count))
	for i := first; i < first+count; i++ {
		e := g.ents[i]
		b = binary.LittleEndian.AppendUint16(b, uint16(i))
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(e.x))
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(e.y))
		b = binary.LittleEndian.AppendUint16(b, e.angle)
		b = append(b, e.kind)
	}
	return b
}

var (
	chatNames = []string{"mika", "Tobias", "xX_sniper_Xx", "Lea", "quietfox", "Ren"}
	chatLines = []string{"gg", "anyone at the north gate?", "lol", "need help here", "nice shot!",
		"brb", "who took the shield", "going left", "wait for me", "ok ready", "one more round?"}
)

// chat encodes kind, name length, name, text.
func (g *gameSim) chat() []byte {
	name := chatNames[g.rng.IntN(len(chatNames))]
	text := chatLines[g.rng.IntN(len(chatLines))]
	b := []byte{kindChat, byte(len(name))}
	b = append(b, name...)
	return append(b, text...)
}

// input encodes kind, tick, then the last three ticks' buttons and aim.
func (g *gameSim) input(player int) []byte {
	b := []byte{kindInput}
	b = binary.LittleEndian.AppendUint32(b, g.tick)
	for k := range 3 {
		buttons := byte((int(g.tick)/20 + player + k) % 16)
		b = append(b, buttons)
		b = binary.LittleEndian.AppendUint16(b, uint16(int(g.tick)*37+player*1000))
	}
	return b
}

// captureCodec records every datagram ENet offers it and compresses none.
type captureCodec struct{ datagrams *[][]byte }

func (c captureCodec) Compress(in, _ []byte) int {
	*c.datagrams = append(*c.datagrams, append([]byte(nil), in...))
	return 0
}
func (c captureCodec) Decompress([]byte, []byte) int { return 0 }

// captureGameTraffic plays ticks of the game between a server and clients
// over loopback and returns every datagram the hosts sent, as compressors
// see them.
func captureGameTraffic(t testing.TB, seed uint64, style, clients, ticks int) [][]byte {
	t.Helper()
	var datagrams [][]byte
	n := newTestNet(t)
	srv := n.server(clients)
	must(t, srv.host.SetCodec(captureCodec{&datagrams}))
	var cls []*Peer
	for range clients {
		c := n.connected(srv)
		must(t, c.host.SetCodec(captureCodec{&datagrams}))
		cls = append(cls, c)
	}
	datagrams = datagrams[:0]
	g := newGameSim(seed, 200, style)
	for range ticks {
		g.step()
		srv.SetTargetPeer(0)
		srv.SetTransferMode(TransferUnreliableOrdered)
		for first := 0; first < len(g.ents); first += 40 {
			must(t, srv.PutPacket(g.state(first, 40)))
		}
		if g.rng.IntN(20) == 0 {
			srv.SetTransferMode(TransferReliable)
			must(t, srv.PutPacket(g.chat()))
		}
		for i, c := range cls {
			c.SetTargetPeer(1)
			c.SetTransferMode(TransferUnreliable)
			must(t, c.PutPacket(g.input(i)))
		}
		for _, p := range n.peers {
			p.Flush()
		}
		n.pump()
	}
	return datagrams
}

// gamePayloads are the packets captureGameTraffic sends for the same
// seed, style, clients and ticks, without ENet around them.
func gamePayloads(seed uint64, style, clients, ticks int) [][]byte {
	var payloads [][]byte
	g := newGameSim(seed, 200, style)
	for range ticks {
		g.step()
		for first := 0; first < len(g.ents); first += 40 {
			payloads = append(payloads, g.state(first, 40))
		}
		if g.rng.IntN(20) == 0 {
			payloads = append(payloads, g.chat())
		}
		for i := range clients {
			payloads = append(payloads, g.input(i))
		}
	}
	return payloads
}

// gameCorpus returns a training and a test capture (different seeds) of a
// movement style, made once per test binary.
func gameCorpus(t testing.TB, style int) (train, test [][]byte) {
	corpusCache.Lock()
	defer corpusCache.Unlock()
	c := &corpusCache.styles[style]
	if c.test == nil {
		c.train = captureGameTraffic(t, 1, style, 4, 240)
		c.test = captureGameTraffic(t, 2, style, 4, 240)
	}
	return c.train, c.test
}

var corpusCache struct {
	sync.Mutex
	styles [2]struct{ train, test [][]byte }
}
