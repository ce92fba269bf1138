package systems

// tickEstimate is a client's running estimate of the server's tick: started
// from the welcome, advanced one per local tick, and corrected from ping
// samples (server tick + half the round trip, both measured in ticks, so it
// holds whether the world runs in real time or as fast as a test steps it).
type tickEstimate struct {
	tick   uint32
	synced bool
}

func (e *tickEstimate) start(serverTick uint32) {
	e.tick = serverTick
	e.synced = true
}

func (e *tickEstimate) advance() {
	if e.synced {
		e.tick++
	}
}

// sample corrects the estimate with a server tick seen rtt local ticks ago
// (the server stamped it halfway). Small errors move the estimate one tick
// at a time so it never jumps under jitter; large ones snap.
func (e *tickEstimate) sample(serverTick, rtt uint32) {
	target := serverTick + (rtt+1)/2
	diff := int64(int32(target - e.tick))
	switch {
	case diff > 3 || diff < -3:
		e.tick = target
	case diff > 0:
		e.tick++
	case diff < 0:
		e.tick--
	}
}
