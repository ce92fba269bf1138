package ecsnet

import (
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/netburi/netburi/transport"
)

// A server's socket buffers grow with its client count by default, as far
// as the kernel allows, never below libenet's; a bigger request never
// leaves them smaller; nonsense is refused.
func TestSocketBuffersSizedForTheClientCount(t *testing.T) {
	small, err := Options{BindIP: "127.0.0.1"}.Listen(0, transport.ListenOptions{MaxClients: 4, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer small.Close()
	big, err := Options{BindIP: "127.0.0.1"}.Listen(0, transport.ListenOptions{MaxClients: 4095, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer big.Close()
	sr, ss, err := small.(*Peer).SetSocketBuffers(0, 0)
	if err != nil {
		t.Fatal(err)
	}
	br, bs, _ := big.(*Peer).SetSocketBuffers(0, 0)
	t.Logf("receive/send buffers: 4 clients %d/%d, 4,095 clients %d/%d bytes", sr, ss, br, bs)
	if sr <= 0 || ss <= 0 || br < sr || bs < ss {
		t.Fatalf("4 clients %d/%d, 4,095 clients %d/%d", sr, ss, br, bs)
	}
	if b, err := os.ReadFile("/proc/sys/net/core/rmem_max"); err == nil {
		if max, _ := strconv.Atoi(strings.TrimSpace(string(b))); 2*max > sr && br <= sr {
			t.Fatalf("the kernel allows %d, yet 4,095 clients got the receive buffer of 4 (%d)", 2*max, br)
		}
	}
	if _, _, err := small.(*Peer).SetSocketBuffers(-1, 0); !errors.Is(err, ErrInvalidParameter) {
		t.Fatalf("negative size: %v", err)
	}
	if _, _, err := NewPeer().SetSocketBuffers(1, 1); !errors.Is(err, ErrUnconfigured) {
		t.Fatalf("before create: %v", err)
	}
}

// The kernel's drops on a host's socket are counted: none on a quiet
// socket, and a socket whose small receive buffer is flooded while nobody
// polls it shows drops.
func TestKernelDropsAreReported(t *testing.T) {
	if _, err := NewPeer().KernelDrops(); !errors.Is(err, ErrUnconfigured) {
		t.Fatalf("before create: %v", err)
	}
	t.Run("ENet's socket", func(t *testing.T) { kernelDropsOn(t, Options{BindIP: "127.0.0.1", SocketBuffer: 1}) })
	// Behind the relay the remotes' datagrams fill its public socket:
	// that one is sized and counted.
	t.Run("the relay's public socket", func(t *testing.T) {
		kernelDropsOn(t, Options{BindIP: "127.0.0.1", SocketBuffer: 1, Link: &LinkConditions{}})
	})
}

// kernelDropsOn floods the public port of a server made with o (its
// buffer at the minimum) and waits for the drops to show.
func kernelDropsOn(t *testing.T, o Options) {
	p, err := o.Listen(0, transport.ListenOptions{MaxClients: 4, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	peer := p.(*Peer)
	if recv, _, err := peer.SetSocketBuffers(0, 0); err != nil || recv > 16<<10 {
		t.Fatalf("the public socket's receive buffer is %d bytes (%v), want the minimum asked for", recv, err)
	}
	before, err := peer.KernelDrops()
	if errors.Is(err, ErrUnavailable) {
		t.Skipf("no /proc/net/udp here: %v", err)
	}
	if err != nil || before != 0 {
		t.Fatalf("a quiet socket: %d drops, %v", before, err)
	}
	conn, err := net.Dial("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(peer.LocalPort())))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	junk := make([]byte, 1000)
	for range 2000 { // far more than a minimal buffer holds, unread
		_, _ = conn.Write(junk)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := peer.KernelDrops()
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			t.Logf("%d datagrams dropped by the kernel", n)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no kernel drops reported after flooding an unread socket")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
