package replication

import (
	"encoding/binary"
	"fmt"

	"github.com/netburi/netburi/internal/fixedcodec"
)

// InputBatch is what a client sends each tick: its newest inputs, the last
// one for tick Newest and each earlier one for the tick before. Sending
// several ticks' inputs in every (unreliable) packet means a lost packet
// loses no input.
type InputBatch[T any] struct {
	Newest uint32
	Inputs []T
}

// maxBatch bounds how many inputs a batch may carry.
const maxBatch = 64

// InputHistory is a client's record of its own recent inputs.
type InputHistory[T any] struct {
	redundancy int
	newest     uint32
	inputs     []T // oldest first, for ticks newest-len+1 .. newest
}

// NewInputHistory keeps the last redundancy inputs (1..64) for each batch.
func NewInputHistory[T any](redundancy int) *InputHistory[T] {
	return &InputHistory[T]{redundancy: min(max(redundancy, 1), maxBatch)}
}

// Record stores the input for tick (ticks must not go back; a skipped tick
// repeats the previous input).
func (h *InputHistory[T]) Record(tick uint32, v T) {
	if len(h.inputs) > 0 {
		if tick <= h.newest {
			return
		}
		for gap := tick - h.newest; gap > 1 && gap < maxBatch; gap-- {
			h.inputs = append(h.inputs, h.inputs[len(h.inputs)-1])
		}
	}
	h.inputs = append(h.inputs, v)
	h.newest = tick
	if extra := len(h.inputs) - h.redundancy; extra > 0 {
		h.inputs = append(h.inputs[:0], h.inputs[extra:]...)
	}
}

// Batch is the batch to send this tick (empty before the first Record).
func (h *InputHistory[T]) Batch() InputBatch[T] {
	return InputBatch[T]{Newest: h.newest, Inputs: append([]T(nil), h.inputs...)}
}

// InputQueue is the server's side: every client's inputs by tick, each
// taken exactly once, at its tick. Redundancy can only cover a lost batch
// if the server takes a tick's input a few ticks after it could first have
// arrived (clients run ahead of the server, or the server buffers): with a
// redundancy of R, up to R-1 ticks of buffer.
type InputQueue[T any] struct {
	clients map[int]*clientInputs[T]
	stats   InputStats
}

// InputStats count what an InputQueue dropped.
type InputStats struct {
	Late      uint64 // inputs that arrived after their tick was taken
	Malformed uint64 // batches claiming impossible ticks
}

// Stats reports the queue's counters.
func (q *InputQueue[T]) Stats() InputStats { return q.stats }

type clientInputs[T any] struct {
	taken   uint32 // newest tick taken
	pending map[uint32]T
}

// horizon bounds how far ahead of the last taken tick inputs are kept.
const horizon = 512

// NewInputQueue returns an empty queue.
func NewInputQueue[T any]() *InputQueue[T] {
	return &InputQueue[T]{clients: map[int]*clientInputs[T]{}}
}

// Add files a client's batch: inputs already held or already taken are
// ignored, so redundancy delivers each once.
func (q *InputQueue[T]) Add(client int, b InputBatch[T]) {
	c := q.clients[client]
	if c == nil {
		c = &clientInputs[T]{pending: map[uint32]T{}}
		q.clients[client] = c
	}
	n := uint32(len(b.Inputs))
	if n == 0 {
		return
	}
	if n > maxBatch || b.Newest < n-1 || (c.taken > 0 && b.Newest > c.taken+horizon) {
		q.stats.Malformed++
		return
	}
	first := b.Newest - (n - 1)
	for i, v := range b.Inputs {
		tick := first + uint32(i)
		if tick <= c.taken && c.taken > 0 {
			if i == len(b.Inputs)-1 {
				q.stats.Late++
			}
			continue
		}
		if _, dup := c.pending[tick]; !dup && len(c.pending) < horizon {
			c.pending[tick] = v
		}
	}
}

// Take returns a client's input for tick, once; inputs for earlier ticks
// that were never taken are discarded.
func (q *InputQueue[T]) Take(client int, tick uint32) (T, bool) {
	var zero T
	c := q.clients[client]
	if c == nil {
		return zero, false
	}
	v, ok := c.pending[tick]
	for t := range c.pending {
		if t <= tick {
			delete(c.pending, t)
		}
	}
	if tick > c.taken {
		c.taken = tick
	}
	return v, ok
}

// Forget drops a client's inputs (it left).
func (q *InputQueue[T]) Forget(client int) { delete(q.clients, client) }

// BatchCodec encodes an InputBatch with an input codec (nil: the
// fixed-size default): newest tick u32, count u8, then the inputs, each
// length-prefixed unless fixed-size. It satisfies systems.Codec, so a batch
// registers as a message type.
func BatchCodec[T any](c Codec[T]) Codec[InputBatch[T]] {
	size := 0
	if c == nil {
		fc, n, ok := fixedcodec.New[T]()
		if !ok {
			var zero T
			panic(fmt.Sprintf("replication: %T is not fixed-size; pass a codec", zero))
		}
		c, size = fc, n
	}
	return batchCodec[T]{c: c, size: size}
}

type batchCodec[T any] struct {
	c    Codec[T]
	size int
}

func (b batchCodec[T]) Append(dst []byte, v *InputBatch[T]) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, v.Newest)
	dst = append(dst, byte(len(v.Inputs)))
	var one []byte
	for i := range v.Inputs {
		if b.size > 0 {
			dst = b.c.Append(dst, &v.Inputs[i])
			continue
		}
		one = b.c.Append(one[:0], &v.Inputs[i])
		dst = binary.AppendUvarint(dst, uint64(len(one)))
		dst = append(dst, one...)
	}
	return dst
}

func (b batchCodec[T]) Decode(src []byte, v *InputBatch[T]) error {
	if len(src) < 5 || int(src[4]) > maxBatch {
		return fmt.Errorf("%w: input batch header", ErrMalformed)
	}
	v.Newest = binary.LittleEndian.Uint32(src)
	n := int(src[4])
	src = src[5:]
	if least := n * max(b.size, 1); len(src) < least { // allocate only what the bytes can hold
		return fmt.Errorf("%w: %d inputs in %d bytes", ErrMalformed, n, len(src))
	}
	v.Inputs = make([]T, n)
	for i := range n {
		size := b.size
		if size == 0 {
			l, k := binary.Uvarint(src)
			if k <= 0 || l > uint64(len(src)-k) {
				return fmt.Errorf("%w: input length", ErrMalformed)
			}
			size, src = int(l), src[k:]
		}
		if size > len(src) {
			return fmt.Errorf("%w: truncated input", ErrMalformed)
		}
		if err := b.c.Decode(src[:size], &v.Inputs[i]); err != nil {
			return fmt.Errorf("%w: input: %w", ErrMalformed, err)
		}
		src = src[size:]
	}
	if len(src) != 0 {
		return fmt.Errorf("%w: %d bytes after the inputs", ErrMalformed, len(src))
	}
	return nil
}
