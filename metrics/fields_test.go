package metrics

import (
	"reflect"
	"slices"
	"testing"

	"github.com/netburi/netburi/ecsnet"
)

func TestSnakeCaseLabelsFromFieldNames(t *testing.T) {
	for in, want := range map[string]string{
		"Short": "short", "ForgedSource": "forged_source", "BadSystemMessage": "bad_system_message",
		"UDPBytes": "udp_bytes", "HandshakesFailed": "handshakes_failed", "Rule2Hits": "rule2_hits",
	} {
		if got := snake(in); got != want {
			t.Errorf("snake(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEveryDropCauseBecomesAReasonLabel(t *testing.T) {
	c := newCounterFields(reflect.TypeFor[ecsnet.DropCounts]())
	typ := reflect.TypeFor[ecsnet.DropCounts]()
	if len(c.labels()) != typ.NumField() {
		t.Fatalf("labels %v for the %d fields of DropCounts", c.labels(), typ.NumField())
	}
	d := ecsnet.DropCounts{ForgedSource: 3, RelayRefused: 7}
	got := map[string]float64{}
	for _, l := range c.values(d, nil) {
		got[l.label] = l.value
	}
	if got["forged_source"] != 3 || got["relay_refused"] != 7 || got["short"] != 0 {
		t.Errorf("values %v", got)
	}
}

// A stats struct grown later (new fields, a nested group, a map of rule
// names) needs no change to the metrics code.
func TestNewFieldsNestedGroupsAndRuleMapsAppearWithoutCodeChanges(t *testing.T) {
	type guard struct{ TooShort, BadCookie uint64 }
	type stats struct {
		Kept     uint64
		Skipped  uint64
		Guard    guard
		ByRule   map[string]uint64
		Text     string // not a counter
		internal uint64
	}
	c := newCounterFields(reflect.TypeFor[stats](), "Skipped")
	wantLabels := []string{"kept", "guard_too_short", "guard_bad_cookie"}
	if !slices.Equal(c.labels(), wantLabels) {
		t.Fatalf("labels %v, want %v", c.labels(), wantLabels)
	}
	v := stats{Kept: 1, Skipped: 9, Guard: guard{TooShort: 2, BadCookie: 3}, ByRule: map[string]uint64{"zeta": 5, "alpha": 4}}
	got := c.values(v, nil)
	want := []labelled{{"kept", 1}, {"guard_too_short", 2}, {"guard_bad_cookie", 3}, {"by_rule/alpha", 4}, {"by_rule/zeta", 5}}
	if !slices.Equal(got, want) {
		t.Errorf("values %v, want %v", got, want)
	}
}
