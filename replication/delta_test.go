package replication

import (
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/yohamta/donburi"
)

type counter struct{ N int64 }

// counterCodec writes a counter whole (8 bytes) or as a varint difference.
type counterCodec struct{ deltas *int }

func (counterCodec) Append(dst []byte, v *counter) []byte {
	return binary.LittleEndian.AppendUint64(dst, uint64(v.N))
}
func (counterCodec) Decode(src []byte, v *counter) error {
	if len(src) != 8 {
		return errors.New("counter of wrong size")
	}
	v.N = int64(binary.LittleEndian.Uint64(src))
	return nil
}
func (c counterCodec) AppendDelta(dst []byte, base, v *counter) []byte {
	*c.deltas++
	return binary.AppendVarint(dst, v.N-base.N)
}
func (counterCodec) DecodeDelta(src []byte, base, v *counter) error {
	d, n := binary.Varint(src)
	if n <= 0 || n != len(src) {
		return errors.New("bad counter delta")
	}
	v.N = base.N + d
	return nil
}

var counterType = donburi.NewComponentType[counter]()

// Delta-encoded components rebuild exactly from whichever baseline each
// snapshot names, under loss and reordering, including components that
// appear after their entity's baseline.
func TestDeltaCodecsStayExactUnderLoss(t *testing.T) {
	deltas := 0
	r := NewRegistry()
	Register(r, posType, "position")
	Register(r, counterType, "counter", WithCodec[counter](counterCodec{&deltas}))
	l := newLink(t, r, 3)
	l.loss, l.reorder = 0.25, true
	rng := rand.New(rand.NewPCG(5, 5))
	var ents []donburi.Entity
	for i := range 30 {
		ents = append(ents, spawn(l.world, position{float32(i), 0}))
	}
	for tick := range 400 {
		for _, e := range ents {
			entry := l.world.Entry(e)
			switch {
			case rng.IntN(8) == 0 && !entry.HasComponent(counterType):
				donburi.Add(entry, counterType, &counter{int64(tick)})
			case entry.HasComponent(counterType) && rng.IntN(3) == 0:
				counterType.Get(entry).N += int64(rng.IntN(1000) - 500)
			case entry.HasComponent(counterType) && rng.IntN(40) == 0:
				entry.RemoveComponent(counterType)
			}
		}
		l.step()
	}
	l.heal()
	l.requireConvergedWith(func(e *donburi.Entry) any {
		if e.HasComponent(counterType) {
			return counterType.GetValue(e)
		}
		return nil
	})
	if deltas == 0 {
		t.Fatal("no value was delta-encoded")
	}
}
