package systems

import (
	"math"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
)

// History is a server's record of one component's recent values on every
// replicated entity, for lag compensation: where was entity E at the tick
// client C was looking at when it acted (Rewound). It keeps a fixed number
// of ticks per entity, so its memory is entities × ticks, whatever
// clients send. A History belongs to the goroutine that runs the world.
type History[T any] struct {
	ct    *donburi.ComponentType[T]
	lerp  func(a, b T, w float64) T
	keep  int
	query *donburi.Query
	ents  map[donburi.Entity]*historyRing[T]
	tick  uint32
}

type historyRing[T any] struct {
	vals  []T
	ticks []uint32
	seen  uint32
}

// NewHistory keeps keep ticks (default 18: 300 ms at 60 Hz) of ct on every
// entity carrying components.Replicated and ct, and answers between ticks
// with lerp (nil: the earlier tick's value). Record it once per tick.
func NewHistory[T any](ct *donburi.ComponentType[T], lerp func(a, b T, w float64) T, keep int) *History[T] {
	if keep <= 0 {
		keep = 18
	}
	return &History[T]{ct: ct, lerp: lerp, keep: keep + 1,
		query: donburi.NewQuery(filter.Contains(components.Replicated, ct)),
		ents:  map[donburi.Entity]*historyRing[T]{}}
}

// Record stores this tick's values (call it in a server system after the
// simulation moved them); entities gone for the whole window are dropped.
func (h *History[T]) Record(world donburi.World, tick uint32) {
	h.tick = tick
	h.query.Each(world, func(e *donburi.Entry) {
		r := h.ents[e.Entity()]
		if r == nil {
			r = &historyRing[T]{vals: make([]T, h.keep), ticks: make([]uint32, h.keep)}
			h.ents[e.Entity()] = r
		}
		i := int(tick % uint32(h.keep))
		r.vals[i], r.ticks[i], r.seen = *h.ct.Get(e), tick, tick
	})
	for e, r := range h.ents {
		if tick-r.seen >= uint32(h.keep) {
			delete(h.ents, e)
		}
	}
}

// At is e's value at tick (fractional ticks between two recorded ones
// are interpolated); a tick older than the window gives the oldest kept,
// a newer one the newest. False for an entity not recorded.
func (h *History[T]) At(e donburi.Entity, tick float64) (T, bool) {
	var zero T
	r := h.ents[e]
	if r == nil {
		return zero, false
	}
	tick = min(tick, float64(r.seen))
	lo := uint32(math.Floor(max(tick, 0)))
	a, okA := r.at(lo, h.keep)
	for !okA && lo < r.seen {
		lo++ // older than the window, or a tick the entity was missing
		a, okA = r.at(lo, h.keep)
		tick = float64(lo)
	}
	if !okA {
		return zero, false
	}
	w := tick - float64(lo)
	if w == 0 || h.lerp == nil {
		return a, true
	}
	b, okB := r.at(lo+1, h.keep)
	if !okB {
		return a, true
	}
	return h.lerp(a, b, w), true
}

func (r *historyRing[T]) at(tick uint32, keep int) (T, bool) {
	i := int(tick % uint32(keep))
	if r.ticks[i] != tick {
		var zero T
		return zero, false
	}
	return r.vals[i], true
}

// Rewound is, on a server, e's value (from h) at the tick client was
// looking at when it wrote the input being simulated (in.ViewTick): judge
// a client's shot against it and it hits what the client saw.
func Rewound[I, T any](n *Network, in *InputType[I], h *History[T], client int, e donburi.Entity) (T, bool) {
	return h.At(e, in.ViewTick(n, client))
}
