package ecsnet

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// One Poll handles at most the poll limit's events; the rest wait, queued
// in order, for the next calls, and the calls that reached the limit are
// counted.
func TestPollStopsAtItsLimit(t *testing.T) {
	n := newTestNet(t)
	srv := n.server(2)
	c := n.connected(srv)
	const count, limit = 200, 16
	if err := srv.SetPollLimit(-1); !errors.Is(err, ErrInvalidParameter) {
		t.Errorf("SetPollLimit(-1) = %v, want ErrInvalidParameter", err)
	}
	must(t, srv.SetPollLimit(limit))
	var want []string
	for i := range count {
		want = append(want, fmt.Sprintf("p%03d", i))
		send(t, c, 1, TransferReliable, want[i])
	}
	c.Flush()
	var got []string
	most := 0
	end := time.Now().Add(defaultWait)
	for len(got) < count && time.Now().Before(end) {
		must(t, srv.PollWait(time.Millisecond))
		k := 0
		for pk, ok := srv.Receive(); ok; pk, ok = srv.Receive() {
			got = append(got, string(pk.Data))
			k++
		}
		most = max(most, k)
		must(t, c.Poll())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("server got %d of %d packets (in order: %v)", len(got), count, slices.Equal(got, want[:len(got)]))
	}
	if most > limit {
		t.Errorf("one Poll delivered %d packets, limit %d", most, limit)
	}
	if most < limit || srv.Stats().PollLimited == 0 {
		t.Errorf("the limit was never reached (at most %d per Poll, %d limited calls): the test sent too slowly", most, srv.Stats().PollLimited)
	}
}
