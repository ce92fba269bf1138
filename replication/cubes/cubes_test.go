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

// runCubes returns snapshot payload bytes, datagrams, and changed cubes
// summed over ticks.
func runCubes(tb testing.TB, moving bool, ticks int) (payload, datagrams, changed int) {
	reg := replication.NewRegistry()
	replication.Register(reg, positionType, "position", replication.WithCodec[Position](PositionCodec{}))
	replication.Register(reg, orientationType, "orientation", replication.WithCodec[Orientation](OrientationCodec{}))
	srv := replication.NewServer(reg, replication.ServerOptions{})
	cl := replication.NewClient(reg, replication.ClientOptions{})
	clientWorld := donburi.NewWorld()
	s := New(1)
	s.Moving = moving
	w, ents := world(s)
	srv.AddClient(2)
	prev := make([]Cube, len(s.Cubes))
	for tick := 1; tick <= ticks+120; tick++ { // two seconds to get going
		copy(prev, s.Cubes)
		s.Step()
		sync(w, ents, s)
		srv.Capture(w, uint32(tick))
		parts, err := srv.Datagrams(2)
		if err != nil {
			tb.Fatal(err)
		}
		for _, p := range parts {
			if err := cl.HandleSnapshot(p); err != nil {
				tb.Fatal(err)
			}
		}
		cl.Apply(clientWorld)
		if err := srv.HandleAck(2, cl.AckPayload()); err != nil {
			tb.Fatal(err)
		}
		if tick > 120 {
			for _, p := range parts {
				payload += len(p)
			}
			datagrams += len(parts)
			for i := range s.Cubes {
				if s.Cubes[i] != prev[i] {
					changed++
				}
			}
		}
	}
	return payload, datagrams, changed
}

// The client's cubes match the server's within the quantization.
func TestCubesReplicateWithinQuantization(t *testing.T) {
	reg := replication.NewRegistry()
	replication.Register(reg, positionType, "position", replication.WithCodec[Position](PositionCodec{}))
	replication.Register(reg, orientationType, "orientation", replication.WithCodec[Orientation](OrientationCodec{}))
	srv := replication.NewServer(reg, replication.ServerOptions{})
	cl := replication.NewClient(reg, replication.ClientOptions{})
	clientWorld := donburi.NewWorld()
	s := New(1)
	s.Moving = true
	w, ents := world(s)
	srv.AddClient(2)
	for tick := 1; tick <= 200; tick++ {
		s.Step()
		sync(w, ents, s)
		srv.Capture(w, uint32(tick))
		parts, _ := srv.Datagrams(2)
		for _, p := range parts {
			if err := cl.HandleSnapshot(p); err != nil {
				t.Fatal(err)
			}
		}
		cl.Apply(clientWorld)
		_ = srv.HandleAck(2, cl.AckPayload())
	}
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
