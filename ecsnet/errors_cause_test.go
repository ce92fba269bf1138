package ecsnet

import (
	"errors"
	"net"
	"testing"
)

// An error keeps both its sentinel and its cause: errors.As reaches the
// socket's *net.OpError under ErrCantCreate.
func TestErrorsKeepTheirCause(t *testing.T) {
	taken := takeUDPPort(t)
	p := NewPeer()
	must(t, p.SetBindIP("127.0.0.1"))
	must(t, p.SetLinkConditioner(LinkConditions{})) // the relay binds the public socket
	err := p.CreateServer(taken, 4, 0, 0)
	wantErr(t, err, ErrCantCreate)
	var op *net.OpError
	if !errors.As(err, &op) {
		t.Errorf("%v: the socket's *net.OpError is lost", err)
	}
}
