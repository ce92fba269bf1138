package game

import (
	"math"
	"math/rand/v2"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
)

// Ship and world physics, in pixels and seconds.
const (
	shipTurnRate = 4.2 // radians per second
	shipAccel    = 520.0
	shipMaxSpeed = 330.0
	shipDrag     = 0.985 // velocity kept per tick
	shipRadius   = 13.0
	gemRadius    = 9.0
	droneRadius  = 7.0
	bounce       = 0.8 // speed kept off a wall
)

// BodyData is the server's exact motion of an entity; clients see it
// quantized through Position.
type BodyData struct{ X, Y, VX, VY float64 }

// Body is server-only (not registered for replication).
var Body = donburi.NewComponentType[BodyData]()

// PlayerData is the server's record of a ship's pilot.
type PlayerData struct {
	Score uint32
}

// Player is server-only.
var Player = donburi.NewComponentType[PlayerData]()

// ServerOptions shape the arena.
type ServerOptions struct {
	Drones int    // drifting drones; default 640
	Gems   int    // pickups; default 12
	Seed   uint64 // arena layout and gem placement
	// ViewRadius is each player's interest radius, pixels; 0 is the
	// demo's ViewRadius (the screen). A load test sets it smaller to give
	// each player the share of a crowded world a larger arena would (the
	// arena cannot grow: positions travel as int16).
	ViewRadius float64
	// NoStandings leaves out the players' scoreboard rows (a Standing
	// entity per player, sent to every player): with thousands of players
	// those grow with the square of their number, which a load test of
	// the transport does not want to measure.
	NoStandings bool
}

// ServerSim is the authoritative game: it spawns a ship for each accepted
// client, applies their inputs at its tick, moves drones and ships, hands
// out gems and tells everyone the scores. Add Update between the network
// system's receive and send steps.
type ServerSim struct {
	proto     *Protocol
	net       *systems.Network
	opts      ServerOptions
	rng       *rand.Rand
	ships     map[int]donburi.Entity // by owner peer ID
	standings map[int]donburi.Entity // standing entities, by owner peer ID

	bodies *donburi.Query
	gems   *donburi.Query
	shipsQ *donburi.Query
	drones *donburi.Query
	peers  *donburi.Query

	replicated *donburi.Query
	spawned    bool
	shots      *shooting // shots.go

	// Input counters of present players as last read, and the sum of
	// those who left, so InputTotals never goes back.
	inputSeen map[int]systems.InputStats
	inputGone systems.InputStats
}

// NewServerSim returns the simulation for a server network.
func NewServerSim(proto *Protocol, net *systems.Network, opts ServerOptions) *ServerSim {
	if opts.Drones == 0 {
		opts.Drones = 640
	}
	if opts.Gems == 0 {
		opts.Gems = 12
	}
	if opts.ViewRadius <= 0 {
		opts.ViewRadius = ViewRadius
	}
	return &ServerSim{
		proto:     proto,
		net:       net,
		opts:      opts,
		rng:       rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5eed)),
		ships:     map[int]donburi.Entity{},
		standings: map[int]donburi.Entity{},
		bodies:    donburi.NewQuery(filter.Contains(Body, Position)),
		gems:      donburi.NewQuery(filter.Contains(Body, Gem)),
		shipsQ:    donburi.NewQuery(filter.Contains(Body, Ship, Player)),
		drones:    donburi.NewQuery(filter.Contains(Body, DroneMotion)),

		replicated: donburi.NewQuery(filter.Contains(components.Replicated)),
		peers:      donburi.NewQuery(filter.Contains(components.RemotePeer)),
		shots:      newShooting(),
	}
}

// InputStats are a player's input counters (on time, missing, late...).
func (s *ServerSim) InputStats(client int) systems.InputStats {
	return s.proto.Input.Stats(s.net, client)
}

// InputTotals are the input counters of every player since the server
// started, those who left included (as of the last tick).
func (s *ServerSim) InputTotals() systems.InputStats {
	t := s.inputGone
	for _, st := range s.inputSeen {
		t = addInputStats(t, st)
	}
	return t
}

func addInputStats(a, b systems.InputStats) systems.InputStats {
	return systems.InputStats{OnTime: a.OnTime + b.OnTime, Missing: a.Missing + b.Missing,
		Repeated: a.Repeated + b.Repeated, Late: a.Late + b.Late, Early: a.Early + b.Early}
}

// Update runs one server tick.
func (s *ServerSim) Update(e *ecs.ECS) {
	w := e.World
	if !s.spawned {
		s.spawnArena(w)
		s.spawned = true
	}
	s.players(w)
	tick := s.net.Tick()
	s.steer(w, tick)
	s.shoot(w, tick)
	s.move(w, tick)
	s.collect(w)
	if tick%(TickRate/2) == 0 {
		s.worldInfo(w)
	}
	if tick%TickRate == 0 { // a scoreboard's pace
		s.links(w)
	}
	s.bodies.Each(w, func(en *donburi.Entry) {
		b := Body.Get(en)
		p := ToPosition(b.X, b.Y)
		Position.SetValue(en, p)
	})
	s.views(w)
	s.shots.history.Record(w, tick) // where everything was, for lag-compensated shots
}

func (s *ServerSim) spawnArena(w donburi.World) {
	tick := s.net.Tick()
	for i := range s.opts.Drones {
		e := w.Entry(w.Create(components.Replicated, Body, Position, Drone, DroneMotion))
		components.Replicated.SetValue(e, components.ReplicatedData{Only: droneOnly})
		speed := 18 + s.rng.Float64()*55
		dir := s.rng.Float64() * 2 * math.Pi
		x, y := droneRadius+s.rng.Float64()*(ArenaW-2*droneRadius), droneRadius+s.rng.Float64()*(ArenaH-2*droneRadius)
		DroneMotion.SetValue(e, NewFlight(x, y, speed*math.Cos(dir), speed*math.Sin(dir), tick))
		Drone.SetValue(e, DroneData{Kind: uint8(i % 4)})
		s.flyDrone(e, tick)
	}
	for range s.opts.Gems {
		e := w.Entry(w.Create(components.Replicated, Body, Position, Gem, components.Interest))
		components.Interest.SetValue(e, components.InterestData{Global: true}) // every player hunts every gem
		Body.SetValue(e, s.gemSpot())
	}
}

func (s *ServerSim) gemSpot() BodyData {
	const margin = 40
	return BodyData{X: margin + s.rng.Float64()*(ArenaW-2*margin), Y: margin + s.rng.Float64()*(ArenaH-2*margin)}
}

// players spawns a ship for every newly accepted client (and tells it the
// scores so far) and removes the ships of clients that left.
func (s *ServerSim) players(w donburi.World) {
	present := map[int]bool{}
	var joined []int
	s.peers.Each(w, func(en *donburi.Entry) {
		p := components.RemotePeer.Get(en)
		if p.State != components.PeerConnected {
			return
		}
		present[p.ID] = true
		if _, ok := s.ships[p.ID]; !ok {
			joined = append(joined, p.ID)
		}
	})
	for id, ent := range s.ships {
		if !present[id] {
			for _, e := range []donburi.Entity{ent, s.standings[id]} {
				if w.Valid(e) {
					w.Remove(e)
				}
			}
			delete(s.ships, id)
			delete(s.standings, id)
		}
	}
	if s.inputSeen == nil {
		s.inputSeen = map[int]systems.InputStats{}
	}
	for id, st := range s.inputSeen {
		if !present[id] {
			s.inputGone = addInputStats(s.inputGone, st)
			delete(s.inputSeen, id)
		}
	}
	for id := range present {
		s.inputSeen[id] = s.InputStats(id)
	}
	for _, id := range joined {
		s.spawnShip(w, id)
		s.shipsQ.Each(w, func(en *donburi.Entry) {
			sh, pl := Ship.Get(en), Player.Get(en)
			_ = s.proto.Scored.Send(s.net, id, Scored{Player: sh.Owner, Score: pl.Score})
		})
	}
}

func (s *ServerSim) spawnShip(w donburi.World, owner int) {
	used := map[uint8]bool{}
	s.shipsQ.Each(w, func(en *donburi.Entry) { used[Ship.Get(en).Color] = true })
	color := uint8(len(s.ships) % 8)
	for c := range uint8(8) {
		if !used[c] {
			color = c
			break
		}
	}
	x, y := SpawnPoint(color)
	slot := float64(color) / 8 * 2 * math.Pi
	// The ship is relevant near it (interest management's grid); the
	// standing entity, for the scoreboard, everywhere.
	e := w.Entry(w.Create(components.Replicated, Body, ShipBody, Position, Ship, Player, components.Owner))
	Body.SetValue(e, BodyData{X: x, Y: y})
	ShipBody.SetValue(e, ShipMotionData{X: float32(x), Y: float32(y)})
	components.Owner.SetValue(e, components.OwnerData{Peer: int32(owner)})
	Ship.SetValue(e, ShipData{Owner: uint32(owner), Color: color, Angle: ToAngle(slot + math.Pi)})
	s.ships[owner] = e.Entity()
	if s.opts.NoStandings {
		return
	}
	r := w.Entry(w.Create(components.Replicated, Standing, Link, components.Interest))
	components.Interest.SetValue(r, components.InterestData{Global: true})
	Standing.SetValue(r, StandingData{Owner: uint32(owner), Color: color})
	s.standings[owner] = r.Entity()
}

// views centres each player's view (interest management) on its screen:
// where its camera, following its ship, shows the arena. Run each tick,
// after the ships moved.
func (s *ServerSim) views(w donburi.World) {
	s.shipsQ.Each(w, func(en *donburi.Entry) {
		cx, cy := Camera(Position.Get(en).Pixels())
		s.net.SetView(int(Ship.Get(en).Owner), replication.View{X: cx + ViewW/2, Y: cy + ViewH/2, Radius: s.opts.ViewRadius})
	})
}

// steer steps each ship with its owner's input for this tick (the
// pipeline repeats the previous one when this tick's has not arrived),
// as the owner's client predicts it; Body follows for collisions.
func (s *ServerSim) steer(w donburi.World, _ uint32) {
	s.shipsQ.Each(w, func(en *donburi.Entry) {
		in, _ := s.proto.Input.Current(s.net, int(Ship.Get(en).Owner))
		ShipStep(w, en, in)
		m := ShipBody.Get(en)
		Body.SetValue(en, BodyData{X: float64(m.X), Y: float64(m.Y), VX: float64(m.VX), VY: float64(m.VY)})
	})
}

// move moves every drone along its flight (ships move in steer, gems
// only when collected).
func (s *ServerSim) move(w donburi.World, tick uint32) {
	s.drones.Each(w, func(en *donburi.Entry) { s.flyDrone(en, tick) })
}

// flyDrone puts a drone's body where its flight says it is at tick, as
// its clients will show it.
func (s *ServerSim) flyDrone(en *donburi.Entry, tick uint32) {
	x, y := DroneAt(*DroneMotion.Get(en), float64(tick))
	b := Body.Get(en)
	b.X, b.Y = x, y
}

// collect scores the gems ships touch and moves those gems elsewhere.
func (s *ServerSim) collect(w donburi.World) {
	var gems []*donburi.Entry
	s.gems.Each(w, func(en *donburi.Entry) { gems = append(gems, en) })
	s.shipsQ.Each(w, func(en *donburi.Entry) {
		b := Body.Get(en)
		for _, g := range gems {
			gb := Body.Get(g)
			if math.Hypot(gb.X-b.X, gb.Y-b.Y) > shipRadius+gemRadius {
				continue
			}
			*gb = s.gemSpot()
			Gem.Get(g).Seq++
			pl := Player.Get(en)
			pl.Score++
			_ = s.proto.Scored.Send(s.net, 0, Scored{Player: Ship.Get(en).Owner, Score: pl.Score})
		}
	})
}

// links copies each player's round trip and loss, as the server measures
// them from the player's input batches (components.Link), onto its roster
// entity.
func (s *ServerSim) links(w donburi.World) {
	stats := map[uint32]components.LinkData{}
	s.peers.Each(w, func(en *donburi.Entry) {
		if en.HasComponent(components.Link) {
			stats[uint32(components.RemotePeer.Get(en).ID)] = components.Link.GetValue(en)
		}
	})
	for owner, ent := range s.standings {
		if !w.Valid(ent) {
			continue
		}
		st := stats[uint32(owner)]
		Link.SetValue(w.Entry(ent), LinkData{
			RTTMillis:    uint16(min(st.RTT.Milliseconds(), math.MaxUint16)),
			LossPermille: uint16(min(1000, math.Round(st.Loss*1000))),
		})
	}
}

// worldInfo tells every player how many entities exist and its budget.
func (s *ServerSim) worldInfo(w donburi.World) {
	n := s.replicated.Count(w)
	perSecond := s.net.SnapshotBytes() * len(s.net.Lanes()) * TickRate / SnapshotEvery
	_ = s.proto.World.Send(s.net, 0, WorldInfo{Entities: uint32(n), Budget: uint32(perSecond)}) // fails only with nobody accepted
}

// SpawnPoint is where the ship of colour c starts: on a ring around the
// arena's centre, within one screen of the others, facing the centre.
func SpawnPoint(c uint8) (x, y float64) {
	slot := float64(c) / 8 * 2 * math.Pi
	return ArenaW/2 + math.Cos(slot)*ViewH*0.35, ArenaH/2 + math.Sin(slot)*ViewH*0.35
}
