package enethost

import (
	"encoding/binary"
	"errors"
	"net"
	"os"
	"testing"
	"time"
)

// The send batch is watched from outside by a raw UDP socket: a host
// connecting many peers to it sends one CONNECT datagram per peer in one
// pass, each ending with the peer's connect data (big-endian), which the
// tests set to the peer's number. More peers than a batch holds make the
// batch fill and leave in the middle of the pass.
const burst = 3*batchMax + 7

// rawReceiver is a plain UDP socket on loopback.
type rawReceiver struct {
	t    *testing.T
	conn *net.UDPConn
}

func newRawReceiver(t *testing.T) *rawReceiver {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadBuffer(4 << 20)
	return &rawReceiver{t: t, conn: c}
}

func (r *rawReceiver) port() int { return r.conn.LocalAddr().(*net.UDPAddr).Port }

// connectData reads datagrams until want have come or the socket has been
// quiet for quiet, and returns each one's connect data, in arrival order.
func (r *rawReceiver) connectData(want int, quiet time.Duration) []uint32 {
	r.t.Helper()
	var got []uint32
	buf := make([]byte, 4096)
	for len(got) < want {
		_ = r.conn.SetReadDeadline(time.Now().Add(quiet))
		n, _, err := r.conn.ReadFromUDP(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return got
		}
		if err != nil {
			r.t.Fatal(err)
		}
		if n < 4 {
			r.t.Fatalf("a %d-byte datagram", n)
		}
		got = append(got, binary.BigEndian.Uint32(buf[n-4:n]))
	}
	return got
}

// connectMany starts count connections from h, each to port (0: the
// receiver's own, else taken as given) with its number as connect data.
func connectMany(t *testing.T, h *Host, count int, port func(i int) int) {
	t.Helper()
	for i := range count {
		if _, err := h.Connect(loopback, port(i), 1, uint32(i)); err != nil {
			t.Fatal(err)
		}
	}
}

// checkInOrder fails unless got is want[0], want[1], ... exactly.
func checkInOrder(t *testing.T, got []uint32, want []uint32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d of %d datagrams arrived", len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("datagram %d carried %d, want %d: reordered", i, got[i], want[i])
		}
	}
}

func upTo(n int) []uint32 {
	w := make([]uint32, n)
	for i := range w {
		w[i] = uint32(i)
	}
	return w
}

func newBatchingHost(t *testing.T, peers int) (*Host, *Hook) {
	t.Helper()
	h, err := NewHost(Config{Peers: peers, Chans: 1, Bind: loopback})
	if err != nil {
		t.Fatal(err)
	}
	if !h.EnableSendBatch() {
		h.Destroy()
		t.Fatal("no send batch although the hook is live")
	}
	k := h.Hook()
	t.Cleanup(func() {
		h.Destroy()
		k.Free()
	})
	return h, k
}

// Every datagram a Flush makes ENet send has left when Flush returns, in
// the order ENet sent it, though there are more than one batch holds: the
// receiver sees them all without the host being called again.
func TestSendBatchLeavesByTheEndOfFlushInOrder(t *testing.T) {
	r := newRawReceiver(t)
	h, k := newBatchingHost(t, burst)
	connectMany(t, h, burst, func(int) int { return r.port() })
	h.Flush()
	checkInOrder(t, r.connectData(burst, time.Second), upTo(burst))
	b := k.BatchCounts()
	if b.Datagrams != uint64(burst) || b.Dropped != 0 {
		t.Fatalf("batch counts %+v, want %d datagrams and no drops", b, burst)
	}
	if b.Calls > uint64(burst/batchMax+1) || b.Calls < 2 {
		t.Fatalf("%d sendmmsg calls for %d datagrams", b.Calls, burst)
	}
}

// The same for a service call that does not wait: what it sent has left
// when it returns.
func TestSendBatchLeavesByTheEndOfService(t *testing.T) {
	r := newRawReceiver(t)
	h, _ := newBatchingHost(t, burst)
	connectMany(t, h, burst, func(int) int { return r.port() })
	var ev Event
	if _, err := h.Service(&ev, 0); err != nil {
		t.Fatal(err)
	}
	checkInOrder(t, r.connectData(burst, time.Second), upTo(burst))
}

// A service call that waits for answers sends the batch first: the
// receiver has every datagram while the call still waits.
func TestSendBatchLeavesBeforeAServiceWaits(t *testing.T) {
	r := newRawReceiver(t)
	h, _ := newBatchingHost(t, burst)
	connectMany(t, h, burst, func(int) int { return r.port() })
	done := make(chan struct{})
	go func() { // the host's owner until done
		defer close(done)
		var ev Event
		_, _ = h.Service(&ev, 1500)
	}()
	got := r.connectData(burst, 5*time.Second)
	select {
	case <-done:
		t.Fatal("the datagrams left only when the service call returned")
	default:
	}
	<-done
	checkInOrder(t, got, upTo(burst))
}

// DisconnectNow's notice leaves before it returns.
func TestSendBatchLeavesByTheEndOfDisconnectNow(t *testing.T) {
	r := newRawReceiver(t)
	h, _ := newBatchingHost(t, 1)
	p, err := h.Connect(loopback, r.port(), 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	h.Flush()
	checkInOrder(t, r.connectData(1, time.Second), []uint32{7})
	p.DisconnectNow(0)
	buf := make([]byte, 64)
	_ = r.conn.SetReadDeadline(time.Now().Add(time.Second))
	if _, _, err := r.conn.ReadFromUDP(buf); err != nil {
		t.Fatalf("no disconnect notice: %v", err)
	}
}

// A datagram the socket refuses (here: to port 0, which the kernel
// rejects) is counted, and the rest of the batch still leaves, in order.
func TestSendBatchCountsRefusedDatagramsAndSendsTheRest(t *testing.T) {
	r := newRawReceiver(t)
	h, k := newBatchingHost(t, burst)
	var want []uint32
	connectMany(t, h, burst, func(i int) int {
		if i%3 == 1 {
			return 0
		}
		want = append(want, uint32(i))
		return r.port()
	})
	h.Flush()
	checkInOrder(t, r.connectData(len(want), time.Second), want)
	b := k.BatchCounts()
	if refused := uint64(burst - len(want)); b.Dropped != refused || b.Datagrams != uint64(len(want)) {
		t.Fatalf("batch counts %+v, want %d sent and %d refused", b, len(want), refused)
	}
}

// Where libenet's calls go past the hook, there is no batch: the host
// sends one datagram per call, as before, and everything still arrives.
func TestSendBatchFallsBackWithoutTheHook(t *testing.T) {
	SimulateHookBypass(true)
	defer SimulateHookBypass(false)
	r := newRawReceiver(t)
	h, err := NewHost(Config{Peers: burst, Chans: 1, Bind: loopback})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Destroy()
	if h.EnableSendBatch() || h.Hook() != nil {
		t.Fatal("a send batch although libenet's calls go past the hook")
	}
	connectMany(t, h, burst, func(int) int { return r.port() })
	h.Flush()
	checkInOrder(t, r.connectData(burst, time.Second), upTo(burst))
}
