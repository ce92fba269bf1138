package systems

import (
	"reflect"

	"github.com/yohamta/donburi"
	"github.com/yohamta/donburi/filter"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
)

// PredictOptions configure one predicted component. The zero value is
// usable: values must match the server's exactly, corrections show with
// no smoothing.
type PredictOptions[T any] struct {
	// Within reports whether a predicted value is close enough to the
	// server's to keep (the per-component tolerance); nil: equal values.
	Within func(predicted, server T) bool
	// Smooth is what to show while a correction decays: exact moved by
	// keep × (wrong − right), keep falling linearly from 1 to 0 over
	// InputOptions.SmoothTicks, wrong being what was shown before the
	// correction and right the corrected value then. nil: corrections
	// show at once.
	Smooth func(exact, wrong, right T, keep float64) T
	// Distance, when set, measures a correction (between what was
	// predicted for a snapshot's tick and the server's value) for
	// PredictionStats.LastError.
	Distance func(a, b T) float64
}

// Predict makes component ct predicted on each entity the client owns
// (components.Owner names its ID; the entity carries ct): its value is
// not interpolated but simulated locally by the input type's Step with
// this client's inputs, from the moment the input is written. When a
// snapshot for tick T arrives, the client compares the server's values
// with what it predicted for T; on a difference beyond Within it restores
// the server's values at T and replays Step for T+1 up to the predicted
// tick with the inputs it kept (at most MaxReplay ticks a frame), and
// shows the correction smoothly (Smooth) while its own state is exact.
// ct must be registered with RegisterComponent; Predict registers
// components.Owner (as "netburi/owner"; do not register it yourself). Call it
// at set-up, before networks use the registry; it panics on a registry in
// use or an input type without Step.
func Predict[I, T any](in *InputType[I], ct *donburi.ComponentType[T], opts PredictOptions[T]) {
	if in.opts.Step == nil {
		panic("systems: Predict needs InputOptions.Step")
	}
	if !in.reg.owner {
		RegisterComponent(in.reg, components.Owner, "netburi/owner")
		in.reg.owner = true
	}
	if opts.Within == nil {
		opts.Within = func(a, b T) bool { return reflect.DeepEqual(a, b) }
	}
	in.preds = append(in.preds, &predComp[T]{ct: ct, opts: opts})
}

// PredictionStats count a client's reconciliations.
type PredictionStats struct {
	Entities    int    // entities predicted this frame
	Corrections uint64 // snapshots that differed beyond tolerance and were reconciled
	Replayed    uint64 // ticks replayed for them, per entity
	Deferred    uint64 // frames in which MaxReplay cut an entity's replay short (it goes on next frame)
	// LastError is the largest Distance of the newest correction's
	// components (0 without a Distance).
	LastError float64
	// Off is true while SetPrediction turned prediction off.
	Off bool
}

// SetPrediction turns a client's prediction on or off (on by default):
// off, owned entities show what replication applies (interpolated
// components interpolated) and inputs still flow; on again, each starts
// afresh from the newest snapshot. For showing the difference live.
func (in *InputType[I]) SetPrediction(n *Network, on bool) {
	p := in.pipe(n)
	if p == nil || p.pred == nil || p.pred.stats.Off == !on {
		return
	}
	p.pred.stats.Off = !on
	p.pred.stats.Entities = 0
	clear(p.pred.ents)
	p.pred.order = p.pred.order[:0]
}

// PredictionStats reports a client's prediction counters (zero elsewhere).
func (in *InputType[I]) PredictionStats(n *Network) PredictionStats {
	if p := in.pipe(n); p != nil && p.pred != nil {
		return p.pred.stats
	}
	return PredictionStats{}
}

// Predicted is the exact predicted value of ct on e at tick (not what is
// shown while a correction decays), false when not kept: for tests, and
// for game code that needs the simulation state.
func Predicted[I, T any](n *Network, in *InputType[I], ct *donburi.ComponentType[T], e donburi.Entity, tick uint32) (T, bool) {
	var zero T
	p := in.pipe(n)
	if p == nil || p.pred == nil {
		return zero, false
	}
	pe := p.pred.ents[e]
	if pe == nil {
		return zero, false
	}
	for _, tr := range pe.tracks {
		if t, ok := tr.(*track[T]); ok && t.pc.ct == ct {
			return t.at(tick)
		}
	}
	return zero, false
}

const predRing = 256 // predicted ticks kept per entity

// predictedComponent is the type-erased side of a Predict registration.
type predictedComponent interface {
	has(e *donburi.Entry) bool
	newTrack() componentTrack
}

// componentTrack is one predicted component of one entity: its values by
// tick and what is shown.
type componentTrack interface {
	record(e *donburi.Entry, tick uint32)
	restore(e *donburi.Entry, tick uint32) bool
	server(n *Network, id uint32) (tick uint32, ok bool)
	matches(tick uint32) bool // the predicted value at tick is within tolerance of the server's
	distance(tick uint32) float64
	adopt(e *donburi.Entry) // the server's value into the world
	correcting(e *donburi.Entry, frame uint32)
	corrected(e *donburi.Entry, frame uint32)
	show(e *donburi.Entry, frame uint32, smooth int)
	reshow(e *donburi.Entry)
}

type predComp[T any] struct {
	ct   *donburi.ComponentType[T]
	opts PredictOptions[T]
}

func (pc *predComp[T]) has(e *donburi.Entry) bool { return e.HasComponent(pc.ct) }
func (pc *predComp[T]) newTrack() componentTrack  { return &track[T]{pc: pc} }

type track[T any] struct {
	pc        *predComp[T]
	vals      [predRing]T
	ticks     [predRing]uint32
	srv       T // the server's value at the newest snapshot, from server()
	shown     T
	hasShown  bool
	wrong     T
	right     T
	corrFrame uint32
	active    bool
}

func (t *track[T]) record(e *donburi.Entry, tick uint32) {
	t.vals[tick%predRing], t.ticks[tick%predRing] = *t.pc.ct.Get(e), tick
}

func (t *track[T]) at(tick uint32) (T, bool) {
	if t.ticks[tick%predRing] != tick || tick == 0 {
		var zero T
		return zero, false
	}
	return t.vals[tick%predRing], true
}

func (t *track[T]) restore(e *donburi.Entry, tick uint32) bool {
	v, ok := t.at(tick)
	if ok {
		t.pc.ct.SetValue(e, v)
	}
	return ok
}

func (t *track[T]) server(n *Network, id uint32) (uint32, bool) {
	for _, c := range n.replClients {
		if v, ok := replication.Latest(c, t.pc.ct, id); ok {
			t.srv = v
			return c.Newest(), true
		}
	}
	return 0, false
}

func (t *track[T]) matches(tick uint32) bool {
	v, ok := t.at(tick)
	return ok && t.pc.opts.Within(v, t.srv)
}

func (t *track[T]) distance(tick uint32) float64 {
	v, ok := t.at(tick)
	if !ok || t.pc.opts.Distance == nil {
		return 0
	}
	return t.pc.opts.Distance(v, t.srv)
}

func (t *track[T]) adopt(e *donburi.Entry) { t.pc.ct.SetValue(e, t.srv) }

func (t *track[T]) correcting(e *donburi.Entry, frame uint32) {
	if t.hasShown && t.pc.opts.Smooth != nil {
		t.wrong, t.active, t.corrFrame = t.shown, true, frame
	}
}

func (t *track[T]) corrected(e *donburi.Entry, frame uint32) {
	t.right = *t.pc.ct.Get(e)
	if t.active {
		t.corrFrame = frame // the decay starts once the corrected value is known
	}
}

func (t *track[T]) show(e *donburi.Entry, frame uint32, smooth int) {
	v := *t.pc.ct.Get(e)
	if t.active {
		keep := 1 - float64(frame-t.corrFrame)/float64(max(smooth, 1))
		if keep <= 0 || smooth < 0 {
			t.active = false
		} else {
			v = t.pc.opts.Smooth(v, t.wrong, t.right, keep)
			t.pc.ct.SetValue(e, v)
		}
	}
	t.shown, t.hasShown = v, true
}

func (t *track[T]) reshow(e *donburi.Entry) {
	if t.hasShown {
		t.pc.ct.SetValue(e, t.shown)
	}
}

// predEntity is one owned entity's prediction.
type predEntity struct {
	e       donburi.Entity
	id      uint32
	tracks  []componentTrack
	checked uint32 // newest snapshot tick compared
	fresh   bool   // no prediction yet: start from the server's values
	seen    uint32 // frame it was last found owned
	behind  uint32 // the tick its replay reached, while cut short by MaxReplay (0: caught up)

	correcting bool // a correction is being replayed: smoothing waits for its result
}

// predictor runs one client's prediction for input type I.
type predictor[I any] struct {
	p     *inputPipe[I]
	query *donburi.Query
	ents  map[donburi.Entity]*predEntity
	order []*predEntity
	stats PredictionStats
}

func newPredictor[I any](p *inputPipe[I]) *predictor[I] {
	if len(p.in.preds) == 0 {
		return nil
	}
	return &predictor[I]{p: p, query: donburi.NewQuery(filter.Contains(components.Owner, components.NetworkID)),
		ents: map[donburi.Entity]*predEntity{}}
}

// owned refreshes the set of predicted entities: owned by this client,
// carrying every predicted component.
func (pr *predictor[I]) owned() {
	n := pr.p.n
	me := int32(n.ID())
	frame := n.clock
	pr.order = pr.order[:0]
	pr.query.Each(n.world, func(e *donburi.Entry) {
		if components.Owner.Get(e).Peer != me {
			return
		}
		for _, pc := range pr.p.in.preds {
			if !pc.has(e) {
				return
			}
		}
		pe := pr.ents[e.Entity()]
		if pe == nil {
			pe = &predEntity{e: e.Entity(), id: components.NetworkID.Get(e).ID, fresh: true}
			for _, pc := range pr.p.in.preds {
				pe.tracks = append(pe.tracks, pc.newTrack())
			}
			pr.ents[e.Entity()] = pe
		}
		pe.seen = frame
		pr.order = append(pr.order, pe)
	})
	for e, pe := range pr.ents {
		if pe.seen != frame {
			delete(pr.ents, e)
		}
	}
	// The query's order follows donburi's storage; sort for a stable one.
	sortByID(pr.order)
	pr.stats.Entities = len(pr.order)
}

func sortByID(s []*predEntity) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].id < s[j-1].id; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// run predicts ticks prev+1..now (the send step, after the game wrote its
// input): reconcile each entity with the newest snapshot, replay at most
// MaxReplay ticks (an entity whose replay was cut short goes on from
// where it stopped next frame, shown as it was meanwhile), step the new
// ticks, show the result.
func (pr *predictor[I]) run(prev, now uint32) {
	p := pr.p
	n := p.n
	if pr.stats.Off {
		return
	}
	pr.owned()
	step := p.opts.Step
	frame := n.clock
	for _, pe := range pr.order {
		e := n.world.Entry(pe.e)
		base := prev
		if pe.behind != 0 {
			base = pe.behind
		}
		if !pe.fresh {
			for _, tr := range pe.tracks {
				tr.restore(e, base)
			}
		}
		if !pr.reconcile(pe, e, prev, &base) && pe.fresh {
			continue // no server values to start from yet
		}
		if base < prev { // replay what was predicted, within the cap
			end := min(prev, base+uint32(p.opts.MaxReplay))
			for t := base + 1; t <= end; t++ {
				step(n.world, e, p.inputAt(t))
				for _, tr := range pe.tracks {
					tr.record(e, t)
				}
			}
			pr.stats.Replayed += uint64(end - base)
			base = end
			if base < prev {
				pe.behind = base
				pr.stats.Deferred++
				for _, tr := range pe.tracks {
					tr.reshow(e) // hold what was shown until caught up
				}
				continue
			}
		}
		pe.behind = 0
		if pe.correcting {
			pe.correcting = false
			for _, tr := range pe.tracks {
				tr.corrected(e, frame)
			}
		}
		for t := base + 1; t <= now && base != 0; t++ {
			step(n.world, e, p.inputAt(t))
			for _, tr := range pe.tracks {
				tr.record(e, t)
			}
		}
		for _, tr := range pe.tracks {
			tr.show(e, frame, p.opts.SmoothTicks)
		}
	}
}

// reconcile compares the newest snapshot's values with the prediction for
// its tick and, beyond tolerance, puts the server's values in the world
// and moves base to the snapshot's tick (run replays from there). It
// reports whether it did.
func (pr *predictor[I]) reconcile(pe *predEntity, e *donburi.Entry, prev uint32, base *uint32) bool {
	p := pr.p
	n := p.n
	var snap uint32
	for i, tr := range pe.tracks {
		tick, ok := tr.server(n, pe.id)
		if !ok || (i > 0 && tick != snap) {
			return false // not in a snapshot yet, or lanes disagree this frame
		}
		snap = tick
	}
	if snap <= pe.checked && !pe.fresh {
		return false
	}
	pe.checked = snap
	if !pe.fresh {
		same := true
		for _, tr := range pe.tracks {
			same = same && tr.matches(snap)
		}
		if same {
			return false
		}
		pr.stats.LastError = 0
		for _, tr := range pe.tracks {
			pr.stats.LastError = max(pr.stats.LastError, tr.distance(snap))
		}
		pr.stats.Corrections++
	}
	for _, tr := range pe.tracks {
		if !pe.correcting {
			tr.correcting(e, n.clock)
		}
		tr.adopt(e)
		tr.record(e, snap)
	}
	pe.fresh, pe.correcting = false, true
	*base = snap
	if snap > prev {
		*base = prev // the server is ahead of this prediction (start-up): hold its values as prev's
		for _, tr := range pe.tracks {
			tr.record(e, prev)
		}
	}
	return true
}

// show puts what was shown last frame back over what replication applied
// or interpolated this frame, so the game's systems see the prediction.
func (pr *predictor[I]) show() {
	n := pr.p.n
	for _, pe := range pr.order {
		if !n.world.Valid(pe.e) {
			continue
		}
		e := n.world.Entry(pe.e)
		for _, tr := range pe.tracks {
			tr.reshow(e)
		}
	}
}

func (p *inputPipe[I]) inputAt(t uint32) I {
	if p.itick[t%inputRing] == t {
		return p.inputs[t%inputRing]
	}
	return p.pending
}
