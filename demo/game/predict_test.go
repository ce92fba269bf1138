package game

import (
	"math"
	"testing"
)

// A player's own ship answers its keys in the frame they are pressed (it
// is predicted), and the server, stepping the same ShipStep with the same
// inputs, agrees with the prediction: hardly a correction while nothing
// else touches the ship.
func TestOwnShipTurnsInTheFrameItsKeyIsPressed(t *testing.T) {
	turning := false
	steer := func(*View) Input {
		if turning {
			return Input{Turn: 1}
		}
		return Input{}
	}
	h, _ := harness(t, ServerOptions{Drones: 10, Seed: 4}, steer)
	c := h.Clients[0]
	me := uint32(c.Net.ID())
	v := view(c)
	h.StepUntil(600, "own ship replicated and predicted", func() bool {
		return DefaultProtocol.Input.PredictionStats(c.Net).Entities == 1
	})
	for range 120 {
		h.Step()
	}
	heading := func() float64 {
		e, _ := v.Ship(me)
		return Ship.Get(e).Heading()
	}
	before := heading()
	turning = true
	// This client's frames alone: no server tick, no round trip. A frame
	// in which the clock sheds lead predicts no tick; the first that does
	// turns the ship.
	var ticks uint32
	for range 3 {
		pt := c.Net.PredictedTick()
		c.Step()
		if ticks = c.Net.PredictedTick() - pt; ticks > 0 {
			break
		}
	}
	turned := math.Remainder(heading()-before, 2*math.Pi)
	if want := float64(ticks) * shipTurnRate / TickRate; ticks == 0 || math.Abs(turned-want) > 0.01 {
		t.Fatalf("the ship turned %.4f rad in the frame its key went down (%d ticks), want %.4f", turned, ticks, want)
	}
	for range 240 {
		h.Step()
	}
	// Over real sockets stepped as fast as the machine goes, an input can
	// now and then miss its tick (the server then repeats the last one and
	// the client corrects), so a few corrections are allowed, not many:
	// a quarter of the 80 snapshots would mean the two ends disagree.
	if st := DefaultProtocol.Input.PredictionStats(c.Net); st.Corrections > 20 {
		t.Errorf("%d corrections of a ship only its own inputs move (last %.2f px)", st.Corrections, st.LastError)
	}
}
