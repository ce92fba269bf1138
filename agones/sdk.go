package agones

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
)

// Options tune an SDK. The zero value is usable.
type Options struct {
	// BaseURL is the sidecar's gateway; default BaseURL() (from
	// AGONES_SDK_HTTP_PORT).
	BaseURL string
	// Timeout bounds each request; default 2 s.
	Timeout time.Duration
	// ConnectTimeout is how long Start keeps trying to reach the sidecar
	// (which may start after the game); default 10 s.
	ConnectTimeout time.Duration
	// HealthPeriod is the interval of health pings; default 2 s. Keep it
	// under the GameServer's health period_seconds.
	HealthPeriod time.Duration
	// StallAfter: health pings stop while the game loop has not called
	// Update for this long, so Agones restarts a hung server; default
	// 2 health periods.
	StallAfter time.Duration
	// TrackPlayers reports each accepted client as a player (its peer ID)
	// and each departure (PlayerTracking feature).
	TrackPlayers bool
	// PlayerCapacity, when positive, is set once at start.
	PlayerCapacity int64
	// QueueSize bounds the requests waiting to be sent; default 256.
	QueueSize int
}

func (o Options) withDefaults() Options {
	if o.BaseURL == "" {
		o.BaseURL = BaseURL()
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.HealthPeriod <= 0 {
		o.HealthPeriod = 2 * time.Second
	}
	if o.StallAfter <= 0 {
		o.StallAfter = 2 * o.HealthPeriod
	}
	if o.QueueSize <= 0 {
		o.QueueSize = 256
	}
	return o
}

// EventKind is what an Agones event entity reports.
type EventKind int

// Event kinds.
const (
	// EventStateChanged: the watch stream brought a new GameServer state
	// (State; Allocated is the one a game usually waits for).
	EventStateChanged EventKind = iota + 1
	// EventRequestFailed: a request (Op) or the watch stream failed (Err).
	EventRequestFailed
)

// String names the kind.
func (k EventKind) String() string {
	switch k {
	case EventStateChanged:
		return "state changed"
	case EventRequestFailed:
		return "request failed"
	}
	return "unknown"
}

// EventData is one Agones event; its entity lives for one tick, like the
// network's connection events.
type EventData struct {
	Kind       EventKind
	State      string     // EventStateChanged: the new state
	GameServer GameServer // EventStateChanged: the whole object
	Op         string     // EventRequestFailed: "ready", "health", "watch", ...
	Err        error
}

// Event is carried by Agones event entities.
var Event = donburi.NewComponentType[EventData]()

type request struct {
	op string
	do func(context.Context) error
}

// SDK is a game loop's connection to the sidecar. Update, and the request
// methods (Ready, Shutdown, ...), belong to the game loop's goroutine; they
// never block: requests are queued and sent in order by the SDK's own
// goroutine, and their failures come back as event entities.
type SDK struct {
	c    *Client
	opts Options

	queue    chan request
	failures chan EventData
	latest   atomic.Pointer[GameServer]
	beat     atomic.Int64 // unix nanos of the loop's last Update
	health   atomic.Uint64
	dropped  atomic.Uint64

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	drained chan struct{} // closed when the sender has emptied the closed queue
	closed  bool

	// Owned by the game loop.
	connEvents *donburi.Query // per SDK: a query caches per world, unsynchronised
	seenState  string
	players    map[int]bool
	events     []donburi.Entity
}

// Start reaches the sidecar (retrying until ConnectTimeout, since it may
// start after the game), then starts the request sender, the health pings
// and the watch stream. It fails with ErrUnreachable, naming the address,
// when the sidecar never answers. Close stops everything.
func Start(ctx context.Context, opts Options) (*SDK, error) {
	opts = opts.withDefaults()
	c := NewClient(opts.BaseURL, opts.Timeout)
	deadline := time.Now().Add(opts.ConnectTimeout)
	var gs GameServer
	for {
		var err error
		if gs, err = c.GameServer(ctx); err == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("agones: enabled, but no SDK sidecar answered at %s within %v (is the game running under Agones, or the local SDK server started? AGONES_SDK_HTTP_PORT sets the port): %w",
				opts.BaseURL, opts.ConnectTimeout, err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(200 * time.Millisecond):
		}
	}
	s := &SDK{
		c: c, opts: opts,
		queue:    make(chan request, opts.QueueSize),
		failures: make(chan EventData, 64),
		drained:  make(chan struct{}),
		players:  map[int]bool{},

		connEvents: donburi.NewQuery(filter.Contains(components.ConnectionEvent)),
	}
	s.latest.Store(&gs)
	s.seenState = gs.Status.State
	s.beat.Store(time.Now().UnixNano())
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if opts.PlayerCapacity > 0 {
		n := opts.PlayerCapacity
		s.enqueue("player capacity", func(ctx context.Context) error { return c.SetPlayerCapacity(ctx, n) })
	}
	s.wg.Add(3)
	go s.send()
	go s.pingHealth()
	go s.watch()
	return s, nil
}

// Client is the SDK's HTTP client, for blocking calls off the game loop.
func (s *SDK) Client() *Client { return s.c }

// GameServer is the newest GameServer the sidecar reported (safe from any
// goroutine).
func (s *SDK) GameServer() GameServer { return *s.latest.Load() }

// HealthPings counts the health pings the sidecar accepted (safe from any
// goroutine).
func (s *SDK) HealthPings() uint64 { return s.health.Load() }

// Dropped counts requests and failure events dropped because their queue
// was full (safe from any goroutine).
func (s *SDK) Dropped() uint64 { return s.dropped.Load() }

// Ready queues POST /ready: call it once the host is bound and the world
// loaded.
func (s *SDK) Ready() { s.enqueue("ready", s.c.Ready) }

// Allocate queues POST /allocate.
func (s *SDK) Allocate() { s.enqueue("allocate", s.c.Allocate) }

// Reserve queues POST /reserve for d.
func (s *SDK) Reserve(d time.Duration) {
	s.enqueue("reserve", func(ctx context.Context) error { return s.c.Reserve(ctx, d) })
}

// Shutdown queues POST /shutdown.
func (s *SDK) Shutdown() { s.enqueue("shutdown", s.c.Shutdown) }

// SetLabel queues PUT /metadata/label.
func (s *SDK) SetLabel(key, value string) {
	s.enqueue("label", func(ctx context.Context) error { return s.c.SetLabel(ctx, key, value) })
}

// PlayerConnect queues POST /alpha/player/connect.
func (s *SDK) PlayerConnect(id string) {
	s.enqueue("player connect", func(ctx context.Context) error { _, err := s.c.PlayerConnect(ctx, id); return err })
}

// PlayerDisconnect queues POST /alpha/player/disconnect.
func (s *SDK) PlayerDisconnect(id string) {
	s.enqueue("player disconnect", func(ctx context.Context) error { _, err := s.c.PlayerDisconnect(ctx, id); return err })
}

func (s *SDK) enqueue(op string, do func(context.Context) error) {
	if s.closed {
		s.fail(op, ErrClosed)
		return
	}
	select {
	case s.queue <- request{op, do}:
	default:
		s.dropped.Add(1)
		s.fail(op, fmt.Errorf("agones: %s dropped: %w", op, ErrQueueFull))
	}
}

// fail reports a failure to the loop, dropping it when the loop is far
// behind.
func (s *SDK) fail(op string, err error) {
	select {
	case s.failures <- EventData{Kind: EventRequestFailed, Op: op, Err: err}:
	default:
		s.dropped.Add(1)
	}
}

// Update is the SDK's game-loop system (add it after the network's
// receive step, or call it once per tick): it records that the loop is
// alive, removes last tick's Agones events, raises this tick's, and with
// TrackPlayers reports connected and departed clients.
func (s *SDK) Update(e *ecs.ECS) { s.Step(e.World) }

// Step is Update for a world without an ecs.ECS.
func (s *SDK) Step(w donburi.World) {
	s.beat.Store(time.Now().UnixNano())
	for _, ent := range s.events {
		if w.Valid(ent) {
			w.Remove(ent)
		}
	}
	s.events = s.events[:0]
	if gs := s.latest.Load(); gs.Status.State != s.seenState {
		s.seenState = gs.Status.State
		s.raise(w, EventData{Kind: EventStateChanged, State: gs.Status.State, GameServer: *gs})
	}
	for more := true; more; {
		select {
		case ev := <-s.failures:
			s.raise(w, ev)
		default:
			more = false
		}
	}
	if s.opts.TrackPlayers {
		s.trackPlayers(w)
	}
}

// Events lists this tick's Agones events in w (the world Step runs on);
// call it on the game loop's goroutine.
func (s *SDK) Events(w donburi.World) []EventData {
	out := make([]EventData, 0, len(s.events))
	for _, e := range s.events {
		if w.Valid(e) {
			out = append(out, Event.GetValue(w.Entry(e)))
		}
	}
	return out
}

func (s *SDK) raise(w donburi.World, ev EventData) {
	e := w.Create(Event)
	Event.SetValue(w.Entry(e), ev)
	s.events = append(s.events, e)
}

func (s *SDK) trackPlayers(w donburi.World) {
	s.connEvents.Each(w, func(e *donburi.Entry) {
		ev := components.ConnectionEvent.Get(e)
		switch ev.Kind {
		case components.EventPeerAccepted:
			if !s.players[ev.PeerID] {
				s.players[ev.PeerID] = true
				s.PlayerConnect(strconv.Itoa(ev.PeerID))
			}
		case components.EventPeerDisconnected:
			if s.players[ev.PeerID] {
				delete(s.players, ev.PeerID)
				s.PlayerDisconnect(strconv.Itoa(ev.PeerID))
			}
		}
	})
}

// Close sends what is queued (until ctx is done), then stops the health
// pings and the watch stream and waits for the SDK's goroutines. Call it
// on the game loop's goroutine, after the last request.
func (s *SDK) Close(ctx context.Context) {
	if s.closed {
		return
	}
	s.closed = true
	close(s.queue)
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.wg.Wait()
	}()
	select {
	case <-s.drained:
	case <-ctx.Done():
	}
	s.cancel()
	<-done
	s.c.CloseIdleConnections()
}

func (s *SDK) send() {
	defer s.wg.Done()
	defer close(s.drained)
	for r := range s.queue {
		if err := r.do(s.ctx); err != nil {
			s.fail(r.op, err)
		}
	}
}

func (s *SDK) pingHealth() {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.HealthPeriod)
	defer t.Stop()
	failing := false
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		if time.Since(time.Unix(0, s.beat.Load())) > s.opts.StallAfter {
			continue // the loop is stuck: let Agones see the server unhealthy
		}
		if err := s.c.Health(s.ctx); err != nil {
			if !failing && s.ctx.Err() == nil {
				s.fail("health", err) // once per run of failures
			}
			failing = true
			continue
		}
		failing = false
		s.health.Add(1)
	}
}

func (s *SDK) watch() {
	defer s.wg.Done()
	backoff := 100 * time.Millisecond
	for s.ctx.Err() == nil {
		err := s.c.Watch(s.ctx, func(gs GameServer) {
			s.latest.Store(&gs)
			backoff = 100 * time.Millisecond
		})
		if s.ctx.Err() != nil {
			return
		}
		s.fail("watch", err)
		select {
		case <-s.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}
