package whatif

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
)

// generated runs every policy on a small generated city once for the
// tests that only read the result.
var generated = sync.OnceValues(func() (*Result, error) {
	return Run(context.Background(), Options{Bins: 60, Days: 10, Seed: 3, PlanTime: 20 * time.Millisecond, WarmupDays: 14,
		Explain: true, Policies: AllPolicies})
})

func runGenerated(t *testing.T) *Result {
	t.Helper()
	r, err := generated()
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Policies) != len(AllPolicies) {
		t.Fatalf("%d policies, want %d", len(r.Policies), len(AllPolicies))
	}
	return r
}

// TestIdenticalDraws: every policy sees the same waste, bin by bin, and
// starts from the same bins.
func TestIdenticalDraws(t *testing.T) {
	r := runGenerated(t)
	ref := r.Policies[0]
	for _, p := range r.Policies[1:] {
		if got, want := p.Waste.InBinStart, ref.Waste.InBinStart; math.Abs(got-want) > 1e-6*want {
			t.Errorf("%s starts with %.3f L in the bins, %s with %.3f", p.Policy, got, ref.Policy, want)
		}
		for i, g := range p.GeneratedByBin {
			if want := ref.GeneratedByBin[i]; math.Abs(g-want) > 1e-6*math.Max(want, 1) {
				t.Errorf("%s: bin %d received %.6f L, %s %.6f L", p.Policy, i, g, ref.Policy, want)
				break
			}
		}
		if math.Abs(p.Total.GeneratedL-ref.Total.GeneratedL) > 1e-6*ref.Total.GeneratedL {
			t.Errorf("%s: %.3f L generated, %s %.3f", p.Policy, p.Total.GeneratedL, ref.Policy, ref.Total.GeneratedL)
		}
	}
	if ref.Total.GeneratedL <= 0 {
		t.Fatal("no waste generated")
	}
}

// TestIdenticalDrawsDirect: the truth the policies share does not depend
// on what they do: two Sensors of the same city and seed, one emptied
// often and one never, receive the same waste day by day.
func TestIdenticalDrawsDirect(t *testing.T) {
	city := sim.GenerateCity(sim.CityParams{Bins: 20, Seed: 9})
	a := sim.NewSensors(city, sim.SensorParams{Seed: 4, Policy: sim.Policy{Kind: sim.PolicyFixed}})
	b := sim.NewSensors(city, sim.SensorParams{Seed: 4})
	t0 := a.Now()
	for d := 1; d <= 5; d++ {
		from, to := t0.Add(time.Duration(d-1)*24*time.Hour), t0.Add(time.Duration(d)*24*time.Hour)
		a.Step(to)
		b.Step(to)
		for _, bin := range city.Bins {
			ga, gb := a.GeneratedBetween(bin.ID, from, to), b.GeneratedBetween(bin.ID, from, to)
			if ga != gb {
				t.Fatalf("day %d bin %s: %v L vs %v L", d, bin.ID, ga, gb)
			}
		}
	}
	la, lb := a.Ledgers(), b.Ledgers()
	for i := range la {
		if d := math.Abs(la[i].Generated - lb[i].Generated); d > 1e-9*la[i].Generated {
			t.Errorf("bin %s: generated %v vs %v", la[i].BinID, la[i].Generated, lb[i].Generated)
		}
	}
}

// TestConservation: for every policy, waste in the bins at the start plus
// what was thrown is what was collected, what is left and what overflowed;
// and so for every bin of the sensor model.
// TestExplain: the explanation puts every overflow bin-hour and every
// visit down to exactly one cause, the planner's to its decisions.
func TestExplain(t *testing.T) {
	r := runGenerated(t)
	for _, p := range r.Policies {
		x := p.Explain
		if x == nil {
			t.Fatalf("%s: no explanation", p.Policy)
		}
		hours, visits, low := 0.0, 0, 0
		for cause, h := range x.OverflowBinHours {
			hours += h
			if f := x.FastOverflowBinHours[cause]; f > h+1e-9 {
				t.Errorf("%s: %s: %.1f h at fast bins of %.1f", p.Policy, cause, f, h)
			}
		}
		for why, n := range x.Visits {
			visits += n
			low += x.LowVisits[why]
			planned := strings.HasPrefix(why, "must: ") || strings.HasPrefix(why, "may-go")
			if planned != (p.Policy == PolicyPlanner || p.Policy == PolicyPerfect) || !planned && why != "scheduled" {
				t.Errorf("%s: %d visits for %q", p.Policy, n, why)
			}
		}
		if math.Abs(hours-p.Total.OverflowBinHours) > 1e-6*max(hours, 1) || visits != p.Total.Visits || low != p.Total.LowVisits {
			t.Errorf("%s: explained %.3f overflow h, %d visits (%d low); the run %.3f, %d (%d)", p.Policy,
				hours, visits, low, p.Total.OverflowBinHours, p.Total.Visits, p.Total.LowVisits)
		}
	}
}

func TestConservation(t *testing.T) {
	r := runGenerated(t)
	for _, p := range r.Policies {
		w := p.Waste
		if imb := w.Imbalance(); math.Abs(imb) > 1e-6*w.Generated {
			t.Errorf("%s: imbalance %.6f L of %.0f generated: %+v", p.Policy, imb, w.Generated, w)
		}
		if math.Abs(p.Total.CollectedL-w.Collected) > 1e-6*w.Generated || math.Abs(p.Total.OverflowedL-w.Overflowed) > 1e-6*w.Generated {
			t.Errorf("%s: totals %+v disagree with the account %+v", p.Policy, p.Total, w)
		}
		days := 0
		var weeks Figures
		for _, wk := range p.Weeks {
			days += wk.Days
			weeks.add(wk.Figures)
		}
		if days != r.Days || weeks.Visits != p.Total.Visits || math.Abs(weeks.Km-p.Total.Km) > 1e-6*p.Total.Km {
			t.Errorf("%s: weeks cover %d days, %d visits, %.1f km; the run %d days, %d visits, %.1f km",
				p.Policy, days, weeks.Visits, weeks.Km, r.Days, p.Total.Visits, p.Total.Km)
		}
		if p.Total.Visits > 0 && w.Collected <= 0 {
			t.Errorf("%s: %d visits collected nothing", p.Policy, p.Total.Visits)
		}
	}
	city := sim.GenerateCity(sim.CityParams{Bins: 50, Seed: 2})
	s := sim.NewSensors(city, sim.SensorParams{Seed: 2, Policy: sim.Policy{Kind: sim.PolicyThreshold}})
	s.Step(s.Now().Add(10 * 24 * time.Hour))
	// A collection between Steps and one in the past keep the books too.
	if _, err := s.Empty(city.Bins[0].ID, s.Now().Add(30*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Empty(city.Bins[1].ID, s.Now().Add(-5*time.Hour)); err != nil {
		t.Fatal(err)
	}
	overflowed := 0.0
	for _, l := range s.Ledgers() {
		if b := l.Balance(); math.Abs(b) > 1e-9*(l.Generated+l.Initial) {
			t.Errorf("bin %s: balance %v: %+v", l.BinID, b, l)
		}
		overflowed += l.Overflowed
	}
	if overflowed == 0 {
		t.Error("no bin overflowed in ten days of a threshold round: is overflow tracked?")
	}
}

// tinyCity is three trash bins of 240 L beside one depot and a transfer
// station: A fills in about 2 days, B in about 10, C never.
func tinyCity(t *testing.T, seed uint64) *sim.City {
	t.Helper()
	start := sim.DefaultStart.AddDate(0, 0, -21)
	build := func(activity [3]float64) *sim.City {
		c := &sim.City{Params: sim.CityParams{Start: start, Location: sim.DefaultLocation}}
		for i, id := range []string{"A", "B", "C"} {
			c.Bins = append(c.Bins, civic.Bin{ID: "BIN-" + id, Name: "Bin " + id, Lat: 39.95 + 0.004*float64(i), Lon: -75.16,
				Stream: civic.StreamTrash, CapacityL: 240, ZoneID: "Z-" + id, Status: civic.StatusActive,
				InstalledOn: "2025-01-01", CreatedAt: start.AddDate(-1, 0, 0)})
			c.Sites = append(c.Sites, sim.Site{Area: sim.AreaCorridor, Activity: activity[i], Commercial: 0.5})
			c.Devices = append(c.Devices, civic.Device{ID: "S-" + id, Kind: "laser", BinID: "BIN-" + id,
				FillScale: civic.ScaleFraction, ExpectedInterval: 900, Status: civic.StatusActive})
			c.Zones = append(c.Zones, civic.Zone{ID: "Z-" + id, Name: "Zone " + id})
		}
		c.Depots = []civic.Depot{{ID: "DEPOT-1", Name: "Yard", Lat: 39.94, Lon: -75.17}}
		c.Facilities = []civic.Facility{{ID: "FAC-1", Name: "Transfer", Kind: civic.FacilityTransfer, Lat: 39.93, Lon: -75.18,
			Streams: []civic.Stream{civic.StreamTrash}, Opens: "05:00", Closes: "23:00", UnloadMin: 15, Status: civic.StatusActive}}
		c.Trucks = []civic.Truck{{ID: "T-1", Name: "Packer", DepotID: "DEPOT-1", CapacityL: 19100, Stream: civic.StreamTrash,
			ShiftStart: "06:00", ShiftEnd: "14:30", Status: civic.StatusActive}}
		return c
	}
	// The sensor model gives each bin a random factor on its site's
	// activity; measure it and aim the activity at the wanted rate.
	probe := build([3]float64{100, 100, 100})
	s := sim.NewSensors(probe, sim.SensorParams{Seed: seed})
	want := [3]float64{240 / 2.0, 240 / 10.0, 0} // litres a day
	var act [3]float64
	for i, b := range probe.Bins {
		factor := s.MeanRate(b.ID) * 24 * b.CapacityL / 100
		act[i] = want[i] / factor
	}
	c := build(act)
	c.Params.Start = sim.DefaultStart
	return c
}

// TestTinyCity: a city whose best policy is known by hand. Daily empties
// all three bins six days a week; the planner empties the fast bin about
// every other day, the slow one when it fills or the week is up, and the
// empty one only for hygiene, at least weekly — with no more overflow.
func TestTinyCity(t *testing.T) {
	const days = 28
	r, err := Run(context.Background(), Options{City: tinyCity(t, 5), Days: days, Seed: 5, PlanTime: 20 * time.Millisecond,
		WarmupDays: 21, Faults: &sim.Faults{}, StreetFairWeeks: -1, Policies: []string{PolicyDaily, PolicyPlanner, PolicyPerfect}})
	if err != nil {
		t.Fatal(err)
	}
	daily, pl, perfect := r.Policy(PolicyDaily), r.Policy(PolicyPlanner), r.Policy(PolicyPerfect)
	t.Logf("perfect forecasts: %d visits, %.1f overflow bin-hours", perfect.Total.Visits, perfect.Total.OverflowBinHours)
	if got, want := daily.Total.Visits, 3*24; got != want {
		t.Errorf("daily: %d visits, want %d (3 bins, 24 working days)", got, want)
	}
	visits := map[string]int{}
	for _, z := range pl.Zones {
		visits[z.Zone] = z.Visits
	}
	for i := range pl.Zones {
		t.Logf("zone %s: planner %d visits %.1f h, daily %.1f h", pl.Zones[i].Zone, pl.Zones[i].Visits, pl.Zones[i].OverflowBinHours, daily.Zones[i].OverflowBinHours)
	}
	for _, w := range pl.Weeks {
		t.Logf("%s planner %.1f h", w.Week, w.OverflowBinHours)
	}
	t.Logf("planner visits by bin: %v; overflow bin-hours planner %.1f, daily %.1f", visits, pl.Total.OverflowBinHours, daily.Total.OverflowBinHours)
	if a := visits["Z-A"]; a < days/3 || a > days*6/7 {
		t.Errorf("planner: fast bin visited %d times in %d days, want about every other day", a, days)
	}
	if b := visits["Z-B"]; b < 3 || b > 7 {
		t.Errorf("planner: slow bin visited %d times in %d days, want 3-7 (full every 10 days, at least weekly)", b, days)
	}
	if c := visits["Z-C"]; c < 3 || c > 5 {
		t.Errorf("planner: empty bin visited %d times in %d days, want 4 (hygiene, weekly)", c, days)
	}
	// Daily lets the fast bin overflow on Sundays; the planner cuts it
	// finer on weekdays too (it empties a bin when the forecast says it
	// will be full before the next round, and a day's waste varies by a
	// quarter), so it may overflow a little more, but not for long: at
	// most 5% of the fast bin's time.
	if limit := 0.05 * days * 24; pl.Total.OverflowBinHours > limit {
		t.Errorf("planner: %.1f overflow bin-hours, want at most %.1f (daily %.1f)", pl.Total.OverflowBinHours, limit, daily.Total.OverflowBinHours)
	}
	if pl.Total.Km >= daily.Total.Km {
		t.Errorf("planner drove %.1f km, daily %.1f", pl.Total.Km, daily.Total.Km)
	}
}

// TestReport: the report is well-formed (X)HTML with no script, three SVG
// charts and every assumption; the CSVs have a row per policy and week or
// zone.
func TestReport(t *testing.T) {
	r := runGenerated(t)
	var b bytes.Buffer
	if err := r.WriteHTML(&b); err != nil {
		t.Fatal(err)
	}
	page := b.String()
	d := xml.NewDecoder(strings.NewReader(page))
	d.Entity = xml.HTMLEntity
	svgs := 0
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("report is not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			switch se.Name.Local {
			case "svg":
				svgs++
			case "script", "link", "img", "iframe":
				t.Errorf("report has a <%s>: it must be self-contained", se.Name.Local)
			}
		}
	}
	if svgs != 3 {
		t.Errorf("%d SVG charts, want 3", svgs)
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>") {
		t.Error("no doctype")
	}
	text := html.UnescapeString(page)
	for _, a := range r.Assumptions {
		if !strings.Contains(text, a) {
			t.Errorf("assumption missing from the report: %q", a)
		}
	}
	for _, want := range []string{"polyline", r.Summary, "Overflow bin-hours", "By zone"} {
		if !strings.Contains(text, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	var weeks, zones bytes.Buffer
	if err := r.WriteWeeksCSV(&weeks); err != nil {
		t.Fatal(err)
	}
	if err := r.WriteZonesCSV(&zones); err != nil {
		t.Fatal(err)
	}
	nw := 0
	for _, p := range r.Policies {
		nw += len(p.Weeks)
	}
	if got := strings.Count(weeks.String(), "\n"); got != 1+nw {
		t.Errorf("weeks.csv has %d lines, want %d", got, 1+nw)
	}
	if got, want := strings.Count(zones.String(), "\n"), 1+len(r.Policies)*len(r.Zones); got != want {
		t.Errorf("zones.csv has %d lines, want %d", got, want)
	}
}

func TestSummaryLine(t *testing.T) {
	r := &Result{Policies: []PolicyResult{
		{Policy: PolicyDaily, Total: Figures{Visits: 1000, Km: 500, OverflowBinHours: 12}},
		{Policy: PolicyThreshold, Total: Figures{Visits: 300, Km: 200, OverflowBinHours: 90.4}},
		{Policy: PolicyPlanner, Total: Figures{Visits: 250, Km: 150, OverflowBinHours: 10}},
	}}
	want := "sim: collections -75% km -70% vs daily; overflow bin-hours 10 (planner) vs 12 (daily) vs 90 (threshold)"
	if got := r.summary(); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestOptionsInvalid(t *testing.T) {
	for _, o := range []Options{{Bins: 0}, {Bins: 5, Policies: []string{"weekly"}}, {Bins: 5, Threshold: 1.5}, {Bins: 5, Days: -1}} {
		if _, err := Run(context.Background(), o); !civic.IsKind(err, civic.Invalid) {
			t.Errorf("%+v: got %v, want Invalid", o, err)
		}
	}
}
