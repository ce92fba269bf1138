package relay

import (
	"net"
	"net/netip"
	"testing"
	"time"
)

// A burst of plain datagrams several batches long crosses a client relay
// and a server relay (with and without an idle conditioner) both ways,
// every one intact and in order, and the relays count each once.
func TestRelaysCarryBurstsInOrder(t *testing.T) {
	for _, cond := range []*Conditions{nil, {}} {
		name := "no conditioner"
		if cond != nil {
			name = "idle conditioner"
		}
		t.Run(name, func(t *testing.T) { testRelaysCarryBursts(t, cond) })
	}
}

func testRelaysCarryBursts(t *testing.T, cond *Conditions) {
	const burst = 3*batchSize + 5
	loop := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	serverENet := listenLoopback(t)
	srv, err := New(Config{Server: true, Network: "udp4", Public: netip.AddrPortFrom(loop, 0),
		ENet: serverENet.LocalAddr().(*net.UDPAddr).AddrPort(), Conditions: cond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	clientENet := listenLoopback(t)
	cl, err := New(Config{Network: "udp4", Remote: netip.AddrPortFrom(loop, uint16(srv.Port())),
		ENet: clientENet.LocalAddr().(*net.UDPAddr).AddrPort(), Conditions: cond})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()

	to := net.UDPAddrFromAddrPort(cl.Loopback())
	for i := range burst {
		if _, err := clientENet.WriteTo(datagram(i, 100+i), to); err != nil {
			t.Fatal(err)
		}
	}
	from := expectBurst(t, serverENet, burst)
	for i := range burst {
		if _, err := serverENet.WriteTo(datagram(i, 100+i), from); err != nil {
			t.Fatal(err)
		}
	}
	expectBurst(t, clientENet, burst)
	for name, st := range map[string]Stats{"client": cl.Stats(), "server": srv.Stats()} {
		if st.DatagramsIn != burst || st.DatagramsOut != burst || st.Garbage != 0 {
			t.Errorf("%s relay stats %+v, want %d datagrams each way", name, st, burst)
		}
	}
}

func listenLoopback(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// expectBurst reads n datagrams on c, checking that datagram i is
// datagram(i, 100+i), and returns where they came from.
func expectBurst(t *testing.T, c *net.UDPConn, n int) *net.UDPAddr {
	t.Helper()
	buf := make([]byte, maxDatagram)
	var from *net.UDPAddr
	for i := range n {
		if err := c.SetReadDeadline(time.Now().Add(5 * time.Second)); err != nil {
			t.Fatal(err)
		}
		m, addr, err := c.ReadFromUDP(buf)
		if err != nil {
			t.Fatalf("datagram %d of %d: %v", i, n, err)
		}
		if want := datagram(i, 100+i); string(buf[:m]) != string(want) {
			t.Fatalf("datagram %d: %d bytes starting %x, want %d starting %x", i, m, buf[:min(m, 4)], len(want), want[:4])
		}
		if from == nil {
			from = addr
		} else if addr.String() != from.String() {
			t.Fatalf("datagram %d from %v, the others from %v", i, addr, from)
		}
	}
	return from
}
