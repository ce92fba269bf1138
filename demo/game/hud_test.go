package game

import "testing"

// Every fixed line of the HUD, and the variable ones at their widest
// values, fit the panel: nothing is cut at its right edge.
func TestHUDLinesFitThePanel(t *testing.T) {
	lines := append([]string{
		inputLeadLine(99.9, 99.9),
		"[P] PREDICT OWN SHIP OFF",
		"[R] RAW SERVER POS OFF",
		"PLAYERS  SCORE  RTT  LOSS",
	}, hudFooter...)
	for _, l := range lines {
		if !hudFits(l) {
			t.Errorf("%q is %d characters, wider than the HUD panel", l, len(l))
		}
	}
	if hudFits("ARROWS/WASD FLY  SPACE FIRE  ESC QUIT") {
		t.Error("hudFits takes the old footer line, which was cut on screen, as fitting")
	}
}
