package systems

import (
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/replication"
	"github.com/netburi/netburi/wire"
)

// InputOptions configure a registered input type. The zero value is usable.
type InputOptions[I any] struct {
	// Codec encodes one input; nil for a fixed-size I.
	Codec replication.Codec[I]
	// Step is the game's simulation of one tick of an entity a client
	// owns, with that client's input for the tick: a client runs it to
	// predict (see Predict); the server's game runs it itself with
	// InputType.Current. It must depend only on the entity's predicted
	// components, the input and constants, so that both ends agree.
	Step func(world donburi.World, e *donburi.Entry, input I)
	// Redundancy is how many of the newest inputs every batch carries
	// (1..32, default 8): a batch lost costs nothing while a later one
	// arrives in time.
	Redundancy int
	// Channel carries the batches and the server's feedback, unreliably;
	// default 2.
	Channel int
	// Safety is how many ticks before it is needed the client aims to
	// have each input arrive, above the latest arrival of the last Window
	// feedback samples; default 1.
	Safety float64
	// MaxAdjust is how much faster or slower than the tick rate a client's
	// predicted clock may run while it closes on its target lead
	// (0.05: 5%, the default).
	MaxAdjust float64
	// Window is how many feedback samples (one per tick) the lead target
	// covers; default three seconds of ticks.
	Window int
	// SmoothTicks is how many ticks a corrected prediction takes to
	// reach the corrected value on screen (the error decays linearly);
	// default 12. 0 keeps the default, negative shows corrections at once.
	SmoothTicks int
	// MaxReplay caps the ticks a client replays per entity in one frame,
	// so a slow frame does not make the next one slower: a longer replay
	// goes on in the next frames (counted in PredictionStats.Deferred)
	// while the entity holds what it showed. Default two seconds of ticks.
	MaxReplay int
	// MaxRewind bounds how far behind its own tick the server accepts a
	// client's view (the interpolation tick it reports, used by lag
	// compensation); default 300 ms of ticks.
	MaxRewind int
}

// Limits of the input pipeline.
const (
	maxRedundancy = 32
	inputRing     = 256 // inputs kept by tick, each end
	inputHorizon  = 128 // how far ahead of the server's tick it buffers a client's inputs
	snapLead      = 8   // ticks the client's lead may jump up at once (start-up, a latency spike)
)

// InputType is a registered input type I: the client writes its input each
// tick (Set), the network system stamps it with the predicted tick, sends
// it redundantly and keeps it; the server buffers each client's inputs and
// hands the game the one for the tick it simulates (Current). Use it from
// the goroutine that runs the world.
type InputType[I any] struct {
	opts  InputOptions[I]
	reg   *Registry
	batch *MessageType[inputBatch[I]]
	fb    *MessageType[inputFeedback]
	preds []predictedComponent
}

// RegisterInput makes I this registry's input type (one per registry),
// sent under name on both ends. It registers two messages (name+"/batch",
// name+"/feedback") on opts.Channel. It panics on a second input type or
// a registry in use (programming errors at set-up).
func RegisterInput[I any](r *Registry, name string, opts InputOptions[I]) *InputType[I] {
	if r.input != nil {
		panic(fmt.Sprintf("systems: input %q: the registry already has an input type", name))
	}
	if opts.Redundancy <= 0 {
		opts.Redundancy = 8
	}
	opts.Redundancy = min(opts.Redundancy, maxRedundancy)
	if opts.Channel <= 0 {
		opts.Channel = 2
	}
	if opts.Safety <= 0 {
		opts.Safety = 1
	}
	if opts.MaxAdjust <= 0 {
		opts.MaxAdjust = 0.05
	}
	if opts.SmoothTicks == 0 {
		opts.SmoothTicks = 12
	}
	in := &InputType[I]{opts: opts, reg: r}
	via := Via(opts.Channel, wire.Unreliable)
	in.batch = RegisterMessageCodec[inputBatch[I]](r, name+"/batch", batchMsgCodec[I]{inputs: replication.BatchCodec(opts.Codec)}, via)
	in.fb = RegisterMessageCodec[inputFeedback](r, name+"/feedback", feedbackCodec{}, via)
	r.input = in
	return in
}

// newPipeline is the input pipeline of one network.
func (in *InputType[I]) newPipeline(n *Network) pipeline {
	o := in.opts
	if o.Window <= 0 {
		o.Window = 3 * n.cfg.TickRate
	}
	if o.MaxReplay <= 0 {
		o.MaxReplay = 2 * n.cfg.TickRate
	}
	if o.MaxRewind <= 0 {
		o.MaxRewind = max(1, n.cfg.TickRate*3/10)
	}
	p := &inputPipe[I]{in: in, opts: o, n: n}
	if n.role == components.Server {
		p.clients = map[int]*inClient[I]{}
	} else {
		p.window = make([]float64, o.Window)
		p.pred = newPredictor(p)
	}
	return p
}

// pipeline is the type-erased input pipeline a network runs.
type pipeline interface {
	frame()      // receive step, after packets: file or weigh what arrived, take inputs or move the clock
	afterApply() // client: show predicted values over what replication applied
	send()       // send step, before the flush: batches, prediction, feedback
}

// InputStatus says how the server got a client's input for its tick.
type InputStatus int

// Input statuses.
const (
	// InputNone: no input from this client yet (the zero input).
	InputNone InputStatus = iota
	// InputOnTime: the client's own input for this tick.
	InputOnTime
	// InputRepeated: this tick's input had not arrived; the client's
	// previous one stands in.
	InputRepeated
)

// InputStats count a client's inputs on the server.
type InputStats struct {
	OnTime   uint64 // ticks whose input was there when the server simulated them
	Missing  uint64 // ticks whose input was not (lost, or still on its way)
	Repeated uint64 // missing ticks given the previous input instead (≤ Missing)
	Late     uint64 // inputs that arrived after their tick was simulated
	Early    uint64 // inputs dropped for being too far ahead of the server's tick
}

// Set writes this tick's input on a client: the network system stamps it
// with the predicted tick in the send step (an input not set again
// repeats). While the clock slows down to shed lead, a frame now and then
// predicts no new tick and its input is not stamped; while it speeds up,
// one frame's input stands for two ticks. Call it between the receive and
// the send step.
// It does nothing on a server or on a network of another registry.
func (in *InputType[I]) Set(n *Network, v I) {
	if p := in.pipe(n); p != nil && n.role == components.Client {
		p.pending = v
	}
}

// Current is, on a server, client's input for the tick being simulated and
// how it was got; on a client, its own newest input.
func (in *InputType[I]) Current(n *Network, client int) (I, InputStatus) {
	var zero I
	p := in.pipe(n)
	if p == nil {
		return zero, InputNone
	}
	if n.role == components.Client {
		return p.pending, InputOnTime
	}
	c := p.clients[client]
	if c == nil {
		return zero, InputNone
	}
	return c.cur, c.status
}

// Stats are a client's input counters on a server (zero elsewhere).
func (in *InputType[I]) Stats(n *Network, client int) InputStats {
	if p := in.pipe(n); p != nil && p.clients != nil {
		if c := p.clients[client]; c != nil {
			return c.stats
		}
	}
	return InputStats{}
}

// ViewTick is, on a server, the tick client was showing interpolated
// entities at when it wrote the input for the tick being simulated (for a
// repeated input, the last one's), clamped to the server's last MaxRewind
// ticks; 0 before any input.
func (in *InputType[I]) ViewTick(n *Network, client int) float64 {
	if p := in.pipe(n); p != nil && p.clients != nil {
		if c := p.clients[client]; c != nil {
			return c.view
		}
	}
	return 0
}

// Input is a client's stored input for tick (false when not kept).
func (in *InputType[I]) Input(n *Network, tick uint32) (I, bool) {
	var zero I
	p := in.pipe(n)
	if p == nil || p.clients != nil || p.itick[tick%inputRing] != tick || tick == 0 {
		return zero, false
	}
	return p.inputs[tick%inputRing], true
}

func (in *InputType[I]) pipe(n *Network) *inputPipe[I] {
	if n == nil || n.reg != in.reg || n.pl == nil {
		return nil
	}
	return n.pl.(*inputPipe[I])
}

// PredictedTick is a client's predicted tick: the tick its newest input
// is stamped with and its predicted components show, ahead of the server
// by the input lead (0 on a server, and before the clock starts).
func (n *Network) PredictedTick() uint32 {
	if p := n.clientPipe(); p != nil {
		return p.predTick
	}
	return 0
}

// InterpolationTick is the tick a client shows interpolated components
// at: behind its estimate of the server's tick by InterpolationDelay.
func (n *Network) InterpolationTick() float64 {
	if n.role == components.Server {
		return float64(n.tick)
	}
	return float64(n.tick) - n.cfg.InterpolationDelay
}

// viewTick is the tick a client really shows interpolated components at:
// its interpolation tick, or the newest snapshot's when that is older
// (interpolation holds the newest sample).
func (n *Network) viewTick() float64 {
	v := n.InterpolationTick()
	newest := uint32(0) // the newest snapshot of any lane (an idle lane lags)
	for _, c := range n.replClients {
		newest = max(newest, c.Newest())
	}
	if len(n.replClients) > 0 {
		v = min(v, float64(newest))
	}
	return max(v, 0)
}

// InputLead is how many ticks a client's predicted clock runs ahead of its
// estimate of the server's tick, and the lead it is steering to (from the
// server's feedback on when its inputs arrived). Zero on a server.
func (n *Network) InputLead() (lead, target float64) {
	p := n.clientPipe()
	if p == nil || !p.started {
		return 0, 0
	}
	base := float64(n.clock) - float64(n.tick)
	return base + p.offset, base + p.target
}

func (n *Network) clientPipe() *clientClock {
	if n.pl == nil || n.role != components.Client {
		return nil
	}
	return n.pl.(interface{ predClock() *clientClock }).predClock()
}

// clientClock is a client's predicted clock: offset ticks ahead of its
// local clock, steered to target.
type clientClock struct {
	started        bool
	offset, target float64
	predTick, prev uint32 // newest predicted tick; the one before this frame
	haveTarget     bool
}

// inputPipe is one network's input pipeline for input type I.
type inputPipe[I any] struct {
	in   *InputType[I]
	opts InputOptions[I]
	n    *Network

	// server
	clients map[int]*inClient[I]

	// client
	clientClock
	pending  I
	inputs   [inputRing]I
	itick    [inputRing]uint32
	sentAt   [inputRing]uint32 // local clock when each tick's input was first sent
	seq      uint16
	seqAt    [1024]uint32 // local clock when each batch was sent
	window   []float64    // needed offsets, a ring
	wnext    int
	wlen     int
	loss     seqLoss
	rtt      rttEstimate
	fbSeq    uint16
	fbAt     uint32
	haveFb   bool
	pred     *predictor[I]
	lastView float64
}

func (p *inputPipe[I]) predClock() *clientClock { return &p.clientClock }

// inClient is the server's record of one client's inputs.
type inClient[I any] struct {
	slots   [inputRing]inSlot[I]
	start   uint32 // first tick taken
	taken   uint32 // newest tick taken
	last    I
	have    bool
	cur     I
	status  InputStatus
	stats   InputStats
	loss    seqLoss
	rtt     rttEstimate
	linked  bool // its peer entity has a Link (refreshed with the peer's statistics)
	view    float64
	sample  uint32 // lowest tick first arriving this frame
	sampled bool
	echo    uint16 // newest batch sequence number this frame
	echoed  bool
	fbSeq   uint16
	fbSent  [256]uint32
}

type inSlot[I any] struct {
	tick      uint32
	got, late bool
	view      float64 // what the client showed when it wrote this input
	v         I
}

func (p *inputPipe[I]) frame() {
	if p.clients != nil {
		p.serverFrame()
		return
	}
	p.clientFrame()
}

func (p *inputPipe[I]) serverFrame() {
	n := p.n
	for id := range p.clients {
		if r := n.peers[id]; r == nil || r.state != components.PeerConnected {
			delete(p.clients, id)
		}
	}
	for _, m := range p.in.batch.Received(n) {
		if r := n.peers[m.From]; r == nil || r.state != components.PeerConnected {
			continue
		}
		p.file(p.client(m.From), m.Value)
	}
	for _, id := range n.ids {
		r := n.peers[id]
		if r.state != components.PeerConnected {
			continue
		}
		c := p.client(id)
		p.take(c, n.tick)
		if n.statsDue(id) || !c.linked {
			p.setLink(r, &c.loss, &c.rtt) // with the peer's statistics
			c.linked = true
		}
	}
}

func (p *inputPipe[I]) client(id int) *inClient[I] {
	c := p.clients[id]
	if c == nil {
		c = &inClient[I]{start: p.n.tick, taken: p.n.tick - 1}
		p.clients[id] = c
	}
	return c
}

// file stores a batch's inputs: each tick once, none beyond the horizon,
// those whose tick was already taken counted late (once).
func (p *inputPipe[I]) file(c *inClient[I], b inputBatch[I]) {
	s := p.n.tick
	c.loss.add(b.seq)
	if !c.echoed || int16(b.seq-c.echo) > 0 {
		c.echo, c.echoed = b.seq, true
	}
	if b.hasEcho && int16(c.fbSeq-b.echo) >= 0 && c.fbSeq-b.echo < 255 {
		if sent := c.fbSent[b.echo%256]; s >= sent+uint32(b.held) {
			c.rtt.add(float64(s - sent - uint32(b.held)))
		}
	}
	count := uint32(len(b.inputs.Inputs))
	if count == 0 || b.inputs.Newest < count-1 {
		return
	}
	first := b.inputs.Newest - (count - 1)
	for i := range b.inputs.Inputs {
		t := first + uint32(i)
		if t < c.start || t+inputRing <= c.taken+1 {
			continue // before this client's first tick, or long gone
		}
		if t > c.taken+inputHorizon {
			c.stats.Early++
			continue
		}
		slot := &c.slots[t%inputRing]
		if slot.tick == t && (slot.got || slot.late) {
			continue // a redundant copy
		}
		if !c.sampled || t < c.sample {
			c.sample, c.sampled = t, true
		}
		if t <= c.taken {
			*slot = inSlot[I]{tick: t, late: true}
			c.stats.Late++
			continue
		}
		// The batch's view is its newest input's; the client's view moved
		// on one tick per input since this one.
		view := b.view - float64(b.inputs.Newest-t)
		*slot = inSlot[I]{tick: t, got: true, view: view, v: b.inputs.Inputs[i]}
	}
}

// take hands the game the client's input for tick.
func (p *inputPipe[I]) take(c *inClient[I], tick uint32) {
	if tick <= c.taken {
		return
	}
	c.taken = tick
	slot := &c.slots[tick%inputRing]
	if slot.tick == tick && slot.got {
		c.cur, c.last, c.have, c.status = slot.v, slot.v, true, InputOnTime
		c.view = min(max(slot.view, float64(tick)-float64(p.opts.MaxRewind)), float64(tick))
		c.stats.OnTime++
		return
	}
	*slot = inSlot[I]{tick: tick}
	c.stats.Missing++
	if c.have {
		c.cur, c.status = c.last, InputRepeated
		c.stats.Repeated++
		return
	}
	var zero I
	c.cur, c.status = zero, InputNone
}

func (p *inputPipe[I]) clientFrame() {
	n := p.n
	for _, m := range p.in.fb.Received(n) {
		if m.From == serverID { // with ClientRelay on, another client could send one
			p.onFeedback(m.Value)
		}
	}
	if r := n.peers[serverID]; r != nil {
		p.setLink(r, &p.loss, &p.rtt)
	}
	if !n.accepted || !n.est.synced {
		if p.started { // the server went away: start again if it comes back
			p.clientClock, p.wlen, p.haveFb = clientClock{}, 0, false
		}
		return
	}
	clock := float64(n.clock)
	if !p.started {
		p.started = true
		p.offset = float64(n.tick) - clock + 1
		p.predTick = uint32(math.Floor(clock + p.offset))
		p.prev = p.predTick
		return
	}
	if p.wlen > 0 {
		worst := p.window[0]
		for _, v := range p.window[1:p.wlen] {
			worst = max(worst, v)
		}
		p.target, p.haveTarget = worst+p.opts.Safety, true
		switch d := p.target - p.offset; {
		case d > snapLead:
			p.offset = p.target // start-up, or a spike no few percent can catch
		default:
			p.offset += min(max(d, -p.opts.MaxAdjust), p.opts.MaxAdjust)
		}
	}
	p.prev = p.predTick
	if t := uint32(math.Floor(clock + p.offset)); t > p.predTick {
		p.predTick = t
	}
}

// onFeedback weighs the server's word on when an input arrived: the
// offset (predicted minus local clock) that would have had it arrive just
// in time.
func (p *inputPipe[I]) onFeedback(f inputFeedback) {
	n := p.n
	p.loss.add(f.seq)
	if !p.haveFb || int16(f.seq-p.fbSeq) > 0 {
		p.fbSeq, p.fbAt, p.haveFb = f.seq, n.clock, true
	}
	if f.hasEcho && int16(p.seq-f.echo) >= 0 && p.seq-f.echo < 1000 {
		if sent := p.seqAt[f.echo%1024]; n.clock >= sent {
			p.rtt.add(float64(n.clock - sent))
		}
	}
	if f.hasSample && p.itick[f.sample%inputRing] == f.sample && f.sample != 0 {
		needed := float64(f.tick) - float64(p.sentAt[f.sample%inputRing])
		p.window[p.wnext] = needed
		p.wnext = (p.wnext + 1) % len(p.window)
		p.wlen = min(p.wlen+1, len(p.window))
	}
}

func (p *inputPipe[I]) afterApply() {
	if p.pred != nil && p.started {
		p.pred.show()
	}
}

func (p *inputPipe[I]) send() {
	if p.clients != nil {
		p.serverSend()
		return
	}
	n := p.n
	if !n.accepted || !p.started || p.predTick == 0 {
		return
	}
	for t := p.prev + 1; t <= p.predTick && p.prev != 0; t++ {
		i := t % inputRing
		p.inputs[i], p.itick[i], p.sentAt[i] = p.pending, t, n.clock
	}
	if p.prev == 0 || p.itick[p.predTick%inputRing] != p.predTick {
		i := p.predTick % inputRing
		p.inputs[i], p.itick[i], p.sentAt[i] = p.pending, p.predTick, n.clock
	}
	if p.pred != nil {
		p.pred.run(p.prev, p.predTick)
	}
	p.prev = p.predTick
	b := inputBatch[I]{seq: p.seq + 1, view: n.viewTick()}
	if p.haveFb {
		b.hasEcho, b.echo, b.held = true, p.fbSeq, uint8(min(n.clock-p.fbAt, 255))
	}
	first := p.predTick
	for k := 1; k < p.opts.Redundancy && first > 1 && p.itick[(first-1)%inputRing] == first-1; k++ {
		first--
	}
	b.inputs.Newest = p.predTick
	for t := first; t <= p.predTick; t++ {
		b.inputs.Inputs = append(b.inputs.Inputs, p.inputs[t%inputRing])
	}
	if p.in.batch.Send(n, serverID, b) == nil {
		p.seq++
		p.seqAt[p.seq%1024] = n.clock
	}
}

func (p *inputPipe[I]) serverSend() {
	n := p.n
	for _, id := range n.ids {
		c := p.clients[id]
		if c == nil {
			continue
		}
		loss, _ := c.loss.rate()
		f := inputFeedback{seq: c.fbSeq + 1, tick: n.tick, hasSample: c.sampled, sample: c.sample,
			hasEcho: c.echoed, echo: c.echo, loss: uint16(math.Round(loss * 10000))}
		if p.in.fb.Send(n, id, f) == nil {
			c.fbSeq++
			c.fbSent[c.fbSeq%256] = n.tick
		}
		c.sampled, c.echoed = false, false
	}
}

// setLink writes what the pipeline measured of a peer's link onto its entity.
func (p *inputPipe[I]) setLink(r *remote, l *seqLoss, rtt *rttEstimate) {
	entry := p.n.world.Entry(r.entity)
	if !entry.HasComponent(components.Link) {
		entry.AddComponent(components.Link)
	}
	loss, samples := l.rate()
	tick := float64(1e9) / float64(p.n.cfg.TickRate) // nanoseconds per tick
	components.Link.SetValue(entry, components.LinkData{
		Loss: loss, Samples: samples,
		RTT:         durationOf(rtt.rtt * tick),
		RTTVariance: durationOf(rtt.variance * tick),
	})
}

func durationOf(ns float64) time.Duration { return time.Duration(ns) }

// seqLoss measures loss from gaps in 16-bit sequence numbers over the last
// lossWindow of them, leaving the newest lossSlack out (they may still be
// on their way, reordered by jitter).
type seqLoss struct {
	started bool
	first   uint32
	hi      uint32
	seen    [2 * lossWindow]uint32 // extended sequence number + 1, by slot

	counted   bool
	countedAt uint32
	loss      float64
	total     int
}

const (
	lossWindow = 1024
	lossSlack  = 16
)

func (l *seqLoss) add(seq uint16) {
	if !l.started {
		l.started, l.first, l.hi = true, uint32(seq)+1<<16, uint32(seq)+1<<16
	}
	d := int16(seq - uint16(l.hi))
	e := uint32(int64(l.hi) + int64(d))
	if e < l.first {
		return // from before the first one seen
	}
	if d > 0 {
		l.hi = e
	}
	l.seen[e%uint32(len(l.seen))] = e + 1
}

// rate is the fraction lost and the sequence numbers it covers. It counts
// the window again only every lossSlack sequence numbers (the newest
// lossSlack are left out anyway), so a peer costs a server a few
// operations per payload.
func (l *seqLoss) rate() (float64, int) {
	if !l.started || l.hi < l.first+lossSlack {
		return 0, 0
	}
	if l.counted && l.hi-l.countedAt < lossSlack {
		return l.loss, l.total
	}
	l.loss, l.total = l.count()
	l.counted, l.countedAt = true, l.hi
	return l.loss, l.total
}

func (l *seqLoss) count() (float64, int) {
	hi := l.hi - lossSlack
	lo := l.first
	if hi >= lossWindow && hi-lossWindow+1 > lo {
		lo = hi - lossWindow + 1
	}
	lost := 0
	for e := lo; e <= hi; e++ {
		if l.seen[e%uint32(len(l.seen))] != e+1 {
			lost++
		}
	}
	total := int(hi - lo + 1)
	return float64(lost) / float64(total), total
}

// rttEstimate smooths round-trip samples (in ticks) as ENet does.
type rttEstimate struct {
	rtt, variance float64
	n             int
}

func (r *rttEstimate) add(sample float64) {
	if r.n == 0 {
		r.rtt, r.variance = sample, sample/2
	} else {
		diff := sample - r.rtt
		r.rtt += diff / 8
		r.variance += (math.Abs(diff) - r.variance) / 4
	}
	r.n++
}

// inputBatch is a client's batch: its sequence number, the tick it shows
// interpolated entities at, an echo of the newest feedback it got (and
// how many ticks it held it), and its newest inputs.
type inputBatch[I any] struct {
	seq     uint16
	view    float64
	hasEcho bool
	echo    uint16
	held    uint8
	inputs  replication.InputBatch[I]
}

// inputFeedback is the server's word to a client each tick: its sequence
// number, the server's tick, the lowest input tick that first arrived this
// tick (the client learns how early or late it was), the newest batch it
// got (for the client's round trip), and the loss it measures of the
// client's batches (1/10000).
type inputFeedback struct {
	seq       uint16
	tick      uint32
	hasSample bool
	sample    uint32
	hasEcho   bool
	echo      uint16
	loss      uint16
}

const batchHeader = 2 + 4 + 1 + 1 + 2 + 1 // seq, view tick, view fraction/256, flags, echo, held

type batchMsgCodec[I any] struct {
	inputs replication.Codec[replication.InputBatch[I]]
}

func (c batchMsgCodec[I]) Append(dst []byte, b *inputBatch[I]) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, b.seq)
	view := max(b.view, 0)
	whole := math.Floor(view)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(whole))
	dst = append(dst, byte(min((view-whole)*256, 255)))
	var flags byte
	if b.hasEcho {
		flags = 1
	}
	dst = append(dst, flags)
	dst = binary.LittleEndian.AppendUint16(dst, b.echo)
	dst = append(dst, b.held)
	return c.inputs.Append(dst, &b.inputs)
}

func (c batchMsgCodec[I]) Decode(src []byte, b *inputBatch[I]) error {
	if len(src) < batchHeader || src[7] > 1 {
		return fmt.Errorf("%w: input batch header", ErrMalformed)
	}
	b.seq = binary.LittleEndian.Uint16(src)
	b.view = float64(binary.LittleEndian.Uint32(src[2:])) + float64(src[6])/256
	b.hasEcho = src[7] == 1
	b.echo = binary.LittleEndian.Uint16(src[8:])
	b.held = src[10]
	if err := c.inputs.Decode(src[batchHeader:], &b.inputs); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	if len(b.inputs.Inputs) > maxRedundancy {
		return fmt.Errorf("%w: %d inputs in a batch", ErrMalformed, len(b.inputs.Inputs))
	}
	return nil
}

const feedbackSize = 2 + 4 + 1 + 4 + 2 + 2

type feedbackCodec struct{}

func (feedbackCodec) Append(dst []byte, f *inputFeedback) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, f.seq)
	dst = binary.LittleEndian.AppendUint32(dst, f.tick)
	var flags byte
	if f.hasSample {
		flags |= 1
	}
	if f.hasEcho {
		flags |= 2
	}
	dst = append(dst, flags)
	dst = binary.LittleEndian.AppendUint32(dst, f.sample)
	dst = binary.LittleEndian.AppendUint16(dst, f.echo)
	return binary.LittleEndian.AppendUint16(dst, f.loss)
}

func (feedbackCodec) Decode(src []byte, f *inputFeedback) error {
	if len(src) != feedbackSize || src[6] > 3 {
		return fmt.Errorf("%w: input feedback of %d bytes", ErrMalformed, len(src))
	}
	f.seq = binary.LittleEndian.Uint16(src)
	f.tick = binary.LittleEndian.Uint32(src[2:])
	f.hasSample, f.hasEcho = src[6]&1 != 0, src[6]&2 != 0
	f.sample = binary.LittleEndian.Uint32(src[7:])
	f.echo = binary.LittleEndian.Uint16(src[11:])
	f.loss = binary.LittleEndian.Uint16(src[13:])
	if f.loss > 10000 {
		return fmt.Errorf("%w: loss %d", ErrMalformed, f.loss)
	}
	return nil
}
