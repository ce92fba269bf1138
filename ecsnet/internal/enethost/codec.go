package enethost

// #include "shim.h"
import "C"

import (
	"errors"
	"runtime/cgo"
	"unsafe"
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

// SetCodec makes the host compress every datagram with c from now on,
// replacing any compressor it had. Both ends must use the same codec.
func (h *Host) SetCodec(c Codec) error {
	handle := cgo.NewHandle(c)
	if C.nb_set_codec(h.c, C.uintptr_t(handle)) != 0 {
		handle.Delete()
		return errors.New("enet: out of memory for the compressor")
	}
	return nil
}

//export netburiCodecCompress
func netburiCodecCompress(handle C.uintptr_t, in *C.enet_uint8, inLen C.size_t, out *C.enet_uint8, outLimit C.size_t) C.size_t {
	return runCodec(handle, in, inLen, out, outLimit, Codec.Compress)
}

//export netburiCodecDecompress
func netburiCodecDecompress(handle C.uintptr_t, in *C.enet_uint8, inLen C.size_t, out *C.enet_uint8, outLimit C.size_t) C.size_t {
	return runCodec(handle, in, inLen, out, outLimit, Codec.Decompress)
}

// runCodec calls one of the handle's Codec methods on ENet's buffers; a
// result outside [0, outLimit] becomes 0 (ENet's "could not").
func runCodec(handle C.uintptr_t, in *C.enet_uint8, inLen C.size_t, out *C.enet_uint8, outLimit C.size_t, op func(Codec, []byte, []byte) int) C.size_t {
	n := op(cgo.Handle(handle).Value().(Codec), cBytes(in, inLen), cBytes(out, outLimit))
	if n < 0 || n > int(outLimit) {
		return 0
	}
	return C.size_t(n)
}

//export netburiCodecDestroy
func netburiCodecDestroy(handle C.uintptr_t) { cgo.Handle(handle).Delete() }

// cBytes views C memory as a byte slice (valid for the callback only).
func cBytes(p *C.enet_uint8, n C.size_t) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}
