package enethost

// #include "shim.h"
import "C"

import (
	"errors"
	"unsafe"
)

// RangeCoder is ENet's built-in adaptive range coder used directly, outside
// a host, so benchmarks and fuzz tests can measure and attack the exact
// coder CompressRangeCoder puts on the wire. Close frees it.
type RangeCoder struct{ c unsafe.Pointer }

// NewRangeCoder allocates a range coder.
func NewRangeCoder() (*RangeCoder, error) {
	initialize()
	c := C.enet_range_coder_create()
	if c == nil {
		return nil, errors.New("enet: cannot create range coder")
	}
	return &RangeCoder{c}, nil
}

// Compress codes in into out; 0 when it does not fit.
func (r *RangeCoder) Compress(in, out []byte) int {
	if len(in) == 0 || len(out) == 0 {
		return 0
	}
	return int(C.nb_range_compress(r.c, unsafe.Pointer(&in[0]), C.size_t(len(in)), (*C.enet_uint8)(&out[0]), C.size_t(len(out))))
}

// Decompress decodes in into out, never more than len(out) bytes; 0 on
// failure.
func (r *RangeCoder) Decompress(in, out []byte) int {
	if len(in) == 0 || len(out) == 0 {
		return 0
	}
	return int(C.enet_range_coder_decompress(r.c, (*C.enet_uint8)(&in[0]), C.size_t(len(in)), (*C.enet_uint8)(&out[0]), C.size_t(len(out))))
}

// Close frees the coder.
func (r *RangeCoder) Close() {
	if r.c != nil {
		C.enet_range_coder_destroy(r.c)
		r.c = nil
	}
}
