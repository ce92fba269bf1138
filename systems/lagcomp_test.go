package systems_test

import (
	"math"
	"testing"
	"time"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
	"github.com/netburi/netburi/transport/memnet"
)

type gunInput struct {
	Fire       uint8
	AimX, AimY float32
}

type targetPos struct{ X, Y float32 }

var target = donburi.NewComponentType[targetPos]()

func lerpTarget(a, b targetPos, w float64) targetPos {
	return targetPos{a.X + (b.X-a.X)*float32(w), a.Y + (b.Y-a.Y)*float32(w)}
}

// targetAt is where the server moves the target at tick: back and forth
// along X, up to 2.6 units a tick.
func targetAt(tick uint32) targetPos {
	return targetPos{X: float32(50 * math.Sin(2*math.Pi*float64(tick)/120))}
}

// At 200 ms round trip (10 ms jitter), a client fires every 10 ticks at
// where it sees a moving target (interpolated, 100 ms behind). Judged
// against where the target was at the tick the client was looking at
// (Rewound), at least 95% of the shots hit (radius 1, the target moving
// up to 2.6 a tick); judged against the target's present position, fewer
// than 10% do.
func TestLagCompensationHitsWhatTheShooterSaw(t *testing.T) {
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, target, "target", replication.Interpolated(lerpTarget))
	gun := systems.RegisterInput(reg, "gun", systems.InputOptions[gunInput]{})
	hist := systems.NewHistory(target, lerpTarget, 0)
	const radius = 1.0
	var shots, rewoundHits, presentHits int
	var tgt donburi.Entity
	h := nettest.New(t, nettest.Options{
		Registry: reg, Clients: 1, Seed: 3,
		Link:   memnet.Link{Latency: 100 * time.Millisecond, Jitter: 10 * time.Millisecond},
		Config: systems.Config{SnapshotEvery: 3},
		Systems: func(i int, n *nettest.Node) {
			if i < 0 {
				tgt = n.World.Create(components.Replicated, target)
				n.ECS.AddSystem(func(*ecs.ECS) {
					tick := n.Net.Tick()
					target.SetValue(n.World.Entry(tgt), targetAt(tick))
					hist.Record(n.World, tick)
					for id := range n.Peers() {
						in, st := gun.Current(n.Net, id)
						if in.Fire == 0 || st != systems.InputOnTime {
							continue
						}
						shots++
						aim := targetPos{in.AimX, in.AimY}
						if p, ok := systems.Rewound(n.Net, gun, hist, id, tgt); ok && distT(p, aim) < radius {
							rewoundHits++
						}
						if distT(*target.Get(n.World.Entry(tgt)), aim) < radius {
							presentHits++
						}
					}
				})
				return
			}
			n.ECS.AddSystem(func(*ecs.ECS) {
				var in gunInput
				target.Each(n.World, func(e *donburi.Entry) {
					if n.Net.PredictedTick()%10 == 0 {
						p := target.Get(e)
						in = gunInput{Fire: 1, AimX: p.X, AimY: p.Y}
					}
				})
				gun.Set(n.Net, in)
			})
		},
	})
	h.Connect()
	for range 300 {
		h.Step()
	}
	shots, rewoundHits, presentHits = 0, 0, 0
	for range 3000 {
		h.Step()
	}
	t.Logf("%d shots: %d hit with lag compensation, %d without", shots, rewoundHits, presentHits)
	if shots < 250 {
		t.Fatalf("only %d shots judged", shots)
	}
	if float64(rewoundHits) < 0.95*float64(shots) {
		t.Errorf("lag compensated: %d of %d hit, want at least 95%%", rewoundHits, shots)
	}
	if float64(presentHits) > 0.10*float64(shots) {
		t.Errorf("uncompensated: %d of %d hit, want under 10%%", presentHits, shots)
	}
}

func distT(a, b targetPos) float64 { return math.Hypot(float64(a.X-b.X), float64(a.Y-b.Y)) }
