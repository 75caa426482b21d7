package civic_test

import (
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

func TestSubscriptionMatches(t *testing.T) {
	fire := civic.Alert{Rule: civic.RuleFire, Severity: civic.SeverityCritical}
	full := civic.Alert{Rule: civic.RuleFull, Severity: civic.SeverityWarning}
	battery := civic.Alert{Rule: civic.RuleLowBattery, Severity: civic.SeverityInfo}
	tests := []struct {
		name string
		sub  civic.Subscription
		ev   civic.AlertEvent
		a    civic.Alert
		zone string
		want bool
	}{
		{"everything: opened", civic.Subscription{}, civic.EventOpened, battery, "", true},
		{"everything: resolved", civic.Subscription{}, civic.EventResolved, battery, "", true},
		{"acknowledgements only on request", civic.Subscription{}, civic.EventAcknowledged, fire, "", false},
		{"asked for acknowledgements", civic.Subscription{Events: []civic.AlertEvent{civic.EventAcknowledged}}, civic.EventAcknowledged, fire, "", true},
		{"rule filter hit", civic.Subscription{Rules: []civic.RuleKind{civic.RuleFire}}, civic.EventOpened, fire, "", true},
		{"rule filter miss", civic.Subscription{Rules: []civic.RuleKind{civic.RuleFire}}, civic.EventOpened, full, "", false},
		{"severity at minimum", civic.Subscription{MinSeverity: civic.SeverityWarning}, civic.EventOpened, full, "", true},
		{"severity below minimum", civic.Subscription{MinSeverity: civic.SeverityWarning}, civic.EventOpened, battery, "", false},
		{"zone hit", civic.Subscription{Zones: []string{"Z1", "Z2"}}, civic.EventOpened, full, "Z2", true},
		{"zone miss", civic.Subscription{Zones: []string{"Z1"}}, civic.EventOpened, full, "", false},
	}
	for _, tt := range tests {
		if got := tt.sub.Matches(tt.ev, &tt.a, tt.zone); got != tt.want {
			t.Errorf("%s: Matches = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNotifyAt(t *testing.T) {
	now := time.Date(2026, 3, 10, 12, 7, 30, 0, time.UTC)
	digest := civic.Subscription{DigestMinutes: 15}
	full := civic.Alert{Rule: civic.RuleFull, Severity: civic.SeverityWarning}
	fire := civic.Alert{Rule: civic.RuleFire, Severity: civic.SeverityCritical}
	if got, want := digest.NotifyAt(&full, now), time.Date(2026, 3, 10, 12, 15, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("digest NotifyAt = %v, want the window's end %v", got, want)
	}
	if got := digest.NotifyAt(&fire, now); !got.Equal(now) {
		t.Errorf("fire NotifyAt = %v, want now", got)
	}
	if got := (&civic.Subscription{}).NotifyAt(&full, now); !got.Equal(now) {
		t.Errorf("no digest NotifyAt = %v, want now", got)
	}
}

func TestFIWAREStatus(t *testing.T) {
	open := func(k civic.RuleKind) civic.Alert { return civic.Alert{Rule: k, Status: civic.AlertOpen} }
	tests := []struct {
		alerts []civic.Alert
		want   string
	}{
		{nil, "ok"},
		{[]civic.Alert{open(civic.RuleFull), open(civic.RuleOffline)}, "ok"},
		{[]civic.Alert{open(civic.RuleDoorOpen)}, "lidOpen"},
		{[]civic.Alert{open(civic.RuleDoorOpen), open(civic.RuleTilt)}, "dropped"},
		{[]civic.Alert{open(civic.RuleTilt), open(civic.RuleFire), open(civic.RuleDoorOpen)}, "burning"},
		{[]civic.Alert{{Rule: civic.RuleFire, Status: civic.AlertResolved}}, "ok"},
	}
	for _, tt := range tests {
		if got := civic.FIWAREStatus(tt.alerts); got != tt.want {
			t.Errorf("FIWAREStatus(%v) = %q, want %q", tt.alerts, got, tt.want)
		}
	}
}

func TestSubscriptionValidate(t *testing.T) {
	ok := civic.Subscription{ID: "s1", Kind: civic.SubWebhook, URL: "https://example.net/h", Secret: "0123456789abcdef"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid webhook: %v", err)
	}
	for _, tt := range []struct {
		change func(s *civic.Subscription)
		field  string
	}{
		{func(s *civic.Subscription) { s.Secret = "short" }, "secret"},
		{func(s *civic.Subscription) { s.URL = "mailto:x@y" }, "url"},
		{func(s *civic.Subscription) { s.Email = "x@y.example" }, "email"},
		{func(s *civic.Subscription) { s.MinSeverity = "fatal" }, "min_severity"},
		{func(s *civic.Subscription) { s.Events = []civic.AlertEvent{"opened", "exploded"} }, "events[1]"},
		{func(s *civic.Subscription) { s.DigestMinutes = -1 }, "digest_minutes"},
		{func(s *civic.Subscription) { s.Zones = []string{"bad zone"} }, "zones[0]"},
		{func(s *civic.Subscription) { s.Kind = civic.SubEmail; s.URL = ""; s.Email = "Ops <ops@x.example>" }, "email"},
	} {
		s := ok
		tt.change(&s)
		if err := s.Validate(); civic.FieldOf(err) != tt.field {
			t.Errorf("Validate = %v, want an error on %s", err, tt.field)
		}
	}
}
