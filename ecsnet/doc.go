// Package ecsnet is netburi's transport: Peer, a Go version of Godot 3's
// NetworkedMultiplayerENet on the real ENet C library (libenet 1.3.17, through
// github.com/codecat/go-enet), wire-compatible with Godot 3.2 games.
//
// A server has ID 1; each client picks a random ID in 2..2^31-1. Every data
// packet carries Godot's 8-byte header (source, target), so a Go server hosts
// Godot 3 clients and a Go client joins a Godot 3 server. Packets travel by
// transfer mode (unreliable, unreliable ordered, reliable) on ENet channels
// (0 config, 1 reliable, 2 unreliable, more with SetChannelCount); a server
// relays client packets addressed to other clients and announces clients to
// each other, as Godot does.
//
// The game loop owns a Peer: each tick it calls Poll, takes events with
// NextEvent and packets with GetPacket (or Receive), queues packets with
// PutPacket, and calls Flush (or leaves sending to the next Poll). A Peer is
// not safe for concurrent use. Errors wrap the sentinels in errors.go (and
// their causes); test them with errors.Is and errors.As. Malformed traffic
// is dropped and counted in PeerStatistics, never a panic.
//
// A Peer is also a transport.Transport, the interface netburi's network
// system runs on: Send(to, channel, mode, payload) sends without reading or
// changing Godot's sticky target, mode, channel and AlwaysOrdered, which
// PutPacket uses. Options holds every setting in one value and starts
// peers as a transport.Provider.
package ecsnet
