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

// setAll gives every unsigned counter of a struct (nested ones included) a
// distinct non-zero value.
func setAll(v reflect.Value, next *uint64) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case !v.Type().Field(i).IsExported():
		case f.Kind() == reflect.Struct:
			setAll(f, next)
		case f.CanUint():
			*next++
			f.SetUint(*next)
		}
	}
}

// Every counter of GuardStats is either a rule of guard_drops_total or an
// event of guard_events_total, never both: the rules are what
// GuardStats.Dropped sums, so a rule added to the guard shows as a drop
// (and this test fails if Dropped and the skip list disagree).
func TestGuardCountersSplitIntoDropRulesAndEvents(t *testing.T) {
	var g ecsnet.GuardStats
	var n uint64
	setAll(reflect.ValueOf(&g).Elem(), &n)
	var drops uint64
	for _, l := range guardDropFields.values(g, nil) {
		drops += uint64(l.value)
	}
	if drops != g.Dropped() {
		t.Errorf("guard_drops_total sums to %d, GuardStats.Dropped is %d: a rule is missing or an event is counted as a drop", drops, g.Dropped())
	}
	var events []string
	for _, l := range guardEventFields.values(g, nil) {
		events = append(events, l.label)
	}
	if want := []string{"pending_expired", "abuse_disconnects", "service_errors"}; !slices.Equal(events, want) {
		t.Errorf("guard events %v, want %v", events, want)
	}
	if got := len(guardDropFields.labels()) + len(events); got != reflect.TypeFor[ecsnet.GuardStats]().NumField() {
		t.Errorf("%d series for the %d fields of GuardStats", got, reflect.TypeFor[ecsnet.GuardStats]().NumField())
	}
}

// HostStats' drop reasons are its drop counters alone: not the UDP totals,
// the refused connections (and their few-channels subset), the poll
// limit, the relay's or the guard's counters, which have series of their
// own.
func TestHostDropsAreTheHostsOwnDropCounters(t *testing.T) {
	want := []string{"stray_dropped", "decompress_failed", "sends_refused"}
	if got := hostDropFields.labels(); !slices.Equal(got, want) {
		t.Errorf("host drop reasons %v, want %v (a new HostStats field: a drop, or in hostDropSkip with a series of its own?)", got, want)
	}
	for _, name := range hostDropSkip {
		if _, ok := reflect.TypeFor[ecsnet.HostStats]().FieldByName(name); !ok {
			t.Errorf("hostDropSkip names %s, which HostStats no longer has", name)
		}
	}
}
