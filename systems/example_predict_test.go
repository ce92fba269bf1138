package systems_test

import (
	"fmt"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/transport/memnet"
)

type exInput struct{ DX, DY int8 }

type exPos struct{ X, Y float32 }

var exPosition = donburi.NewComponentType[exPos]()

func exLerp(a, b exPos, w float64) exPos {
	return exPos{a.X + (b.X-a.X)*float32(w), a.Y + (b.Y-a.Y)*float32(w)}
}

func exAbs(v float32) float32 { return max(v, -v) }

// A client flies its own ship with no input delay: the ship is predicted
// on the client by the same step the server runs, and moves in the frame
// its input is written.
func ExamplePredict() {
	step := func(_ donburi.World, e *donburi.Entry, in exInput) {
		p := exPosition.Get(e)
		p.X += float32(in.DX)
		p.Y += float32(in.DY)
	}
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, exPosition, "pos", replication.Interpolated(exLerp))
	pilot := systems.RegisterInput(reg, "pilot", systems.InputOptions[exInput]{Step: step})
	systems.Predict(pilot, exPosition, systems.PredictOptions[exPos]{
		Within: func(mine, server exPos) bool { return exAbs(mine.X-server.X) < 0.01 && exAbs(mine.Y-server.Y) < 0.01 },
		Smooth: func(exact, wrong, right exPos, keep float64) exPos {
			return exPos{exact.X + (wrong.X-right.X)*float32(keep), exact.Y + (wrong.Y-right.Y)*float32(keep)}
		},
	})

	mem := memnet.New(1, memnet.Link{Latency: 50 * time.Millisecond})
	cfg := systems.Config{Transport: mem}
	sw, cw := donburi.NewWorld(), donburi.NewWorld()
	server, _ := systems.NewServer(sw, reg, 0, cfg)
	client, _ := systems.NewClient(cw, reg, "", server.Transport().LocalPort(), cfg)
	ships := map[int]donburi.Entity{}
	shown := func() (x float32) {
		components.Owner.Each(cw, func(e *donburi.Entry) { x = exPosition.Get(e).X })
		return x
	}
	var before float32
	for tick := 1; tick <= 60; tick++ {
		mem.Advance(time.Second / 60)
		server.ReceiveStep()
		components.ConnectionEvent.Each(sw, func(e *donburi.Entry) {
			if ev := components.ConnectionEvent.Get(e); ev.Kind == components.EventPeerAccepted {
				ship := sw.Create(components.Replicated, exPosition, components.Owner)
				components.Owner.SetValue(sw.Entry(ship), components.OwnerData{Peer: int32(ev.PeerID)})
				ships[ev.PeerID] = ship
			}
		})
		for id, ship := range ships { // the server steps each ship with its owner's input
			in, _ := pilot.Current(server, id)
			step(sw, sw.Entry(ship), in)
		}
		server.SendStep()

		client.ReceiveStep()
		before = shown()
		pilot.Set(client, exInput{DX: 1}) // this frame's input
		client.SendStep()                 // stamped, sent, and predicted
	}
	fmt.Println("the ship moved this frame:", shown()-before)
	// Output: the ship moved this frame: 1
}
