package replication

import (
	"testing"

	"github.com/yohamta/donburi"
)

// firstSnapshot is the first datagram a server of reg sends a new client
// in a world of n labelled entities: a valid snapshot to seed a fuzz
// target with.
func firstSnapshot(reg *Registry, n int) []byte {
	srv := NewServer(reg, ServerOptions{})
	w := donburi.NewWorld()
	for i := range n {
		e := spawn(w, position{float32(i), 1}, labelType)
		labelType.SetValue(w.Entry(e), label{"x"})
	}
	srv.AddClient(2)
	srv.Capture(w, 1)
	first, _ := srv.Datagrams(2)
	return first[0]
}

// FuzzHandleSnapshot: arbitrary datagrams, alone or after a valid
// snapshot, never panic the client or its world, and never leave the world
// disagreeing with the client's own newest complete snapshot.
func FuzzHandleSnapshot(f *testing.F) {
	reg := testRegistry()
	first := firstSnapshot(reg, 5)
	f.Add(first)
	f.Add([]byte{kindSnapshot, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, opUpdate<<6 | 1, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{kindSnapshot, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, opDespawn << 6})
	f.Fuzz(func(t *testing.T, p []byte) {
		c := NewClient(reg, ClientOptions{})
		world := donburi.NewWorld()
		_ = c.HandleSnapshot(first)
		c.Apply(world)
		_ = c.HandleSnapshot(p)
		c.Apply(world)
		c.Interpolate(world, 3)
		if got, want := world.Len(), len(c.applied.ents); got != want {
			t.Fatalf("world holds %d entities, snapshot %d", got, want)
		}
	})
}

// FuzzInputBatch: arbitrary bytes through the input batch decoder and the
// queue never panic, and what decodes encodes back to the same bytes.
func FuzzInputBatch(f *testing.F) {
	codec := BatchCodec[stick](nil)
	f.Add(codec.Append(nil, &InputBatch[stick]{Newest: 5, Inputs: []stick{{1, 2}, {3, 4}}}))
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Add([]byte{9, 0, 0, 0, 64})
	f.Fuzz(func(t *testing.T, p []byte) {
		var b InputBatch[stick]
		if err := codec.Decode(p, &b); err != nil {
			return
		}
		if again := codec.Append(nil, &b); string(again) != string(p) {
			t.Fatalf("%x decodes and re-encodes as %x", p, again)
		}
		q := NewInputQueue[stick]()
		q.Add(2, b)
		q.Take(2, b.Newest)
	})
}
