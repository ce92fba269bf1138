package ecsnet

import (
	"net"
	"os"
	"testing"
	"time"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
)

// tick sends one unreliable packet from srv to every client and flushes;
// then only the clients poll (the server is not called again) until each
// has it.
func tick(t *testing.T, srv *Peer, clients []*Peer, data string) {
	t.Helper()
	send(t, srv, 0, TransferUnreliable, data)
	srv.Flush()
	end := time.Now().Add(defaultWait)
	for _, c := range clients {
		for got := false; !got; {
			if time.Now().After(end) {
				t.Fatalf("client %d never got %q: the server's flush did not send it", c.UniqueID(), data)
			}
			must(t, c.PollWait(time.Millisecond))
			for {
				pk, ok := c.Receive()
				if !ok {
					break
				}
				got = got || string(pk.Data) == data
			}
		}
	}
}

// A plain IPv4 server and its clients send on their own sockets through
// the socket hook's send batch: a tick's datagrams to every client leave
// in one system call, all of them before Flush returns, and traffic flows
// in order as it did.
func TestPlainPeersBatchTheirSends(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(8)
	var clients []*Peer
	for range 8 {
		clients = append(clients, n.connected(srv))
	}
	for _, p := range append([]*Peer{srv}, clients...) {
		if p.host.Hook() == nil || p.transportStats().Relayed {
			t.Fatal("a plain peer has no socket hook, or a relay")
		}
	}
	before := srv.Stats()
	tick(t, srv, clients, "tick")
	after := srv.Stats()
	datagrams, calls := after.BatchedSends-before.BatchedSends, after.SendCalls-before.SendCalls
	if datagrams < uint64(len(clients)) || calls != 1 {
		t.Errorf("a tick to %d clients sent %d datagrams in %d system calls, want one call", len(clients), datagrams, calls)
	}
	if after.SendsRefused != 0 {
		t.Errorf("%d datagrams refused on loopback", after.SendsRefused)
	}
	streamInOrder(t, n, srv, clients[0], 300)
	if s := clients[0].Stats(); s.BatchedSends == 0 || s.SendCalls > s.BatchedSends {
		t.Errorf("client: %d datagrams batched in %d calls", s.BatchedSends, s.SendCalls)
	}
}

// What a Poll makes ENet send has left when Poll returns: a plain client's
// CONNECT reaches a raw UDP socket without another call.
func TestPlainClientsPollSendsBeforeItReturns(t *testing.T) {
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	c := NewPeer()
	defer c.CloseConnection(0)
	must(t, c.CreateClient("127.0.0.1", raw.LocalAddr().(*net.UDPAddr).Port, 0, 0, 0))
	if c.host.Hook() == nil {
		t.Fatal("the plain client has no send batch")
	}
	must(t, c.Poll())
	_ = raw.SetReadDeadline(time.Now().Add(defaultWait))
	if _, _, err := raw.ReadFromUDP(make([]byte, 2048)); err != nil {
		t.Fatalf("the CONNECT did not leave with the Poll: %v", err)
	}
	if s := c.Stats(); s.BatchedSends != 1 || s.SendCalls != 1 {
		t.Errorf("%d datagrams in %d calls, want the CONNECT in one", s.BatchedSends, s.SendCalls)
	}
}

// plainClients creates count plain clients of a raw UDP socket (no server
// answers) and reports how many descriptors they opened. They close when
// the test ends.
func plainClients(t *testing.T, count, port int) ([]*Peer, int) {
	t.Helper()
	openFDs := func() int {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Fatal(err)
		}
		return len(fds)
	}
	before := openFDs()
	clients := make([]*Peer, count)
	for i := range clients {
		c := NewPeer()
		t.Cleanup(func() { c.CloseConnection(0) })
		must(t, c.CreateClient("127.0.0.1", port, 0, 0, 0))
		clients[i] = c
	}
	return clients, openFDs() - before
}

// A plain client's send batch costs no descriptor: many plain clients in
// one process (a load generator's bots) open as many as they do with the
// socket hook off, one socket each, and still batch their sends.
func TestPlainClientsBatchWithoutAnExtraDescriptor(t *testing.T) {
	raw, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	port := raw.LocalAddr().(*net.UDPAddr).Port
	const count = 16
	socketHook = false
	t.Cleanup(func() { socketHook = true })
	_, unhooked := plainClients(t, count, port)
	socketHook = true
	clients, batching := plainClients(t, count, port)
	if unhooked < count || batching != unhooked {
		t.Fatalf("%d plain clients opened %d descriptors batching, %d with the socket hook off", count, batching, unhooked)
	}
	for _, c := range clients {
		must(t, c.Poll())
		if s := c.Stats(); c.host.Hook() == nil || s.BatchedSends != 1 || s.SendCalls != 1 {
			t.Fatalf("a plain client sent %d datagrams in %d batched calls, want its CONNECT in one", s.BatchedSends, s.SendCalls)
		}
	}
}

// A dual-stack server keeps its IPv4 remotes on ENet's own socket, and
// batches its sends to them.
func TestDualStackServerBatchesItsIPv4Sends(t *testing.T) {
	n := newTestNet(t)
	srv := n.serverOn("*", 4)
	v4 := n.clientAt(srv, "127.0.0.1")
	n.waitEvent(v4, Event{ConnectionSucceeded, 0})
	before := srv.Stats().BatchedSends
	n.roundTrip(srv, v4, "v4")
	if srv.Stats().BatchedSends == before {
		t.Error("the dual-stack server's sends to an IPv4 client were not batched")
	}
}

// Where the send batch is off (libenet's calls go past the socket hook,
// or batching is turned off), plain peers send one datagram per system
// call as before: no hook, nothing counted, and the same traffic arrives.
func TestPlainPeersWithoutTheSendBatch(t *testing.T) {
	for name, off := range map[string]func() func(){
		"libenet bypasses the hook": func() func() {
			enethost.SimulateHookBypass(true)
			return func() { enethost.SimulateHookBypass(false) }
		},
		"batching off": func() func() {
			sendBatching = false
			return func() { sendBatching = true }
		},
	} {
		t.Run(name, func(t *testing.T) {
			defer off()()
			n := newTestNet(t)
			srv := n.server(4)
			clients := []*Peer{n.connected(srv), n.connected(srv)}
			for _, p := range append([]*Peer{srv}, clients...) {
				if p.host.Hook() != nil {
					t.Fatal("a plain peer has a socket hook")
				}
			}
			tick(t, srv, clients, "tick")
			streamInOrder(t, n, srv, clients[0], 300)
			if s := srv.Stats(); s.BatchedSends != 0 || s.SendCalls != 0 || s.DatagramsSent == 0 {
				t.Errorf("stats %+v: want datagrams sent, none batched", s)
			}
		})
	}
}
