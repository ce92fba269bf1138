// Package fixedcodec is the default wire encoding of fixed-size values, shared
// by message types (systems) and replicated components (replication): the
// value's little-endian encoding/binary form, produced by copying its
// memory where that is the same thing. It also describes a type's layout for
// the schema both ends compare. Everything here is safe for concurrent use.
package fixedcodec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"reflect"
	"unsafe"
)

// ErrSize reports a value of the wrong length.
var ErrSize = errors.New("fixedcodec: wrong size")

// New returns the codec of a fixed-size type (a replication.Codec) and its
// encoded size; ok is false when encoding/binary cannot size T.
func New[T any]() (c interface {
	Append(dst []byte, v *T) []byte
	Decode(src []byte, v *T) error
}, size int, ok bool) {
	var zero T
	size = binary.Size(zero)
	if size <= 0 {
		return nil, 0, false
	}
	if littleEndian && size == int(unsafe.Sizeof(zero)) && plainNumbers(reflect.TypeOf(zero)) {
		return raw[T]{size: size}, size, true
	}
	return portable[T]{size: size}, size, true
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// plainNumbers reports whether every bit pattern of t's memory is a valid
// value (only numbers: no bools, pointers or padding-prone kinds).
func plainNumbers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	case reflect.Array:
		return plainNumbers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !plainNumbers(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// raw copies a plain-number value's memory: on a little-endian machine,
// without padding, exactly encoding/binary's bytes.
type raw[T any] struct{ size int }

func (c raw[T]) Append(dst []byte, v *T) []byte {
	return append(dst, unsafe.Slice((*byte)(unsafe.Pointer(v)), c.size)...)
}

func (c raw[T]) Decode(src []byte, v *T) error {
	if len(src) != c.size {
		return fmt.Errorf("%w: %d bytes, want %d", ErrSize, len(src), c.size)
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(v)), c.size), src)
	return nil
}

// portable encodes little-endian with encoding/binary.
type portable[T any] struct{ size int }

func (c portable[T]) Append(dst []byte, v *T) []byte {
	out, err := binary.Append(dst, binary.LittleEndian, v)
	if err != nil {
		panic(err) // fixed-size values always encode
	}
	return out
}

func (c portable[T]) Decode(src []byte, v *T) error {
	if len(src) != c.size {
		return fmt.Errorf("%w: %d bytes, want %d", ErrSize, len(src), c.size)
	}
	_, err := binary.Decode(src, binary.LittleEndian, v)
	return err
}

// Signature describes a type's layout (field names and kinds, recursively),
// so that two builds registering the same name with different structs are
// told apart.
func Signature(t reflect.Type) string {
	if t == nil {
		return "nil"
	}
	if t.Kind() != reflect.Struct {
		return t.Kind().String()
	}
	s := "{"
	for i := range t.NumField() {
		f := t.Field(i)
		s += f.Name + ":" + Signature(f.Type) + ";"
	}
	return s + "}"
}
