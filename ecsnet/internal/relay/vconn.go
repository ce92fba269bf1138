package relay

import (
	"encoding/binary"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// vconn is the net.PacketConn a DTLS client's pion connection runs on: reads
// come from the datagrams the relay hands it, writes go to the public
// socket (through the conditioner).
type vconn struct {
	// highest is one past the highest epoch and sequence number (epoch in
	// the top 16 bits) of any encrypted record queued for pion before the
	// record layer took over: pion may still read those, so the record
	// layer refuses them (a replay would reach ENet twice).
	highest atomic.Uint64
	s       *session
	in      chan *[]byte // from datagramPool; ReadFrom puts them back
	closed  chan struct{}
	once    sync.Once
	rdl     deadline
}

// vconnQueue bounds the datagrams waiting for the DTLS connection.
const vconnQueue = 256

// datagramPool holds the buffers queued datagrams are copied into (each
// grows to the largest datagram it held), so that a datagram costs no
// allocation.
var datagramPool = sync.Pool{New: func() any { return new([]byte) }}

func newVConn(s *session) *vconn {
	return &vconn{s: s, in: make(chan *[]byte, vconnQueue), closed: make(chan struct{}), rdl: newDeadline()}
}

// push queues a copy of b for the DTLS connection; false when it is full
// or closed.
func (c *vconn) push(b []byte) bool {
	select {
	case <-c.closed:
		return false
	default:
	}
	p := datagramPool.Get().(*[]byte)
	*p = append((*p)[:0], b...)
	select {
	case c.in <- p:
		return true
	default:
		datagramPool.Put(p)
		return false
	}
}

// noteRecords raises highest past every encrypted record in datagram b.
func (c *vconn) noteRecords(b []byte) {
	for rec, rest, ok := splitRecord(b); ok; rec, rest, ok = splitRecord(rest) {
		if rec[3] != 0 || rec[4] != 0 {
			next := binary.BigEndian.Uint64(rec[3:11]) + 1
			for {
				h := c.highest.Load()
				if next <= h || c.highest.CompareAndSwap(h, next) {
					break
				}
			}
		}
	}
}

func (c *vconn) ReadFrom(b []byte) (int, net.Addr, error) {
	select {
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-c.rdl.done():
		return 0, nil, os.ErrDeadlineExceeded
	default:
	}
	select {
	case p := <-c.in:
		n := copy(b, *p)
		datagramPool.Put(p)
		return n, c.s.remoteAddr, nil
	case <-c.closed:
		return 0, nil, net.ErrClosed
	case <-c.rdl.done():
		return 0, nil, os.ErrDeadlineExceeded
	}
}

func (c *vconn) WriteTo(b []byte, _ net.Addr) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.s.r.sendPublic(b, c.s.remote)
	return len(b), nil
}

func (c *vconn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.rdl.stop()
	})
	return nil
}

func (c *vconn) LocalAddr() net.Addr                { return c.s.r.pub.LocalAddr() }
func (c *vconn) SetDeadline(t time.Time) error      { return c.SetReadDeadline(t) }
func (c *vconn) SetReadDeadline(t time.Time) error  { c.rdl.set(t); return nil }
func (c *vconn) SetWriteDeadline(_ time.Time) error { return nil } // writes never block

// deadline is a settable read deadline whose channel closes when it passes;
// a reader blocked on done sees a deadline set after it started waiting.
type deadline struct {
	mu    sync.Mutex
	ch    chan struct{}
	gen   uint64
	timer *time.Timer
}

func newDeadline() deadline { return deadline{ch: make(chan struct{})} }

func (d *deadline) set(t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
		d.timer = nil
	}
	select {
	case <-d.ch:
		d.ch = make(chan struct{}) // passed before: start afresh
	default:
	}
	if t.IsZero() {
		return
	}
	wait := time.Until(t)
	if wait <= 0 {
		close(d.ch)
		return
	}
	gen := d.gen
	d.timer = time.AfterFunc(wait, func() {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.gen == gen {
			close(d.ch)
		}
	})
}

func (d *deadline) done() <-chan struct{} {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ch
}

func (d *deadline) stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gen++
	if d.timer != nil {
		d.timer.Stop()
	}
}
