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
	set := Settings{Compression: ecsnet.CompressNone, Record: func(p []byte) {
		mu.Lock()
		defer mu.Unlock()
		if on && len(samples) < limit {
			samples = append(samples, bytes.Clone(p))
		}
	}}
	_, _, stop, err := loopbackSession(ctx, set, bots)
	if err != nil {
		return nil, err
	}
	defer stop()
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
