package relay

import (
	"math"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"
)

// sink records what a conditioner delivers, with the time.
type sink struct {
	mu    sync.Mutex
	got   []int // the first byte pair of each delivered datagram, as an index
	at    []time.Time
	bytes int
}

func (s *sink) deliver(b []byte, _ netip.AddrPort) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.got = append(s.got, int(b[0])<<8|int(b[1]))
	s.at = append(s.at, time.Now())
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

// Every datagram arrives between Latency-Jitter and Latency+Jitter (plus
// scheduling slack), with the mean near Latency.
func TestConditionerLatencyAndJitter(t *testing.T) {
	const n = 400
	const latency, jitter = 40 * time.Millisecond, 15 * time.Millisecond
	k := newConditioner(Conditions{Seed: 1, In: Direction{Latency: latency, Jitter: jitter}})
	defer k.close()
	var s sink
	sent := make([]time.Time, n)
	for i := range n {
		sent[i] = time.Now()
		k.submit(dirIn, datagram(i, 2), netip.AddrPort{}, s.deliver)
	}
	s.waitFor(t, n, 5*time.Second)
	var sum time.Duration
	lo, hi := time.Hour, time.Duration(0)
	for j, i := range s.got {
		d := s.at[j].Sub(sent[i])
		sum += d
		lo, hi = min(lo, d), max(hi, d)
	}
	mean := sum / n
	t.Logf("delay mean %v, min %v, max %v", mean, lo, hi)
	// The mean of n uniform jitters has a standard deviation of
	// jitter/sqrt(3n) = 0.43 ms; the rest of the margin is the timer's.
	if mean < latency-2*time.Millisecond || mean > latency+5*time.Millisecond {
		t.Errorf("mean delay %v, want about %v", mean, latency)
	}
	if lo < latency-jitter || hi > latency+jitter+20*time.Millisecond {
		t.Errorf("delays %v..%v, want within %v..%v", lo, hi, latency-jitter, latency+jitter)
	}
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
// would queue for more than a second.
func TestConditionerBandwidthCap(t *testing.T) {
	const rate, size = 100_000, 1000 // bytes per second, per datagram
	k := newConditioner(Conditions{Out: Direction{Bandwidth: rate}})
	defer k.close()
	var s sink
	start := time.Now()
	const n = 130 // 1.3 s of traffic: the last 0.3 s is dropped
	for i := range n {
		k.submit(dirOut, datagram(i, size), netip.AddrPort{}, s.deliver)
	}
	dropped := int(k.stats().QueueDropped)
	if dropped < 25 || dropped > 35 {
		t.Errorf("%d dropped, want about 30", dropped)
	}
	s.waitFor(t, n-dropped, 5*time.Second)
	took := s.at[len(s.at)-1].Sub(start)
	got := float64(s.bytes) / took.Seconds()
	t.Logf("%d bytes in %v: %.0f B/s", s.bytes, took, got)
	if got < rate*0.9 || got > rate*1.1 {
		t.Errorf("throughput %.0f B/s, want %d +- 10%%", got, rate)
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
