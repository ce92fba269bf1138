package game

import (
	"github.com/yohamta/donburi/ecs"

	"github.com/netburi/netburi/systems"
)

// Scoreboard is a client's table of scores, filled from the reliable
// Scored messages: the server sends one whenever a score changes and the
// whole table to each client it accepts, so the table is complete and
// every gem counts exactly once. Add Update after the receive step.
type Scoreboard struct {
	proto  *Protocol
	net    *systems.Network
	scores map[uint32]uint32
	world  WorldInfo
}

// NewScoreboard returns the score table of a client network.
func NewScoreboard(proto *Protocol, net *systems.Network) *Scoreboard {
	return &Scoreboard{proto: proto, net: net, scores: map[uint32]uint32{}}
}

// Update takes this tick's score and world messages.
func (s *Scoreboard) Update(*ecs.ECS) {
	for _, m := range s.proto.Scored.Received(s.net) {
		s.scores[m.Value.Player] = m.Value.Score
	}
	for _, m := range s.proto.World.Received(s.net) {
		s.world = m.Value
	}
}

// World is what the server last said of its world (zero before it has).
func (s *Scoreboard) World() WorldInfo { return s.world }

// Score is a player's score (0 before any gem).
func (s *Scoreboard) Score(player uint32) uint32 { return s.scores[player] }
