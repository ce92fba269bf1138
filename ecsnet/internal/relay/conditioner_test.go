package relay

import (
	"math"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// sink records what a conditioner delivers, with the time by clock when
// one is set.
type sink struct {
	clock func() time.Time

	mu    sync.Mutex
	got   []int // the first byte pair of each delivered datagram, as an index
	at    []time.Time
	bytes int
}

func (s *sink) deliver(b []byte, _ netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, int(b[0])<<8|int(b[1]))
	if s.clock != nil {
		s.at = append(s.at, s.clock())
	}
	s.bytes += len(b)
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

// waitFor polls until the sink holds n datagrams or the deadline passes.
func (s *sink) waitFor(t *testing.T, n int, deadline time.Duration) {
	t.Helper()
	end := time.Now().Add(deadline)
	for s.count() < n {
		if time.Now().After(end) {
			t.Fatalf("got %d datagrams, want %d", s.count(), n)
		}
		time.Sleep(time.Millisecond) // polling with a deadline
	}
}

func datagram(i, size int) []byte {
	b := make([]byte, max(size, 2))
	b[0], b[1] = byte(i>>8), byte(i)
	return b
}

// fakeClock is a conditioner's clock that moves only when the test moves
// it, so a schedule is checked exactly and never waited out.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{t: time.Unix(1_000_000, 0)} }

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// set moves the clock to t and wakes k's delivery goroutine to look at it.
func (c *fakeClock) set(k *conditioner, t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

// scheduled returns the due time of every datagram k holds, by index.
func scheduled(k *conditioner) map[int]time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	due := map[int]time.Time{}
	for _, it := range k.queue {
		due[int(it.data[0])<<8|int(it.data[1])] = it.due
	}
	return due
}

// deliveredOnSchedule fails unless every datagram s got arrived no earlier
// than it was due, in the order of the due times.
func deliveredOnSchedule(t *testing.T, s *sink, due map[int]time.Time, start time.Time) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	for j, i := range s.got {
		if s.at[j].Before(due[i]) {
			t.Fatalf("datagram %d delivered at +%v, due at +%v", i, s.at[j].Sub(start), due[i].Sub(start))
		}
		if j > 0 && due[i].Before(due[s.got[j-1]]) {
			t.Fatalf("datagram %d (due +%v) delivered after %d (due +%v)", i, due[i].Sub(start), s.got[j-1], due[s.got[j-1]].Sub(start))
		}
	}
}

// lossPattern runs n datagrams through one direction and returns which
// were lost.
func lossPattern(t *testing.T, c Conditions, n int) []bool {
	t.Helper()
	k := newConditioner(c)
	defer k.close()
	var s sink
	for i := range n {
		k.submit(dirOut, datagram(i, 2), netip.AddrPort{}, s.deliver)
	}
	lost := make([]bool, n)
	for i := range lost {
		lost[i] = true
	}
	s.mu.Lock()
	for _, i := range s.got {
		lost[i] = false // indices wrap at 65536; n stays below
	}
	s.mu.Unlock()
	return lost
}

func rate(lost []bool) float64 {
	k := 0
	for _, l := range lost {
		if l {
			k++
		}
	}
	return float64(k) / float64(len(lost))
}

// within fails unless got is within 5 standard deviations of a binomial
// proportion p over n trials (a false failure about once in 1.7 million).
func within(t *testing.T, what string, got, p float64, n int) {
	t.Helper()
	tol := 5 * math.Sqrt(p*(1-p)/float64(n))
	if math.Abs(got-p) > tol {
		t.Errorf("%s: %.4f, want %.4f +- %.4f", what, got, p, tol)
	} else {
		t.Logf("%s: %.4f (want %.4f +- %.4f)", what, got, p, tol)
	}
}

func TestConditionerUniformLoss(t *testing.T) {
	const n = 60000
	for _, p := range []float64{0.01, 0.2, 0.5} {
		within(t, "loss", rate(lossPattern(t, Conditions{Seed: 7, Out: Direction{Loss: p}}, n)), p, n)
	}
}

// Gilbert-Elliott loss has the long-run rate of its two states, and a loss
// makes the next one far likelier than the average (bursts).
func TestConditionerBurstLoss(t *testing.T) {
	const n = 60000
	d := Direction{Loss: 0.01, BurstStart: 0.02, BurstEnd: 0.2, BurstLoss: 0.8}
	lost := lossPattern(t, Conditions{Seed: 3, Out: d}, n)
	want := (d.BurstEnd*d.Loss + d.BurstStart*d.BurstLoss) / (d.BurstStart + d.BurstEnd)
	// Losses are correlated, so the binomial tolerance is widened 3x.
	within(t, "long-run loss", rate(lost), want, n/9)
	after, follow := 0, 0
	for i := 1; i < n; i++ {
		if lost[i-1] {
			after++
			if lost[i] {
				follow++
			}
		}
	}
	// In the bad state the next loss has probability about
	// (1-BurstEnd)*BurstLoss = 0.64.
	if cond := float64(follow) / float64(after); cond < 0.5 {
		t.Errorf("P(loss | loss before) = %.3f, want bursts (about 0.6)", cond)
	}
}

func TestConditionerSeedMakesItReproducible(t *testing.T) {
	c := Conditions{Seed: 42, Out: Direction{Loss: 0.3, BurstStart: 0.05, BurstEnd: 0.3, BurstLoss: 0.9}}
	a, b := lossPattern(t, c, 5000), lossPattern(t, c, 5000)
	if !slices.Equal(a, b) {
		t.Error("the same seed lost different datagrams")
	}
	c.Seed = 43
	if slices.Equal(a, lossPattern(t, c, 5000)) {
		t.Error("another seed lost the same datagrams")
	}
}

// Every datagram is due between Latency-Jitter and Latency+Jitter after it
// was submitted, spread over that range with the mean near Latency, and is
// delivered when it is due, not before.
func TestConditionerLatencyAndJitter(t *testing.T) {
	const n = 400
	const latency, jitter = 40 * time.Millisecond, 15 * time.Millisecond
	clock := newFakeClock()
	k := newConditionerClock(Conditions{Seed: 1, In: Direction{Latency: latency, Jitter: jitter}}, clock.now)
	defer k.close()
	s := sink{clock: clock.now}
	start := clock.now()
	for i := range n {
		k.submit(dirIn, datagram(i, 2), netip.AddrPort{}, s.deliver)
	}
	due := scheduled(k)
	if len(due) != n || s.count() != 0 {
		t.Fatalf("%d datagrams scheduled and %d delivered at once, want all %d scheduled", len(due), s.count(), n)
	}
	var sum time.Duration
	lo, hi := time.Hour, time.Duration(0)
	for _, at := range due {
		d := at.Sub(start)
		sum += d
		lo, hi = min(lo, d), max(hi, d)
	}
	mean := sum / n
	t.Logf("delay mean %v, min %v, max %v", mean, lo, hi)
	// The mean of n uniform jitters has a standard deviation of
	// jitter/sqrt(3n) = 0.43 ms.
	if tol := time.Duration(5 * float64(jitter) / math.Sqrt(3*n)); mean < latency-tol || mean > latency+tol {
		t.Errorf("mean delay %v, want %v +- %v", mean, latency, tol)
	}
	if lo < latency-jitter || hi > latency+jitter {
		t.Errorf("delays %v..%v, want within %v..%v", lo, hi, latency-jitter, latency+jitter)
	}
	// 400 uniform draws all miss the outer tenth of one side with a
	// probability of 1e-9.
	if lo > latency-jitter*9/10 || hi < latency+jitter*9/10 {
		t.Errorf("delays only %v..%v: the jitter of +-%v is not applied", lo, hi, jitter)
	}

	// Halfway, exactly those due by then have arrived; then the rest.
	half := 0
	for _, at := range due {
		if !at.After(start.Add(latency)) {
			half++
		}
	}
	clock.set(k, start.Add(latency))
	s.waitFor(t, half, 10*time.Second)
	deliveredOnSchedule(t, &s, due, start)
	clock.set(k, start.Add(latency+jitter))
	s.waitFor(t, n, 10*time.Second)
	deliveredOnSchedule(t, &s, due, start)
}

func TestConditionerDuplicatesAndReorders(t *testing.T) {
	const n = 20000
	k := newConditioner(Conditions{Seed: 9, Out: Direction{Duplicate: 0.1, Reorder: 0.1}})
	defer k.close()
	var s sink
	for i := range n {
		k.submit(dirOut, datagram(i, 2), netip.AddrPort{}, s.deliver)
	}
	s.waitFor(t, n+int(k.stats().Duplicated), 5*time.Second)
	st := k.stats()
	within(t, "duplicated", float64(st.Duplicated)/n, 0.1, n)
	within(t, "reordered", float64(st.Reordered)/n, 0.1, n)
	s.mu.Lock()
	defer s.mu.Unlock()
	inversions, seen := 0, map[int]int{}
	for j := 1; j < len(s.got); j++ {
		if s.got[j] < s.got[j-1] {
			inversions++
		}
	}
	for _, i := range s.got {
		seen[i]++
	}
	if len(seen) != n {
		t.Errorf("%d distinct datagrams arrived, want all %d", len(seen), n)
	}
	if inversions == 0 {
		t.Error("nothing arrived out of order")
	}
}

// A bandwidth cap spaces datagrams at the configured rate and drops what
// would queue for more than a second; the queue drains as time passes.
func TestConditionerBandwidthCap(t *testing.T) {
	const rate, size = 100_000, 1000       // bytes per second, per datagram
	const each = size * time.Second / rate // 10 ms on the link
	const kept = int(maxBacklog/each) + 1  // the last of them starts a second from now
	clock := newFakeClock()
	k := newConditionerClock(Conditions{Out: Direction{Bandwidth: rate}}, clock.now)
	defer k.close()
	s := sink{clock: clock.now}
	start := clock.now()
	// 1.3 s of traffic at once: the last 0.3 s would wait over a second.
	const n = 130
	for i := range n {
		k.submit(dirOut, datagram(i, size), netip.AddrPort{}, s.deliver)
	}
	if dropped := int(k.stats().QueueDropped); dropped != n-kept {
		t.Errorf("%d dropped, want the %d beyond a second's backlog", dropped, n-kept)
	}
	due := scheduled(k)
	// spaced checks that datagram i is due at +(i+1)*each, within rounding.
	spaced := func(i int, at time.Time) {
		t.Helper()
		if want := time.Duration(i+1) * each; at.Sub(start) < want-time.Microsecond || at.Sub(start) > want+time.Microsecond {
			t.Errorf("datagram %d due at +%v, want +%v (%d B/s)", i, at.Sub(start), want, rate)
		}
	}
	for i := range n {
		at, ok := due[i]
		switch {
		case i < kept && !ok:
			t.Errorf("datagram %d was not scheduled", i)
		case i < kept:
			spaced(i, at)
		case ok:
			t.Errorf("datagram %d, beyond the backlog, was scheduled", i)
		}
	}

	// Half a second later half a second's worth has gone out, and the link
	// takes half a second more before it drops again.
	later := start.Add(maxBacklog / 2)
	clock.set(k, later)
	s.waitFor(t, int(maxBacklog/2/each), 10*time.Second)
	const more = 60
	for i := range more {
		k.submit(dirOut, datagram(n+i, size), netip.AddrPort{}, s.deliver)
	}
	// The link is busy until +kept*each; what starts within a second of now
	// is taken.
	backlog := time.Duration(kept)*each - maxBacklog/2
	accepted := int((maxBacklog-backlog)/each) + 1
	if dropped := int(k.stats().QueueDropped); dropped != n-kept+more-accepted {
		t.Errorf("%d dropped in all, want %d", dropped, n-kept+more-accepted)
	}
	for i, at := range scheduled(k) {
		due[i] = at
		if i >= n {
			spaced(kept+i-n, at)
		}
	}
	clock.set(k, start.Add(2*maxBacklog))
	s.waitFor(t, kept+accepted, 10*time.Second)
	deliveredOnSchedule(t, &s, due, start)
	if s.bytes != (kept+accepted)*size {
		t.Errorf("%d bytes delivered, want %d", s.bytes, (kept+accepted)*size)
	}
}

// Conditions change while datagrams flow from several goroutines (run
// with -race).
func TestConditionerChangesWhileRunning(t *testing.T) {
	k := newConditioner(Conditions{})
	var s sink
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				k.submit(g%2, datagram(i, 2), netip.AddrPort{}, s.deliver)
			}
		})
	}
	for i := range 50 {
		k.setConditions(Conditions{Seed: uint64(i % 3), Out: Direction{Loss: 0.5, Latency: time.Millisecond}, In: Direction{Jitter: time.Millisecond}})
	}
	wg.Wait()
	k.setConditions(Conditions{})
	k.close()
	if got := k.conditions(); got != (Conditions{}) {
		t.Errorf("conditions %+v after reset", got)
	}
}
