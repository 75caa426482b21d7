package plan

import (
	"fmt"
	"testing"
	"time"
	_ "time/tzdata" // the DST test needs Europe/Zurich on any machine

	"github.com/civic-city/civic/internal/civic"
)

var cet = time.FixedZone("CET", 3600)

// friday is the service day of the tests: Friday 4 December 2026,
// collection from 06:00 CET, 8 hours (no End given): a bin's expected
// visit is at 10:00; the next service day is Saturday, its collection
// ending at 14:00.
var friday = Day{Date: "2026-12-04", Loc: cet, Start: "06:00"}

// at returns a time relative to Friday's 06:00 CET.
func at(h float64) time.Time {
	return time.Date(2026, 12, 4, 6, 0, 0, 0, cet).Add(time.Duration(h * float64(time.Hour)))
}

func ptr[T any](v T) *T { return &v }

func testBin(id string) civic.Bin {
	return civic.Bin{ID: id, Name: id, Lat: 47.37, Lon: 8.54, Stream: civic.StreamTrash,
		CapacityL: 1000, Status: civic.StatusActive, FullThreshold: 0.9,
		CreatedAt: at(-24 * 100)}
}

func reading(fill float64, t time.Time) *civic.BinState {
	return &civic.BinState{Fill: ptr(fill), Time: t}
}

// halfFull is a forecast made at(-10) of a bin half full and filling 1 %
// an hour, full at(30) (threshold 0.9); low, when not 0, is the early end
// of its band, at(low).
func halfFull(low float64) *civic.Forecast {
	f := &civic.Forecast{Now: at(-10), Fill: 0.5, Threshold: 0.9, RatePerHour: 0.01, FullAt: ptr(at(30)), HorizonHours: 72}
	if low != 0 {
		f.FullAtLow = ptr(at(low))
	}
	return f
}

func TestDecide(t *testing.T) {
	type tc struct {
		name     string
		bin      func(*civic.Bin)
		state    *civic.BinState
		fc       *civic.Forecast
		alerts   []civic.RuleKind
		alertAt  time.Time // zero: at(-1)
		request  string    // a 311 request's reason, made at(-2)
		last     *time.Time
		settings func(*civic.PlanSettings)
		day      *Day
		want     civic.Decision
		reason   string
		loadL    float64
	}
	tests := []tc{
		{name: "maintenance", bin: func(b *civic.Bin) { b.Status = civic.StatusMaintenance },
			state: reading(0.95, at(-1)), alerts: []civic.RuleKind{civic.RuleFull},
			want: civic.Skip, reason: "in maintenance", loadL: 950},
		{name: "inactive", bin: func(b *civic.Bin) { b.Status = civic.StatusInactive },
			want: civic.Skip, reason: "status inactive", loadL: 900},
		{name: "fire beats full", state: reading(0.95, at(-1)),
			alerts: []civic.RuleKind{civic.RuleFull, civic.RuleFire},
			want:   civic.Skip, reason: "fire alert open: not collected until cleared", loadL: 950},
		{name: "not a service day", day: &Day{Date: "2026-12-06", Loc: cet, Start: "06:00"},
			state: reading(0.95, at(-1)), want: civic.Skip, reason: "no trash service on Sunday", loadL: 950},
		{name: "not a service day, named for people", day: &Day{Date: "2026-12-06", Loc: cet, Start: "06:00"},
			bin:   func(b *civic.Bin) { b.Stream = civic.StreamBottlesCans },
			state: reading(0.95, at(-1)), want: civic.Skip, reason: "no bottles & cans service on Sunday", loadL: 950},
		{name: "full alert", state: reading(0.5, at(-1)), alerts: []civic.RuleKind{civic.RuleFull},
			last: ptr(at(-48)),
			want: civic.MustGo, reason: "full alert open", loadL: 500},
		{name: "overflow alert", state: reading(0.5, at(-1)), alerts: []civic.RuleKind{civic.RuleOverflowSoon},
			last: ptr(at(-48)),
			want: civic.MustGo, reason: "overflow alert open", loadL: 500},
		{name: "both alerts", state: reading(0.5, at(-1)),
			alerts: []civic.RuleKind{civic.RuleOverflowSoon, civic.RuleFull}, last: ptr(at(-48)),
			want: civic.MustGo, reason: "full alert open; overflow alert open", loadL: 500},
		{name: "other alerts do not count", state: reading(0.2, at(-1)),
			alerts: []civic.RuleKind{civic.RuleTilt, civic.RuleLowBattery}, last: ptr(at(-48)),
			want: civic.Skip, reason: "expected 20 % full at 10:00, below 60 %", loadL: 200},
		{name: "stale full alert: emptied since", state: reading(0.1, at(-1)),
			alerts: []civic.RuleKind{civic.RuleFull}, alertAt: at(-30), last: ptr(at(-20)),
			want: civic.Skip, reason: "expected 10 % full at 10:00, below 60 %", loadL: 100},
		{name: "311 request", request: "overflowing bin", state: reading(0.3, at(-1)), last: ptr(at(-48)),
			want: civic.MustGo, reason: "311 request: overflowing bin", loadL: 300},
		{name: "311 request without reading", request: "overflowing bin",
			want: civic.MustGo, reason: "311 request: overflowing bin", loadL: 900},
		{name: "forecast full before the next service day",
			fc:   &civic.Forecast{Now: at(-2), Fill: 0.7, Threshold: 0.9, RatePerHour: 0.01, FullAt: ptr(at(15 + 40.0/60)), HorizonHours: 72},
			last: ptr(at(-72)),
			want: civic.MustGo, reason: "forecast full Fri 21:40, before the next service day (Sat)", loadL: 760},
		{name: "forecast full after the next service day: may-go",
			fc:   &civic.Forecast{Now: at(-2), Fill: 0.7, Threshold: 0.9, RatePerHour: 0.002, FullAt: ptr(at(98)), HorizonHours: 168},
			last: ptr(at(-72)),
			want: civic.MayGo, reason: "expected 71 % full at 10:00", loadL: 712},
		{name: "forecast beyond its horizon",
			fc:   &civic.Forecast{Now: at(-2), Fill: 0.1, Threshold: 0.9, RatePerHour: 0.001, HorizonHours: 72},
			last: ptr(at(-72)),
			want: civic.Skip, reason: "expected 11 % full at 10:00, below 60 %", loadL: 106},
		{name: "forecast for another threshold: average rate",
			settings: func(s *civic.PlanSettings) { s.Default.MustGoFill = 0.75 },
			fc:       &civic.Forecast{Now: at(-2), Fill: 0.7, Threshold: 0.9, RatePerHour: 0.002, FullAt: ptr(at(98)), HorizonHours: 168},
			last:     ptr(at(-72)),
			want:     civic.MustGo, reason: "forecast full Sat 05:00, before the next service day (Sat)", loadL: 712},
		{name: "already full at the last reading", state: reading(0.93, at(-3)), last: ptr(at(-72)),
			want: civic.MustGo, reason: "full: 93 % at the last reading", loadL: 930},
		{name: "own threshold", bin: func(b *civic.Bin) { b.FullThreshold = 0.7 },
			state: reading(0.75, at(-3)), last: ptr(at(-72)),
			want: civic.MustGo, reason: "full: 75 % at the last reading", loadL: 750},
		{name: "hygiene", state: reading(0.2, at(-1)), last: ptr(at(-24 * 8)),
			want: civic.MustGo, reason: "hygiene: not emptied for 8 days", loadL: 200},
		{name: "hygiene by the next service day", state: reading(0.2, at(-1)), last: ptr(at(-24*6 - 12)),
			want: civic.MustGo, reason: "hygiene: 7.5 days by the next service day (Sat), over the 7-day limit", loadL: 200},
		{name: "hygiene, never emptied", bin: func(b *civic.Bin) { b.InstalledOn = "2026-11-20" },
			state: reading(0.2, at(-1)),
			want:  civic.MustGo, reason: "hygiene: never emptied, installed 14.2 days ago", loadL: 200},
		{name: "hygiene counts from registration", bin: func(b *civic.Bin) { b.InstalledOn = "2019-05-01" },
			state: reading(0.2, at(-1)),
			want:  civic.MustGo, reason: "hygiene: no collection recorded since it was registered 100 days ago", loadL: 200},
		{name: "registered yesterday, installed long ago: not hygiene", bin: func(b *civic.Bin) { b.InstalledOn = "2019-05-01"; b.CreatedAt = at(-24) },
			state: reading(0.2, at(-1)),
			want:  civic.Skip, reason: "expected 20 % full at 10:00, below 60 %", loadL: 200},
		{name: "never emptied, no reading: not hygiene",
			want: civic.Skip, reason: "no fill reading", loadL: 900},
		{name: "compost hygiene is 3 days", bin: func(b *civic.Bin) { b.Stream = civic.StreamCompost },
			state: reading(0.2, at(-1)), last: ptr(at(-24 * 3)),
			want: civic.MustGo, reason: "hygiene: not emptied for 3 days", loadL: 200},
		{name: "may-go from a reading", state: reading(0.65, at(-3)), last: ptr(at(-48)),
			want: civic.MayGo, reason: "expected 65 % full at 10:00", loadL: 650},
		{name: "forecast full while the next service day's trucks are out: served then",
			fc:   halfFull(0),
			last: ptr(at(-48)),
			want: civic.MayGo, reason: "expected 64 % full at 10:00", loadL: 640},
		{name: "forecast full before the next service day's trucks can reach it",
			fc:   &civic.Forecast{Now: at(-10), Fill: 0.5, Threshold: 0.9, RatePerHour: 0.01, FullAt: ptr(at(25)), HorizonHours: 72},
			last: ptr(at(-48)),
			want: civic.MustGo, reason: "forecast full Sat 07:00, before the next service day's trucks can reach it (Sat 08:00)", loadL: 640},
		{name: "forecast's early bound before the next service day",
			fc:   halfFull(17),
			last: ptr(at(-48)),
			want: civic.MustGo, reason: "forecast full Sat 12:00 (maybe Fri 23:00), before the next service day (Sat)", loadL: 640},
		{name: "forecast's early bound before the next service day's trucks can reach it",
			fc:   halfFull(25.5),
			last: ptr(at(-48)),
			want: civic.MustGo, reason: "forecast full Sat 12:00 (maybe Sat 07:30), before the next service day's trucks can reach it (Sat 08:00)", loadL: 640},
		{name: "the early bound before the next chance, but the city accepts even odds (overflow_risk 0.5)",
			fc:       halfFull(25.5),
			settings: func(s *civic.PlanSettings) { s.Default.OverflowRisk = 0.5 },
			last:     ptr(at(-48)),
			want:     civic.MayGo, reason: "expected 64 % full at 10:00", loadL: 640},
		{name: "the early bound before the next chance, at overflow_risk 0.3 the time is later",
			fc:       halfFull(25.5),
			settings: func(s *civic.PlanSettings) { s.Default.OverflowRisk = 0.3 },
			last:     ptr(at(-48)),
			want:     civic.MayGo, reason: "expected 64 % full at 10:00", loadL: 640},
		{name: "the early bound after the next chance: left at the default risk",
			fc:   halfFull(27),
			last: ptr(at(-48)),
			want: civic.MayGo, reason: "expected 64 % full at 10:00", loadL: 640},
		{name: "the same, taken at overflow_risk 0.02 (one chance in fifty)",
			fc:       halfFull(27),
			settings: func(s *civic.PlanSettings) { s.Default.OverflowRisk = 0.02 },
			last:     ptr(at(-48)),
			want:     civic.MustGo, reason: "forecast full Sat 12:00 (maybe Sat 07:11), before the next service day's trucks can reach it (Sat 08:00)", loadL: 640},
		{name: "emptied recently, but a reading since forecasts full before the next chance",
			fc:   &civic.Forecast{Now: at(-1), Fill: 0.6, Threshold: 0.9, RatePerHour: 0.1, FullAt: ptr(at(2)), HorizonHours: 72},
			last: ptr(at(-5)),
			want: civic.MustGo, reason: "forecast full Fri 08:00, before the next service day (Sat)", loadL: 1000},
		{name: "emptied recently, the forecast older than the emptying",
			fc:   &civic.Forecast{Now: at(-7), Fill: 0.8, Threshold: 0.9, RatePerHour: 0.1, FullAt: ptr(at(-6)), HorizonHours: 72},
			last: ptr(at(-5)),
			want: civic.Skip, reason: "emptied 5 h ago", loadL: 900},
		{name: "silent sensor: from its last state, emptied since, at the forecast's rate",
			state: reading(0.2, at(-60)),
			fc:    &civic.Forecast{Now: at(-1), Fill: 0.2, Threshold: 0.9, RatePerHour: 0.02, FullAt: ptr(at(34)), HorizonHours: 72},
			last:  ptr(at(-30)),
			want:  civic.MustGo, reason: "forecast full Fri 21:00, before the next service day (Sat)", loadL: 680},
		{name: "emptied since the forecast: its band applies to the extrapolation",
			fc: &civic.Forecast{Now: at(-20), Fill: 0.5, Threshold: 0.9, RatePerHour: 0.02, FullAt: ptr(at(0)),
				FullAtLow: ptr(at(-10)), HorizonHours: 72},
			last: ptr(at(-15)),
			want: civic.MustGo, reason: "forecast full Sat 12:00 (maybe Fri 13:30), before the next service day (Sat)", loadL: 380},
		{name: "access window: the next service day's window closes at the latest",
			bin:  func(b *civic.Bin) { b.AccessWindow = "06:00-16:00" },
			fc:   halfFull(0),
			last: ptr(at(-48)),
			want: civic.MustGo, reason: "forecast full Sat 12:00, before the next service day's trucks can reach it (Sat 16:00)", loadL: 640},
		{name: "shorter shifts: collection ends earlier",
			day:  &Day{Date: "2026-12-04", Loc: cet, Start: "06:00", End: "11:00"},
			fc:   halfFull(0),
			last: ptr(at(-48)),
			want: civic.MayGo, reason: "expected 62 % full at 08:30", loadL: 625},
		{name: "may-go grown by the forecast rate",
			fc:   &civic.Forecast{Now: at(-10), Fill: 0.5, Threshold: 0.9, RatePerHour: 0.01, FullAt: ptr(at(40)), HorizonHours: 72},
			last: ptr(at(-48)),
			want: civic.MayGo, reason: "expected 64 % full at 10:00", loadL: 640},
		{name: "access window moves collection time",
			bin:  func(b *civic.Bin) { b.AccessWindow = "10:00-12:00" },
			fc:   &civic.Forecast{Now: at(-16), Fill: 0.4, Threshold: 0.9, RatePerHour: 0.01, FullAt: ptr(at(40)), HorizonHours: 72},
			last: ptr(at(-48)),
			want: civic.MayGo, reason: "expected 60 % full at 10:00", loadL: 600},
		{name: "skip", state: reading(0.3, at(-3)), last: ptr(at(-48)),
			want: civic.Skip, reason: "expected 30 % full at 10:00, below 60 %", loadL: 300},
		{name: "emptied recently", state: reading(0.95, at(-4)), last: ptr(at(-3)),
			want: civic.Skip, reason: "emptied 3 h ago", loadL: 0},
		{name: "emptied recently beats a full alert seen before", state: reading(0.95, at(-4)),
			alerts: []civic.RuleKind{civic.RuleFull}, alertAt: at(-4), last: ptr(at(-3)),
			want: civic.Skip, reason: "emptied 3 h ago", loadL: 0},
		{name: "overflow alert after emptying beats recently emptied", state: reading(0.8, at(-1)),
			alerts: []civic.RuleKind{civic.RuleOverflowSoon}, alertAt: at(-1), last: ptr(at(-3)),
			want: civic.MustGo, reason: "overflow alert open", loadL: 800},
		{name: "emptied after the forecast: restarts from empty",
			fc:   &civic.Forecast{Now: at(-40), Fill: 0.85, Threshold: 0.9, RatePerHour: 0.01, FullAt: ptr(at(-35)), HorizonHours: 72},
			last: ptr(at(-20)),
			want: civic.Skip, reason: "expected 24 % full at 10:00, below 60 %", loadL: 240},
		{name: "load clamped to capacity",
			fc:   &civic.Forecast{Now: at(-10), Fill: 0.95, Threshold: 0.9, RatePerHour: 0.05, FullAt: ptr(at(-10)), HorizonHours: 72},
			last: ptr(at(-48)),
			want: civic.MustGo, reason: "full: 95 % at the last reading", loadL: 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := testBin("b1")
			if tt.bin != nil {
				tt.bin(&b)
			}
			in := DecideInput{Day: friday, Bins: []civic.Bin{b}, Settings: civic.DefaultPlanSettings(),
				Forecasts: map[string]civic.Forecast{}, LastCollected: map[string]time.Time{}}
			if tt.day != nil {
				in.Day = *tt.day
			}
			if tt.settings != nil {
				tt.settings(&in.Settings)
			}
			if tt.state != nil {
				s := *tt.state
				s.BinID = b.ID
				in.States = []civic.BinState{s}
			}
			if tt.fc != nil {
				in.Forecasts[b.ID] = *tt.fc
			}
			for i, r := range tt.alerts {
				when := tt.alertAt
				if when.IsZero() {
					when = at(-1)
				}
				in.Alerts = append(in.Alerts, civic.Alert{ID: fmt.Sprint(i), BinID: b.ID, Rule: r,
					Status: civic.AlertOpen, OpenedAt: when, LastSeenAt: when})
			}
			// A resolved alert of every kind never counts.
			in.Alerts = append(in.Alerts, civic.Alert{BinID: b.ID, Rule: civic.RuleFire, Status: civic.AlertResolved, OpenedAt: at(-1)})
			if tt.request != "" {
				in.Requests = []Request{{BinID: b.ID, Reason: tt.request, At: at(-2)}}
			}
			if tt.last != nil {
				in.LastCollected[b.ID] = *tt.last
			}
			got := Decide(in)
			if len(got) != 1 {
				t.Fatalf("got %d decisions, want 1", len(got))
			}
			d := got[0]
			if d.Decision != tt.want || d.Reason != tt.reason {
				t.Errorf("got %s %q, want %s %q", d.Decision, d.Reason, tt.want, tt.reason)
			}
			if diff := d.LoadL - tt.loadL; diff > 0.5 || diff < -0.5 {
				t.Errorf("LoadL = %.1f, want %.1f", d.LoadL, tt.loadL)
			}
		})
	}
}

// TestBandAt: the time before which a bin fills with a given chance,
// read off its forecast's band: the band's early end at the default
// risk, the median at even odds, earlier for smaller risks, never before
// the forecast's instant, and later as the risk grows.
func TestBandAt(t *testing.T) {
	now, low, median := at(0), at(20), at(30)
	if got := bandAt(median, low, now, civic.DefaultOverflowRisk); !got.Equal(low) {
		t.Errorf("default risk: %v, want the band's early end %v", got, low)
	}
	if got := bandAt(median, low, now, 0.5); !got.Equal(median) {
		t.Errorf("risk 0.5: %v, want the median %v", got, median)
	}
	if got := bandAt(median, low, now, 0.01); !got.Before(low) || got.Before(now) {
		t.Errorf("risk 0.01: %v, want between %v and %v", got, now, low)
	}
	if got := bandAt(median, at(5), now, 0.01); !got.Equal(now) {
		t.Errorf("a wide band at risk 0.01: %v, want now %v", got, now)
	}
	prev := now
	for _, r := range []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5} {
		got := bandAt(median, low, now, r)
		if got.Before(prev) {
			t.Errorf("risk %g: %v, before the time at a smaller risk %v", r, got, prev)
		}
		prev = got
	}
}

func TestDecideSortsAndDropsRemoved(t *testing.T) {
	bins := []civic.Bin{testBin("c"), testBin("a"), testBin("gone"), testBin("b")}
	bins[2].Status = civic.StatusRemoved
	got := Decide(DecideInput{Day: friday, Bins: bins, Settings: civic.DefaultPlanSettings()})
	var ids []string
	for _, d := range got {
		ids = append(ids, d.BinID)
	}
	if fmt.Sprint(ids) != "[a b c]" {
		t.Errorf("got %v, want [a b c]", ids)
	}
}

// BenchmarkDecide10000 is Decide over civic bench plan's 10,000 bins, each
// with a reading, a forecast and a last collection, and a few hundred
// alerts and requests.
func BenchmarkDecide10000(b *testing.B) {
	in := DecideInput{Day: friday, Settings: civic.DefaultPlanSettings(),
		Forecasts: map[string]civic.Forecast{}, LastCollected: map[string]time.Time{}}
	for i := range 10000 {
		bin := testBin(fmt.Sprintf("bin-%05d", (i*7919)%10000))
		bin.Stream = civic.Streams[i%len(civic.Streams)]
		in.Bins = append(in.Bins, bin)
		fill := float64(i%100) / 100
		in.States = append(in.States, civic.BinState{BinID: bin.ID, Fill: ptr(fill), Time: at(-1)})
		in.Forecasts[bin.ID] = civic.Forecast{BinID: bin.ID, Now: at(-1), Fill: fill, Threshold: 0.9,
			RatePerHour: 0.01, FullAt: ptr(at(-1 + (0.9-fill)*100)), HorizonHours: 72}
		in.LastCollected[bin.ID] = at(-float64(i%200) - 1)
		if i%50 == 0 {
			in.Alerts = append(in.Alerts, civic.Alert{BinID: bin.ID, Rule: civic.RuleFull, Status: civic.AlertOpen, OpenedAt: at(-1), LastSeenAt: at(-1)})
		}
		if i%97 == 0 {
			in.Requests = append(in.Requests, Request{BinID: bin.ID, Reason: "overflowing bin", At: at(-2)})
		}
	}
	for b.Loop() {
		if got := Decide(in); len(got) != 10000 {
			b.Fatal(len(got))
		}
	}
}

func TestDayAtKeepsTheWallClock(t *testing.T) {
	zurich, err := time.LoadLocation("Europe/Zurich")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		date string
		days int
		sec  float64
		want string
	}{
		{"2026-03-29", 0, 6 * 3600, "2026-03-29T04:00:00Z"}, // summer time starts at 02:00
		{"2026-03-28", 1, 6 * 3600, "2026-03-29T04:00:00Z"},
		{"2026-10-25", 0, 6*3600 + 30.5, "2026-10-25T05:00:30.5Z"}, // and ends at 03:00
		{"2026-12-31", 1, 25 * 3600, "2027-01-02T00:00:00Z"},
	}
	for _, tt := range tests {
		d := Day{Date: tt.date, Loc: zurich}
		if got := d.at(tt.days, tt.sec).UTC().Format(time.RFC3339Nano); got != tt.want {
			t.Errorf("%s +%d d +%g s = %s, want %s", tt.date, tt.days, tt.sec, got, tt.want)
		}
	}
}
