package replication

import "testing"

func TestServerCountsEveryClientsDatagramsAndEncodesOncePerBaseline(t *testing.T) {
	l := newLink(t, testRegistry(), 3)
	for i := range 50 {
		spawn(l.world, position{float32(i), 1})
	}
	l.tick++
	l.server.Capture(l.world, l.tick)
	if l.server.Stats().EncodeTime <= 0 {
		t.Fatal("capturing a snapshot took no encode time")
	}
	wantBytes := countsWhatItHandsOut(t, l)
	// Three clients with the same (empty) baseline share one encoding: a
	// fourth call for a known baseline adds bytes, not an encoding.
	if n := l.server.Stats().Encodes; n != 1 {
		t.Errorf("three clients on one baseline took %d encodings, want 1", n)
	}
	if _, err := l.server.Datagrams(l.clients[0].id); err != nil {
		t.Fatal(err)
	}
	if n := l.server.Stats().Encodes; n != 1 {
		t.Errorf("a cached encoding was encoded again (%d encodings)", n)
	}
	if l.server.Stats().BytesSent <= wantBytes {
		t.Error("a cached encoding was not counted as sent")
	}
}

// With per-client snapshots (interest management, a budget or OwnerOnly
// components) every datagram handed out is counted too.
func TestAScopedServerCountsEveryClientsDatagrams(t *testing.T) {
	l := scopedLink(t, ServerOptions{Interest: &Interest{}}, 3)
	for i := range 50 {
		spawn(l.world, position{float32(i), 1}) // unplaced without Interest.Position: every client's
	}
	l.tick++
	l.server.Capture(l.world, l.tick)
	countsWhatItHandsOut(t, l)
}

// countsWhatItHandsOut takes every client's datagrams from l's server and
// fails unless its statistics counted exactly those; it returns their
// bytes.
func countsWhatItHandsOut(t *testing.T, l *link) uint64 {
	t.Helper()
	var datagrams, bytes uint64
	for _, c := range l.clients {
		parts, err := l.server.Datagrams(c.id)
		if err != nil {
			t.Fatal(err)
		}
		datagrams += uint64(len(parts))
		for _, p := range parts {
			bytes += uint64(len(p))
		}
	}
	if bytes == 0 {
		t.Fatalf("no snapshot bytes for %d new clients", len(l.clients))
	}
	if st := l.server.Stats(); st.DatagramsSent != datagrams || st.BytesSent != bytes {
		t.Errorf("counted %d datagrams, %d bytes; handed out %d, %d", st.DatagramsSent, st.BytesSent, datagrams, bytes)
	}
	return bytes
}
