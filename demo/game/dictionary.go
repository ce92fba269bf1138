package game

import (
	"bytes"
	"context"
	"sync"
	"time"

	"github.com/netburi/netburi/ecsnet"
)

// RecordSession plays the demo on loopback for d, a server and bots, and
// returns the packets they sent (at most limit, the first ones after every
// bot joined): samples of real traffic for ecsnet.TrainDictionary. It is
// how assets.Dictionary was made (see demo/dictgen). Any goroutine may call
// it; it runs the nodes on goroutines of their own.
func RecordSession(ctx context.Context, bots int, d time.Duration, limit int) ([][]byte, error) {
	var (
		mu      sync.Mutex
		samples [][]byte
		on      bool
	)
	set := Settings{Compression: ecsnet.CompressNone, BindIP: "127.0.0.1", Record: func(p []byte) {
		mu.Lock()
		defer mu.Unlock()
		if on && len(samples) < limit {
			samples = append(samples, bytes.Clone(p))
		}
	}}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srv, err := StartServer(ctx, DefaultProtocol, 0, set, ServerOptions{})
	if err != nil {
		return nil, err
	}
	defer srv.Wait()
	defer cancel()
	set.BindIP = ""
	b, err := StartBots(ctx, DefaultProtocol, bots, "127.0.0.1", srv.Port(), set, nil)
	if err != nil {
		return nil, err
	}
	defer b.Wait()
	defer cancel()
	deadline := time.Now().Add(30 * time.Second)
	for b.Accepted() < bots && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(20 * time.Millisecond) // polling a counter, with a deadline
	}
	mu.Lock()
	on = true
	mu.Unlock()
	if !sleepCtx(ctx, d) {
		return nil, ctx.Err()
	}
	mu.Lock()
	defer mu.Unlock()
	on = false
	return samples, nil
}
