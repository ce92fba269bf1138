// Package agonestest is an in-process stand-in for the Agones SDK
// sidecar's HTTP gateway, for tests: the documented endpoints and JSON
// shapes (int64 values as JSON strings), the local SDK server's state
// machine (Ready -> Allocated -> Shutdown; Reserved back to Ready when its
// time is up), PlayerTracking, a streaming watch, a record of every call,
// and faults to inject (error statuses, slow or stalled answers).
package agonestest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Call is one request the sidecar received.
type Call struct {
	Method, Path string
	Body         map[string]any // the decoded JSON body (nil without one)
	At           time.Time
	Status       int // what the sidecar answered
}

// Fault changes how the sidecar answers one path.
type Fault struct {
	Status int           // answer with this HTTP status (0: normal)
	Delay  time.Duration // wait this long first
	Stall  bool          // never answer until the client gives up or the sidecar closes
}

// Sidecar is a fake SDK sidecar on a loopback httptest server. Its methods
// are safe from any goroutine.
type Sidecar struct {
	srv  *httptest.Server
	stop chan struct{}

	mu       sync.Mutex
	state    string
	labels   map[string]string
	players  []string
	capacity int64
	calls    []Call
	faults   map[string]Fault
	watchers map[chan struct{}]bool
	version  int
}

// New starts a sidecar in state Scheduled; it closes when the test ends.
func New(t testing.TB) *Sidecar {
	s := &Sidecar{state: "Scheduled", labels: map[string]string{}, faults: map[string]Fault{},
		watchers: map[chan struct{}]bool{}, stop: make(chan struct{})}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// URL is the gateway's base URL (for agones.Options.BaseURL).
func (s *Sidecar) URL() string { return s.srv.URL }

// Close stops the sidecar, ending stalled answers and watch streams (a
// sidecar that went away).
func (s *Sidecar) Close() {
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		return
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// SetFault makes path answer as f; a zero Fault restores it.
func (s *Sidecar) SetFault(path string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[path] = f
}

// State is the GameServer's state.
func (s *Sidecar) State() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// Players are the connected player IDs, in connection order.
func (s *Sidecar) Players() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.players)
}

// Capacity is the player capacity set.
func (s *Sidecar) Capacity() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.capacity
}

// Calls is every request so far, in arrival order.
func (s *Sidecar) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// Paths lists the paths of the calls so far, leaving out health pings
// and watches, in order.
func (s *Sidecar) Paths() []string {
	var out []string
	for _, c := range s.Calls() {
		if c.Path != "/health" && c.Path != "/watch/gameserver" {
			out = append(out, c.Method+" "+c.Path)
		}
	}
	return out
}

// HealthPings are the times of the health pings answered 200.
func (s *Sidecar) HealthPings() []time.Time {
	var out []time.Time
	for _, c := range s.Calls() {
		if c.Path == "/health" && c.Status == http.StatusOK {
			out = append(out, c.At)
		}
	}
	return out
}

// Allocate allocates the server as a GameServerAllocation would.
func (s *Sidecar) Allocate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.setState("Allocated")
}

// setState changes the state and wakes the watchers; s.mu is held.
func (s *Sidecar) setState(st string) {
	if s.state == "Shutdown" {
		return // the end
	}
	s.state = st
	s.changed()
}

func (s *Sidecar) changed() {
	s.version++
	for w := range s.watchers {
		select {
		case w <- struct{}{}:
		default:
		}
	}
}

// gameServer is the documented GameServer JSON; s.mu is held.
func (s *Sidecar) gameServer() map[string]any {
	return map[string]any{
		"object_meta": map[string]any{
			"name": "netburi-test", "namespace": "default", "uid": "1234",
			"resource_version": strconv.Itoa(s.version), "generation": "1",
			"creation_timestamp": "1700000000", "labels": s.labels,
		},
		"spec": map[string]any{"health": map[string]any{"period_seconds": 5, "failure_threshold": 3, "initial_delay_seconds": 5}},
		"status": map[string]any{
			"state": s.state, "address": "127.0.0.1",
			"ports": []map[string]any{{"name": "default", "port": 7777}},
			"players": map[string]any{
				"count": strconv.Itoa(len(s.players)), "capacity": strconv.FormatInt(s.capacity, 10), "ids": slices.Clone(s.players),
			},
		},
	}
}

type route struct {
	method string
	body   bool // a JSON object body is required
}

var routes = map[string]route{
	"/ready": {"POST", true}, "/health": {"POST", true}, "/allocate": {"POST", true},
	"/shutdown": {"POST", true}, "/reserve": {"POST", true}, "/gameserver": {"GET", false},
	"/watch/gameserver": {"GET", false}, "/metadata/label": {"PUT", true},
	"/alpha/player/connect": {"POST", true}, "/alpha/player/disconnect": {"POST", true},
	"/alpha/player/capacity": {"PUT", true},
}

func (s *Sidecar) serve(w http.ResponseWriter, r *http.Request) {
	call := Call{Method: r.Method, Path: r.URL.Path, At: time.Now()}
	status, out := s.handle(w, r, &call)
	if status == 0 {
		return // a watch stream, answered and recorded already
	}
	s.mu.Lock()
	call.Status = status
	s.calls = append(s.calls, call)
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(out)
}

func errBody(code int, format string, a ...any) (int, any) {
	return code, map[string]any{"code": code, "message": fmt.Sprintf(format, a...)}
}

func (s *Sidecar) handle(w http.ResponseWriter, r *http.Request, call *Call) (int, any) {
	rt, ok := routes[r.URL.Path]
	if !ok {
		return errBody(http.StatusNotFound, "no route %s", r.URL.Path)
	}
	if r.Method != rt.method {
		return errBody(http.StatusMethodNotAllowed, "%s wants %s", r.URL.Path, rt.method)
	}
	if rt.body {
		data, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err := json.Unmarshal(data, &call.Body); err != nil || call.Body == nil {
			return errBody(http.StatusBadRequest, "body %q is not a JSON object", data)
		}
	}
	s.mu.Lock()
	f := s.faults[r.URL.Path]
	s.mu.Unlock()
	if f.Delay > 0 || f.Stall {
		var wait <-chan time.Time
		if !f.Stall {
			wait = time.After(f.Delay)
		}
		select {
		case <-wait:
		case <-r.Context().Done():
			return http.StatusGatewayTimeout, nil // the client gave up
		case <-s.stop:
			return http.StatusServiceUnavailable, nil
		}
	}
	if f.Status != 0 {
		return errBody(f.Status, "injected fault")
	}
	if r.URL.Path == "/watch/gameserver" {
		s.watch(w, r, call)
		return 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	empty := map[string]any{}
	switch r.URL.Path {
	case "/ready":
		s.setState("Ready")
	case "/health":
	case "/allocate":
		s.setState("Allocated")
	case "/shutdown":
		s.setState("Shutdown")
	case "/reserve":
		secs, err := int64String(call.Body, "seconds")
		if err != nil {
			return errBody(http.StatusBadRequest, "reserve: %v", err)
		}
		s.setState("Reserved")
		if secs > 0 {
			v := s.version
			time.AfterFunc(time.Duration(secs)*time.Second, func() {
				s.mu.Lock()
				defer s.mu.Unlock()
				if s.state == "Reserved" && s.version == v {
					s.setState("Ready")
				}
			})
		}
	case "/gameserver":
		return http.StatusOK, s.gameServer()
	case "/metadata/label":
		k, _ := call.Body["key"].(string)
		v, _ := call.Body["value"].(string)
		if k == "" {
			return errBody(http.StatusBadRequest, "label without a key")
		}
		s.labels["agones.dev/sdk-"+k] = v
		s.changed()
	case "/alpha/player/connect", "/alpha/player/disconnect":
		id, _ := call.Body["playerID"].(string)
		if id == "" {
			return errBody(http.StatusBadRequest, "no playerID")
		}
		i := slices.Index(s.players, id)
		if r.URL.Path == "/alpha/player/disconnect" {
			if i < 0 {
				return http.StatusOK, map[string]any{"bool": false}
			}
			s.players = slices.Delete(s.players, i, i+1)
			s.changed()
			return http.StatusOK, map[string]any{"bool": true}
		}
		if i >= 0 {
			return http.StatusOK, map[string]any{"bool": false}
		}
		if int64(len(s.players)) >= s.capacity {
			return errBody(http.StatusInternalServerError, "players are already at capacity")
		}
		s.players = append(s.players, id)
		s.changed()
		return http.StatusOK, map[string]any{"bool": true}
	case "/alpha/player/capacity":
		n, err := int64String(call.Body, "count")
		if err != nil {
			return errBody(http.StatusBadRequest, "capacity: %v", err)
		}
		s.capacity = n
		s.changed()
	}
	return http.StatusOK, empty
}

// int64String reads an int64 field sent, as documented, as a JSON string.
func int64String(body map[string]any, key string) (int64, error) {
	v, ok := body[key].(string)
	if !ok {
		return 0, fmt.Errorf("%q is %T, want an int64 as a JSON string", key, body[key])
	}
	return strconv.ParseInt(v, 10, 64)
}

// watch streams the GameServer, one {"result": ...} object per change,
// starting with the current one.
func (s *Sidecar) watch(w http.ResponseWriter, r *http.Request, call *Call) {
	wake := make(chan struct{}, 1)
	s.mu.Lock()
	s.watchers[wake] = true
	call.Status = http.StatusOK
	s.calls = append(s.calls, *call)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.watchers, wake)
		s.mu.Unlock()
	}()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	fl, _ := w.(http.Flusher)
	enc := json.NewEncoder(w)
	for {
		s.mu.Lock()
		msg := map[string]any{"result": s.gameServer()}
		s.mu.Unlock()
		if enc.Encode(msg) != nil {
			return
		}
		if fl != nil {
			fl.Flush()
		}
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		case <-s.stop:
			return
		}
	}
}
