//go:build !linux

package ecsnet

import "fmt"

// KernelDrops reports ErrUnavailable outside Linux, whose /proc/net/udp it
// reads.
func (p *Peer) KernelDrops() (uint64, error) {
	return 0, fmt.Errorf("ecsnet: kernel drops: %w", ErrUnavailable)
}
