package game

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
)

// The dedicated server's MaxClients is the host's limit: with room for
// one, a second client is never answered (its connection fails) and the
// server keeps exactly one peer.
func TestDedicatedServerTakesAtMostMaxClients(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan DedicatedInfo, 1)
	var peers, most atomic.Int32
	done := make(chan error, 1)
	go func() {
		q := donburi.NewQuery(filter.Contains(components.RemotePeer)) // the loop's own
		done <- RunDedicated(ctx, DedicatedOptions{
			Settings: Settings{BindIP: "127.0.0.1"}, MaxClients: 1, DrainTimeout: time.Second,
			Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
			Started: func(i DedicatedInfo) { started <- i },
			Tick: func(w donburi.World) {
				n := int32(q.Count(w))
				peers.Store(n)
				if n > most.Load() {
					most.Store(n)
				}
			},
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("RunDedicated: %v", err)
		}
	})
	var port int
	select {
	case i := <-started:
		port = i.Port
	case err := <-done:
		t.Fatalf("RunDedicated ended before it started: %v", err)
	}

	first, err := NewClientNode(DefaultProtocol, "127.0.0.1", port, Settings{}, BotInput)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Net.Close()
	stepUntil(t, "the first client accepted", func() bool { first.Step(); return first.Net.Accepted() && peers.Load() == 1 })

	// A short ENet timeout makes the unanswered connection fail in about
	// a second instead of ENet's default 5 to 30.
	second, err := NewClientNode(DefaultProtocol, "127.0.0.1", port,
		Settings{Timeout: ecsnet.Timeout{Limit: 4, Minimum: 500 * time.Millisecond, Maximum: time.Second}}, BotInput)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Net.Close()
	failed := donburi.NewQuery(filter.Contains(components.ConnectionEvent))
	stepUntil(t, "the second client's connection failing", func() bool {
		first.Step()
		second.Step()
		gaveUp := false
		failed.Each(second.World, func(e *donburi.Entry) {
			gaveUp = gaveUp || components.ConnectionEvent.Get(e).Kind == components.EventConnectionFailed
		})
		return gaveUp
	})
	if second.Net.Accepted() {
		t.Error("the second client was accepted by a server for one")
	}
	if got := most.Load(); got != 1 {
		t.Errorf("the server had up to %d peers with MaxClients 1", got)
	}
}

// stepUntil calls step at the tick rate until it reports true, failing
// the test after 20 s.
func stepUntil(t *testing.T, what string, step func() bool) {
	t.Helper()
	end := time.Now().Add(20 * time.Second)
	for !step() {
		if time.Now().After(end) {
			t.Fatalf("%s: not within 20 s", what)
		}
		time.Sleep(time.Second / TickRate)
	}
}
