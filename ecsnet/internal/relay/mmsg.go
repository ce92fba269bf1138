package relay

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"
)

// mmsgReader receives up to batchSize datagrams per recvmmsg, without
// waiting, into buffers allocated once. The relay's public socket has two
// readers (its goroutine, for blocking waits, and PumpIn on the game
// loop); each reads and forwards a batch under Relay.readMu, so that
// datagrams leave in the order the socket received them.
type mmsgReader struct {
	hdrs  [batchSize]mmsghdr
	iovs  [batchSize]syscall.Iovec
	names [batchSize]syscall.RawSockaddrAny
	bufs  [batchSize][]byte
}

// mmsghdr is Linux's struct mmsghdr.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

func newMmsgReader() *mmsgReader {
	m := &mmsgReader{}
	all := make([]byte, batchSize*maxDatagram)
	for i := range m.hdrs {
		m.bufs[i] = all[i*maxDatagram : (i+1)*maxDatagram : (i+1)*maxDatagram]
		m.iovs[i].Base = &m.bufs[i][0]
		m.iovs[i].SetLen(maxDatagram)
		h := &m.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&m.names[i]))
		h.Iov = &m.iovs[i]
		h.Iovlen = 1
	}
	return m
}

// recv reads what waits on fd (at most a batch) and reports how many
// datagrams it read; EAGAIN when none waits.
func (m *mmsgReader) recv(fd int) (int, error) {
	for i := range m.hdrs {
		m.hdrs[i].hdr.Namelen = syscall.SizeofSockaddrAny
		m.hdrs[i].hdr.Flags = 0
	}
	for {
		n, _, e := syscall.Syscall6(syscall.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&m.hdrs[0])),
			batchSize, syscall.MSG_DONTWAIT, 0, 0)
		switch {
		case e == syscall.EINTR:
			continue
		case e != 0:
			return 0, e
		}
		return int(n), nil
	}
}

// data is datagram i, or nil when it was truncated (larger than any ENet
// datagram).
func (m *mmsgReader) data(i int) []byte {
	n := int(m.hdrs[i].n)
	if n >= maxDatagram || m.hdrs[i].hdr.Flags&syscall.MSG_TRUNC != 0 {
		return nil
	}
	return m.bufs[i][:n]
}

// from is datagram i's sender as net's readers report it (an IPv6
// socket's IPv4 peers IPv4-mapped, a zone by name).
func (m *mmsgReader) from(i int) (netip.AddrPort, bool) {
	sa := &m.names[i]
	switch sa.Addr.Family {
	case syscall.AF_INET:
		in := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(in.Addr), ntohs(in.Port)), true
	case syscall.AF_INET6:
		in := (*syscall.RawSockaddrInet6)(unsafe.Pointer(sa))
		addr := netip.AddrFrom16(in.Addr)
		if in.Scope_id != 0 {
			ifi, err := net.InterfaceByIndex(int(in.Scope_id))
			if err != nil {
				return netip.AddrPort{}, false
			}
			addr = addr.WithZone(ifi.Name)
		}
		return netip.AddrPortFrom(addr, ntohs(in.Port)), true
	}
	return netip.AddrPort{}, false
}

// ntohs turns a port as a sockaddr holds it (network order) into a number.
func ntohs(p uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(&p))
	return uint16(b[0])<<8 | uint16(b[1])
}
