package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
	"github.com/civic-city/civic/internal/store"
)

// TestSimulate runs a small what-if and checks the last line's format and
// the files --out writes.
func TestSimulate(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	data := filepath.Join(dir, "data")
	code := run(context.Background(), e, []string{"simulate", "--bins", "30", "--days", "5", "--seed", "2",
		"--plan-time", "20ms", "--out", dir, "--save", "--name", "test run", "--data", data, "--crew-eur-h", "50"})
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	last := lines[len(lines)-1]
	re := regexp.MustCompile(`^sim: collections [+-]\d+% km [+-]\d+% vs daily; overflow bin-hours \d+ \(planner\) vs \d+ \(daily\) vs \d+ \(threshold\)$`)
	if !re.MatchString(last) {
		t.Errorf("last line %q does not match %s", last, re)
	}
	for _, p := range []string{"daily", "3x", "fixed", "threshold", "planner"} {
		if !strings.Contains(stdout.String(), p) {
			t.Errorf("no row for %s in %q", p, stdout.String())
		}
	}
	for _, f := range []string{"report.html", "weeks.csv", "zones.csv", "result.json"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v, %d bytes", f, err, len(b))
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "report.html"))
	if n := bytes.Count(page, []byte("<svg")); n != 3 {
		t.Errorf("report has %d charts, want 3", n)
	}

	// --save stored the run.
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(data, "civic.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListSimulations(context.Background())
	if err != nil || len(runs) != 1 {
		t.Fatalf("stored runs %v, %v; want one", runs, err)
	}
	got, err := st.Simulation(context.Background(), runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "test run" || got.Summary != last || !json.Valid(got.Result) || !bytes.Contains(got.Report, []byte("<svg")) {
		t.Errorf("stored run: name %q summary %q, %d bytes of result, %d of report", got.Name, got.Summary, len(got.Result), len(got.Report))
	}
	// with the assumptions it ran under, as the web app's runs are.
	if a := got.Assumptions; a == nil || a.CrewEURH != 50 || a.FuelEURL != 1.6 || a.OverflowRisk != 0.1 || a.Threshold != 0.8 ||
		*a.HygieneDays != 7 || *a.HygieneDaysCompost != 3 {
		t.Errorf("stored run's assumptions %+v", a)
	}
}

// TestSimulateFactors: the threshold and the cost factors are refused,
// naming the flag, out of the ranges the web app's runs take.
func TestSimulateFactors(t *testing.T) {
	simulateRefuses(t, "--threshold", "1.5", "-0.2", "NaN")
	simulateRefuses(t, "--crew-eur-h", "-5", "1e6")
	simulateRefuses(t, "--fuel-l-per-km", "Inf")
	simulateRefuses(t, "--co2-kg-per-l", "-2.68")
	simulateRefuses(t, "--truck-eur-km", "500")
	simulateRefuses(t, "--fuel-eur-l", "-1")
}

// TestSimulateExplain: --explain prints, for every policy, its overflow
// bin-hours and visits by cause, before the summary line.
func TestSimulateExplain(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := run(context.Background(), e, []string{"simulate", "--bins", "30", "--days", "5", "--seed", "2",
		"--plan-time", "20ms", "--policies", "daily,planner", "--explain"})
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{"daily: overflow bin-hours by cause", "daily: visits by reason", "scheduled",
		"planner: overflow bin-hours by cause", "planner: visits by reason", "must: "} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in %q", want, out)
		}
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); !strings.HasPrefix(lines[len(lines)-1], "sim: ") {
		t.Errorf("last line %q, want the summary", lines[len(lines)-1])
	}
}

func TestSimulateBadPolicy(t *testing.T) {
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := run(context.Background(), e, []string{"simulate", "--bins", "5", "--days", "1", "--policies", "weekly"}); code == 0 {
		t.Errorf("exit 0 for an unknown policy; stderr %q", stderr.String())
	}
}

// simulateResult runs civic simulate with args and --out, and returns the
// result.json it wrote; the run must succeed.
func simulateResult(t *testing.T, args ...string) []byte {
	t.Helper()
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	if code := run(context.Background(), e, append(append([]string{"simulate"}, args...), "--out", dir)); code != 0 {
		t.Fatalf("civic simulate %v: exit %d, stderr %q", args, code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// simulateRefuses checks that civic simulate refuses each bad value of
// flag, failing with an error that names the flag.
func simulateRefuses(t *testing.T, flag string, bad ...string) {
	t.Helper()
	for _, v := range bad {
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		if code := run(context.Background(), e, []string{"simulate", "--bins", "5", "--days", "1", flag, v}); code == 0 || !strings.Contains(stderr.String(), flag) {
			t.Errorf("%s %q: exit %d, stderr %q", flag, v, code, stderr.String())
		}
	}
}

// TestSimulateOverflowRisk: --overflow-risk reaches the planner (the
// report's assumptions say it) and a value out of range is refused,
// naming the flag.
func TestSimulateOverflowRisk(t *testing.T) {
	b := simulateResult(t, "--bins", "30", "--days", "3", "--seed", "2",
		"--plan-time", "20ms", "--policies", "planner", "--overflow-risk", "0.3")
	if !bytes.Contains(b, []byte("at most a 30% chance of filling up")) {
		t.Errorf("the assumptions do not give the planner's 30%% risk:\n%s", b)
	}
	simulateRefuses(t, "--overflow-risk", "0.7", "0.001", "-1")
}

// TestSimulateHygieneDays: --hygiene-days reaches the planner (the
// report's assumptions say it: a default, a stream's own, or no limit)
// and bad values are refused, naming the flag.
func TestSimulateHygieneDays(t *testing.T) {
	for _, tc := range []struct{ spec, want string }{
		{"10,compost=4", "no bin goes more than 10 days, compost 4 days, without emptying"},
		{"0,compost=0", "with no limit on how long a bin may go without emptying"},
		{"0", "no compost bin goes more than 3 days without emptying; other bins have no such limit"},
		{"5", "no bin goes more than 5 days, compost 3 days, without emptying"},
	} {
		b := simulateResult(t, "--bins", "30", "--days", "3", "--seed", "2",
			"--plan-time", "20ms", "--policies", "planner", "--hygiene-days", tc.spec)
		if !bytes.Contains(b, []byte(tc.want)) {
			t.Errorf("--hygiene-days %s: the assumptions do not say %q", tc.spec, tc.want)
		}
	}
	simulateRefuses(t, "--hygiene-days", "-1", "400", "x", "7,compost", "7,lava=3", "7,compost=-2")
}

// TestSimulateStoredCity: with --data and no --bins, civic simulate runs
// the data folder's own active bins, with each bin's waste measured from
// its stored readings: the waste simulated matches the generator's truth
// the history came from, a bin without readings borrows its group's
// median, and the report says where the city came from.
func TestSimulateStoredCity(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	city := sim.GenerateCity(sim.CityParams{Bins: 40, Seed: 9})
	hp := sim.HistoryParams{Days: 14, Seed: 9}
	devs := map[string]civic.Device{}
	for _, d := range city.Devices {
		devs[d.ID] = d
	}
	readings := sim.StoredHistory(city, hp)
	// The history ends an hour ago.
	shift := time.Now().Add(-time.Hour).Sub(readings[len(readings)-1].Time)
	for i := range readings {
		readings[i].Time = readings[i].Time.Add(shift)
	}
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "civic.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range city.Zones {
		must(t, st.CreateZone(ctx, &city.Zones[i]))
	}
	for i := range city.Depots {
		must(t, st.CreateDepot(ctx, &city.Depots[i]))
	}
	bins := slices.Clone(city.Bins)
	bins[1].Status = civic.StatusRemoved // left out
	must(t, st.ImportBins(ctx, bins))
	silent := city.Bins[0].ID // its sensor is not registered: no history
	for i := range city.Devices {
		if city.Devices[i].BinID != silent {
			must(t, st.CreateDevice(ctx, &city.Devices[i]))
		}
	}
	for i := range city.Facilities {
		must(t, st.CreateFacility(ctx, &city.Facilities[i]))
	}
	for i := range city.Trucks {
		must(t, st.CreateTruck(ctx, &city.Trucks[i]))
	}
	// The city's own settings: no stream of its own, hygiene 10 days.
	ps := civic.DefaultPlanSettings()
	ps.Streams, ps.Default.HygieneDays = nil, 10
	must(t, st.SetPlanSettings(ctx, &ps))
	var kept []civic.Reading
	for _, r := range readings {
		if devs[r.Device].BinID != silent {
			kept = append(kept, r)
		}
	}
	for len(kept) > 0 {
		n := min(len(kept), 5000)
		if _, err := st.WriteReadings(ctx, [][]civic.Reading{kept[:n]}); err != nil {
			t.Fatal(err)
		}
		kept = kept[n:]
	}
	st.Close()

	out := filepath.Join(dir, "out")
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	const days = 4
	code := run(ctx, e, []string{"simulate", "--data", dir, "--days", strconv.Itoa(days), "--plan-time", "20ms",
		"--policies", "daily,planner", "--history-days", "14", "--out", out})
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "simulate: 39 bins") {
		t.Errorf("stderr %q does not announce the 39 active bins", stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Bins        int      `json:"bins"`
		Assumptions []string `json:"assumptions"`
		Policies    []struct {
			Policy string `json:"policy"`
			Waste  struct {
				Generated float64 `json:"generated_l"`
			} `json:"waste"`
		} `json:"policies"`
	}
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Assumptions) == 0 || !strings.Contains(res.Assumptions[0], "The city is yours: the 39 active bins") ||
		!strings.Contains(res.Assumptions[0], "bins with less than a day of such history: 1") {
		t.Errorf("first assumption %q", res.Assumptions)
	}
	if m := regexp.MustCompile(`for (\d+) bins the mix that best fits`).FindStringSubmatch(res.Assumptions[0]); m == nil || m[1] == "0" {
		t.Errorf("no bin's weekly rhythm was fitted: %q", res.Assumptions[0])
	}
	if page, _ := os.ReadFile(filepath.Join(out, "report.html")); !bytes.Contains(page, []byte("A simulation of the city's own 39 bins")) {
		t.Error("the report does not say it simulated the city's own bins")
	}
	// The truth: the generator's mean rate of every simulated bin (the
	// silent one at its group's median is close enough at this scale).
	truth := sim.NewSensors(city, hp.SensorParams())
	want := 0.0
	for i, bn := range city.Bins {
		if i != 1 {
			want += truth.MeanRate(bn.ID) * bn.CapacityL * 24 * days
		}
	}
	for _, p := range res.Policies {
		if got := p.Waste.Generated; got < 0.85*want || got > 1.15*want {
			t.Errorf("%s: %.0f L of waste simulated in %d days, the history's truth %.0f", p.Policy, got, days, want)
		}
	}

	if !strings.Contains(strings.Join(res.Assumptions, " "), "no bin goes more than 10 days, compost 10 days") {
		t.Errorf("the run did not use the city's own settings: %q", res.Assumptions)
	}
	// Flags change the city's own settings for the run, a stream added.
	stderr.Reset()
	code = run(ctx, e, []string{"simulate", "--data", dir, "--days", "1", "--plan-time", "20ms",
		"--policies", "planner", "--hygiene-days", "5,compost=2", "--out", out})
	if b, _ := os.ReadFile(filepath.Join(out, "result.json")); code != 0 || !bytes.Contains(b, []byte("no bin goes more than 5 days, compost 2 days")) {
		t.Errorf("--hygiene-days on the city's settings: exit %d, stderr %q", code, stderr.String())
	}
	// A bad flag fails before the history is read.
	stderr.Reset()
	if code := run(ctx, e, []string{"simulate", "--data", dir, "--hygiene-days", "x"}); code == 0 || strings.Contains(stderr.String(), "reading") {
		t.Errorf("bad --hygiene-days with --data: exit %d, stderr %q", code, stderr.String())
	}

	// An empty data folder has nothing to simulate.
	stderr.Reset()
	if code := run(ctx, e, []string{"simulate", "--data", t.TempDir(), "--days", "1"}); code == 0 || !strings.Contains(stderr.String(), "no active bins") {
		t.Errorf("empty data folder: exit %d, stderr %q", code, stderr.String())
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestSimulateFixedDays: --fixed-days reaches the fixed policy (the
// report's assumptions say the schedule) and a bad one is refused, naming
// the flag.
func TestSimulateFixedDays(t *testing.T) {
	b := simulateResult(t, "--bins", "20", "--days", "2", "--seed", "2",
		"--plan-time", "20ms", "--policies", "fixed", "--fixed-days", "2,compost=1")
	if !bytes.Contains(b, []byte("every bin every 2 days; compost every day (Monday to Saturday)")) {
		t.Errorf("the assumptions do not give the schedule:\n%s", b)
	}
	simulateRefuses(t, "--fixed-days", "2,lava=1")
}
