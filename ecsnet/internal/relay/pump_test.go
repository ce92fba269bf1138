package relay

import (
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"testing"
)

// PumpOut and PumpIn carry a datagram across a client relay and a server
// relay within the calls, both ways: with one P and no yield between send
// and check, the relays' goroutines cannot have run, so only the pumps can
// have put each datagram where ENet reads it.
func TestPumpsForwardWithinTheCall(t *testing.T) {
	t.Run("udp4", func(t *testing.T) { testPumps(t, "udp4", netip.AddrFrom4([4]byte{127, 0, 0, 1})) })
	t.Run("udp6", func(t *testing.T) { testPumps(t, "udp6", netip.IPv6Loopback()) })
}

func testPumps(t *testing.T, network string, loop netip.Addr) {
	serverENet, clientENet := listenLoopback(t), listenLoopback(t)
	srv, err := New(Config{Server: true, Network: network, Public: netip.AddrPortFrom(loop, 0),
		ENet: serverENet.LocalAddr().(*net.UDPAddr).AddrPort()})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	cl, err := New(Config{Network: network, Remote: netip.AddrPortFrom(loop, uint16(srv.Port())),
		ENet: clientENet.LocalAddr().(*net.UDPAddr).AddrPort()})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// The first datagram makes the server's session, through the goroutines.
	toClientRelay := net.UDPAddrFromAddrPort(cl.Loopback())
	if _, err := clientENet.WriteTo(datagram(0, 100), toClientRelay); err != nil {
		t.Fatal(err)
	}
	toServerRelay := expectBurst(t, serverENet, 1)

	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	for i := 1; i <= 20; i++ {
		runtime.Gosched() // the goroutines park again
		if _, err := clientENet.WriteTo(datagram(i, 40+i), toClientRelay); err != nil {
			t.Fatal(err)
		}
		cl.PumpOut()
		srv.PumpIn()
		checkWaiting(t, serverENet, datagram(i, 40+i))

		runtime.Gosched()
		if _, err := serverENet.WriteTo(datagram(i, 60+i), toServerRelay); err != nil {
			t.Fatal(err)
		}
		srv.PumpOut()
		cl.PumpIn()
		checkWaiting(t, clientENet, datagram(i, 60+i))
	}
}

// checkWaiting reads c without waiting (or yielding) and wants want.
func checkWaiting(t *testing.T, c *net.UDPConn, want []byte) {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, maxDatagram)
	var n int
	var rerr error
	if err := rc.Read(func(fd uintptr) bool {
		n, _, rerr = syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
		return true
	}); err != nil {
		t.Fatal(err)
	}
	if rerr != nil || string(buf[:n]) != string(want) {
		t.Fatalf("waiting: %x (%v), want %x", buf[:max(n, 0)], rerr, want)
	}
}
