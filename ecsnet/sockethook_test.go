package ecsnet

import (
	"fmt"
	"testing"
)

// relayedConfigs are the ways a peer runs through its relay, as server and
// client configurations.
func relayedConfigs(t *testing.T) map[string][2]func(*Peer) {
	cert := newTestCert(t, certOptions{})
	perfect := func(p *Peer) { must(t, p.SetLinkConditioner(LinkConditions{})) }
	return map[string][2]func(*Peer){
		"dtls":        {dtlsServer(t, cert), dtlsClient(t, cert.cert)},
		"conditioner": {perfect, perfect},
	}
}

// streamInOrder sends count reliable packets from cl to srv and back and
// checks both sides got them all, in order.
func streamInOrder(t *testing.T, n *testNet, srv, cl *Peer, count int) {
	t.Helper()
	for i := range count {
		send(t, cl, 1, TransferReliable, fmt.Sprintf("up %d", i))
		send(t, srv, cl.UniqueID(), TransferReliable, fmt.Sprintf("down %d", i))
	}
	n.waitPacket(srv, fmt.Sprintf("up %d", count-1))
	n.waitPacket(cl, fmt.Sprintf("down %d", count-1))
	for p, dir := range map[*Peer]string{srv: "up", cl: "down"} {
		i := 0
		for _, got := range n.received(p) {
			if got == fmt.Sprintf("%s %d", dir, i) {
				i++
			}
		}
		if i != count {
			t.Errorf("%s: %d of %d packets arrived in order", dir, i, count)
		}
	}
}

// Relayed peers (DTLS, a link conditioner) exchange datagrams with their
// ENet hosts through the socket hook where libenet allows it, as it does
// for the tests' binary; plain IPv4 peers have no relay, and their hook
// only batches their sends (TestPlainPeersBatchTheirSends).
func TestRelayedPeersUseTheSocketHook(t *testing.T) {
	for name, cfg := range relayedConfigs(t) {
		t.Run(name, func(t *testing.T) {
			n := newTestNet(t)
			srv := n.server(4, cfg[0])
			cl := n.connected(srv, cfg[1])
			for _, p := range []*Peer{srv, cl} {
				if p.host.Hook() == nil {
					t.Fatal("a relayed peer has no socket hook")
				}
			}
			streamInOrder(t, n, srv, cl, 300)
		})
	}
	n := newTestNet(t)
	srv := n.server(4)
	cl := n.connected(srv)
	for _, p := range []*Peer{srv, cl} {
		if p.rel != nil || p.host.Hook() == nil || p.Stats().BatchedSends == 0 {
			t.Error("a plain IPv4 peer has a relay, or does not batch its sends")
		}
	}
}

// Where libenet's socket calls cannot be interposed (libenet linked
// statically), relayed peers run through the relay's loopback sockets, as
// before the hook: the same traffic arrives, in order.
func TestRelayedPeersWithoutTheSocketHook(t *testing.T) {
	socketHook = false
	defer func() { socketHook = true }()
	for name, cfg := range relayedConfigs(t) {
		t.Run(name, func(t *testing.T) {
			n := newTestNet(t)
			srv := n.server(4, cfg[0])
			cl := n.connected(srv, cfg[1])
			if srv.host.Hook() != nil || cl.host.Hook() != nil {
				t.Fatal("a socket hook was used")
			}
			streamInOrder(t, n, srv, cl, 300)
		})
	}
}
