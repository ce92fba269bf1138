package game

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/ecsnet"
)

// Mode is what Run starts.
type Mode int

// Modes.
const (
	// ModeListen: a server, this window's player and bots, in one process.
	ModeListen Mode = iota
	// ModeServer: a headless dedicated server (and any bots).
	ModeServer
	// ModeConnect: this window's player (and any bots) joining a server.
	ModeConnect
)

// Options configure Run.
type Options struct {
	Mode        Mode
	Host        string // ModeConnect: the server's address
	Port        int    // the server's port
	Bots        int    // headless bot players in this process
	Compression ecsnet.CompressionMode
	DTLS        bool   // encrypt; the server makes a self-signed certificate unless CertFile is set
	CertFile    string // PEM certificate: the server's, or the one a client trusts
	KeyFile     string // PEM key of a server's certificate
	// Link conditions this process's own player's peer (ModeServer: the
	// server's). Keys change it live in the window.
	Link     ecsnet.LinkConditions
	Duration time.Duration // stop after this long (0: until closed or interrupted)
	Headless bool          // never open a window
	Window   WindowOptions // screenshot settings
	Out      io.Writer     // status lines; default os.Stdout
	Server   ServerOptions // arena
}

// Run runs the demo until ctx is done, the window closes or Duration
// passes, then tells every peer goodbye.
func Run(ctx context.Context, o Options) error {
	if o.Out == nil {
		o.Out = os.Stdout
	}
	if o.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Duration)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	serverSet, clientSet, err := o.settings()
	if err != nil {
		return err
	}
	host, port := o.Host, o.Port
	var srv *ServerHandle
	if o.Mode != ModeConnect {
		if o.Mode == ModeServer {
			serverSet.Link = linkOrNil(o.Link)
		}
		if srv, err = StartServer(ctx, DefaultProtocol, o.Port, serverSet, o.Server); err != nil {
			return err
		}
		defer srv.Wait()
		defer cancel()
		host, port = "127.0.0.1", srv.Port()
		fmt.Fprintf(o.Out, "netburi demo: server on UDP port %d (compression %s, DTLS %s)\n", port, o.Compression, onOff(o.DTLS))
	}
	botSet := clientSet
	botSet.Link = nil
	bots, err := StartBots(ctx, DefaultProtocol, o.Bots, host, port, botSet, nil)
	if err != nil {
		return err
	}
	defer bots.Wait()
	defer cancel()

	if o.Mode == ModeServer {
		return statusLoop(ctx, o.Out, func() string { return srv.Status().Line() + bots.Line() })
	}
	link := o.Link
	clientSet.Link = &link // a conditioner, perfect or not, so it can change live
	if !o.Headless && DisplayAvailable() {
		client, err := NewClientNode(DefaultProtocol, host, port, clientSet, KeyboardInput)
		if err != nil {
			return err
		}
		defer client.Net.Close()
		wo := o.Window
		wo.Role = "CLIENT"
		if srv != nil {
			wo.Role = "LISTEN SERVER"
		}
		return RunWindow(ctx, client, wo)
	}
	if !o.Headless {
		fmt.Fprintln(o.Out, "netburi demo: no display (neither DISPLAY nor WAYLAND_DISPLAY is set): running headless, with a bot flying for this player")
	}
	client, err := NewClientNode(DefaultProtocol, host, port, clientSet, BotInput)
	if err != nil {
		return err
	}
	var line atomic.Value
	line.Store("")
	go func() {
		defer client.Net.Close()
		every(ctx, TickRate, func() {
			client.Step()
			if client.Net.Tick()%TickRate == 0 || line.Load() == "" {
				s := ClientLine(client)
				if srv != nil {
					s = srv.Status().Line() + " | " + s
				}
				line.Store(s + bots.Line())
			}
		})
	}()
	return statusLoop(ctx, o.Out, func() string { return line.Load().(string) })
}

func linkOrNil(c ecsnet.LinkConditions) *ecsnet.LinkConditions {
	if c == (ecsnet.LinkConditions{}) {
		return nil
	}
	return &c
}

// settings builds the server's and the clients' transport settings.
func (o Options) settings() (server, client Settings, err error) {
	server = Settings{Compression: o.Compression}
	client = server
	if !o.DTLS {
		if o.CertFile != "" || o.KeyFile != "" {
			return server, client, errors.New("-cert and -key need -dtls")
		}
		return server, client, nil
	}
	var d ecsnet.DTLS
	switch {
	case o.CertFile != "" && o.Mode != ModeConnect:
		if d.Certificate, d.Key, err = ecsnet.LoadDTLSFiles(o.CertFile, o.KeyFile); err != nil {
			return server, client, err
		}
	case o.CertFile != "":
		if d.Certificate, _, err = ecsnet.LoadDTLSFiles(o.CertFile, ""); err != nil {
			return server, client, err
		}
	case o.Mode != ModeConnect:
		if d.Certificate, d.Key, err = SelfSignedCertificate(); err != nil {
			return server, client, err
		}
	}
	if o.Mode != ModeConnect {
		server.DTLS = &d
	}
	// Clients in this process trust the server's certificate; a client of
	// a remote server without -cert encrypts but cannot authenticate it.
	client.DTLS = &ecsnet.DTLS{Certificate: d.Certificate, SkipVerify: d.Certificate == nil}
	return server, client, nil
}

// SelfSignedCertificate makes an ECDSA P-256 certificate for 127.0.0.1,
// ::1 and localhost, valid for a day, with its key.
func SelfSignedCertificate() (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "netburi demo"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// every calls step rate times a second until ctx is done, catching up
// after short stalls and skipping ahead after long ones.
func every(ctx context.Context, rate int, step func()) {
	period := time.Second / time.Duration(rate)
	next := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for ctx.Err() == nil {
		step()
		next = next.Add(period)
		wait := time.Until(next)
		if wait < -250*time.Millisecond {
			next, wait = time.Now(), 0
		}
		timer.Reset(max(wait, 0))
		select {
		case <-ctx.Done():
		case <-timer.C:
		}
	}
}

// statusLoop prints line once a second until ctx is done: rewritten in
// place on a terminal, one line per second otherwise.
func statusLoop(ctx context.Context, out io.Writer, line func() string) error {
	tty := false
	if f, ok := out.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if tty {
				fmt.Fprintln(out)
			}
			fmt.Fprintln(out, "netburi demo: closing")
			return nil
		case <-tick.C:
			if tty {
				fmt.Fprintf(out, "\r\033[K%s", line())
			} else {
				fmt.Fprintln(out, line())
			}
		}
	}
}

// ServerStatus is a server's state as its loop last published it.
type ServerStatus struct {
	Tick     uint32
	Entities int
	Peers    []components.RemotePeerData
	Ships    []ShipStatus
	// Payload rates summed over every client, bytes per second.
	BytesInPerSecond, BytesOutPerSecond float64
	// The host's UDP byte counters (wrapping, after compression).
	UDPBytesSent, UDPBytesReceived uint32
	// ReplicationBytes counts the snapshot bytes handed to all clients
	// (every lane's replication.ServerStats.BytesSent) as of Tick.
	ReplicationBytes uint64
}

// ShipStatus is one ship on the server.
type ShipStatus struct {
	Owner  uint32
	Color  uint8
	Score  uint32
	X, Y   float64 // pixels
	Moving bool
}

// Line is the status line of a server.
func (s ServerStatus) Line() string {
	return fmt.Sprintf("server tick %d | peers %d | in %.1f kbit/s out %.1f kbit/s | entities %d",
		s.Tick, len(s.Peers), s.BytesInPerSecond*8/1000, s.BytesOutPerSecond*8/1000, s.Entities)
}

// ServerHandle is a server running on its own goroutine.
type ServerHandle struct {
	port int
	done chan struct{}

	mu     sync.Mutex
	status ServerStatus
	ticks  []time.Duration // time spent in each tick's systems, when recording
	record bool
}

// StartServer starts a server node on port and runs it at TickRate on a
// goroutine of its own until ctx is done; then it closes the connection,
// telling every client.
func StartServer(ctx context.Context, p *Protocol, port int, s Settings, opts ServerOptions) (*ServerHandle, error) {
	node, err := NewServerNode(p, port, s, opts)
	if err != nil {
		return nil, err
	}
	h := &ServerHandle{port: node.Net.Transport().LocalPort(), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		defer node.Net.Close()
		every(ctx, TickRate, func() {
			start := time.Now()
			node.Step()
			took := time.Since(start)
			h.publish(node, took)
		})
	}()
	return h, nil
}

// Port is the server's UDP port.
func (h *ServerHandle) Port() int { return h.port }

// Wait blocks until the server has closed.
func (h *ServerHandle) Wait() { <-h.done }

// Status is the newest published state.
func (h *ServerHandle) Status() ServerStatus {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.status
}

// RecordTicks starts (or, with false, stops) keeping each tick's duration.
func (h *ServerHandle) RecordTicks(on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.record = on
}

// TickTimes returns the recorded tick durations.
func (h *ServerHandle) TickTimes() []time.Duration {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.ticks)
}

func (h *ServerHandle) publish(n *ServerNode, took time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.record {
		h.ticks = append(h.ticks, took)
	}
	st := &h.status
	st.Tick = n.Net.Tick()
	st.ReplicationBytes = 0
	for i := range n.Net.Lanes() {
		st.ReplicationBytes += n.Net.Replication(i).Stats().BytesSent
	}
	if st.Tick%6 != 0 && len(st.Peers) > 0 {
		return
	}
	st.Peers = st.Peers[:0]
	st.BytesInPerSecond, st.BytesOutPerSecond = 0, 0
	n.Sim.peers.Each(n.World, func(en *donburi.Entry) {
		p := *components.RemotePeer.Get(en)
		st.Peers = append(st.Peers, p)
		st.BytesInPerSecond += p.Stats.BytesInPerSecond
		st.BytesOutPerSecond += p.Stats.BytesOutPerSecond
	})
	st.Peers = slices.Clone(st.Peers) // readers keep the old slice
	st.Ships = nil
	n.Sim.shipsQ.Each(n.World, func(en *donburi.Entry) {
		b, sh := Body.Get(en), Ship.Get(en)
		st.Ships = append(st.Ships, ShipStatus{Owner: sh.Owner, Color: sh.Color, Score: Player.Get(en).Score,
			X: b.X, Y: b.Y, Moving: b.VX != 0 || b.VY != 0})
	})
	st.Entities = n.Sim.replicated.Count(n.World)
	hs := peerOf(n.Net).Stats()
	st.UDPBytesSent, st.UDPBytesReceived = hs.BytesSent, hs.BytesReceived
}

// ClientLine is the status line of a client.
func ClientLine(c *ClientNode) string {
	link, _ := c.ServerLink()
	measured, _ := c.Measured()
	state := "connecting"
	if c.Net.Accepted() {
		state = "playing"
	}
	score := c.Scores.Score(uint32(c.Net.ID()))
	return fmt.Sprintf("client %s tick %d | rtt %d ms loss %.1f%% | in %.1f kbit/s out %.1f kbit/s | entities %d | score %d",
		state, c.Net.Tick(), measured.RTT.Milliseconds(), measured.Loss*100,
		link.Stats.BytesInPerSecond*8/1000, link.Stats.BytesOutPerSecond*8/1000, c.Entities(), score)
}

// Bots are headless bot players, each a client world on its own goroutine.
type Bots struct {
	n        int
	accepted atomic.Int32
	wg       sync.WaitGroup
}

// StartBots connects n bot players to host:port and flies them at
// TickRate until ctx is done; then each closes its connection. Each bot
// gets its own source from newSource (nil: BotInput).
func StartBots(ctx context.Context, p *Protocol, n int, host string, port int, s Settings, newSource func() InputSource) (*Bots, error) {
	b := &Bots{n: n}
	if newSource == nil {
		newSource = func() InputSource { return BotInput }
	}
	nodes := make([]*ClientNode, 0, n)
	for range n {
		c, err := NewClientNode(p, host, port, s, newSource())
		if err != nil {
			for _, c := range nodes {
				c.Net.Close()
			}
			return nil, err
		}
		nodes = append(nodes, c)
	}
	for _, c := range nodes {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			defer c.Net.Close()
			counted := false
			every(ctx, TickRate, func() {
				c.Step()
				if !counted && c.Net.Accepted() {
					counted = true
					b.accepted.Add(1)
				}
			})
		}()
	}
	return b, nil
}

// Wait blocks until every bot has closed.
func (b *Bots) Wait() { b.wg.Wait() }

// Accepted counts the bots the server has accepted.
func (b *Bots) Accepted() int { return int(b.accepted.Load()) }

// Line describes the bots for a status line ("" without bots).
func (b *Bots) Line() string {
	if b.n == 0 {
		return ""
	}
	return fmt.Sprintf(" | bots %d/%d", b.Accepted(), b.n)
}

// ParseCompression reads a compression mode by its name (none,
// range_coder, fastlz, zlib, zstd, zstd_dict).
func ParseCompression(name string) (ecsnet.CompressionMode, error) {
	for m := ecsnet.CompressNone; m <= ecsnet.CompressZstdDict; m++ {
		if strings.EqualFold(name, m.String()) {
			return m, nil
		}
	}
	return 0, fmt.Errorf("unknown compression mode %q (want none, range_coder, fastlz, zlib, zstd or zstd_dict)", name)
}
