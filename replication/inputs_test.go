package replication

import (
	"math/rand/v2"
	"testing"
)

type stick struct {
	Buttons uint8
	AimX    int16
}

// Under 20% loss, with each batch repeating the last four ticks, the
// server takes every tick's input exactly once, at its tick.
func TestInputsArriveOnceEachAtTheirTickUnderLoss(t *testing.T) {
	codec := BatchCodec[stick](nil)
	hist := NewInputHistory[stick](4)
	q := NewInputQueue[stick]()
	rng := rand.New(rand.NewPCG(3, 4))
	const latency = 2 // ticks a batch is in flight
	inFlight := map[uint32][]byte{}
	missing := 0
	for tick := uint32(1); tick <= 2000; tick++ {
		hist.Record(tick, stick{Buttons: uint8(tick), AimX: int16(tick)})
		b := hist.Batch()
		if rng.Float64() >= 0.2 {
			inFlight[tick+latency] = codec.Append(nil, &b)
		}
		if p, ok := inFlight[tick]; ok {
			var got InputBatch[stick]
			must(t, codec.Decode(p, &got))
			q.Add(7, got)
			delete(inFlight, tick)
		}
		// The server simulates a few ticks behind the newest input that can
		// have arrived, so the copies in later batches cover a lost one.
		const buffer = 3
		if tick > latency+buffer {
			want := tick - latency - buffer
			v, ok := q.Take(7, want)
			if !ok {
				missing++
			} else if v.Buttons != uint8(want) {
				t.Fatalf("tick %d got the input of tick %d", want, v.Buttons)
			}
			if _, again := q.Take(7, want); again {
				t.Fatalf("input of tick %d taken twice", want)
			}
		}
	}
	// Only four losses in a row (0.2^4 = 0.16%) lose an input.
	if missing > 10 {
		t.Errorf("%d of 1995 inputs never arrived", missing)
	}
}

func TestInputBatchDecodingRejectsBadBatches(t *testing.T) {
	codec := BatchCodec[stick](nil)
	good := codec.Append(nil, &InputBatch[stick]{Newest: 9, Inputs: []stick{{1, 2}, {3, 4}}})
	for name, p := range map[string][]byte{
		"short":                  good[:3],
		"count too big":          append(append([]byte{}, good[:4]...), 200),
		"count beyond the bytes": append(append([]byte{}, good[:4]...), 60, 1, 2),
		"truncated":              good[:len(good)-1],
		"trailing":               append(append([]byte{}, good...), 0),
	} {
		var b InputBatch[stick]
		if err := codec.Decode(p, &b); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	q := NewInputQueue[stick]()
	q.Add(1, InputBatch[stick]{Newest: 1, Inputs: make([]stick, 5)}) // claims ticks before 0
	if q.Stats().Malformed != 1 {
		t.Errorf("malformed %d, want 1", q.Stats().Malformed)
	}
}
