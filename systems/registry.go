package systems

import (
	"encoding"
	"fmt"
	"hash/fnv"
	"maps"
	"reflect"
	"slices"
	"sync"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/internal/fixedcodec"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/wire"
)

// Registry is a protocol: the message types and replicated components a
// server and its clients share, with how each travels. Both ends must
// register the same names with the same types: one schema hash covers
// every registration, and the network system refuses a client whose hash
// differs from the server's. A network replicates when its registry has
// components.
//
// Register everything before creating a network from the registry; a
// Registry is safe for concurrent reads after that.
type Registry struct {
	mu       sync.Mutex
	messages []*messageInfo // sorted by name once frozen
	comps    *replication.Registry
	extra    []components.LaneData // AddLanes
	lanes    []components.LaneData // every replication lane, once frozen
	frozen   bool
	schema   uint64
	input    inputSpec // RegisterInput's, if any
	owner    bool      // components.Owner registered by Predict
}

// inputSpec is a registered input type, whatever its Go type.
type inputSpec interface{ newPipeline(n *Network) pipeline }

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{comps: replication.NewRegistry()} }

// RegisterComponent makes component type ct replicated under name (see
// replication.Register for the options: codec, lane, interpolation, and
// replication.OwnerOnly for state only the entity's owner receives, such
// as what it predicts from). It panics on a duplicate, a type without a
// codec, or a registry in use.
func RegisterComponent[T any](r *Registry, ct *donburi.ComponentType[T], name string, opts ...replication.Option[T]) {
	r.mu.Lock()
	frozen := r.frozen
	r.mu.Unlock()
	if frozen {
		panic(fmt.Sprintf("systems: component %q registered after the registry was used", name))
	}
	replication.Register(r.comps, ct, name, opts...)
}

// AddLanes adds replication lanes beyond those the registrations use, for
// entities that move components to them (components.ReplicatedData's
// Lanes, or an entity's Channel and TransferMode components). It panics on
// a registry in use.
func (r *Registry) AddLanes(lanes ...components.LaneData) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frozen {
		panic("systems: lanes added after the registry was used")
	}
	r.extra = append(r.extra, lanes...)
}

// Lanes are the replication lanes in wire order (none without components).
// It freezes the registry.
func (r *Registry) Lanes() []components.LaneData {
	r.freeze()
	return r.lanes
}

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

// MessageType is a registered message type T, with how it travels. Get one
// from RegisterMessage; use it from the goroutine that runs the world.
type MessageType[T any] struct {
	info  *messageInfo
	codec replication.Codec[T]
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
func RegisterMessageCodec[T any](r *Registry, name string, codec replication.Codec[T], opts ...MessageOption) *MessageType[T] {
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

// freeze fixes the registry: message IDs are the ranks of their names,
// lanes are listed, and the schema hash covers every message, component
// and lane with its type signature, channel and mode.
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
	comps := r.comps.Schema()
	for _, name := range slices.Sorted(maps.Keys(comps)) {
		fmt.Fprintf(h, "%s %s\n", name, comps[name])
	}
	if len(comps) > 0 {
		r.lanes = r.comps.Lanes(r.extra...)
		for _, l := range r.lanes {
			fmt.Fprintf(h, "lane %d %d\n", l.Channel, l.Mode)
		}
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
func defaultCodec[T any](name string) replication.Codec[T] {
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
	codec replication.Codec[T]
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
