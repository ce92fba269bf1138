package ecsnet

import (
	"testing"
	"time"

	enet "github.com/codecat/go-enet"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
)

const (
	benchBurst   = 1000 // messages per burst
	benchMsgSize = 64
)

// streamer delivers one burst of 64-byte reliable messages from a client to
// a server over loopback and returns when the server has read them all.
type streamer interface {
	burst(b testing.TB)
	close()
}

// plainENet is the baseline: go-enet used the way its README shows.
type plainENet struct {
	server, client enet.Host
	peer           enet.Peer
	msg            []byte
}

func newPlainENet(b testing.TB) *plainENet {
	enet.Initialize()
	srv, err := enet.NewHost(enet.NewAddress("127.0.0.1", 0), 4, 3, 0, 0)
	must(b, err)
	cl, err := enet.NewHost(nil, 1, 3, 0, 0)
	must(b, err)
	peer, err := cl.Connect(enet.NewAddress("127.0.0.1", uint16(enethost.PortOf(srv))), 3, 2)
	must(b, err)
	p := &plainENet{server: srv, client: cl, peer: peer, msg: make([]byte, benchMsgSize)}
	end := time.Now().Add(defaultWait)
	for up := 0; up < 2; {
		if time.Now().After(end) {
			b.Fatal("plain go-enet did not connect")
		}
		for _, h := range []enet.Host{cl, srv} {
			if h.Service(1).GetType() == enet.EventConnect {
				up++
			}
		}
	}
	return p
}

func (p *plainENet) burst(b testing.TB) {
	for range benchBurst {
		must(b, p.peer.SendBytes(p.msg, 1, enet.PacketFlagReliable))
	}
	got := 0
	for got < benchBurst {
		for ev := p.client.Service(0); ev.GetType() != enet.EventNone; ev = p.client.Service(0) {
		}
		for ev := p.server.Service(1); ev.GetType() != enet.EventNone; ev = p.server.Service(0) {
			if ev.GetType() == enet.EventReceive {
				pk := ev.GetPacket()
				if len(pk.GetData()) == benchMsgSize {
					got++
				}
				pk.Destroy()
			}
		}
	}
}

func (p *plainENet) close() {
	p.client.Destroy()
	p.server.Destroy()
}

// peerStream is the same stream through two ecsnet.Peers.
type peerStream struct {
	server, client *Peer
	msg            []byte
}

func newPeerStream(b testing.TB) *peerStream {
	n := newTestNet(b)
	srv := n.server(4)
	cl := n.connected(srv)
	cl.SetTransferMode(TransferReliable)
	cl.SetTargetPeer(1)
	return &peerStream{server: srv, client: cl, msg: make([]byte, benchMsgSize)}
}

func (p *peerStream) burst(b testing.TB) {
	for range benchBurst {
		must(b, p.client.PutPacket(p.msg))
	}
	got := 0
	for got < benchBurst {
		must(b, p.client.Poll())
		must(b, p.server.PollWait(time.Millisecond))
		for {
			data, err := p.server.GetPacket()
			if err != nil {
				break
			}
			if len(data) == benchMsgSize {
				got++
			}
		}
	}
}

func (p *peerStream) close() {}

// BenchmarkReliable64 delivers bursts of 1000 reliable 64-byte messages
// through plain go-enet and through ecsnet.Peer, alternating burst by burst
// in one run so both see the same machine, and reports each one's messages
// per second and their ratio (goal: ecsnet/goenet >= 0.9).
func BenchmarkReliable64(b *testing.B) {
	plain, peer := newPlainENet(b), newPeerStream(b)
	defer plain.close()
	defer peer.close()
	tPlain, tPeer := alternate(b, plain, peer)
	msgs := float64(b.N * benchBurst)
	b.ReportMetric(msgs/tPlain.Seconds(), "goenet-msgs/s")
	b.ReportMetric(msgs/tPeer.Seconds(), "ecsnet-msgs/s")
	b.ReportMetric(tPlain.Seconds()/tPeer.Seconds(), "ratio")
}
