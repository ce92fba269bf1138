package cubes

import (
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/replication/quant"
)

var (
	positionType    = donburi.NewComponentType[Position]()
	orientationType = donburi.NewComponentType[Orientation]()
)

// world puts the scene's cubes into a donburi world, tagged for replication.
func world(s *Scene) (donburi.World, []donburi.Entity) {
	w := donburi.NewWorld()
	ents := make([]donburi.Entity, len(s.Cubes))
	for i := range ents {
		ents[i] = w.Create(components.Replicated, positionType, orientationType)
	}
	return w, ents
}

func sync(w donburi.World, ents []donburi.Entity, s *Scene) {
	for i, c := range s.Cubes {
		e := w.Entry(ents[i])
		positionType.SetValue(e, Position{c.X, c.Y, c.Z})
		orientationType.SetValue(e, Orientation{quant.Quat{X: c.Qx, Y: c.Qy, Z: c.Qz, W: c.Qw}})
	}
}

// wireOverhead estimates what each snapshot datagram adds on the wire:
// IPv4 and UDP (28), ENet's header and send command (14), Godot's header (8).
const wireOverhead = 50

// BenchmarkCubes replicates the 901-cube scene to one client at 60
// snapshots per second for ten simulated seconds, at rest and with the
// player rolling through the cubes, and reports kilobits per second per
// client: the snapshot payload, and an estimate including per-datagram
// transport headers.
func BenchmarkCubes(b *testing.B) {
	for _, moving := range []bool{false, true} {
		name := "rest"
		if moving {
			name = "motion"
		}
		b.Run("scene="+name, func(b *testing.B) {
			var payload, datagrams, changed int
			for range b.N {
				p, d, c := runCubes(b, moving, 600)
				payload, datagrams, changed = payload+p, datagrams+d, changed+c
			}
			seconds := float64(b.N) * 10
			b.ReportMetric(float64(payload)*8/seconds/1000, "kbit/s")
			b.ReportMetric(float64(payload+datagrams*wireOverhead)*8/seconds/1000, "wire-kbit/s")
			b.ReportMetric(float64(changed)/float64(b.N*600), "cubes-changed/tick")
		})
	}
}

// pipeline is the scene replicated to one client in memory, acknowledging
// every snapshot at once.
type pipeline struct {
	tb          testing.TB
	scene       *Scene
	world       donburi.World
	ents        []donburi.Entity
	srv         *replication.Server
	cl          *replication.Client
	clientWorld donburi.World
	tick        uint32
}

func newPipeline(tb testing.TB, moving bool) *pipeline {
	reg := replication.NewRegistry()
	replication.Register(reg, positionType, "position", replication.WithCodec[Position](PositionCodec{}))
	replication.Register(reg, orientationType, "orientation", replication.WithCodec[Orientation](OrientationCodec{}))
	s := New(1)
	s.Moving = moving
	w, ents := world(s)
	p := &pipeline{tb: tb, scene: s, world: w, ents: ents,
		srv: replication.NewServer(reg, replication.ServerOptions{}),
		cl:  replication.NewClient(reg, replication.ClientOptions{}), clientWorld: donburi.NewWorld()}
	p.srv.AddClient(2)
	return p
}

// step simulates one tick, replicates it and returns the datagrams sent.
func (p *pipeline) step() [][]byte {
	p.tick++
	p.scene.Step()
	sync(p.world, p.ents, p.scene)
	p.srv.Capture(p.world, p.tick)
	parts, err := p.srv.Datagrams(2)
	if err != nil {
		p.tb.Fatal(err)
	}
	for _, d := range parts {
		if err := p.cl.HandleSnapshot(d); err != nil {
			p.tb.Fatal(err)
		}
	}
	p.cl.Apply(p.clientWorld)
	if err := p.srv.HandleAck(2, p.cl.AckPayload()); err != nil {
		p.tb.Fatal(err)
	}
	return parts
}

// runCubes returns snapshot payload bytes, datagrams, and changed cubes
// summed over ticks, after two seconds to get going.
func runCubes(tb testing.TB, moving bool, ticks int) (payload, datagrams, changed int) {
	p := newPipeline(tb, moving)
	prev := make([]Cube, Count)
	for tick := 1; tick <= ticks+120; tick++ {
		copy(prev, p.scene.Cubes)
		parts := p.step()
		if tick <= 120 {
			continue
		}
		for _, d := range parts {
			payload += len(d)
		}
		datagrams += len(parts)
		for i := range p.scene.Cubes {
			if p.scene.Cubes[i] != prev[i] {
				changed++
			}
		}
	}
	return payload, datagrams, changed
}

// The client's cubes match the server's within the quantization.
func TestCubesReplicateWithinQuantization(t *testing.T) {
	p := newPipeline(t, true)
	for range 200 {
		p.step()
	}
	s, clientWorld := p.scene, p.clientWorld
	worst := 0.0
	components.NetworkID.Each(clientWorld, func(e *donburi.Entry) {
		id := components.NetworkID.GetValue(e).ID
		c := s.Cubes[id-1] // IDs follow creation order
		p := positionType.GetValue(e)
		for _, d := range []float64{p.X - c.X, p.Y - c.Y, p.Z - c.Z} {
			worst = max(worst, d, -d)
		}
	})
	if worst > 1.0/1024+1e-9 {
		t.Errorf("worst position error %v, want within half of 1/512 m", worst)
	}
	if n := clientWorld.Len(); n != Count {
		t.Errorf("client has %d cubes", n)
	}
}
