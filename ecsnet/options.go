package ecsnet

import (
	"crypto"
	"crypto/x509"
	"fmt"
	"time"

	"github.com/netburi/netburi/transport"
)

// Options are a peer's transport settings in one value: what the setters
// set one by one, for the network system (systems.Config.Transport) or a
// peer of one's own (Apply, Listen, Connect). The zero value is Godot 3's
// defaults. Options is a transport.Provider that starts ENet peers with
// them; it may be copied and shared by a server and its clients.
type Options struct {
	// Compression is the datagram compression; both ends must agree.
	Compression CompressionMode
	// Dictionary is the zstd dictionary CompressZstdDict needs (see
	// TrainDictionary); both ends must use the same.
	Dictionary []byte
	// BindIP is the local address: an IP, or "" and "*" for every
	// interface.
	BindIP string
	// DTLS, when set, encrypts the traffic (a netburi relay; Godot 3.2
	// servers with use_dtls interoperate).
	DTLS *DTLS
	// Link, when set, puts a link conditioner on the peer (a zero value is
	// a perfect link that SetLinkConditioner can degrade later, live).
	Link *LinkConditions
	// Timeout is ENet's peer timeout (zero: ENet's defaults).
	Timeout Timeout
	// InBandwidth and OutBandwidth are ENet's limits in bytes per second
	// (0: unlimited).
	InBandwidth, OutBandwidth int
	// PollLimit bounds the events one Poll handles (0: DefaultPollLimit).
	PollLimit int
	// Guard bounds what one sender may cost the host (zero fields: the
	// defaults; see GuardLimits and SECURITY.md).
	Guard GuardLimits
	// Record, when set, gets every packet the peer sends (see
	// SetPacketRecorder).
	Record func(payload []byte)
	// Configure, when set, is called on the peer after everything above
	// and before its host is created, for what Options does not name.
	Configure func(*Peer) error
}

// DTLS are a peer's DTLS settings: a server's certificate and key, or the
// certificate a client trusts (nil: the system roots). A client verifies
// the server unless SkipVerify is set (then the traffic is encrypted but
// the server unauthenticated).
type DTLS struct {
	Certificate *x509.Certificate
	Key         crypto.Signer // servers only
	SkipVerify  bool          // clients only
}

// Timeout is ENet's peer timeout (see SetTimeout).
type Timeout struct {
	Limit            int
	Minimum, Maximum time.Duration
}

var _ transport.Provider = Options{}

// Apply sets the options on an inactive peer (channel count, relay and
// bandwidths are the caller's, at CreateServer or CreateClient). Errors are
// those of the setters it calls, and the Configure function's.
func (o Options) Apply(p *Peer) error {
	if err := p.SetCompressionMode(o.Compression); err != nil {
		return err
	}
	if o.Dictionary != nil {
		if err := p.SetCompressionDictionary(o.Dictionary); err != nil {
			return err
		}
	}
	if o.BindIP != "" {
		if err := p.SetBindIP(o.BindIP); err != nil {
			return err
		}
	}
	if d := o.DTLS; d != nil {
		if err := p.SetDTLSEnabled(true); err != nil {
			return err
		}
		if err := p.SetDTLSCertificate(d.Certificate); err != nil {
			return err
		}
		if d.Key != nil {
			if err := p.SetDTLSKey(d.Key); err != nil {
				return err
			}
		}
		if err := p.SetDTLSVerify(!d.SkipVerify); err != nil {
			return err
		}
	}
	if o.Link != nil {
		if err := p.SetLinkConditioner(*o.Link); err != nil {
			return err
		}
	}
	if err := p.SetTimeout(o.Timeout.Limit, o.Timeout.Minimum, o.Timeout.Maximum); err != nil {
		return err
	}
	if err := p.SetPollLimit(o.PollLimit); err != nil {
		return err
	}
	if err := p.SetGuardLimits(o.Guard); err != nil {
		return err
	}
	p.SetPacketRecorder(o.Record)
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
	if err := p.CreateServer(port, lo.MaxClients, o.InBandwidth, o.OutBandwidth); err != nil {
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
	if err := p.CreateClient(address, port, o.InBandwidth, o.OutBandwidth, 0); err != nil {
		return nil, err
	}
	return p, nil
}
