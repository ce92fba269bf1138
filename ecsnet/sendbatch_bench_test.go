package ecsnet

import (
	"reflect"
	"runtime"
	"syscall"
	"testing"
	"time"
)

// BenchmarkBroadcast256 times what a plain IPv4 server's tick costs to
// send: one 64-byte unreliable packet to each of 256 connected clients
// (one datagram each), queued and flushed (PutPacket to every peer, then
// Flush, which is where ENet sends). The clients, each a plain peer of its
// own in this process, read their datagrams between iterations, untimed,
// and the server polls then too (ENet's pings). It reports wall and
// thread CPU time per datagram and, where the tree counts them
// (HostStats.SendCalls), the server's system calls per datagram. It uses
// only what ecsnet had before the send batch (SendCalls is read by name),
// so the same file measures an older tree as a baseline, where libenet
// makes one sendmsg per datagram.
func BenchmarkBroadcast256(b *testing.B) {
	const clients = 256
	needFiles(b, 3*clients+64)
	srv := NewPeer()
	must(b, srv.SetBindIP("127.0.0.1"))
	must(b, srv.CreateServer(0, clients, 0, 0))
	b.Cleanup(func() { srv.CloseConnection(0) })
	cls := make([]*Peer, clients)
	for i := range cls {
		cls[i] = NewPeer()
		must(b, cls[i].CreateClient("127.0.0.1", srv.LocalPort(), 0, 0, 0))
		b.Cleanup(func() { cls[i].CloseConnection(0) })
	}
	drain := func() {
		for _, c := range cls {
			must(b, c.Poll())
			for _, ok := c.NextEvent(); ok; _, ok = c.NextEvent() {
			}
			for _, ok := c.Receive(); ok; _, ok = c.Receive() {
			}
		}
		must(b, srv.Poll())
		for _, ok := srv.NextEvent(); ok; _, ok = srv.NextEvent() {
		}
	}
	connected := func() bool {
		for _, c := range cls {
			if c.ConnectionStatus() != Connected {
				return false
			}
		}
		return len(srv.peers) == clients
	}
	for end := time.Now().Add(60 * time.Second); !connected(); drain() {
		if time.Now().After(end) {
			b.Fatal("the clients did not all connect")
		}
	}
	srv.SetTargetPeer(0)
	srv.SetTransferMode(TransferUnreliable)
	msg := make([]byte, benchMsgSize)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var wall, cpu time.Duration
	var calls uint64
	counted := true
	b.ResetTimer()
	for range b.N {
		drain()
		before, ok := sendCalls(srv)
		start, startCPU := time.Now(), threadCPU()
		must(b, srv.PutPacket(msg))
		srv.Flush()
		cpu += threadCPU() - startCPU
		wall += time.Since(start)
		after, _ := sendCalls(srv)
		calls += after - before
		counted = counted && ok
	}
	b.StopTimer()
	datagrams := float64(b.N * clients)
	b.ReportMetric(float64(wall.Nanoseconds())/datagrams, "ns/datagram")
	b.ReportMetric(float64(cpu.Nanoseconds())/datagrams, "cpu-ns/datagram")
	if counted {
		b.ReportMetric(float64(calls)/datagrams, "syscalls/datagram")
	}
}

// sendCalls is p's HostStats.SendCalls, read by name: false on a tree
// from before the send batch, which has no such count.
func sendCalls(p *Peer) (uint64, bool) {
	f := reflect.ValueOf(p.Stats()).FieldByName("SendCalls")
	if !f.IsValid() {
		return 0, false
	}
	return f.Uint(), true
}

// needFiles skips b unless the open-file limit allows n descriptors.
func needFiles(b *testing.B, n int) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err == nil && lim.Cur < uint64(n) {
		b.Skipf("needs %d open files: the limit is %d", n, lim.Cur)
	}
}
