package replication

import (
	"errors"
	"testing"
)

// Without interest management or a budget, clients share one history of
// snapshots. An entity too large for one datagram is left out of that
// history, not just out of the datagrams: every later delta is then
// against a baseline the clients really have, so they keep completing
// snapshots (no "update of unknown entity" stall), the entity arrives once
// it fits, and the server counts it and reports it with ErrTooLarge.
func TestAnOversizeEntityIsLeftOutOfTheSharedHistory(t *testing.T) {
	reg := testRegistry()
	l := newLink(t, reg, 0)
	l.server = NewServer(reg, ServerOptions{Budget: 40})
	l.addClient(reg)
	l.addClient(reg)
	big := spawn(l.world, position{}, labelType)
	labelType.SetValue(l.world.Entry(big), label{"a label far too long to fit"})
	small := spawn(l.world, position{1, 1})
	for range 3 {
		l.step()
	}
	// Changes to the oversize entity that would fit alone (its position)
	// must not reach a client that never got the entity.
	for i := range 5 {
		posType.Get(l.world.Entry(big)).X = float32(i + 1)
		posType.Get(l.world.Entry(small)).X = float32(i + 10)
		l.step()
	}
	for _, c := range l.clients {
		if c.c.Newest() != l.tick {
			t.Fatalf("client %d stalled at snapshot %d, server at %d", c.id, c.c.Newest(), l.tick)
		}
		if st := c.c.Stats(); st.Malformed != 0 || st.NoBaseline != 0 {
			t.Fatalf("client %d rejected snapshots: %+v", c.id, st)
		}
		got := ids(c.world)
		if len(got) != 1 || !got[idOf(l.world, small)] {
			t.Fatalf("client %d holds %v, want only the small entity", c.id, got)
		}
	}
	if l.server.Oversized() == nil || !errors.Is(l.server.Oversized(), ErrTooLarge) {
		t.Fatalf("Oversized() = %v, want an ErrTooLarge", l.server.Oversized())
	}
	if l.server.Stats().OversizeDrops == 0 {
		t.Fatal("the oversize entity was not counted")
	}
	// Once it fits, it arrives whole; grown too large again, it is
	// despawned cleanly rather than left stale.
	labelType.SetValue(l.world.Entry(big), label{"ok"})
	l.step()
	l.requireConverged()
	labelType.SetValue(l.world.Entry(big), label{"a label far too long to fit"})
	l.step()
	for _, c := range l.clients {
		if got := ids(c.world); len(got) != 1 {
			t.Fatalf("client %d holds %v after the entity outgrew the datagram", c.id, got)
		}
	}
	l.world.Remove(big)
	l.step()
	l.requireConverged()
}

// An entity whose spawn fits can still have an update that does not (here
// a removal mask on top of a label grown to the limit). Dropping that
// update would leave the clients behind the history silently; instead
// those clients get a full state, which always fits entity by entity.
func TestAnUpdateTooLargeForADatagramFallsBackToFullState(t *testing.T) {
	reg := testRegistry()
	l := newLink(t, reg, 0)
	l.server = NewServer(reg, ServerOptions{Budget: 40})
	l.addClient(reg)
	e := spawn(l.world, position{}, velType, labelType)
	labelType.SetValue(l.world.Entry(e), label{"ab"})
	l.step()
	l.step()
	l.requireConverged()
	full := l.server.Stats().FullStates
	l.world.Entry(e).RemoveComponent(velType)
	labelType.SetValue(l.world.Entry(e), label{"abcdefghijk"})
	posType.Get(l.world.Entry(e)).X = 3
	l.step()
	l.requireConverged()
	if l.server.Stats().FullStates == full {
		t.Fatal("the update should not have fit in a datagram: the test does not test the fallback")
	}
	if l.server.Oversized() != nil {
		t.Fatalf("nothing was left out, yet Oversized() = %v", l.server.Oversized())
	}
	posType.Get(l.world.Entry(e)).X = 4
	l.step()
	l.requireConverged()
}

// The same update with per-client snapshots (interest management): the
// client never keeps a stale value of an entity whose update no datagram
// carries; it is despawned there and spawned whole, and it follows later
// changes.
func TestAnUpdateTooLargeForADatagramRespawnsPerClient(t *testing.T) {
	reg := testRegistry()
	l := newLink(t, reg, 0)
	l.server = NewServer(reg, ServerOptions{Budget: 40, Interest: &Interest{}})
	c := l.addClient(reg)
	l.server.SetView(c.id, View{Radius: 1000})
	e := spawn(l.world, position{}, velType, labelType)
	labelType.SetValue(l.world.Entry(e), label{"ab"})
	l.step()
	l.step()
	l.requireConverged()
	l.world.Entry(e).RemoveComponent(velType)
	labelType.SetValue(l.world.Entry(e), label{"abcdefghijk"})
	posType.Get(l.world.Entry(e)).X = 3
	if n := l.stepUntilConverged(10); !l.converged(c) {
		t.Fatalf("after %d snapshots the client still differs:\nserver %v\nclient %v", n, state(l.world), state(c.world))
	}
	posType.Get(l.world.Entry(e)).X = 4
	l.step()
	l.requireConverged()
}
