package ecsnet

import (
	"fmt"

	"github.com/netburi/netburi/ecsnet/internal/enethost"
)

// DefaultSocketBuffer is the socket buffer size libenet asks for (256 KiB),
// which a server with many clients outgrows: at about 1,000 clients their
// datagrams between two polls overflow it and the kernel drops them.
const DefaultSocketBuffer = 256 << 10

// socketBufferPerClient is what a server's socket buffers get per client
// by default, over DefaultSocketBuffer.
const socketBufferPerClient = 2 << 10

// socketBufferFor is Options.SocketBuffer's default for a host of
// maxClients (1 for a client).
func socketBufferFor(maxClients int) int {
	return max(DefaultSocketBuffer, maxClients*socketBufferPerClient)
}

// SetSocketBuffers asks for receive and send buffers of recv and send
// bytes on the peer's public UDP socket (0 leaves one as it is) and
// reports the sizes it has afterwards, as the kernel reports them: Linux
// doubles a request and caps it at net.core.rmem_max and wmem_max, so a
// larger buffer may need those raised. The public socket is ENet's own, or
// with a relay in front (DTLS, IPv6, the link conditioner) the relay's,
// which the remotes' datagrams fill (ENet's socket behind it gets the same
// sizes). It fails
// with ErrUnconfigured before CreateServer or CreateClient. Call it from
// the goroutine that owns the peer.
func (p *Peer) SetSocketBuffers(recv, send int) (gotRecv, gotSend int, err error) {
	if !p.active || p.host == nil {
		return 0, 0, fmt.Errorf("ecsnet: set socket buffers: %w", ErrUnconfigured)
	}
	if recv < 0 || send < 0 {
		return 0, 0, fmt.Errorf("ecsnet: set socket buffers %d, %d: %w", recv, send, ErrInvalidParameter)
	}
	r, s := p.host.SetSocketBuffers(recv, send)
	if p.rel != nil {
		p.rel.SetSocketBuffers(recv, send)
		if err := p.rel.ControlPublic(func(fd uintptr) { r, s = enethost.SocketBuffers(int(fd)) }); err != nil {
			return 0, 0, fmt.Errorf("ecsnet: set socket buffers: %w: %w", ErrUnavailable, err)
		}
	}
	return r, s, nil
}
