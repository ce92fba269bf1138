package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/netburi/netburi/components"
)

// descs are the metrics a Network exports.
type descs struct {
	tick, peers, udpBytes, udpDatagrams, refused, pollLimited, hostDrops      *prometheus.Desc
	refusedFewChannels, guardDrops, guardEvents                               *prometheus.Desc
	relaySessions, relayPending, relayDatagrams, relay                        *prometheus.Desc
	payloadBytes, payloadPackets, relayedPackets, peerDrops                   *prometheus.Desc
	rttMean, rttMax, lossMean, lossMax                                        *prometheus.Desc
	replDatagrams, replBytes, replEncode, replFull, replOversize, replBadAcks *prometheus.Desc
	inputsLate, inputsBad                                                     *prometheus.Desc
	peerRTT, peerLoss, peerBytes                                              *prometheus.Desc
}

func newDescs(ns string) descs {
	d := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(ns, "", name), help, labels, nil)
	}
	lane := []string{"lane", "channel", "mode"}
	return descs{
		tick:               d("tick", "The network tick (server: its own; client: its estimate of the server's)."),
		peers:              d("peers", "Remote peers by state: connecting (schema check pending), connected (accepted), rejected.", "state"),
		udpBytes:           d("udp_bytes_total", "UDP bytes of the ENet host, after compression.", "direction"),
		udpDatagrams:       d("udp_datagrams_total", "UDP datagrams of the ENet host.", "direction"),
		refused:            d("refused_connections_total", "Connections reset by the server: bad or duplicate ID, or refusing new connections."),
		pollLimited:        d("poll_limited_total", "Polls that reached the poll limit, leaving events for the next one."),
		hostDrops:          d("host_drops_total", "Datagrams and packets the host dropped, by reason (one per counter of ecsnet.HostStats that is a drop; the guard's are guard_drops_total).", "reason"),
		refusedFewChannels: d("refused_few_channels_total", "Of the refused connections, clients that asked for fewer channels than the server has."),
		guardDrops:         d("guard_drops_total", "Datagrams the guard in front of libenet dropped, by rule (one per drop counter of ecsnet.GuardStats).", "rule"),
		guardEvents:        d("guard_events_total", "What the guard did about senders, by event: handshakes expired, abusive peers disconnected, receive errors passed (ecsnet.GuardStats counters that are not drops).", "event"),
		relaySessions:      d("relay_sessions", "Remotes the relay (DTLS, IPv6, link conditioner) knows now."),
		relayPending:       d("relay_pending_handshakes", "Remotes the relay has not yet passed to ENet (DTLS handshakes under way)."),
		relayDatagrams:     d("relay_datagrams_total", "Datagrams on the relay's public socket.", "direction"),
		relay:              d("relay_events_total", "What the relay dropped or did to datagrams, by event (one per counter of ecsnet.TransportStats).", "event"),
		payloadBytes:       d("payload_bytes_total", "Application payload bytes (after the Godot header) with remote peers.", "direction"),
		payloadPackets:     d("payload_packets_total", "Application payload packets with remote peers.", "direction"),
		relayedPackets:     d("relayed_packets_total", "Server: packets from clients forwarded to other clients."),
		peerDrops:          d("peer_drops_total", "Packets from remote peers dropped as malformed or not allowed, by reason (one per field of ecsnet.DropCounts; \"unclassified\" on a transport other than ENet).", "reason"),
		rttMean:            d("peer_rtt_mean_seconds", "Mean of ENet's round-trip time over connected remote peers."),
		rttMax:             d("peer_rtt_max_seconds", "Largest round-trip time of a remote peer."),
		lossMean:           d("peer_loss_mean_ratio", "Mean of ENet's reliable packet loss (0..1) over remote peers."),
		lossMax:            d("peer_loss_max_ratio", "Largest reliable packet loss (0..1) of a remote peer."),
		replDatagrams:      d("replication_datagrams_total", "Snapshot datagrams sent to clients, per replication lane.", lane...),
		replBytes:          d("replication_bytes_total", "Snapshot bytes sent to clients (before compression), per replication lane.", lane...),
		replEncode:         d("replication_encode_seconds_total", "Time spent capturing snapshots and encoding deltas, per replication lane.", lane...),
		replFull:           d("replication_full_states_total", "Snapshots sent whole (a client's first, or its baseline expired), per lane.", lane...),
		replOversize:       d("replication_oversize_drops_total", "Entities too large for one snapshot datagram, per lane.", lane...),
		replBadAcks:        d("replication_malformed_acks_total", "Malformed snapshot acknowledgements from clients, per lane.", lane...),
		inputsLate:         d("inputs_late_total", "Client inputs that arrived after their tick was simulated."),
		inputsBad:          d("inputs_malformed_total", "Client input batches claiming impossible ticks."),
		peerRTT:            d("peer_rtt_seconds", "Round-trip time of one remote peer (per-peer series, opt-in).", "peer"),
		peerLoss:           d("peer_loss_ratio", "Reliable packet loss of one remote peer (per-peer series, opt-in).", "peer"),
		peerBytes:          d("peer_payload_bytes_total", "Payload bytes with one remote peer (per-peer series, opt-in).", "peer", "direction"),
	}
}

// Describe implements prometheus.Collector (safe from any goroutine).
func (m *Network) Describe(ch chan<- *prometheus.Desc) {
	m.tick.Describe(ch)
	d := m.d
	for _, x := range []*prometheus.Desc{d.tick, d.peers, d.udpBytes, d.udpDatagrams, d.refused, d.pollLimited, d.hostDrops,
		d.relaySessions, d.relayPending, d.relayDatagrams, d.relay, d.payloadBytes, d.payloadPackets, d.relayedPackets, d.peerDrops,
		d.rttMean, d.rttMax, d.lossMean, d.lossMax, d.replDatagrams, d.replBytes, d.replEncode, d.replFull, d.replOversize, d.replBadAcks} {
		ch <- x
	}
	for _, x := range []*prometheus.Desc{d.refusedFewChannels, d.guardDrops, d.guardEvents} {
		ch <- x
	}
	if m.opts.Inputs != nil {
		ch <- d.inputsLate
		ch <- d.inputsBad
	}
	if m.opts.PerPeer {
		ch <- d.peerRTT
		ch <- d.peerLoss
		ch <- d.peerBytes
	}
}

// Collect implements prometheus.Collector (safe from any goroutine): it
// reads the newest snapshot, never the network.
func (m *Network) Collect(ch chan<- prometheus.Metric) {
	m.tick.Collect(ch)
	s := m.snap.Load()
	d := m.d
	counter := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, v, labels...)
	}
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	gauge(d.tick, float64(s.tick))
	for _, st := range []components.PeerState{components.PeerConnecting, components.PeerConnected, components.PeerRejected} {
		gauge(d.peers, float64(s.peersByState[st]), st.String())
	}
	if s.enet {
		counter(d.udpBytes, float64(s.udp[0]), "out")
		counter(d.udpBytes, float64(s.udp[1]), "in")
		counter(d.udpDatagrams, float64(s.udp[2]), "out")
		counter(d.udpDatagrams, float64(s.udp[3]), "in")
		counter(d.refused, float64(s.refused))
		counter(d.refusedFewChannels, float64(s.refusedFewChannels))
		counter(d.pollLimited, float64(s.pollLimited))
		for _, l := range s.hostDrops {
			counter(d.hostDrops, l.value, l.label)
		}
		for _, l := range s.guardDrops {
			counter(d.guardDrops, l.value, l.label)
		}
		for _, l := range s.guardEvents {
			counter(d.guardEvents, l.value, l.label)
		}
		gauge(d.relaySessions, float64(s.relaySessions))
		gauge(d.relayPending, float64(s.relayPending))
		counter(d.relayDatagrams, float64(s.relayIn), "in")
		counter(d.relayDatagrams, float64(s.relayOut), "out")
		for _, l := range s.relay {
			counter(d.relay, l.value, l.label)
		}
	}
	p := s.payload
	counter(d.payloadBytes, float64(p.bytesSent), "out")
	counter(d.payloadBytes, float64(p.bytesReceived), "in")
	counter(d.payloadPackets, float64(p.packetsSent), "out")
	counter(d.payloadPackets, float64(p.packetsReceived), "in")
	counter(d.relayedPackets, float64(p.packetsRelayed))
	if s.enet {
		for _, l := range s.peerDrops {
			counter(d.peerDrops, l.value, l.label)
		}
	} else {
		counter(d.peerDrops, float64(p.unclassified), "unclassified")
	}
	gauge(d.rttMean, s.rttMean)
	gauge(d.rttMax, s.rttMax)
	gauge(d.lossMean, s.lossMean)
	gauge(d.lossMax, s.lossMax)
	for _, l := range s.lanes {
		labels := []string{l.lane, l.channel, l.mode}
		counter(d.replDatagrams, float64(l.datagrams), labels...)
		counter(d.replBytes, float64(l.bytes), labels...)
		counter(d.replEncode, l.encode, labels...)
		counter(d.replFull, float64(l.fullStates), labels...)
		counter(d.replOversize, float64(l.oversize), labels...)
		counter(d.replBadAcks, float64(l.malformedAcks), labels...)
	}
	if s.hasInputs {
		counter(d.inputsLate, float64(s.inputsLate))
		counter(d.inputsBad, float64(s.inputsBad))
	}
	for _, pp := range s.perPeer {
		gauge(d.peerRTT, pp.rtt, pp.id)
		gauge(d.peerLoss, pp.loss, pp.id)
		counter(d.peerBytes, float64(pp.c.bytesSent), pp.id, "out")
		counter(d.peerBytes, float64(pp.c.bytesReceived), pp.id, "in")
	}
}
