package systems_test

import (
	"errors"
	"fmt"
	"maps"
	"testing"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/systems"
	"github.com/netburi/netburi/systems/nettest"
)

// Blob is a component of any size (a level chunk, say).
type Blob struct{ Data []byte }

type blobCodec struct{}

func (blobCodec) Append(dst []byte, v *Blob) []byte { return append(dst, v.Data...) }
func (blobCodec) Decode(src []byte, v *Blob) error {
	if len(src) > 4096 {
		return fmt.Errorf("blob of %d bytes", len(src))
	}
	v.Data = append(v.Data[:0], src...)
	return nil
}

var blobType = donburi.NewComponentType[Blob]()

// A replicated entity too large for one datagram is not replicated, and
// the game can see it (Replication(0).Oversized wraps ErrTooLarge); the
// clients never stall on it: the other entities' changes keep arriving,
// whatever the oversize entity does, and it arrives once it fits.
func TestAnOversizeEntityNeverStallsTheClients(t *testing.T) {
	reg := systems.NewRegistry()
	systems.RegisterComponent(reg, transformType, "transform")
	systems.RegisterComponent(reg, blobType, "blob", replication.WithCodec[Blob](blobCodec{}))
	h := nettest.New(t, nettest.Options{Registry: reg, Clients: 2, Config: systems.Config{SnapshotEvery: 3}})
	h.Connect()
	w := h.Server.World
	small := w.Create(components.Replicated, transformType)
	big := w.Create(components.Replicated, transformType, blobType)
	blobType.SetValue(w.Entry(big), Blob{make([]byte, 2000)})
	h.Step()
	smallOnly := func() map[uint32]Transform {
		all := transformsByID(w)
		delete(all, components.NetworkID.Get(w.Entry(big)).ID)
		return all
	}
	for i := range 10 { // both move; only the small one can be replicated
		transformType.Get(w.Entry(small)).X = float32(i + 1)
		transformType.Get(w.Entry(big)).X = float32(i + 1)
		for _, c := range h.Clients {
			h.StepUntil(60, "the small entity's change arrives", func() bool {
				return maps.Equal(smallOnly(), transformsByID(c.World))
			})
		}
	}
	if err := h.Server.Net.Replication(0).Oversized(); !errors.Is(err, replication.ErrTooLarge) {
		t.Fatalf("Oversized() = %v, want ErrTooLarge", err)
	}
	for _, c := range h.Clients {
		if st := c.Net.ReplicationClient(0).Stats(); st.Malformed != 0 {
			t.Fatalf("client refused %d snapshots", st.Malformed)
		}
	}
	blobType.SetValue(w.Entry(big), Blob{make([]byte, 20)})
	for _, c := range h.Clients {
		h.StepUntil(60, "the entity arrives once it fits", func() bool {
			return maps.Equal(transformsByID(w), transformsByID(c.World))
		})
	}
}
