package ecsnet

import (
	"net"
	"testing"
)

// Every error case of Godot's API returns its sentinel.
func TestAPIMisuseReturnsSentinelErrors(t *testing.T) {
	active := func(t *testing.T) *Peer {
		p := NewPeer()
		must(t, p.SetBindIP("127.0.0.1"))
		must(t, p.CreateServer(0, 4, 0, 0))
		t.Cleanup(func() { p.CloseConnection(0) })
		return p
	}
	cases := []struct {
		name string
		call func(t *testing.T) error
		want error
	}{
		{"server twice", func(t *testing.T) error { return active(t).CreateServer(0, 4, 0, 0) }, ErrAlreadyInUse},
		{"client on active server", func(t *testing.T) error { return active(t).CreateClient("127.0.0.1", 1, 0, 0, 0) }, ErrAlreadyInUse},
		{"server port -1", func(*testing.T) error { return NewPeer().CreateServer(-1, 4, 0, 0) }, ErrInvalidParameter},
		{"server port 65536", func(*testing.T) error { return NewPeer().CreateServer(65536, 4, 0, 0) }, ErrInvalidParameter},
		{"server for 0 clients", func(*testing.T) error { return NewPeer().CreateServer(0, 0, 0, 0) }, ErrInvalidParameter},
		{"server for 4096 clients", func(*testing.T) error { return NewPeer().CreateServer(0, 4096, 0, 0) }, ErrInvalidParameter},
		{"server negative in bandwidth", func(*testing.T) error { return NewPeer().CreateServer(0, 4, -1, 0) }, ErrInvalidParameter},
		{"server negative out bandwidth", func(*testing.T) error { return NewPeer().CreateServer(0, 4, 0, -1) }, ErrInvalidParameter},
		{"client port 65536", func(*testing.T) error { return NewPeer().CreateClient("127.0.0.1", 65536, 0, 0, 0) }, ErrInvalidParameter},
		{"client client port -1", func(*testing.T) error { return NewPeer().CreateClient("127.0.0.1", 1, 0, 0, -1) }, ErrInvalidParameter},
		{"client negative bandwidth", func(*testing.T) error { return NewPeer().CreateClient("127.0.0.1", 1, -5, 0, 0) }, ErrInvalidParameter},
		{"client unresolvable name", func(*testing.T) error { return NewPeer().CreateClient("no-such-host.invalid", 1, 0, 0, 0) }, ErrCantResolve},
		{"server on a taken port", func(t *testing.T) error {
			taken := takeUDPPort(t)
			p := NewPeer()
			must(t, p.SetBindIP("127.0.0.1"))
			return p.CreateServer(taken, 4, 0, 0)
		}, ErrCantCreate},
		{"client on a taken client port", func(t *testing.T) error {
			taken := takeUDPPort(t)
			p := NewPeer()
			must(t, p.SetBindIP("127.0.0.1"))
			return p.CreateClient("127.0.0.1", 1, 0, 0, taken)
		}, ErrCantCreate},
		{"put while inactive", func(*testing.T) error { return NewPeer().PutPacket([]byte("x")) }, ErrUnconfigured},
		{"put to an unknown peer", func(t *testing.T) error {
			p := active(t)
			p.SetTargetPeer(77)
			return p.PutPacket([]byte("x"))
		}, ErrInvalidParameter},
		{"put to all but an unknown peer", func(t *testing.T) error {
			p := active(t)
			p.SetTargetPeer(-77)
			return p.PutPacket([]byte("x"))
		}, ErrInvalidParameter},
		{"put over 16 MiB", func(t *testing.T) error { return active(t).PutPacket(make([]byte, MaxPacketSize+1)) }, ErrInvalidParameter},
		{"put while a client is connecting", func(t *testing.T) error {
			p := NewPeer()
			must(t, p.CreateClient("127.0.0.1", 9, 0, 0, 0))
			defer p.CloseConnection(0)
			return p.PutPacket([]byte("x"))
		}, ErrUnconfigured},
		{"get from an empty queue", func(*testing.T) error { _, err := NewPeer().GetPacket(); return err }, ErrUnavailable},
		{"poll while inactive", func(*testing.T) error { return NewPeer().Poll() }, ErrUnconfigured},
		{"disconnect peer while inactive", func(*testing.T) error { return NewPeer().DisconnectPeer(2, true) }, ErrUnconfigured},
		{"disconnect unknown peer", func(t *testing.T) error { return active(t).DisconnectPeer(2, false) }, ErrInvalidParameter},
		{"disconnect peer from a client", func(t *testing.T) error {
			p := NewPeer()
			must(t, p.CreateClient("127.0.0.1", 9, 0, 0, 0))
			defer p.CloseConnection(0)
			return p.DisconnectPeer(1, true)
		}, ErrUnconfigured},
		{"channel count 2", func(*testing.T) error { return NewPeer().SetChannelCount(2) }, ErrInvalidParameter},
		{"channel count 256", func(*testing.T) error { return NewPeer().SetChannelCount(256) }, ErrInvalidParameter},
		{"channel count while active", func(t *testing.T) error { return active(t).SetChannelCount(4) }, ErrAlreadyInUse},
		{"transfer channel 0", func(*testing.T) error { return NewPeer().SetTransferChannel(0) }, ErrInvalidParameter},
		{"transfer channel -2", func(*testing.T) error { return NewPeer().SetTransferChannel(-2) }, ErrInvalidParameter},
		{"transfer channel beyond count", func(*testing.T) error { return NewPeer().SetTransferChannel(3) }, ErrInvalidParameter},
		{"compression mode 9", func(*testing.T) error { return NewPeer().SetCompressionMode(9) }, ErrInvalidParameter},
		{"dictionary mode without a dictionary", func(t *testing.T) error {
			p := NewPeer()
			must(t, p.SetCompressionMode(CompressZstdDict))
			return p.CreateServer(0, 4, 0, 0)
		}, ErrInvalidParameter},
		{"dictionary that is not one", func(*testing.T) error { return NewPeer().SetCompressionDictionary([]byte("not a dictionary at all")) }, ErrInvalidParameter},
		{"compression while active", func(t *testing.T) error { return active(t).SetCompressionMode(CompressZlib) }, ErrAlreadyInUse},
		{"bind ip not an address", func(*testing.T) error { return NewPeer().SetBindIP("nowhere") }, ErrInvalidParameter},
		{"bind ip while active", func(t *testing.T) error { return active(t).SetBindIP("*") }, ErrAlreadyInUse},
		{"timeout minimum above maximum", func(*testing.T) error { return NewPeer().SetTimeout(4, 2e9, 1e9) }, ErrInvalidParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.call(t), c.want) })
	}
}

// takeUDPPort holds a loopback UDP port for the rest of the test.
func takeUDPPort(t *testing.T) int {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	must(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn.LocalAddr().(*net.UDPAddr).Port
}

func TestSettersKeepGodotDefaults(t *testing.T) {
	p := NewPeer()
	if p.ChannelCount() != 3 || p.TransferChannel() != -1 || p.TransferMode() != TransferReliable ||
		!p.ServerRelay() || p.AlwaysOrdered() || p.CompressionMode() != CompressNone ||
		p.RefuseNewConnections() || p.UniqueID() != 1 || p.ConnectionStatus() != Disconnected {
		t.Fatalf("defaults differ from Godot 3: %+v", p)
	}
	must(t, p.SetChannelCount(6))
	must(t, p.SetTransferChannel(5))
	must(t, p.SetChannelCount(4)) // the transfer channel no longer fits: back to by-mode
	if p.TransferChannel() != -1 {
		t.Errorf("transfer channel %d after shrinking the channel count", p.TransferChannel())
	}
}
