package replication

import (
	"encoding/binary"
	"errors"
	"testing"
)

// emptyPart is part of parts of an empty delta of tick against base: it
// decodes against any baseline, so only its header matters.
func emptyPart(tick, base uint32, part, parts int) []byte {
	p := make([]byte, headerLen)
	p[0] = kindSnapshot
	binary.LittleEndian.PutUint32(p[2:], tick)
	binary.LittleEndian.PutUint32(p[6:], base)
	binary.LittleEndian.PutUint16(p[10:], uint16(part))
	binary.LittleEndian.PutUint16(p[12:], uint16(parts))
	return p
}

// A pending snapshot whose baseline can no longer arrive (older than the
// newest complete snapshot, which only newer ones follow, and never
// received) is dropped and counted the moment that becomes so, and so is
// one against it: it does not hold one of the MaxPending slots that
// snapshots able to complete need.
func TestASnapshotWhoseBaselineCanNeverComeFreesItsSlotAtOnce(t *testing.T) {
	c := NewClient(testRegistry(), ClientOptions{MaxPending: 2})
	must(t, c.HandleSnapshot(emptyPart(1, 0, 0, 1)))
	must(t, c.HandleSnapshot(emptyPart(12, 7, 0, 1))) // whole, waits for 7 (reordered, it may come)
	if st := c.Stats(); st.NoBaseline != 0 {
		t.Fatalf("tick 12 given up while its baseline could still come: %+v", st)
	}
	must(t, c.HandleSnapshot(emptyPart(8, 1, 0, 1))) // newest 8: tick 7 can never be taken now
	if st := c.Stats(); c.Newest() != 8 || st.NoBaseline != 1 {
		t.Fatalf("newest %d, %+v: tick 12, against tick 7 that can no longer come, was not dropped at once", c.Newest(), st)
	}
	// two snapshots of two parts each, interleaved, need both slots
	for _, p := range [][]byte{emptyPart(10, 8, 0, 2), emptyPart(11, 8, 0, 2), emptyPart(10, 8, 1, 2), emptyPart(11, 8, 1, 2)} {
		must(t, c.HandleSnapshot(p))
	}
	if st := c.Stats(); c.Newest() != 11 || st.Completed != 4 {
		t.Fatalf("newest %d, %+v: the interleaved snapshots did not both complete", c.Newest(), st)
	}
	// one against a dropped snapshot can never complete either
	if err := c.HandleSnapshot(emptyPart(13, 12, 0, 1)); !errors.Is(err, ErrNoBaseline) || c.Stats().NoBaseline != 2 {
		t.Fatalf("a snapshot against dropped tick 12: %v, %+v", err, c.Stats())
	}
	// the parts of one snapshot count once
	for part := range 3 {
		if err := c.HandleSnapshot(emptyPart(14, 9, part, 3)); !errors.Is(err, ErrNoBaseline) {
			t.Fatalf("part %d of a snapshot against tick 9, never received: %v", part, err)
		}
	}
	if st := c.Stats(); st.NoBaseline != 3 || len(c.pending) != 0 {
		t.Fatalf("%+v, %d pending: a snapshot of three parts against a lost baseline", st, len(c.pending))
	}
	// one waiting for a snapshot that turns out to be against a lost
	// baseline goes with it
	must(t, c.HandleSnapshot(emptyPart(16, 15, 0, 1)))
	if err := c.HandleSnapshot(emptyPart(15, 9, 0, 1)); !errors.Is(err, ErrNoBaseline) {
		t.Fatalf("a snapshot against tick 9, never received: %v", err)
	}
	if st := c.Stats(); st.NoBaseline != 5 || len(c.pending) != 0 {
		t.Fatalf("%+v, %d pending: tick 16 still waits for tick 15, dropped", st, len(c.pending))
	}
}

// Snapshots that came before their common baseline (the server encodes
// against the acknowledged snapshot until a newer ack arrives) all
// complete once it does, not only the first of them.
func TestSnapshotsWaitingForOneBaselineAllCompleteWhenItComes(t *testing.T) {
	c := NewClient(testRegistry(), ClientOptions{})
	must(t, c.HandleSnapshot(emptyPart(1, 0, 0, 1)))
	must(t, c.HandleSnapshot(emptyPart(3, 2, 0, 1)))
	must(t, c.HandleSnapshot(emptyPart(4, 2, 0, 1)))
	must(t, c.HandleSnapshot(emptyPart(2, 1, 0, 1)))
	if st := c.Stats(); c.Newest() != 4 || st.Completed != 4 || len(c.pending) != 0 {
		t.Fatalf("newest %d, %+v, %d pending: want ticks 3 and 4 completed on tick 2", c.Newest(), st, len(c.pending))
	}
}
