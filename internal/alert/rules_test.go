package alert_test

import (
	"testing"
	"time"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/civic"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func f64(v float64) *float64 { return &v }
func boolp(v bool) *bool     { return &v }

func fill(min, v float64) civic.Reading {
	return civic.Reading{Device: "S1", Bin: "B1", Time: t0.Add(time.Duration(min * float64(time.Minute))), Fill: f64(v)}
}

func fills(every float64, vs ...float64) []civic.Reading {
	var out []civic.Reading
	for i, v := range vs {
		out = append(out, fill(float64(i)*every, v))
	}
	return out
}

// input is bin B1 with device S1 at t0+now minutes.
func input(now float64, rs ...civic.Reading) alert.Input {
	b := civic.Bin{ID: "B1", Name: "B1", Stream: civic.StreamTrash, Status: civic.StatusActive, FullThreshold: 0.9}
	d := civic.Device{ID: "S1", BinID: "B1", ExpectedInterval: 900, Status: civic.StatusActive}
	s := civic.DefaultRuleSettings()
	s.Disabled = nil // every rule decides, the quiet ones too
	return alert.Input{Bin: b, Devices: []civic.Device{d}, Recent: rs, Now: t0.Add(time.Duration(now * float64(time.Minute))), Settings: s}
}

// decision is a rule's outcome: "fire", "clear" or "" (no decision).
func decision(fs []alert.Finding, k civic.RuleKind) string {
	for _, f := range fs {
		if f.Rule == k {
			if f.Firing {
				return "fire"
			}
			return "clear"
		}
	}
	return ""
}

func TestRules(t *testing.T) {
	temp := func(min, c float64) civic.Reading {
		return civic.Reading{Device: "S1", Bin: "B1", Time: t0.Add(time.Duration(min * float64(time.Minute))), TemperatureC: f64(c)}
	}
	one := func(min float64, f func(r *civic.Reading)) civic.Reading {
		r := civic.Reading{Device: "S1", Bin: "B1", Time: t0.Add(time.Duration(min * float64(time.Minute)))}
		f(&r)
		return r
	}
	withForecast := func(in alert.Input, h float64) alert.Input {
		in.FullAt = in.Now.Add(time.Duration(h * float64(time.Hour)))
		return in
	}
	since := func(in alert.Input, d time.Duration) alert.Input {
		in.FillSince = t0.Add(d)
		return in
	}
	custom := func(in alert.Input, f func(s *civic.RuleSettings)) alert.Input {
		f(&in.Settings)
		return in
	}
	tests := []struct {
		name string
		rule civic.RuleKind
		in   alert.Input
		want string
	}{
		{"full at threshold", civic.RuleFull, input(0, fill(0, 0.9)), "fire"},
		{"full above", civic.RuleFull, input(0, fill(0, 1)), "fire"},
		{"full hysteresis", civic.RuleFull, input(0, fill(0, 0.87)), ""},
		{"full cleared", civic.RuleFull, input(0, fill(0, 0.84)), "clear"},
		{"full custom threshold", civic.RuleFull, custom(input(0, fill(0, 0.8)), func(s *civic.RuleSettings) { s.FullFill = 0.75 }), "fire"},
		{"full no fill", civic.RuleFull, input(0, temp(0, 20)), ""},

		{"overflow soon", civic.RuleOverflowSoon, withForecast(input(0, fill(0, 0.6)), 5), "fire"},
		{"overflow later", civic.RuleOverflowSoon, withForecast(input(0, fill(0, 0.6)), 30), "clear"},
		{"overflow full already", civic.RuleOverflowSoon, withForecast(input(0, fill(0, 0.95)), 0), "clear"},
		{"overflow no forecast", civic.RuleOverflowSoon, input(0, fill(0, 0.6)), ""},
		{"overflow custom hours", civic.RuleOverflowSoon, custom(withForecast(input(0, fill(0, 0.6)), 30), func(s *civic.RuleSettings) { s.OverflowHours = 48 }), "fire"},

		{"fire flag", civic.RuleFire, input(0, one(0, func(r *civic.Reading) { r.Fire = boolp(true) })), "fire"},
		{"fire flag off", civic.RuleFire, input(0, one(0, func(r *civic.Reading) { r.Fire = boolp(false) })), "clear"},
		{"fire hot", civic.RuleFire, input(0, temp(0, 75)), "fire"},
		{"fire rising fast", civic.RuleFire, input(0, temp(0, 25), temp(30, 45)), "fire"},
		{"fire rising fast but cool", civic.RuleFire, input(0, temp(0, 5), temp(30, 30)), "clear"},
		{"fire rising slowly", civic.RuleFire, input(0, temp(0, 40), temp(60, 45)), "clear"},
		{"fire hysteresis", civic.RuleFire, input(0, temp(0, 65)), ""},
		{"fire cleared", civic.RuleFire, input(0, temp(0, 70), temp(60, 30)), "clear"},
		{"fire no data", civic.RuleFire, input(0, fill(0, 0.5)), ""},

		{"tilt dropped", civic.RuleTilt, input(0, one(0, func(r *civic.Reading) { r.TiltDeg = f64(80) })), "fire"},
		{"tilt hysteresis", civic.RuleTilt, input(0, one(0, func(r *civic.Reading) { r.TiltDeg = f64(42) })), ""},
		{"tilt upright", civic.RuleTilt, input(0, one(0, func(r *civic.Reading) { r.TiltDeg = f64(3) })), "clear"},

		{"door open long", civic.RuleDoorOpen, input(45, one(0, func(r *civic.Reading) { r.DoorOpen = boolp(true) }), one(15, func(r *civic.Reading) { r.DoorOpen = boolp(true) })), "fire"},
		{"door open briefly", civic.RuleDoorOpen, input(20, one(0, func(r *civic.Reading) { r.DoorOpen = boolp(false) }), one(15, func(r *civic.Reading) { r.DoorOpen = boolp(true) })), ""},
		{"door closed", civic.RuleDoorOpen, input(90, one(0, func(r *civic.Reading) { r.DoorOpen = boolp(true) }), one(60, func(r *civic.Reading) { r.DoorOpen = boolp(false) })), "clear"},

		{"battery low", civic.RuleLowBattery, input(0, one(0, func(r *civic.Reading) { r.Battery = f64(0.3) })), "fire"},
		{"battery hysteresis", civic.RuleLowBattery, input(0, one(0, func(r *civic.Reading) { r.Battery = f64(0.32) })), ""},
		{"battery replaced", civic.RuleLowBattery, input(0, one(0, func(r *civic.Reading) { r.Battery = f64(0.95) })), "clear"},

		{"offline", civic.RuleOffline, input(46, fill(0, 0.5)), "fire"},
		{"online", civic.RuleOffline, input(44, fill(0, 0.5)), "clear"},
		{"offline custom intervals", civic.RuleOffline, custom(input(46, fill(0, 0.5)), func(s *civic.RuleSettings) { s.OfflineIntervals = 10 }), "clear"},
		{"offline never seen", civic.RuleOffline, input(600), ""},

		{"stuck for a day", civic.RuleSensorFault, input(1665, fills(150, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42)...), "fire"},
		{"stuck since long before", civic.RuleSensorFault, since(input(165, fills(15, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42)...), -30*time.Hour), "fire"},
		{"a quiet night", civic.RuleSensorFault, input(165, fills(15, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42, 0.42)...), "clear"},
		{"stuck but full", civic.RuleSensorFault, since(input(0, fills(15, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)...), -30*time.Hour), "clear"},
		{"not stuck yet", civic.RuleSensorFault, input(0, fills(15, 0.42, 0.42, 0.42, 0.42, 0.42)...), "clear"},
		{"impossible jump", civic.RuleSensorFault, input(0, fills(15, 0.1, 0.12, 0.85)...), "fire"},
		{"back from a lost echo", civic.RuleSensorFault, input(0, fills(15, 0.7, 0, 0.72)...), "clear"},
		{"slow big rise", civic.RuleSensorFault, input(0, fills(60, 0.1, 0.12, 0.85)...), "clear"},
		{"emptying is no jump", civic.RuleSensorFault, input(0, fills(15, 0.9, 0.05, 0.06)...), "clear"},
		{"lost echoes", civic.RuleSensorFault, input(0, fills(15, 0.5, 0, 0.5, 0.51, 0, 0.52, 0, 0.53)...), "fire"},
		{"two lost echoes", civic.RuleSensorFault, input(0, fills(15, 0.5, 0, 0.5, 0.51, 0, 0.52, 0.53)...), "clear"},
		{"plausible", civic.RuleSensorFault, input(0, fills(15, 0.1, 0.15, 0.2, 0.24)...), "clear"},
		{"one reading", civic.RuleSensorFault, input(0, fill(0, 0.1)), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := alert.Evaluate(tt.in)
			if got := decision(fs, tt.rule); got != tt.want {
				t.Errorf("%s: got %q, want %q (findings %+v)", tt.rule, got, tt.want, fs)
			}
			for _, f := range fs {
				if f.Severity != f.Rule.DefaultSeverity() || f.Message == "" {
					t.Errorf("finding %+v: severity or message missing", f)
				}
			}
		})
	}
}

func TestDisabledRulesDecideNothing(t *testing.T) {
	in := input(0, fill(0, 1))
	in.Settings.Disabled = []civic.RuleKind{civic.RuleFull}
	if got := decision(alert.Evaluate(in), civic.RuleFull); got != "" {
		t.Errorf("disabled full rule decided %q", got)
	}
}

func TestRuleOverrides(t *testing.T) {
	r := civic.DefaultAlertRules()
	r.Overrides = []civic.RuleOverride{
		{Scope: civic.ScopeStream, Target: "trash", Settings: civic.RuleSettings{TiltDeg: 30, LowBattery: 0.2}},
		{Scope: civic.ScopeZone, Target: "Z1", Settings: civic.RuleSettings{TiltDeg: 20}},
		{Scope: civic.ScopeBin, Target: "B1", Settings: civic.RuleSettings{Disabled: []civic.RuleKind{civic.RuleOffline}}},
		{Scope: civic.ScopeBin, Target: "B2", Settings: civic.RuleSettings{TiltDeg: 60}},
	}
	b := civic.Bin{ID: "B1", Stream: civic.StreamTrash, ZoneID: "Z1"}
	s := r.For(&b)
	if s.TiltDeg != 20 || s.LowBattery != 0.2 || s.Enabled(civic.RuleOffline) || s.FireTempC != 70 {
		t.Errorf("For(B1) = %+v", s)
	}
	b2 := civic.Bin{ID: "B2", Stream: civic.StreamPaper, ZoneID: "Z1"}
	if s := r.For(&b2); s.TiltDeg != 60 || s.LowBattery != 0.3 || !s.Enabled(civic.RuleOffline) {
		t.Errorf("For(B2) = %+v", s)
	}
}
