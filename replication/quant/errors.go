package quant

import "errors"

// Sentinel errors; test with errors.Is.
var (
	// ErrShort: a read needed more bits than the Reader had left.
	ErrShort = errors.New("quant: read past end of data")
	// ErrRange: the bits read are not anything a Write function produces,
	// such as a Float code above MaxCode or a varint longer than its
	// shortest form.
	ErrRange = errors.New("quant: encoded value out of range")
)
