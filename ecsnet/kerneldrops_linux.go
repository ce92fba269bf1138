package ecsnet

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// KernelDrops is how many datagrams the kernel dropped on the peer's public
// UDP socket since it was created, most often because its receive buffer
// was full (see SetSocketBuffers): the drops column of /proc/net/udp and
// udp6 for the socket. The public socket is ENet's own, or with a relay in
// front (DTLS, IPv6, the link conditioner) the relay's, which the remotes'
// datagrams reach first (TransportStats.Garbage counts what the relay's
// queues drop after it). It fails with
// ErrUnconfigured before CreateServer or CreateClient and ErrUnavailable
// when the kernel does not say. Linux only. Call it from the goroutine that
// owns the peer, at a low rate: it reads the kernel's socket tables.
func (p *Peer) KernelDrops() (uint64, error) {
	if !p.active || p.host == nil {
		return 0, fmt.Errorf("ecsnet: kernel drops: %w", ErrUnconfigured)
	}
	var st syscall.Stat_t
	stat := func(fd int) error { return syscall.Fstat(fd, &st) }
	var err error
	if p.rel != nil {
		if cerr := p.rel.ControlPublic(func(fd uintptr) { err = stat(int(fd)) }); cerr != nil {
			err = cerr
		}
	} else {
		err = stat(p.host.SocketFD())
	}
	if err != nil {
		return 0, fmt.Errorf("ecsnet: kernel drops: %w: %w", ErrUnavailable, err)
	}
	inode := strconv.FormatUint(st.Ino, 10)
	for _, table := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		if n, ok := socketDrops(table, inode); ok {
			return n, nil
		}
	}
	return 0, fmt.Errorf("ecsnet: kernel drops: socket %s not in /proc/net/udp: %w", inode, ErrUnavailable)
}

// socketDrops finds the socket of inode in a /proc/net/udp table and
// returns its drops column (the last).
func socketDrops(table, inode string) (uint64, bool) {
	f, err := os.Open(table)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 13 || fields[9] != inode {
			continue
		}
		n, err := strconv.ParseUint(fields[len(fields)-1], 10, 64)
		return n, err == nil
	}
	return 0, false
}
