package systems_test

import (
	"github.com/yohamta/donburi"

	"github.com/netburi/netburi/components"
	"github.com/netburi/netburi/transport"
)

// wrapping is a provider whose transports a test wraps to watch them: the
// server's always, the clients' too when made by wrapAll. server is the
// server's wrapper; all is every wrapper, in the order they were made.
type wrapping[T transport.Transport] struct {
	transport.Provider
	wrap    func(transport.Transport) T
	clients bool
	server  T
	all     []T
}

// wrapServer wraps the server transport p makes with wrap; clients'
// transports are p's own.
func wrapServer[T transport.Transport](p transport.Provider, wrap func(transport.Transport) T) *wrapping[T] {
	return &wrapping[T]{Provider: p, wrap: wrap}
}

// wrapAll wraps every transport p makes, the server's and the clients'.
func wrapAll[T transport.Transport](p transport.Provider, wrap func(transport.Transport) T) *wrapping[T] {
	return &wrapping[T]{Provider: p, wrap: wrap, clients: true}
}

func (p *wrapping[T]) Listen(port int, o transport.ListenOptions) (transport.Transport, error) {
	t, err := p.Provider.Listen(port, o)
	if err != nil {
		return nil, err
	}
	p.server = p.wrap(t)
	p.all = append(p.all, p.server)
	return p.server, nil
}

func (p *wrapping[T]) Connect(addr string, port int, o transport.ConnectOptions) (transport.Transport, error) {
	t, err := p.Provider.Connect(addr, port, o)
	if err != nil || !p.clients {
		return t, err
	}
	w := p.wrap(t)
	p.all = append(p.all, w)
	return w, nil
}

// spawnRow creates n replicated entities in w with a Transform at x = 0,
// 1, ... n-1, and returns them in that order.
func spawnRow(w donburi.World, n int) []donburi.Entity {
	ents := make([]donburi.Entity, n)
	for i := range ents {
		ents[i] = w.Create(components.Replicated, transformType)
		transformType.SetValue(w.Entry(ents[i]), Transform{X: float32(i)})
	}
	return ents
}
