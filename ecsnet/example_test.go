package ecsnet_test

import (
	"fmt"
	"time"

	"github.com/netburi/netburi/ecsnet"
)

// A server and a client on loopback: the client joins, says hello reliably,
// and the server answers everyone.
func Example() {
	server := ecsnet.NewPeer()
	_ = server.SetBindIP("127.0.0.1")
	if err := server.CreateServer(0, 32, 0, 0); err != nil { // port 0: any free port
		panic(err)
	}
	defer server.CloseConnection(100 * time.Microsecond)

	client := ecsnet.NewPeer()
	if err := client.CreateClient("127.0.0.1", server.LocalPort(), 0, 0, 0); err != nil {
		panic(err)
	}
	defer client.CloseConnection(100 * time.Microsecond)

	// One loop stands in for two games' frames.
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		_ = client.PollWait(time.Millisecond)
		_ = server.PollWait(time.Millisecond)
		for ev, ok := client.NextEvent(); ok; ev, ok = client.NextEvent() {
			if ev.Kind == ecsnet.ConnectionSucceeded {
				fmt.Println("client: connected")
				client.SetTargetPeer(1) // the server
				client.SetTransferMode(ecsnet.TransferReliable)
				_ = client.PutPacket([]byte("hello"))
			}
		}
		for ev, ok := server.NextEvent(); ok; ev, ok = server.NextEvent() {
			if ev.Kind == ecsnet.PeerConnected {
				fmt.Println("server: a client joined")
			}
		}
		if pk, ok := server.Receive(); ok {
			fmt.Printf("server: %q on channel %d\n", pk.Data, pk.Channel)
			server.SetTargetPeer(0) // everyone
			_ = server.PutPacket([]byte("welcome"))
		}
		if pk, ok := client.Receive(); ok {
			fmt.Printf("client: %q from peer %d\n", pk.Data, pk.From)
			return
		}
	}
	// Output:
	// client: connected
	// server: a client joined
	// server: "hello" on channel 1
	// client: "welcome" from peer 1
}
