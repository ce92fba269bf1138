package systems

import (
	"math"
	"testing"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/transport/memnet"
)

// A client that forges its input batches (ticks far ahead of the
// server's, far behind, views outside the rewind window) gets them
// counted and dropped: its buffer is the same fixed ring whatever it
// sends, its view stays inside the window, and another client's inputs
// keep arriving on time.
func TestForgedInputBatchesAreBoundedAndCounted(t *testing.T) {
	in, mem, server, clients := inputPair(t, 5, false)
	hostile, honest := clients[0], clients[1]
	step := func(forge bool) {
		inputTick(mem, server, clients, func(c *Network) {
			if c == hostile && forge && c.Accepted() {
				s := server.Tick() // what a hostile client could learn
				for _, b := range []inputBatch[fuzzInput]{
					{seq: uint16(s), view: 1e9, inputs: replication.InputBatch[fuzzInput]{Newest: s + 5000, Inputs: make([]fuzzInput, maxRedundancy)}},
					{seq: uint16(s), view: 0, inputs: replication.InputBatch[fuzzInput]{Newest: 0xffffffff, Inputs: make([]fuzzInput, 3)}},
					{seq: uint16(s), inputs: replication.InputBatch[fuzzInput]{Newest: s - 400, Inputs: make([]fuzzInput, 1)}},
				} {
					_ = in.batch.Send(c, serverID, b)
				}
			} else {
				in.Set(c, fuzzInput{DX: 1})
			}
		})
	}
	for range 600 {
		step(false)
	}
	before := in.Stats(server, honest.ID())
	for range 600 {
		step(true)
	}
	bad, good := in.Stats(server, hostile.ID()), in.Stats(server, honest.ID())
	t.Logf("hostile: %+v; honest: %+v", bad, good)
	// All but the last two frames' (still on their way at 30 ms).
	if bad.Early < 598*maxRedundancy {
		t.Errorf("%d far-ahead inputs counted, want every one of %d", bad.Early, 598*maxRedundancy)
	}
	if v := in.ViewTick(server, hostile.ID()); v > float64(server.Tick()) {
		t.Errorf("hostile view %v beyond the server's tick %d", v, server.Tick())
	}
	if good.OnTime-before.OnTime != 600 || good.Late != before.Late {
		t.Errorf("honest client: %d of 600 inputs on time, %d late", good.OnTime-before.OnTime, good.Late-before.Late)
	}
}

// With ClientRelay on, a client that sends another client input feedback
// (claiming its inputs arrive hopelessly late) does not move that
// client's clock: feedback counts from the server alone.
func TestInputFeedbackFromAnotherClientIsIgnored(t *testing.T) {
	in, mem, server, clients := inputPair(t, 6, true)
	victim, forger := clients[0], clients[1]
	step := func(forge bool) {
		inputTick(mem, server, clients, func(c *Network) {
			in.Set(c, fuzzInput{DX: 1})
			if c == forger && forge {
				p := victim.PredictedTick()
				_ = in.fb.Send(c, victim.ID(), inputFeedback{seq: uint16(p), tick: p + 500, hasSample: true, sample: p})
			}
		})
	}
	for range 600 {
		step(false)
	}
	_, before := victim.InputLead()
	for range 300 {
		step(true)
	}
	if _, after := victim.InputLead(); math.Abs(after-before) > 1 {
		t.Errorf("the victim's lead target moved from %.2f to %.2f on another client's feedback", before, after)
	}
}

// inputPair is a server and two clients on memnet (seed, 30 ms each way)
// sharing one registered input, with client relay as asked.
func inputPair(t *testing.T, seed uint64, relay bool) (*InputType[fuzzInput], *memnet.Network, *Network, [2]*Network) {
	t.Helper()
	reg := NewRegistry()
	in := RegisterInput(reg, "pilot", InputOptions[fuzzInput]{})
	mem := memnet.New(seed, memnet.Link{Latency: 30 * time.Millisecond})
	cfg := Config{Transport: mem, ClientRelay: relay}
	server, err := NewServer(donburi.NewWorld(), reg, 0, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var clients [2]*Network
	for i := range clients {
		if clients[i], err = NewClient(donburi.NewWorld(), reg, "", server.Transport().LocalPort(), cfg); err != nil {
			t.Fatal(err)
		}
	}
	return in, mem, server, clients
}

// inputTick runs one 60 Hz tick of an inputPair: the network's clock, the
// server's receive and send steps, then each client's receive step, play
// (what the client does this tick) and send step.
func inputTick(mem *memnet.Network, server *Network, clients [2]*Network, play func(c *Network)) {
	mem.Advance(time.Second / 60)
	server.ReceiveStep()
	server.SendStep()
	for _, c := range clients {
		c.ReceiveStep()
		play(c)
		c.SendStep()
	}
}
