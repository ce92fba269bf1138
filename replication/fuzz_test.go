package replication

import (
	"testing"

	"github.com/yohamta/donburi"
)

// FuzzHandleSnapshot: arbitrary datagrams, alone or after a valid
// snapshot, never panic the client or its world, and never leave the world
// disagreeing with the client's own newest complete snapshot.
func FuzzHandleSnapshot(f *testing.F) {
	reg := testRegistry()
	srv := NewServer(reg, ServerOptions{})
	w := donburi.NewWorld()
	for i := range 5 {
		e := spawn(w, position{float32(i), 1}, labelType)
		labelType.SetValue(w.Entry(e), label{"x"})
	}
	srv.AddClient(2)
	srv.Capture(w, 1)
	first, _ := srv.Datagrams(2)
	f.Add(first[0])
	f.Add([]byte{kindSnapshot, 2, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 1, opUpdate, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	f.Add([]byte{kindSnapshot, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, opDespawn})
	f.Fuzz(func(t *testing.T, p []byte) {
		c := NewClient(reg, ClientOptions{})
		world := donburi.NewWorld()
		_ = c.HandleSnapshot(first[0])
		c.Apply(world)
		_ = c.HandleSnapshot(p)
		c.Apply(world)
		c.Interpolate(world, 3)
		if got, want := world.Len(), len(c.applied.ents); got != want {
			t.Fatalf("world holds %d entities, snapshot %d", got, want)
		}
	})
}
