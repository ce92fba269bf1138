// Package agones connects a netburi game server to Agones (game servers on
// Kubernetes) through the SDK sidecar's HTTP gateway, written with net/http
// and encoding/json.
//
// Client makes single blocking calls, one per documented endpoint. SDK
// wraps a Client for a game loop: its calls from the loop only queue
// requests, which a goroutine of its own sends with timeouts; it pings
// /health while the loop keeps ticking, follows /watch/gameserver, reports
// connected players from connection events, and turns outcomes into event
// entities of the loop's donburi world. Nothing it does blocks the loop.
package agones

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"
)

// DefaultHTTPPort is the sidecar's HTTP port when AGONES_SDK_HTTP_PORT is
// not set.
const DefaultHTTPPort = 9358

// GameServer is the sidecar's view of this game server (the fields of the
// documented GameServer object that a game uses).
type GameServer struct {
	ObjectMeta ObjectMeta       `json:"object_meta"`
	Spec       GameServerSpec   `json:"spec"`
	Status     GameServerStatus `json:"status"`
}

// ObjectMeta is the Kubernetes metadata of the GameServer.
type ObjectMeta struct {
	Name              string            `json:"name,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resource_version,omitempty"`
	Generation        int64             `json:"generation,omitempty,string"`
	CreationTimestamp int64             `json:"creation_timestamp,omitempty,string"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
}

// GameServerSpec holds the health-check settings.
type GameServerSpec struct {
	Health Health `json:"health"`
}

// Health is the GameServer's health-check configuration.
type Health struct {
	Disabled            bool  `json:"disabled,omitempty"`
	PeriodSeconds       int32 `json:"period_seconds,omitempty"`
	FailureThreshold    int32 `json:"failure_threshold,omitempty"`
	InitialDelaySeconds int32 `json:"initial_delay_seconds,omitempty"`
}

// GameServerStatus is where the GameServer stands.
type GameServerStatus struct {
	State   string        `json:"state"`
	Address string        `json:"address,omitempty"`
	Ports   []Port        `json:"ports,omitempty"`
	Players *PlayerStatus `json:"players,omitempty"`
}

// Port is one of the GameServer's published ports.
type Port struct {
	Name string `json:"name"`
	Port int32  `json:"port"`
}

// PlayerStatus is the PlayerTracking feature's record (alpha).
type PlayerStatus struct {
	Count    int64    `json:"count,omitempty,string"`
	Capacity int64    `json:"capacity,omitempty,string"`
	IDs      []string `json:"ids,omitempty"`
}

// GameServer states a game reacts to.
const (
	StateScheduled    = "Scheduled"
	StateRequestReady = "RequestReady"
	StateReady        = "Ready"
	StateReserved     = "Reserved"
	StateAllocated    = "Allocated"
	StateShutdown     = "Shutdown"
	StateUnhealthy    = "Unhealthy"
)

// Client calls the SDK sidecar's HTTP gateway. It is safe for concurrent
// use; each call blocks until the sidecar answers, ctx is done or the
// client's timeout passes.
type Client struct {
	base    string
	timeout time.Duration
	http    *http.Client
}

// NewClient returns a client of the gateway at base (such as
// "http://localhost:9358"); timeout bounds each call except Watch
// (default 5 s).
func NewClient(base string, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	return &Client{base: base, timeout: timeout, http: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
}

// CloseIdleConnections closes the client's idle keep-alive connections
// (and their goroutines).
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// BaseURL is the sidecar's address from the environment:
// http://localhost:$AGONES_SDK_HTTP_PORT, port 9358 when unset.
func BaseURL() string {
	port := strconv.Itoa(DefaultHTTPPort)
	if p := os.Getenv("AGONES_SDK_HTTP_PORT"); p != "" {
		port = p
	}
	return "http://localhost:" + port
}

// Ready tells Agones the server can take players.
func (c *Client) Ready(ctx context.Context) error {
	return c.call(ctx, "POST", "/ready", struct{}{}, nil)
}

// Health sends one health ping.
func (c *Client) Health(ctx context.Context) error {
	return c.call(ctx, "POST", "/health", struct{}{}, nil)
}

// Allocate marks the server Allocated (self-allocation).
func (c *Client) Allocate(ctx context.Context) error {
	return c.call(ctx, "POST", "/allocate", struct{}{}, nil)
}

// Shutdown tells Agones the server is done.
func (c *Client) Shutdown(ctx context.Context) error {
	return c.call(ctx, "POST", "/shutdown", struct{}{}, nil)
}

// Reserve marks the server Reserved for d (whole seconds; 0 until told
// otherwise); it returns to Ready afterwards unless allocated.
func (c *Client) Reserve(ctx context.Context, d time.Duration) error {
	body := struct {
		Seconds int64 `json:"seconds,string"`
	}{int64(d / time.Second)}
	return c.call(ctx, "POST", "/reserve", body, nil)
}

// GameServer fetches the current GameServer.
func (c *Client) GameServer(ctx context.Context) (GameServer, error) {
	var gs GameServer
	err := c.call(ctx, "GET", "/gameserver", nil, &gs)
	return gs, err
}

// SetLabel sets a label on the GameServer (Agones prefixes it with
// "agones.dev/sdk-").
func (c *Client) SetLabel(ctx context.Context, key, value string) error {
	return c.call(ctx, "PUT", "/metadata/label", keyValue{key, value}, nil)
}

type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type playerID struct {
	PlayerID string `json:"playerID"`
}

type boolResult struct {
	Bool bool `json:"bool"`
}

// PlayerConnect records a player (PlayerTracking feature); false when the
// ID was already connected.
func (c *Client) PlayerConnect(ctx context.Context, id string) (bool, error) {
	var r boolResult
	err := c.call(ctx, "POST", "/alpha/player/connect", playerID{id}, &r)
	return r.Bool, err
}

// PlayerDisconnect removes a player; false when the ID was not connected.
func (c *Client) PlayerDisconnect(ctx context.Context, id string) (bool, error) {
	var r boolResult
	err := c.call(ctx, "POST", "/alpha/player/disconnect", playerID{id}, &r)
	return r.Bool, err
}

// SetPlayerCapacity sets how many players the server takes.
func (c *Client) SetPlayerCapacity(ctx context.Context, n int64) error {
	body := struct {
		Count int64 `json:"count,string"`
	}{n}
	return c.call(ctx, "PUT", "/alpha/player/capacity", body, nil)
}

// Watch follows the GameServer: it calls fn with each version the sidecar
// streams, on the calling goroutine, until ctx is done or the stream ends
// or fails (the error says which; ctx's end returns ctx.Err()).
func (c *Client) Watch(ctx context.Context, fn func(GameServer)) error {
	req, err := http.NewRequestWithContext(ctx, "GET", c.base+"/watch/gameserver", nil)
	if err != nil {
		return fmt.Errorf("agones: watch: %w: %w", ErrUnreachable, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("agones: GET /watch/gameserver at %s: %w: %w", c.base, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if err := statusError(resp, "GET", "/watch/gameserver"); err != nil {
		return err
	}
	dec := json.NewDecoder(resp.Body)
	for {
		var msg struct {
			Result *GameServer `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := dec.Decode(&msg); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == io.EOF {
				return fmt.Errorf("agones: watch stream ended: %w", ErrUnreachable)
			}
			return fmt.Errorf("agones: watch stream: %w: %w", ErrMalformed, err)
		}
		switch {
		case msg.Error != nil:
			return fmt.Errorf("agones: watch stream: %w: %s", ErrStatus, msg.Error.Message)
		case msg.Result != nil:
			fn(*msg.Result)
		}
	}
}

func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("agones: %s %s: %w", method, path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return fmt.Errorf("agones: %s %s: %w: %w", method, path, ErrUnreachable, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("agones: %s %s at %s: %w: %w", method, path, c.base, ErrUnreachable, err)
	}
	defer resp.Body.Close()
	if err := statusError(resp, method, path); err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("agones: %s %s: %w: %w", method, path, ErrUnreachable, err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("agones: %s %s: %w: %w", method, path, ErrMalformed, err)
		}
	}
	return nil
}

func statusError(resp *http.Response, method, path string) error {
	if resp.StatusCode/100 == 2 {
		return nil
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return fmt.Errorf("agones: %s %s: %w: %s %s", method, path, ErrStatus, resp.Status, bytes.TrimSpace(msg))
}
