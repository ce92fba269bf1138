package systems

import (
	"bytes"
	"testing"

	"github.com/netburi/netburi/replication"
)

type fuzzInput struct{ DX, DY int8 }

// FuzzInputBatch: a client's input batch never panics the decoder, what it
// accepts encodes back the same, and filing it on the server (any ticks,
// any counts) stays within the client's fixed buffer.
func FuzzInputBatch(f *testing.F) {
	codec := batchMsgCodec[fuzzInput]{inputs: replication.BatchCodec[fuzzInput](nil)}
	f.Add(codec.Append(nil, &inputBatch[fuzzInput]{seq: 7, view: 95.5, hasEcho: true, echo: 3, held: 1,
		inputs: replication.InputBatch[fuzzInput]{Newest: 100, Inputs: []fuzzInput{{1, 0}, {1, -1}, {0, 0}}}}))
	f.Add(codec.Append(nil, &inputBatch[fuzzInput]{seq: 65535, view: 0,
		inputs: replication.InputBatch[fuzzInput]{Newest: 0xffffffff, Inputs: []fuzzInput{{-128, 127}}}}))
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 200})
	f.Fuzz(func(t *testing.T, p []byte) {
		var b inputBatch[fuzzInput]
		if err := codec.Decode(p, &b); err != nil {
			return
		}
		if again := codec.Append(nil, &b); !bytes.Equal(again, p) {
			t.Fatalf("batch %x re-encodes as %x", p, again)
		}
		pipe := &inputPipe[fuzzInput]{opts: InputOptions[fuzzInput]{MaxRewind: 18}, n: &Network{tick: 1000}}
		c := &inClient[fuzzInput]{start: 990, taken: 999}
		pipe.file(c, b)
		pipe.take(c, 1000)
		if c.status == InputOnTime && (c.view < 1000-18 || c.view > 1000) {
			t.Fatalf("view %v accepted outside the rewind window", c.view)
		}
		if s := c.stats; s.OnTime+s.Missing != 1 || s.Late > maxRedundancy {
			t.Fatalf("stats %+v after one batch and one tick", s)
		}
	})
}

// FuzzInputFeedback: the server's feedback decodes only from its exact
// shape, and what it accepts encodes back the same.
func FuzzInputFeedback(f *testing.F) {
	f.Add(feedbackCodec{}.Append(nil, &inputFeedback{seq: 9, tick: 400, hasSample: true, sample: 405, hasEcho: true, echo: 8, loss: 500}))
	f.Add(feedbackCodec{}.Append(nil, &inputFeedback{seq: 0, tick: 1}))
	f.Fuzz(func(t *testing.T, p []byte) {
		var v inputFeedback
		if err := (feedbackCodec{}).Decode(p, &v); err != nil {
			return
		}
		if again := (feedbackCodec{}).Append(nil, &v); !bytes.Equal(again, p) {
			t.Fatalf("feedback %x re-encodes as %x", p, again)
		}
	})
}
