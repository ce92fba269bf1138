package ecsnet

import (
	"bytes"
	"testing"
	"time"

	"github.com/netburi/netburi/transport"
)

// Options set what the setters set, one value for every setting.
func TestOptionsApplyEverySetting(t *testing.T) {
	cert := newTestCert(t, certOptions{})
	dict := testDictionary(t)
	link := LinkConditions{Seed: 3, Out: LinkDirection{Loss: 0.1}}
	recorded := 0
	o := Options{
		Compression: CompressZstdDict, Dictionary: dict, BindIP: "127.0.0.1",
		DTLS:    &DTLS{Certificate: cert.cert, SkipVerify: true},
		Link:    &link,
		Timeout: Timeout{Limit: 8, Minimum: time.Second, Maximum: 2 * time.Second},
		Record:  func([]byte) { recorded++ }, PollLimit: 7,
	}
	p := NewPeer()
	if err := o.Apply(p); err != nil {
		t.Fatal(err)
	}
	got, ok := p.LinkConditioner()
	if p.CompressionMode() != CompressZstdDict || !bytes.Equal(p.CompressionDictionary(), dict) ||
		!p.DTLSEnabled() || p.DTLSVerify() || !ok || got != link || p.PollLimit() != 7 ||
		p.timeout != (peerTimeout{set: true, limit: 8, minMS: 1000, maxMS: 2000}) || p.recorder == nil {
		t.Errorf("options not all applied: %+v", p)
	}
	wantErr(t, Options{BindIP: "nowhere"}.Apply(NewPeer()), ErrInvalidParameter)
}

// Options start DTLS servers and clients as transport.Providers.
func TestOptionsListenAndConnectOverDTLS(t *testing.T) {
	cert := newTestCert(t, certOptions{})
	srvT, err := Options{BindIP: "127.0.0.1", DTLS: &DTLS{Certificate: cert.cert, Key: cert.key}}.
		Listen(0, transport.ListenOptions{MaxClients: 2, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	cliT, err := Options{DTLS: &DTLS{Certificate: cert.cert}}.
		Connect("127.0.0.1", srvT.LocalPort(), transport.ConnectOptions{Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	srv, cli := srvT.(*Peer), cliT.(*Peer)
	n := newTestNet(t)
	n.peers = append(n.peers, srv, cli)
	n.waitEvent(cli, Event{ConnectionSucceeded, 0})
	if !srv.DTLSEnabled() || srv.Stats().Transport.Sessions != 1 {
		t.Errorf("not a DTLS session: %+v", srv.Stats().Transport)
	}
}
