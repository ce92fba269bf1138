package systems_test

import (
	"fmt"
	"time"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/transport/memnet"
)

// Greeting is a message both builds register under the same name.
type Greeting struct{ From, Number uint32 }

// A minimal server and client, each a donburi ECS with the network system
// around its game systems; the client greets the server once accepted.
func Example() {
	reg := systems.NewRegistry()
	greeting := systems.RegisterMessage[Greeting](reg, "greeting")

	serverWorld := donburi.NewWorld()
	server, err := systems.NewServer(serverWorld, reg, 0, systems.Config{Transport: ecsnet.Options{BindIP: "127.0.0.1"}})
	if err != nil {
		panic(err)
	}
	defer server.Close()
	serverECS := ecs.NewECS(serverWorld).
		AddSystem(server.Receive).
		AddSystem(func(*ecs.ECS) { // a game system
			for _, m := range greeting.Received(server) {
				fmt.Printf("server: greeting %d from a client\n", m.Value.Number)
			}
		}).
		AddSystem(server.Send)

	clientWorld := donburi.NewWorld()
	client, err := systems.NewClient(clientWorld, reg, "127.0.0.1", server.Transport().LocalPort(), systems.Config{})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	clientECS := ecs.NewECS(clientWorld).
		AddSystem(client.Receive).
		AddSystem(func(e *ecs.ECS) {
			components.ConnectionEvent.Each(e.World, func(en *donburi.Entry) {
				if components.ConnectionEvent.Get(en).Kind == components.EventConnectionSucceeded {
					fmt.Println("client: accepted")
					_ = greeting.Send(client, 1, Greeting{Number: 42})
				}
			})
		}).
		AddSystem(client.Send)

	for range 10000 {
		serverECS.Update()
		clientECS.Update()
		if len(greeting.Received(server)) > 0 {
			break
		}
	}
	// Output:
	// client: accepted
	// server: greeting 42 from a client
}

// Pos is a replicated component: a fixed-size struct needs no codec.
type Pos struct{ X, Y float32 }

var position = donburi.NewComponentType[Pos]()

// Replication: the server tags an entity, the client's world gets a copy
// with a network ID and follows the server's changes, interpolated; Latest
// reads the newest snapshot's own value.
func Example_replication() {
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, position, "position", replication.Interpolated(
		func(a, b Pos, t float64) Pos {
			return Pos{a.X + (b.X-a.X)*float32(t), a.Y + (b.Y-a.Y)*float32(t)}
		}))
	cfg := systems.Config{SnapshotEvery: 3, Transport: ecsnet.Options{BindIP: "127.0.0.1"}}

	serverWorld := donburi.NewWorld()
	server, err := systems.NewServer(serverWorld, reg, 0, cfg)
	if err != nil {
		panic(err)
	}
	defer server.Close()
	ship := serverWorld.Create(components.Replicated, position)
	serverECS := ecs.NewECS(serverWorld).
		AddSystem(server.Receive).
		AddSystem(func(*ecs.ECS) { // the game: the ship flies right
			p := position.Get(serverWorld.Entry(ship))
			p.X++
		}).
		AddSystem(server.Send)

	clientWorld := donburi.NewWorld()
	client, err := systems.NewClient(clientWorld, reg, "127.0.0.1", server.Transport().LocalPort(), cfg)
	if err != nil {
		panic(err)
	}
	defer client.Close()
	clientECS := ecs.NewECS(clientWorld).AddSystem(client.Receive).AddSystem(client.Send)

	for range 100000 {
		serverECS.Update()
		clientECS.Update()
		e, ok := position.First(clientWorld)
		if !ok {
			continue
		}
		latest, _ := systems.Latest(client, clientWorld, position, e.Entity())
		if latest.X >= 100 {
			id := components.NetworkID.Get(e).ID
			shown := position.Get(e).X
			fmt.Printf("client: entity %d, newest snapshot x >= 100, shown at most that: %v\n", id, shown <= latest.X)
			break
		}
	}
	// Output:
	// client: entity 1, newest snapshot x >= 100, shown at most that: true
}

// In memory: the same network system on a seeded memnet network, 50 ms
// each way (just over three ticks of 1/60 s). The caller advances the
// clock one tick per step, so every run is the same: no sockets, no wall
// clock.
func Example_inMemory() {
	reg := systems.NewRegistry()
	greeting := systems.RegisterMessage[Greeting](reg, "greeting")
	mem := memnet.New(1, memnet.Link{Latency: 50 * time.Millisecond})
	cfg := systems.Config{Transport: mem}

	server, err := systems.NewServer(donburi.NewWorld(), reg, 0, cfg)
	if err != nil {
		panic(err)
	}
	client, err := systems.NewClient(donburi.NewWorld(), reg, "", server.Transport().LocalPort(), cfg)
	if err != nil {
		panic(err)
	}
	for tick := 1; tick <= 60; tick++ {
		mem.Advance(time.Second / 60)
		server.ReceiveStep()
		for _, m := range greeting.Received(server) {
			fmt.Printf("tick %d: the server got greeting %d\n", tick, m.Value.Number)
		}
		server.SendStep()
		client.ReceiveStep()
		if client.Accepted() && tick%20 == 0 {
			_ = greeting.Send(client, 1, Greeting{Number: uint32(tick)})
		}
		client.SendStep()
	}
	// Output:
	// tick 24: the server got greeting 20
	// tick 44: the server got greeting 40
}
