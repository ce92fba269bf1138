package metrics_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/metrics"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
)

type spot struct{ X, Y float32 }

var spotType = donburi.NewComponentType[spot]()

// served is a server with clients over loopback whose metrics are served
// on a loopback HTTP port.
type served struct {
	h   *nettest.Harness
	m   *metrics.Network
	url string
}

func serveB(b *testing.B, clients int) *served { return serve(b, clients, metrics.Options{}) }

func serve(t testing.TB, clients int, opts metrics.Options) *served {
	t.Helper()
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, spotType, "spot")
	s := &served{}
	s.h = nettest.New(t, nettest.Options{
		Registry: reg, Clients: clients,
		// ENet over loopback: the host, guard and relay series are ENet's.
		// Every client comes from 127.0.0.1, so the guard's limit of
		// handshakes pending per address is raised to let them all join
		// at once (at the default, 4, the others wait for ENet to resend
		// their CONNECT, longer than Connect's fast ticks last).
		Config: systems.Config{Transport: ecsnet.Options{BindIP: "127.0.0.1", Guard: ecsnet.GuardLimits{MaxPendingPerAddress: 64}}},
		Systems: func(i int, n *nettest.Node) {
			if i == -1 {
				s.m = metrics.New(n.World, n.Net, opts)
				n.ECS.AddSystem(s.m.Update)
			}
		},
	})
	pr := prometheus.NewRegistry()
	pr.MustRegister(s.m)
	srv, err := metrics.Serve("127.0.0.1:0", pr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	s.url = "http://" + srv.Addr().String() + "/metrics"
	w := s.h.Server.World
	for i := range 40 {
		e := w.Create(components.Replicated, spotType)
		spotType.SetValue(w.Entry(e), spot{X: float32(i)})
	}
	s.h.Connect()
	return s
}

// run steps n ticks, moving every entity, and records each server tick.
func (s *served) run(n int) {
	for range n {
		spotType.Each(s.h.Server.World, func(e *donburi.Entry) { spotType.Get(e).Y++ })
		start := time.Now()
		s.h.Server.Step()
		s.m.ObserveTick(time.Since(start))
		for _, c := range s.h.Clients {
			c.Step()
		}
	}
}

// scrape fetches /metrics and returns each series (name{labels}) with its
// value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s: %s", resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("scrape: line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

func need(t *testing.T, got map[string]float64, series string) float64 {
	t.Helper()
	v, ok := got[series]
	if !ok {
		t.Fatalf("series %s missing from the scrape", series)
	}
	return v
}

func TestScrapeOfARunningServerShowsItsClientsAndGrowingTraffic(t *testing.T) {
	const clients = 3
	s := serve(t, clients, metrics.Options{PublishEvery: 2})
	s.run(60)
	first := scrape(t, s.url)
	if got := need(t, first, `netburi_peers{state="connected"}`); got != clients {
		t.Errorf("connected peers %v, want %d", got, clients)
	}
	lane := `{channel="2",lane="0",mode="unreliable"}`
	grows := []string{
		`netburi_udp_bytes_total{direction="out"}`, `netburi_udp_bytes_total{direction="in"}`,
		`netburi_udp_datagrams_total{direction="out"}`,
		`netburi_payload_bytes_total{direction="out"}`, `netburi_payload_bytes_total{direction="in"}`,
		`netburi_payload_packets_total{direction="out"}`,
		`netburi_replication_bytes_total` + lane, `netburi_replication_datagrams_total` + lane,
		`netburi_replication_encode_seconds_total` + lane,
		`netburi_tick_duration_seconds_count`, `netburi_tick`,
	}
	for _, series := range grows {
		if v := need(t, first, series); v <= 0 {
			t.Errorf("%s = %v after 60 ticks with %d clients", series, v, clients)
		}
	}
	if v := need(t, first, `netburi_replication_full_states_total`+lane); v < clients {
		t.Errorf("full states %v: each of %d clients gets one first", v, clients)
	}
	for _, series := range []string{`netburi_peer_drops_total{reason="forged_source"}`, `netburi_host_drops_total{reason="stray_dropped"}`} {
		if v := need(t, first, series); v != 0 {
			t.Errorf("%s = %v on a clean loopback", series, v)
		}
	}
	if rtt := need(t, first, `netburi_peer_rtt_max_seconds`); rtt < 0 || rtt > 1 {
		t.Errorf("max RTT %v s on loopback", rtt)
	}
	if _, ok := first[`netburi_peer_rtt_seconds{peer="`+strconv.Itoa(s.h.Clients[0].Net.ID())+`"}`]; ok {
		t.Error("per-peer series without Options.PerPeer")
	}

	s.run(60)
	second := scrape(t, s.url)
	for _, series := range grows {
		if second[series] <= first[series] {
			t.Errorf("%s did not grow over 60 ticks: %v -> %v", series, first[series], second[series])
		}
	}

	// A client leaves: the count follows, and the payload counters keep
	// what it exchanged (counters never go back).
	s.h.Clients[0].Net.Close()
	s.h.Clients = s.h.Clients[1:]
	var third map[string]float64
	s.h.StepUntil(2000, "the server sees the client leave", func() bool {
		s.m.Publish()
		third = scrape(t, s.url)
		return third[`netburi_peers{state="connected"}`] == clients-1
	})
	for _, series := range []string{`netburi_payload_bytes_total{direction="out"}`, `netburi_payload_bytes_total{direction="in"}`} {
		if third[series] < second[series] {
			t.Errorf("%s went back when a client left: %v -> %v", series, second[series], third[series])
		}
	}
}

// A datagram too short for the header its flags announce, sent from a raw
// UDP socket, is dropped by the guard in front of libenet: the scrape shows
// it under its rule, and the honest clients stay connected.
func TestGuardDropsAppearByRule(t *testing.T) {
	s := serve(t, 1, metrics.Options{PublishEvery: 1})
	s.run(10)
	before := scrape(t, s.url)
	for _, series := range []string{`netburi_guard_drops_total{rule="short"}`, `netburi_guard_events_total{event="abuse_disconnects"}`,
		`netburi_refused_few_channels_total`, `netburi_relay_events_total{event="hello_verifies"}`} {
		if v := need(t, before, series); v != 0 {
			t.Errorf("%s = %v on a clean loopback", series, v)
		}
	}
	if _, ok := before[`netburi_host_drops_total{reason="guard_short"}`]; ok {
		t.Error("the guard's drops are also host drops: counted twice")
	}

	conn, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(s.h.Server.Net.Transport().LocalPort()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const sent = 5
	for range sent {
		if _, err := conn.Write([]byte{0xCF, 0xFF}); err != nil {
			t.Fatal(err)
		}
	}
	var after map[string]float64
	s.h.StepUntil(2000, "the guard's Short drops in the scrape", func() bool {
		s.m.Publish()
		after = scrape(t, s.url)
		return after[`netburi_guard_drops_total{rule="short"}`] >= sent
	})
	if got := need(t, after, `netburi_peers{state="connected"}`); got != 1 {
		t.Errorf("connected peers %v after the garbage, want 1", got)
	}
}

func TestPerPeerSeriesAreOptIn(t *testing.T) {
	s := serve(t, 2, metrics.Options{PerPeer: true, PublishEvery: 1})
	s.run(30)
	got := scrape(t, s.url)
	for _, c := range s.h.Clients {
		id := strconv.Itoa(c.Net.ID())
		need(t, got, `netburi_peer_rtt_seconds{peer="`+id+`"}`)
		if v := need(t, got, `netburi_peer_payload_bytes_total{direction="out",peer="`+id+`"}`); v <= 0 {
			t.Errorf("peer %s: %v payload bytes sent", id, v)
		}
	}
}

func TestInputCountersAppearWhenTheGameReportsThem(t *testing.T) {
	late := uint64(0)
	s := serve(t, 1, metrics.Options{PublishEvery: 1, Inputs: func() (uint64, uint64) { late++; return late, 2 }})
	s.run(5)
	got := scrape(t, s.url)
	if need(t, got, "netburi_inputs_late_total") < 5 || need(t, got, "netburi_inputs_malformed_total") != 2 {
		t.Errorf("inputs %v late, %v malformed", got["netburi_inputs_late_total"], got["netburi_inputs_malformed_total"])
	}
}

func TestServeOnATakenAddressFailsWithErrListen(t *testing.T) {
	a, err := metrics.Serve("127.0.0.1:0", prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	_, err = metrics.Serve(a.Addr().String(), prometheus.NewRegistry())
	if err == nil || !strings.Contains(err.Error(), a.Addr().String()) {
		t.Fatalf("second server on %s: %v", a.Addr(), err)
	}
	if !errors.Is(err, metrics.ErrListen) {
		t.Errorf("%v does not wrap ErrListen", err)
	}
}

// On a transport other than ENet (the in-memory one) the per-peer series
// come from transport.LinkStats; the ENet host's own series are absent
// rather than zero.
func TestOnAnotherTransportPeersAreCountedAndENetSeriesAbsent(t *testing.T) {
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, spotType, "spot")
	var m *metrics.Network
	h := nettest.New(t, nettest.Options{
		Registry: reg, Clients: 2,
		Systems: func(i int, n *nettest.Node) {
			if i == -1 {
				m = metrics.New(n.World, n.Net, metrics.Options{PublishEvery: 1})
				n.ECS.AddSystem(m.Update)
			}
		},
	})
	h.Server.World.Create(components.Replicated, spotType)
	h.Connect()
	for range 30 {
		h.Step()
	}
	pr := prometheus.NewRegistry()
	pr.MustRegister(m)
	srv, err := metrics.Serve("127.0.0.1:0", pr)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	got := scrape(t, "http://"+srv.Addr().String()+"/metrics")
	if v := need(t, got, `netburi_peers{state="connected"}`); v != 2 {
		t.Errorf("connected peers %v, want 2", v)
	}
	if v := need(t, got, `netburi_payload_bytes_total{direction="out"}`); v <= 0 {
		t.Errorf("payload bytes out %v after 30 ticks with 2 clients", v)
	}
	need(t, got, `netburi_peer_drops_total{reason="unclassified"}`)
	for series := range got {
		for _, enet := range []string{"netburi_udp_", "netburi_guard_", "netburi_host_drops", "netburi_relay_"} {
			if strings.HasPrefix(series, enet) {
				t.Errorf("ENet series %s on the in-memory transport", series)
			}
		}
	}
}
