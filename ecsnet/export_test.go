package ecsnet

import "github.com/netburi/netburi/ecsnet/internal/enethost"

// Hooks for the external tests in this directory (package ecsnet_test),
// which may import the packages built on ecsnet.

// TapDatagrams makes p's host hand every outgoing datagram (as a
// compressor sees it) to record, uncompressed.
func TapDatagrams(p *Peer, record func([]byte)) error {
	return p.host.SetCodec(tapCodec{record})
}

type tapCodec struct{ record func([]byte) }

func (c tapCodec) Compress(in, _ []byte) int {
	c.record(append([]byte(nil), in...))
	return 0
}
func (tapCodec) Decompress([]byte, []byte) int { return 0 }

// BenchCodec is a mode's codec (the range coder included) for benchmarks.
func BenchCodec(mode CompressionMode, dictionary []byte) (enethost.Codec, func(), error) {
	if mode == CompressRangeCoder {
		rc, err := enethost.NewRangeCoder()
		if err != nil {
			return nil, nil, err
		}
		return rc, rc.Close, nil
	}
	c, err := newDatagramCodec(mode, dictionary)
	return c, func() {}, err
}
