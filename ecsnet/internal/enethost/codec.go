package enethost

// #include "shim.h"
import "C"

import (
	"errors"
	"runtime/cgo"

	"github.com/netburi/netburi/ecsnet/internal/guard"
)

// Codec compresses whole ENet datagrams (the commands after ENet's protocol
// header), for ENet's compressor hook. Both methods run on the goroutine
// that services the host, inside Service, Flush or CheckEvents.
type Codec interface {
	// Compress writes the compressed form of in to out and returns its
	// length, or 0 to send the datagram uncompressed (ENet also sends it
	// uncompressed unless the result is smaller than in).
	Compress(in, out []byte) int
	// Decompress writes the original of in to out, never more than
	// len(out) bytes, and returns its length, or 0 to drop the datagram.
	Decompress(in, out []byte) int
}

// hooked is what a compressor hook's handle refers to: the codec and the
// host whose guard judges what it decompresses.
type hooked struct {
	codec Codec
	host  *Host
}

// SetCodec makes the host compress every datagram with c from now on,
// replacing any compressor it had. Both ends must use the same codec. A
// codec with a Close method is closed when the host is destroyed or the
// compressor replaced.
func (h *Host) SetCodec(c Codec) error {
	handle := cgo.NewHandle(&hooked{codec: c, host: h})
	if C.nb_set_codec(h.c, C.uintptr_t(handle)) != 0 {
		handle.Delete()
		return errors.New("enet: out of memory for the compressor")
	}
	return nil
}

// UseRangeCoder compresses every datagram with ENet's built-in range coder
// (Godot's COMPRESS_RANGE_CODER), through the same guarded hook as the
// other codecs.
func (h *Host) UseRangeCoder() error {
	rc, err := NewRangeCoder()
	if err != nil {
		return err
	}
	if err := h.SetCodec(rc); err != nil {
		rc.Close()
		return err
	}
	return nil
}

// maxHookLength bounds every length libenet hands a compressor hook: its
// buffers are one MTU long. libenet 1.3.17 can pass a length that
// underflowed to nearly 2^64; no slice is made of it.
const maxHookLength = C.ENET_PROTOCOL_MAXIMUM_MTU

//export netburiCodecCompress
func netburiCodecCompress(handle C.uintptr_t, in *C.enet_uint8, inLen C.size_t, out *C.enet_uint8, outLimit C.size_t) (n C.size_t) {
	hk := cgo.Handle(handle).Value().(*hooked)
	defer func() {
		if recover() != nil {
			hk.host.countHookFailure()
			n = 0 // send it uncompressed
		}
	}()
	if inLen > maxHookLength || outLimit > maxHookLength {
		hk.host.countHookFailure()
		return 0
	}
	r := hk.codec.Compress(cBytes(in, inLen), cBytes(out, outLimit))
	if r < 0 || r > int(outLimit) {
		return 0
	}
	return C.size_t(r)
}

//export netburiCodecDecompress
func netburiCodecDecompress(handle C.uintptr_t, in *C.enet_uint8, inLen C.size_t, out *C.enet_uint8, outLimit C.size_t) (n C.size_t) {
	hk := cgo.Handle(handle).Value().(*hooked)
	g := hk.host.guard
	defer func() {
		if recover() != nil {
			hk.host.countHookFailure()
			n = 0 // drop it
		}
	}()
	if inLen > maxHookLength || outLimit > maxHookLength || inLen == 0 {
		hk.host.countHookFailure()
		return 0
	}
	limit := int(outLimit)
	if g != nil && g.DecompressLimit() > 0 {
		limit = min(limit, g.DecompressLimit())
	}
	r := hk.codec.Decompress(cBytes(in, inLen), cBytes(out, C.size_t(limit)))
	var cmds []byte
	if r > 0 && r <= limit {
		cmds = cBytes(out, C.size_t(r))
	}
	if g != nil && g.Decompressed(cmds, (*view)(hk.host)) {
		return 0
	}
	return C.size_t(len(cmds))
}

//export netburiCodecDestroy
func netburiCodecDestroy(handle C.uintptr_t) {
	h := cgo.Handle(handle)
	if c, ok := h.Value().(*hooked).codec.(interface{ Close() }); ok {
		c.Close()
	}
	h.Delete()
}

func (h *Host) countHookFailure() {
	if h.guard != nil {
		h.guard.Count(guard.HookFailed)
	}
}
