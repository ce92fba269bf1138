// Package game is netburi's demo: an arena where players steer ships,
// hundreds of server-simulated drones drift and bounce, and gems raise a
// score. It is written against the module's public API only (components,
// systems, replication, ecsnet), as a reference for building a networked
// donburi game:
//
//   - protocol.go: the wire contract both ends build: replicated
//     components, the input message, the score message.
//   - server.go: the authoritative simulation (ServerSim), one donburi
//     system between the network system's receive and send steps.
//   - drone.go: drones' flights, replicated once and flown by the
//     clients themselves (DroneSystem).
//   - pilot.go: a client's input (keyboard, script or bot) written to the
//     network system's input pipeline; ship.go: ShipStep, the ship's
//     motion, which the server runs for every ship and each client for
//     its own (predicted); scoreboard.go: the reliable scores.
//   - nodes.go: a server or client world with its network system;
//     view.go: per-world queries for reading a client's world.
//   - window.go, hud.go, text.go: the Ebiten client.
//   - run.go: listen server, dedicated server, bots, headless status;
//     loadcheck.go: many bots against one server, measured.
//
// A world and its network belong to the goroutine that steps it; nothing
// here shares a world between goroutines.
package game

import (
	"math"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
)

// Simulation constants shared by server and clients.
const (
	TickRate      = 60   // simulation ticks per second
	SnapshotEvery = 3    // ticks between snapshots: 20 Hz
	ArenaW        = 1728 // arena (world) size in pixels, larger than the screen's view
	ArenaH        = 1376
	// PosScale is how many position units make a pixel: positions travel
	// as int16 in 1/8 pixel (so the arena may be up to 4095 pixels), finer
	// than the eye sees of a sprite drawn with linear filtering, coarse
	// enough that a ship's move between snapshots fits a short delta.
	PosScale = 8
	// ViewRadius is how far from the centre of a player's screen, in
	// pixels, drones and other ships are relevant to that player: the
	// server's interest management sends each client only those within
	// it (gems and the players' standings go to all). The screen's
	// centre is the camera's (Camera: it follows the player's ship but
	// stops at the walls); the radius covers the screen's corners (552
	// pixels away) with room for what moves in while a snapshot travels.
	ViewRadius = 608
	// ReplicationRate is each client's replication budget, bytes per
	// second: each snapshot carries the most urgent changes that fit its
	// share, the rest follow in later ones.
	ReplicationRate = 32000
)

// PositionData is where an entity is, in 1/PosScale pixels. Clients show
// it interpolated between snapshots.
type PositionData struct{ X, Y int16 }

// Pixels returns the position in pixels.
func (p PositionData) Pixels() (x, y float64) {
	return float64(p.X) / PosScale, float64(p.Y) / PosScale
}

// ToPosition quantizes a position in pixels.
func ToPosition(x, y float64) PositionData {
	q := func(v float64) int16 { return int16(max(math.MinInt16, min(math.MaxInt16, math.Round(v*PosScale)))) }
	return PositionData{q(x), q(y)}
}

// Position is carried by every replicated entity. Drones replicate their
// flight (DroneMotion) instead, and clients derive their Position from it.
var Position = donburi.NewComponentType[PositionData]()

// ShipData is a player's ship: its owner's peer ID, heading and colour.
type ShipData struct {
	Owner  uint32 // the owning client's peer ID
	Angle  uint16 // heading, a full turn is 65536
	Color  uint8  // index into art.ShipColors
	Thrust uint8  // 1 while the engine burns
}

// Heading returns the angle in radians.
func (s ShipData) Heading() float64 { return float64(s.Angle) / 65536 * 2 * math.Pi }

// ToAngle converts radians to the wire's heading.
func ToAngle(rad float64) uint16 {
	turn := math.Mod(rad/(2*math.Pi), 1)
	if turn < 0 {
		turn++
	}
	return uint16(int(math.Round(turn*65536)) & 0xffff)
}

// Ship is carried by player ships.
var Ship = donburi.NewComponentType[ShipData]()

// LinkData is the server's view of a player's connection, replicated so
// every player sees everyone's round trip and loss.
type LinkData struct {
	RTTMillis    uint16
	LossPermille uint16
}

// Link is carried by standing entities; the server refreshes it once a
// second.
var Link = donburi.NewComponentType[LinkData]()

// StandingData is a player's row on everyone's scoreboard: its peer ID and
// colour. Each player has a standing entity, relevant to every client
// wherever the player's ship is, carrying Standing and Link; the ship itself
// reaches only the players near it.
type StandingData struct {
	Owner uint32 // the player's peer ID
	Color uint8
}

// Standing is carried by standing entities.
var Standing = donburi.NewComponentType[StandingData]()

// DroneData marks a drifting drone; Kind picks its sprite.
type DroneData struct{ Kind uint8 }

// Drone is carried by drones.
var Drone = donburi.NewComponentType[DroneData]()

// GemData marks a pickup; Seq changes each time it is collected and moves.
type GemData struct{ Seq uint8 }

// Gem is carried by pickups.
var Gem = donburi.NewComponentType[GemData]()

// Input is one tick of a player's controls.
type Input struct {
	Turn   int8  // -1 left, 0, +1 right
	Thrust uint8 // 1 to burn
	Fire   uint8 // 1 to fire (shots.go)
}

// Scored tells clients a player's score: sent reliably when it changes and
// to each newly accepted client for every player.
type Scored struct {
	Player uint32 // the player's peer ID
	Score  uint32
}

// WorldInfo tells a client what its view leaves out: how many entities
// the server's world replicates in all and its replication budget. The
// server sends it reliably twice a second.
type WorldInfo struct {
	Entities uint32 // replicated entities on the server
	Budget   uint32 // the client's replication budget, bytes per second
}

// InputRedundancy is how many ticks of input each batch repeats, so a lost
// datagram loses no input.
const InputRedundancy = 8

// Protocol is the wire contract: the messages and replicated components
// both ends register, in the same way, under the same names.
type Protocol struct {
	// Registry holds every message type and replicated component.
	Registry *systems.Registry
	// Input is the players' input, through the network system's input
	// pipeline: stamped ahead of the server's tick by what the server says
	// it takes to arrive in time, sent redundantly on channel 2.
	Input *systems.InputType[Input]
	// Scored carries scores reliably on channel 1.
	Scored *systems.MessageType[Scored]
	// Shot tells everyone of a shot, reliably on channel 1.
	Shot *systems.MessageType[Shot]
	// World tells each client what exists beyond its view, reliably on
	// channel 1.
	World *systems.MessageType[WorldInfo]
}

// NewProtocol registers the demo's messages and components. Every network
// of one process may share a Protocol; peers in other processes build
// their own, identical one (the schema check compares them at connect).
// Component types are registered with one registry per process: call
// NewProtocol once (the package keeps one in DefaultProtocol).
func NewProtocol() *Protocol {
	p := &Protocol{Registry: systems.NewRegistry()}
	p.Input = systems.RegisterInput(p.Registry, "demo.input", systems.InputOptions[Input]{Redundancy: InputRedundancy, Channel: 2, Step: ShipStep})
	p.Scored = systems.RegisterMessage[Scored](p.Registry, "demo.scored")
	p.Shot = systems.RegisterMessage[Shot](p.Registry, "demo.shot")
	p.World = systems.RegisterMessage[WorldInfo](p.Registry, "demo.world")
	systems.RegisterComponent(p.Registry, Position, "demo.position",
		replication.WithCodec[PositionData](PositionCodec{}), replication.Interpolated(lerpPosition))
	systems.RegisterComponent(p.Registry, Ship, "demo.ship",
		replication.WithCodec[ShipData](ShipCodec{}), replication.Interpolated(lerpShip))
	systems.RegisterComponent(p.Registry, Link, "demo.link", replication.WithCodec[LinkData](LinkCodec{}))
	// Components travel in the order of their names: "demo.standing"
	// sorts after "demo.ship", so a ship update's components (position
	// and ship) fit the entry's head byte.
	systems.RegisterComponent(p.Registry, Standing, "demo.standing")
	// Only the owner predicts its ship's exact motion: nobody else gets it.
	systems.RegisterComponent(p.Registry, ShipBody, "demo.shipbody", replication.OwnerOnly[ShipMotionData]())
	// A player's own ship is predicted: its motion, heading and position.
	systems.Predict(p.Input, ShipBody, systems.PredictOptions[ShipMotionData]{})
	systems.Predict(p.Input, Ship, systems.PredictOptions[ShipData]{})
	systems.Predict(p.Input, Position, systems.PredictOptions[PositionData]{Smooth: smoothPosition, Distance: positionError})
	systems.RegisterComponent(p.Registry, Drone, "demo.drone")
	systems.RegisterComponent(p.Registry, DroneMotion, "demo.dronemotion")
	systems.RegisterComponent(p.Registry, Gem, "demo.gem")
	return p
}

// DefaultProtocol is the process's protocol, shared by every server,
// client and bot it runs.
var DefaultProtocol = NewProtocol()

func lerpPosition(a, b PositionData, t float64) PositionData {
	l := func(x, y int16) int16 { return int16(math.Round(float64(x) + (float64(y)-float64(x))*t)) }
	// A jump of more than a quarter arena is a teleport (a gem moving):
	// show it at once rather than sliding across the arena.
	if abs(int(b.X)-int(a.X)) > ArenaW*PosScale/4 || abs(int(b.Y)-int(a.Y)) > ArenaH*PosScale/4 {
		return b
	}
	return PositionData{l(a.X, b.X), l(a.Y, b.Y)}
}

func lerpShip(a, b ShipData, t float64) ShipData {
	d := int16(b.Angle - a.Angle) // shortest way round
	b.Angle = a.Angle + uint16(int16(math.Round(float64(d)*t)))
	return b
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}
