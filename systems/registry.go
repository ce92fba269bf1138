package systems

import (
	"encoding"
	"fmt"
	"hash/fnv"
	"reflect"
	"slices"
	"sync"

	"github.com/netburi/netburi/internal/fixedcodec"
	"github.com/netburi/netburi/wire"
)

// Registry is the set of message types (and other named wire registrations,
// such as replicated components) that a server and its clients share. Both
// ends must register the same names with the same types: the network system
// compares the registries' schema hashes when a client connects and refuses
// a client whose schema differs.
//
// Register everything before creating a network from the registry; a
// Registry is safe for concurrent reads after that.
type Registry struct {
	mu       sync.Mutex
	messages []*messageInfo // sorted by name once frozen
	extra    map[string]string
	frozen   bool
	schema   uint64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{extra: map[string]string{}} }

// messageInfo is the type-erased side of a MessageType.
type messageInfo struct {
	name      string
	signature string
	id        int
	channel   int
	mode      wire.TransferMode
	newInbox  func() inbox
}

// inbox holds one tick's received messages of one type, for one network.
type inbox interface {
	add(from int, tick uint32, body []byte) error
	reset()
}

// Codec encodes and decodes a message type's values. Decode must reject
// (not panic on) any malformed input.
type Codec[T any] interface {
	Append(dst []byte, v *T) []byte
	Decode(src []byte, v *T) error
}

// MessageType is a registered message type T, with how it travels. Get one
// from RegisterMessage; use it from the goroutine that runs the world.
type MessageType[T any] struct {
	info  *messageInfo
	codec Codec[T]
	reg   *Registry
}

// MessageOption configures a message type at registration.
type MessageOption func(*messageInfo)

// Via sends the message type on channel (1..channel count-1) with mode.
// The default is reliable on channel 1.
func Via(channel int, mode wire.TransferMode) MessageOption {
	return func(m *messageInfo) { m.channel, m.mode = channel, mode }
}

// RegisterMessage adds message type T under a stable name shared by server
// and client. T needs no codec when it is a fixed-size value (encoding/binary
// can size it) or when *T implements encoding.BinaryMarshaler and
// BinaryUnmarshaler; otherwise pass one with RegisterMessageCodec. It panics
// on a duplicate name, a type it cannot encode, or a registry already in use
// (programming errors at set-up).
func RegisterMessage[T any](r *Registry, name string, opts ...MessageOption) *MessageType[T] {
	return RegisterMessageCodec[T](r, name, defaultCodec[T](name), opts...)
}

// RegisterMessageCodec is RegisterMessage with an explicit codec.
func RegisterMessageCodec[T any](r *Registry, name string, codec Codec[T], opts ...MessageOption) *MessageType[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frozen {
		panic(fmt.Sprintf("systems: message %q registered after the registry was used", name))
	}
	for _, m := range r.messages {
		if m.name == name {
			panic(fmt.Sprintf("systems: message %q registered twice", name))
		}
	}
	var zero T
	info := &messageInfo{
		name:      name,
		signature: fixedcodec.Signature(reflect.TypeOf(zero)),
		channel:   1,
		mode:      wire.Reliable,
	}
	for _, o := range opts {
		o(info)
	}
	if info.channel < 1 {
		panic(fmt.Sprintf("systems: message %q on channel %d (want >= 1)", name, info.channel))
	}
	mt := &MessageType[T]{info: info, codec: codec, reg: r}
	info.newInbox = func() inbox { return &typedInbox[T]{codec: codec} }
	r.messages = append(r.messages, info)
	return mt
}

// AddSchema adds a named registration other than a message (replication's
// components use it) to the schema both ends must share. Adding the same
// name with the same signature again does nothing.
func (r *Registry) AddSchema(name, signature string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if sig, ok := r.extra[name]; ok && sig == signature {
		return
	}
	if r.frozen {
		panic(fmt.Sprintf("systems: schema entry %q added after the registry was used", name))
	}
	if _, dup := r.extra[name]; dup {
		panic(fmt.Sprintf("systems: schema entry %q added twice", name))
	}
	r.extra[name] = signature
}

// freeze fixes the registry: message IDs are the ranks of their names, and
// the schema hash covers every name and type signature.
func (r *Registry) freeze() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frozen {
		return
	}
	r.frozen = true
	slices.SortFunc(r.messages, func(a, b *messageInfo) int {
		if a.name < b.name {
			return -1
		}
		return 1
	})
	h := fnv.New64a()
	fmt.Fprintf(h, "netburi/%d\n", protocolVersion)
	for i, m := range r.messages {
		m.id = i
		fmt.Fprintf(h, "message %s %s %d %d\n", m.name, m.signature, m.channel, m.mode)
	}
	names := make([]string, 0, len(r.extra))
	for n := range r.extra {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		fmt.Fprintf(h, "schema %s %s\n", n, r.extra[n])
	}
	r.schema = h.Sum64()
}

// Schema is the hash both ends compare at connect (it freezes the registry).
func (r *Registry) Schema() uint64 {
	r.freeze()
	return r.schema
}

// defaultCodec picks binary encoding for fixed-size types and the
// encoding.Binary(Un)Marshaler methods otherwise.
func defaultCodec[T any](name string) Codec[T] {
	var zero T
	if _, ok := any(&zero).(encoding.BinaryMarshaler); ok {
		if _, ok := any(&zero).(encoding.BinaryUnmarshaler); ok {
			return marshalerCodec[T]{}
		}
	}
	if c, _, ok := fixedcodec.New[T](); ok {
		return c
	}
	panic(fmt.Sprintf("systems: message %q: %T is neither fixed-size nor a BinaryMarshaler; use RegisterMessageCodec", name, zero))
}

// marshalerCodec uses the value's own binary methods.
type marshalerCodec[T any] struct{}

func (marshalerCodec[T]) Append(dst []byte, v *T) []byte {
	b, err := any(v).(encoding.BinaryMarshaler).MarshalBinary()
	if err != nil {
		panic(fmt.Sprintf("systems: MarshalBinary of %T: %v", v, err))
	}
	return append(dst, b...)
}

func (marshalerCodec[T]) Decode(src []byte, v *T) error {
	if err := any(v).(encoding.BinaryUnmarshaler).UnmarshalBinary(src); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// Received is one message as it arrived: who sent it (a peer ID, 1 for the
// server) and the receiving network's tick.
type Received[T any] struct {
	From  int
	Tick  uint32
	Value T
}

type typedInbox[T any] struct {
	codec Codec[T]
	items []Received[T]
}

func (b *typedInbox[T]) add(from int, tick uint32, body []byte) error {
	var v T
	if err := b.codec.Decode(body, &v); err != nil {
		return err
	}
	b.items = append(b.items, Received[T]{From: from, Tick: tick, Value: v})
	return nil
}

func (b *typedInbox[T]) reset() {
	clear(b.items)
	b.items = b.items[:0]
}
