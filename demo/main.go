// Command demo shows netburi's transport at work until the Ebiten game lands:
// a listen server and a few clients in one process, relaying chat through
// the server the way Godot 3 games do, printing events and live statistics.
//
//	go run ./demo [-clients 3] [-duration 5s] [-compress none|range_coder]
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"time"

	"github.com/netburi/netburi/ecsnet"
)

func main() {
	clients := flag.Int("clients", 3, "clients to run beside the server")
	duration := flag.Duration("duration", 5*time.Second, "how long to run (0: until Ctrl-C)")
	port := flag.Int("port", 0, "server UDP port (0: any free port)")
	compress := flag.String("compress", "none", "datagram compression: none or range_coder")
	flag.Parse()
	mode := map[string]ecsnet.CompressionMode{"none": ecsnet.CompressNone, "range_coder": ecsnet.CompressRangeCoder}[*compress]
	if err := run(*clients, *port, *duration, mode); err != nil {
		log.Fatal(err)
	}
}

func run(clients, port int, duration time.Duration, mode ecsnet.CompressionMode) error {
	server := ecsnet.NewPeer()
	if err := server.SetCompressionMode(mode); err != nil {
		return err
	}
	if err := server.CreateServer(port, 32, 0, 0); err != nil {
		return err
	}
	defer server.CloseConnection(100 * time.Microsecond)
	fmt.Printf("server listening on UDP port %d (compression %v)\n", server.LocalPort(), mode)

	peers := []*ecsnet.Peer{server}
	for range clients {
		c := ecsnet.NewPeer()
		if err := c.SetCompressionMode(mode); err != nil {
			return err
		}
		if err := c.CreateClient("127.0.0.1", server.LocalPort(), 0, 0, 0); err != nil {
			return err
		}
		defer c.CloseConnection(100 * time.Microsecond)
		peers = append(peers, c)
	}

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	tick := time.NewTicker(time.Second / 60)
	defer tick.Stop()
	start := time.Now()
	for frame := 0; duration == 0 || time.Since(start) < duration; frame++ {
		select {
		case <-stop:
			fmt.Println("interrupted")
			return nil
		case <-tick.C:
		}
		for i, p := range peers {
			if err := p.Poll(); err != nil {
				continue // a client that lost the server stays closed
			}
			for ev, ok := p.NextEvent(); ok; ev, ok = p.NextEvent() {
				fmt.Printf("peer %d: %v\n", p.UniqueID(), ev)
			}
			for pk, ok := p.Receive(); ok; pk, ok = p.Receive() {
				if i == 0 && frame%60 == 0 {
					fmt.Printf("server got %q from %d\n", pk.Data, pk.From)
				}
			}
			if i > 0 && p.ConnectionStatus() == ecsnet.Connected && frame%30 == 0 {
				p.SetTargetPeer(0) // everyone, relayed by the server
				p.SetTransferMode(ecsnet.TransferReliable)
				_ = p.PutPacket(fmt.Appendf(nil, "hello %d from %d", frame, p.UniqueID()))
			}
			p.Flush()
		}
		if frame%60 == 59 {
			st := server.Stats()
			fmt.Printf("tick %d: %d clients, server sent %d datagrams / %d bytes, received %d / %d\n",
				frame+1, len(server.Peers()), st.DatagramsSent, st.BytesSent, st.DatagramsReceived, st.BytesReceived)
		}
	}
	return nil
}
