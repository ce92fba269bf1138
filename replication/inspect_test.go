package replication

import (
	"errors"
	"reflect"
	"testing"

	"github.com/yohamta/donburi"
)

// Inspect reads back what a scoped server sent: each entry's ID, op and
// the components it carries.
func TestInspectReadsEntriesBack(t *testing.T) {
	reg := testRegistry()
	srv := NewServer(reg, ServerOptions{SnapshotBytes: 1000})
	w := donburi.NewWorld()
	a := spawn(w, position{1, 2})
	spawn(w, position{3, 4})
	srv.AddClient(2)
	srv.Capture(w, 1)
	parts, _ := srv.Datagrams(2)
	must(t, srv.HandleAck(2, encodeAck(0, 1)))
	w.Remove(a)
	srv.Capture(w, 2)
	next, _ := srv.Datagrams(2)
	d1, err := Inspect(reg, parts[0])
	must(t, err)
	d2, err := Inspect(reg, next[0])
	must(t, err)
	spawned := []EntryInfo{{1, OpSpawn, []string{"position"}}, {2, OpSpawn, []string{"position"}}}
	if d1.Tick != 1 || d1.Base != 0 || !reflect.DeepEqual(d1.Entries, spawned) {
		t.Fatalf("first snapshot: %+v", d1)
	}
	if d2.Tick != 2 || d2.Base != 1 || !reflect.DeepEqual(d2.Entries, []EntryInfo{{1, OpDespawn, nil}}) {
		t.Fatalf("second snapshot: %+v", d2)
	}
	if _, err := Inspect(reg, parts[0][:headerLen+1]); !errors.Is(err, ErrMalformed) {
		t.Fatalf("truncated datagram: %v", err)
	}
}

// FuzzInspect: arbitrary bytes never panic Inspect, and whatever it
// accepts has IDs in strictly ascending order.
func FuzzInspect(f *testing.F) {
	reg := testRegistry()
	f.Add(firstSnapshot(reg, 3))
	f.Fuzz(func(t *testing.T, p []byte) {
		d, err := Inspect(reg, p)
		if err != nil {
			return
		}
		for i := 1; i < len(d.Entries); i++ {
			if d.Entries[i].ID <= d.Entries[i-1].ID {
				t.Fatalf("entries out of order: %+v", d.Entries)
			}
		}
	})
}
