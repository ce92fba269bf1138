package ecsnet

import (
	"fmt"

	"github.com/netburi/netburi/transport"
)

// Options are a peer's transport settings in one value, for the network
// system (systems.Config.Transport) or a peer of one's own (Apply). The
// zero value is Godot 3's defaults, and Options is a transport.Provider
// that starts ENet peers with them.
type Options struct {
	// Compression is the datagram compression; both ends must agree.
	Compression CompressionMode
	// BindIP is the local address: an IP, or "" and "*" for every
	// interface.
	BindIP string
	// Configure, when set, is called on the peer after the rest of the
	// options and before its host is created, for what Options does not
	// name.
	Configure func(*Peer) error
}

var _ transport.Provider = Options{}

// Apply sets the options on an inactive peer. Errors are those of the
// setters it calls, and the Configure function's.
func (o Options) Apply(p *Peer) error {
	if err := p.SetCompressionMode(o.Compression); err != nil {
		return err
	}
	if o.BindIP != "" {
		if err := p.SetBindIP(o.BindIP); err != nil {
			return err
		}
	}
	if o.Configure != nil {
		if err := o.Configure(p); err != nil {
			return fmt.Errorf("ecsnet: configure peer: %w", err)
		}
	}
	return nil
}

// Listen starts a server peer on port with the options (transport.Provider).
func (o Options) Listen(port int, lo transport.ListenOptions) (transport.Transport, error) {
	p := NewPeer()
	p.SetServerRelay(lo.Relay)
	if err := p.SetChannelCount(lo.Channels); err != nil {
		return nil, err
	}
	if err := o.Apply(p); err != nil {
		return nil, err
	}
	if err := p.CreateServer(port, lo.MaxClients, 0, 0); err != nil {
		return nil, err
	}
	return p, nil
}

// Connect starts a client peer connecting to address and port with the
// options (transport.Provider).
func (o Options) Connect(address string, port int, co transport.ConnectOptions) (transport.Transport, error) {
	p := NewPeer()
	if err := p.SetChannelCount(co.Channels); err != nil {
		return nil, err
	}
	if err := o.Apply(p); err != nil {
		return nil, err
	}
	if err := p.CreateClient(address, port, 0, 0, 0); err != nil {
		return nil, err
	}
	return p, nil
}
