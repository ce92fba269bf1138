package game

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/metrics"
)

// BenchmarkServerTickMetrics measures what metrics cost a demo server with
// 16 bot clients (all stepped by the benchmark's goroutine, the bots
// untimed). One server runs ticks in pairs, one tick with metrics on (the
// metrics system's Update, publishing every DefaultPublishEvery of its
// calls, and the tick observed into the histogram) and one off, in a
// seeded random order, so both modes see the same world, clients and
// moment of a noisy machine. The registry is gathered once a simulated
// second, outside the timed tick, as Prometheus would scrape it from the
// HTTP goroutine. It reports each mode's mean server tick, leaving out
// ticks above that mode's 99th percentile (ENet stalls and GC pauses,
// which dwarf the difference), and the difference. "control" is the same
// with metrics never on: the method's own noise. One op is one pair.
func BenchmarkServerTickMetrics(b *testing.B) {
	b.Run("metrics", func(b *testing.B) { benchServerTickMetrics(b, true) })
	b.Run("control", func(b *testing.B) { benchServerTickMetrics(b, false) })
}

func benchServerTickMetrics(b *testing.B, metricsOn bool) {
	const bots = 16
	order := rand.New(rand.NewPCG(1, 2))
	node, err := NewServerNode(DefaultProtocol, 0, Settings{BindIP: "127.0.0.1"}, ServerOptions{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	var clients []*ClientNode
	b.Cleanup(func() {
		for _, c := range clients {
			c.Net.Close()
		}
		node.Net.Close()
	})
	m := metrics.New(node.World, node.Net, metrics.Options{
		Inputs: func() (uint64, uint64) { st := node.Sim.InputTotals(); return st.Late, st.Early },
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	on := false
	node.ECS.AddSystem(func(e *ecs.ECS) {
		if on && metricsOn {
			m.Update(e)
		}
	})
	for range bots {
		c, err := NewClientNode(DefaultProtocol, "127.0.0.1", node.Net.Transport().LocalPort(), Settings{}, BotInput)
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, c)
	}
	var spent [2][]time.Duration // off, on
	tick := func() {
		for _, c := range clients {
			c.Step()
		}
		start := time.Now()
		node.Step()
		mode := 0
		if on {
			mode = 1
			if metricsOn {
				m.ObserveTick(time.Since(start))
			}
		}
		spent[mode] = append(spent[mode], time.Since(start))
	}
	deadline := time.Now().Add(30 * time.Second)
	for accepted := 0; accepted < bots; {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d bots accepted within 30 s", accepted, bots)
		}
		tick()
		accepted = 0
		for _, c := range clients {
			if c.Net.Accepted() {
				accepted++
			}
		}
	}
	for range 2 * TickRate { // ships spawned, baselines acknowledged
		tick()
	}
	spent = [2][]time.Duration{}
	ticks := 0
	for b.Loop() {
		first := order.IntN(2) == 1
		for _, mode := range [2]bool{first, !first} {
			on = mode
			tick()
			ticks++
			if on && metricsOn && ticks%TickRate == 0 {
				if _, err := reg.Gather(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	off, withMetrics := trimmedMean(spent[0]), trimmedMean(spent[1])
	b.ReportMetric(off, "off-ns/tick")
	b.ReportMetric(withMetrics, "on-ns/tick")
	b.ReportMetric((withMetrics/off-1)*100, "overhead-%")
}

// trimmedMean is the mean in nanoseconds of the durations up to the 99th
// percentile.
func trimmedMean(ds []time.Duration) float64 {
	if len(ds) == 0 {
		return 0
	}
	ds = slices.Clone(ds)
	slices.Sort(ds)
	ds = ds[:max(1, len(ds)*99/100)]
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return float64(sum.Nanoseconds()) / float64(len(ds))
}
