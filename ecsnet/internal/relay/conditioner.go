package relay

import (
	"container/heap"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Direction is what a link does to the datagrams going one way.
type Direction struct {
	Loss       float64 // probability a datagram is lost (in the good state)
	BurstStart float64 // probability, per datagram, of entering the bad state
	BurstEnd   float64 // probability, per datagram, of leaving it
	BurstLoss  float64 // loss probability in the bad state
	Latency    time.Duration
	Jitter     time.Duration // uniform in [-Jitter, +Jitter], never below zero delay
	Duplicate  float64       // probability a datagram is delivered twice
	Reorder    float64       // probability a datagram is held back behind the next one
	Bandwidth  int           // bytes per second, 0 = unlimited
}

// Conditions are both directions of a link and the seed of their randomness.
type Conditions struct {
	Seed    uint64
	Out, In Direction // Out: datagrams the local side sends; In: it receives
}

// reorderWait is how long a held-back datagram waits for a next one.
const reorderWait = 50 * time.Millisecond

// maxBacklog is the most a bandwidth-capped link queues before dropping.
const maxBacklog = time.Second

// LinkStats counts what the conditioner did.
type LinkStats struct {
	Lost, QueueDropped, Duplicated, Reordered uint64
}

// conditioner applies Conditions to the datagrams passed to out and in.
// submit may be called from any goroutine; deliveries happen either inline
// (when a datagram is not delayed) or on the conditioner's own goroutine.
type conditioner struct {
	now func() time.Time // the clock every due time is reckoned by

	mu   sync.Mutex
	seed uint64
	set  bool
	dirs [2]dirState

	queue  itemHeap
	seq    uint64
	wake   chan struct{}
	stop   chan struct{}
	done   chan struct{}
	closed bool

	lost, queueDropped, duplicated, reordered atomic.Uint64
}

type dirState struct {
	cfg      Direction
	rng      *rand.Rand
	bad      bool
	linkFree time.Time
	held     *item
}

const (
	dirOut = 0
	dirIn  = 1
)

type item struct {
	due     time.Time
	origDue time.Time // a held datagram's due time without the wait
	seq     uint64
	data    []byte
	to      netip.AddrPort
	deliver func([]byte, netip.AddrPort)
	index   int
	held    bool // a reordered datagram still waiting for the next one
	dir     int
}

func newConditioner(c Conditions) *conditioner { return newConditionerClock(c, time.Now) }

// newConditionerClock is newConditioner on the clock now, which tests
// stand in for time.Now to check the schedule without waiting it out.
func newConditionerClock(c Conditions, now func() time.Time) *conditioner {
	k := &conditioner{now: now, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	k.setConditions(c)
	go k.run()
	return k
}

// setConditions changes the link at once. The random streams restart only
// when the seed changes (or on the first call).
func (k *conditioner) setConditions(c Conditions) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !k.set || c.Seed != k.seed {
		k.seed, k.set = c.Seed, true
		for i := range k.dirs {
			k.dirs[i].rng = rand.New(rand.NewPCG(c.Seed, uint64(i)+0x5eed))
			k.dirs[i].bad = false
		}
	}
	k.dirs[dirOut].cfg = c.Out
	k.dirs[dirIn].cfg = c.In
}

func (k *conditioner) conditions() Conditions {
	k.mu.Lock()
	defer k.mu.Unlock()
	return Conditions{Seed: k.seed, Out: k.dirs[dirOut].cfg, In: k.dirs[dirIn].cfg}
}

func (k *conditioner) stats() LinkStats {
	return LinkStats{Lost: k.lost.Load(), QueueDropped: k.queueDropped.Load(),
		Duplicated: k.duplicated.Load(), Reordered: k.reordered.Load()}
}

// submit passes one datagram for to through direction dir: deliver is
// called with it (and to) zero, one or two times, now or later. b may be reused once submit
// returns.
func (k *conditioner) submit(dir int, b []byte, to netip.AddrPort, deliver func([]byte, netip.AddrPort)) {
	now := k.now()
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	d := &k.dirs[dir]
	c := &d.cfg
	rng := d.rng
	// Gilbert-Elliott: move between the good and the bad state, then lose
	// with that state's probability.
	if d.bad {
		if rng.Float64() < c.BurstEnd {
			d.bad = false
		}
	} else if c.BurstStart > 0 && rng.Float64() < c.BurstStart {
		d.bad = true
	}
	loss := c.Loss
	if d.bad {
		loss = c.BurstLoss
	}
	if loss > 0 && rng.Float64() < loss {
		k.mu.Unlock()
		k.lost.Add(1)
		return
	}
	copies := 1
	if c.Duplicate > 0 && rng.Float64() < c.Duplicate {
		copies = 2
		k.duplicated.Add(1)
	}
	var inline int
	for range copies {
		delay := c.Latency
		if c.Jitter > 0 {
			delay += time.Duration((rng.Float64()*2 - 1) * float64(c.Jitter))
		}
		delay = max(delay, 0)
		if c.Bandwidth > 0 {
			start := now
			if d.linkFree.After(start) {
				start = d.linkFree
			}
			if start.Sub(now) > maxBacklog {
				k.queueDropped.Add(1)
				continue
			}
			d.linkFree = start.Add(time.Duration(float64(len(b)) / float64(c.Bandwidth) * float64(time.Second)))
			delay += d.linkFree.Sub(now)
		}
		due := now.Add(delay)
		if h := d.held; h != nil {
			// The held datagram goes right after this one.
			d.held = nil
			h.held = false
			k.push(dir, due, b, to, deliver)
			h.due = h.origDue
			if due.After(h.due) {
				h.due = due
			}
			k.seq++
			h.seq = k.seq
			heap.Fix(&k.queue, h.index)
			continue
		}
		if c.Reorder > 0 && rng.Float64() < c.Reorder {
			k.reordered.Add(1)
			it := k.push(dir, due.Add(reorderWait), b, to, deliver)
			it.origDue = due
			it.held = true
			d.held = it
			continue
		}
		if delay == 0 {
			inline++
			continue
		}
		k.push(dir, due, b, to, deliver)
	}
	k.mu.Unlock()
	for range inline {
		deliver(b, to)
	}
}

// passes reports whether direction dir is a perfect link with nothing
// queued: a datagram submitted now would be delivered at once, unchanged,
// so the caller may deliver it itself.
func (k *conditioner) passes(dir int) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return !k.closed && k.dirs[dir].cfg == Direction{} && len(k.queue) == 0
}

// push queues a copy of b; the caller holds mu.
func (k *conditioner) push(dir int, due time.Time, b []byte, to netip.AddrPort, deliver func([]byte, netip.AddrPort)) *item {
	k.seq++
	it := &item{due: due, seq: k.seq, data: append([]byte(nil), b...), to: to, deliver: deliver, dir: dir}
	heap.Push(&k.queue, it)
	if k.queue[0] == it {
		select {
		case k.wake <- struct{}{}:
		default:
		}
	}
	return it
}

// run delivers queued datagrams when they are due.
func (k *conditioner) run() {
	defer close(k.done)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var ready []*item
	for {
		k.mu.Lock()
		now := k.now()
		ready = ready[:0]
		for len(k.queue) > 0 && !k.queue[0].due.After(now) {
			it := heap.Pop(&k.queue).(*item)
			if it.held && k.dirs[it.dir].held == it {
				k.dirs[it.dir].held = nil
			}
			ready = append(ready, it)
		}
		wait := time.Hour
		if len(k.queue) > 0 {
			wait = k.queue[0].due.Sub(now)
		}
		k.mu.Unlock()
		for _, it := range ready {
			it.deliver(it.data, it.to)
		}
		if len(ready) > 0 {
			continue
		}
		timer.Reset(wait)
		select {
		case <-k.stop:
			return
		case <-k.wake:
		case <-timer.C:
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
	}
}

// close stops the conditioner. Datagrams still queued outbound are
// delivered at once (so a goodbye is not lost to latency); inbound ones are
// dropped.
func (k *conditioner) close() {
	k.mu.Lock()
	if k.closed {
		k.mu.Unlock()
		return
	}
	k.closed = true
	close(k.stop)
	k.mu.Unlock()
	<-k.done
	k.mu.Lock()
	var out []*item
	for len(k.queue) > 0 {
		it := heap.Pop(&k.queue).(*item)
		if it.dir == dirOut {
			out = append(out, it)
		}
	}
	k.mu.Unlock()
	for _, it := range out {
		it.deliver(it.data, it.to)
	}
}

type itemHeap []*item

func (h itemHeap) Len() int { return len(h) }
func (h itemHeap) Less(i, j int) bool {
	if !h[i].due.Equal(h[j].due) {
		return h[i].due.Before(h[j].due)
	}
	return h[i].seq < h[j].seq
}
func (h itemHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}
func (h *itemHeap) Push(x any) {
	it := x.(*item)
	it.index = len(*h)
	*h = append(*h, it)
}
func (h *itemHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return it
}
