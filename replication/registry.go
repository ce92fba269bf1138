// Package replication is netburi's I/O-free replication core: a registry of
// replicable components with their codecs, a server that captures snapshots
// of tagged entities and encodes each client's delta against the newest
// snapshot that client acknowledged (under a budget that binds, against the
// one sent before), and a client that assembles, decodes
// and applies them to a donburi world. It takes bytes in and gives bytes
// out; the systems package carries them.
//
// A Registry is set up once and then only read. A Server or Client belongs
// to the goroutine that runs its world.
package replication

import (
	"fmt"
	"reflect"
	"slices"
	"sync"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/component"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/internal/fixedcodec"
	"github.com/netburi/netburi/wire"
)

// Codec encodes a component type's values for snapshots. Append must be
// deterministic (equal values, equal bytes: unchanged components are found
// by comparing bytes). Decode gets exactly the bytes Append wrote (framed by
// the snapshot) and must reject, not panic on, anything else.
type Codec[T any] interface {
	Append(dst []byte, v *T) []byte
	Decode(src []byte, v *T) error
}

// DeltaCodec is a Codec that can also write a value relative to the same
// component's value in the baseline snapshot, which is much shorter when
// values move a little between snapshots (positions, orientations). The
// server uses it for every component that changed since the client's
// baseline; the client rebuilds the value from its copy of that baseline.
// DecodeDelta must reject, not panic on, malformed input.
type DeltaCodec[T any] interface {
	Codec[T]
	AppendDelta(dst []byte, base, v *T) []byte
	DecodeDelta(src []byte, base, v *T) error
}

// Registry lists the replicable component types, each under a stable name
// shared by server and clients. Register everything before the first
// Server or Client is made from it.
type Registry struct {
	mu     sync.Mutex
	comps  []*compInfo // sorted by name once frozen; index = wire index
	frozen bool
}

// compInfo is the type-erased side of one registration.
type compInfo struct {
	name      string
	signature string
	index     int
	ctype     component.IComponentType
	size      int // fixed encoded size, 0 when variable (length-prefixed)
	lane      components.LaneData
	ownerOnly bool // sent only to the entity's owner (OwnerOnly)

	appendValue func(dst []byte, e *donburi.Entry) []byte
	setValue    func(e *donburi.Entry, b []byte) error
	check       func(b []byte) error
	decode      func(b []byte) (any, error) // into a T
	// appendDelta and applyDelta are set for DeltaCodecs: they work on
	// full encodings, so snapshots always hold full values.
	appendDelta func(dst, base, cur []byte) []byte
	applyDelta  func(dst, base, delta []byte) ([]byte, error)
	lerp        func(e *donburi.Entry, a, b []byte, t float64) error // nil: not interpolated
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{} }

// Option configures a registration.
type Option[T any] func(*options[T])

type options[T any] struct {
	codec Codec[T]
	lerp  func(a, b T, t float64) T
	lane  *components.LaneData
	owner bool
}

// DefaultLane is where components travel unless registered OnLane:
// unreliable, on channel 2.
var DefaultLane = components.LaneData{Channel: 2, Mode: wire.Unreliable}

// OnLane sends the component's snapshots on channel with mode (e.g.
// reliable for rarely changing components) instead of DefaultLane.
func OnLane[T any](channel int, mode wire.TransferMode) Option[T] {
	return func(o *options[T]) { o.lane = &components.LaneData{Channel: channel, Mode: mode} }
}

// WithCodec replaces the default codec.
func WithCodec[T any](c Codec[T]) Option[T] { return func(o *options[T]) { o.codec = c } }

// Interpolated makes clients show the component interpolated between
// snapshots with lerp (t in [0, 1]) instead of jumping to each new value.
func Interpolated[T any](lerp func(a, b T, t float64) T) Option[T] {
	return func(o *options[T]) { o.lerp = lerp }
}

// OwnerOnly sends the component only to the client that owns the entity:
// the one whose ID (Server.AddClient; the peer ID under systems) is the
// entity's components.Owner peer. Every other client gets the entity
// without it, as if the server's entity lacked it: it never appears in
// their snapshots, and when an entity changes hands the old owner's copy
// is removed and the new owner's spawned. An entity without an Owner
// sends the component to nobody. Use it for state only the owner needs,
// such as the exact motion a client predicts for its own ship while
// others interpolate a coarser position. components.Owner itself need not
// be replicated for this (it must be for prediction). The choice is the
// server's; clients ignore it. It does not give every client its own
// snapshot: clients that own nothing share one encoding per baseline as
// before, and each owner gets one of its own per snapshot, which redoes
// only its own entities (see Server).
func OwnerOnly[T any]() Option[T] { return func(o *options[T]) { o.owner = true } }

// Register makes component type ct replicable under name. Fixed-size types
// (encoding/binary can size them) get a codec for free; others need
// WithCodec. It panics on a duplicate name or type, a type without a codec,
// or a frozen registry (programming errors at set-up).
func Register[T any](r *Registry, ct *donburi.ComponentType[T], name string, opts ...Option[T]) {
	var o options[T]
	for _, opt := range opts {
		opt(&o)
	}
	var zero T
	size := 0
	if o.codec == nil {
		c, n, ok := fixedcodec.New[T]()
		if !ok {
			panic(fmt.Sprintf("replication: %q: %T is not fixed-size; pass WithCodec", name, zero))
		}
		o.codec, size = c, n
	}
	codec := o.codec
	lane := DefaultLane
	if o.lane != nil {
		lane = *o.lane
	}
	if lane.Channel < 1 {
		panic(fmt.Sprintf("replication: %q on channel %d (want >= 1)", name, lane.Channel))
	}
	info := &compInfo{
		name:      name,
		signature: fixedcodec.Signature(reflect.TypeOf(zero)),
		ctype:     ct,
		size:      size,
		lane:      lane,
		ownerOnly: o.owner,
		appendValue: func(dst []byte, e *donburi.Entry) []byte {
			return codec.Append(dst, ct.Get(e))
		},
		setValue: func(e *donburi.Entry, b []byte) error {
			var v T
			if err := codec.Decode(b, &v); err != nil {
				return err
			}
			if e.HasComponent(ct) {
				ct.SetValue(e, v)
			} else {
				donburi.Add(e, ct, &v)
			}
			return nil
		},
		check: func(b []byte) error {
			var v T
			return codec.Decode(b, &v)
		},
		decode: func(b []byte) (any, error) {
			var v T
			err := codec.Decode(b, &v)
			return v, err
		},
	}
	if dc, ok := codec.(DeltaCodec[T]); ok {
		info.appendDelta = func(dst, base, cur []byte) []byte {
			var b, v T
			if codec.Decode(base, &b) != nil || codec.Decode(cur, &v) != nil {
				panic("replication: a codec cannot decode its own encoding")
			}
			return dc.AppendDelta(dst, &b, &v)
		}
		info.applyDelta = func(dst, base, delta []byte) ([]byte, error) {
			var b, v T
			if err := codec.Decode(base, &b); err != nil {
				return dst, err
			}
			if err := dc.DecodeDelta(delta, &b, &v); err != nil {
				return dst, err
			}
			return codec.Append(dst, &v), nil
		}
	}
	if lerp := o.lerp; lerp != nil {
		info.lerp = func(e *donburi.Entry, a, b []byte, t float64) error {
			var va, vb T
			if err := codec.Decode(a, &va); err != nil {
				return err
			}
			if err := codec.Decode(b, &vb); err != nil {
				return err
			}
			v := lerp(va, vb, t)
			if e.HasComponent(ct) {
				ct.SetValue(e, v)
			} else {
				donburi.Add(e, ct, &v)
			}
			return nil
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.frozen {
		panic(fmt.Sprintf("replication: %q registered after the registry was used", name))
	}
	for _, c := range r.comps {
		if c.name == name || c.ctype.Id() == ct.Id() {
			panic(fmt.Sprintf("replication: %q registered twice", name))
		}
	}
	if len(r.comps) == maxComponents {
		panic(fmt.Sprintf("replication: more than %d replicated component types", maxComponents))
	}
	r.comps = append(r.comps, info)
}

// maxComponents bounds registrations so a component mask fits a uint64.
const maxComponents = 64

func (r *Registry) freeze() []*compInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.frozen {
		r.frozen = true
		slices.SortFunc(r.comps, func(a, b *compInfo) int {
			if a.name < b.name {
				return -1
			}
			return 1
		})
		for i, c := range r.comps {
			c.index = i
		}
	}
	return r.comps
}

// Lanes lists the lanes the registrations use plus extra ones (for
// per-entity overrides), without duplicates, in a fixed order both ends
// derive alike: a lane's index in this list names it on the wire. It
// freezes the registry.
func (r *Registry) Lanes(extra ...components.LaneData) []components.LaneData {
	var lanes []components.LaneData
	add := func(l components.LaneData) {
		if !slices.Contains(lanes, l) {
			lanes = append(lanes, l)
		}
	}
	add(DefaultLane)
	for _, c := range r.freeze() {
		add(c.lane)
	}
	for _, l := range extra {
		add(l)
	}
	slices.SortFunc(lanes, func(a, b components.LaneData) int {
		if a.Channel != b.Channel {
			return a.Channel - b.Channel
		}
		return int(a.Mode) - int(b.Mode)
	})
	return lanes
}

// Schema lists each registration's name and type signature, for the
// network system's schema check (systems.Registry hashes it). It freezes
// the registry.
func (r *Registry) Schema() map[string]string {
	out := map[string]string{}
	for _, c := range r.freeze() {
		v := fmt.Sprintf("%s size=%d delta=%v lane=%d/%d", c.signature, c.size, c.appendDelta != nil, c.lane.Channel, c.lane.Mode)
		if c.ownerOnly {
			v += " owner-only"
		}
		out["component "+c.name] = v
	}
	return out
}
