package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/civic"
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
		"--plan-time", "20ms", "--out", dir, "--save", "--name", "test run", "--data", data})
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

// TestSimulateOverflowRisk: --overflow-risk reaches the planner (the
// report's assumptions say it) and a value out of range is refused,
// naming the flag.
func TestSimulateOverflowRisk(t *testing.T) {
	dir := t.TempDir()
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	code := run(context.Background(), e, []string{"simulate", "--bins", "30", "--days", "3", "--seed", "2",
		"--plan-time", "20ms", "--policies", "planner", "--overflow-risk", "0.3", "--out", dir})
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr.String())
	}
	b, err := os.ReadFile(filepath.Join(dir, "result.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("at most a 30% chance of filling up")) {
		t.Errorf("the assumptions do not give the planner's 30%% risk:\n%s", b)
	}
	for _, bad := range []string{"0.7", "0.001", "-1"} {
		stderr.Reset()
		if code := run(context.Background(), e, []string{"simulate", "--bins", "5", "--days", "1", "--overflow-risk", bad}); code == 0 || !strings.Contains(stderr.String(), "--overflow-risk") {
			t.Errorf("--overflow-risk %s: exit %d, stderr %q", bad, code, stderr.String())
		}
	}
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
		dir := t.TempDir()
		var stdout, stderr bytes.Buffer
		e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
		code := run(context.Background(), e, []string{"simulate", "--bins", "30", "--days", "3", "--seed", "2",
			"--plan-time", "20ms", "--policies", "planner", "--hygiene-days", tc.spec, "--out", dir})
		if code != 0 {
			t.Fatalf("%s: exit %d, stderr %q", tc.spec, code, stderr.String())
		}
		b, err := os.ReadFile(filepath.Join(dir, "result.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(tc.want)) {
			t.Errorf("--hygiene-days %s: the assumptions do not say %q", tc.spec, tc.want)
		}
	}
	var stdout, stderr bytes.Buffer
	e := &env{stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" }}
	for _, bad := range []string{"-1", "400", "x", "7,compost", "7,lava=3", "7,compost=-2"} {
		stderr.Reset()
		args := []string{"simulate", "--bins", "5", "--days", "1", "--hygiene-days", bad}
		if code := run(context.Background(), e, args); code == 0 || !strings.Contains(stderr.String(), "--hygiene-days") {
			t.Errorf("--hygiene-days %q: exit %d, stderr %q", bad, code, stderr.String())
		}
	}
}

// FuzzHygieneDays: any --hygiene-days value either fails with an error or
// leaves plan settings that validate, with every hygiene limit in range.
func FuzzHygieneDays(f *testing.F) {
	for _, s := range []string{"7", "0,compost=0", "10,compost=4,trash=2", "7,compost", "x", "1e400", "NaN", "7,,", "-0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ps := civic.DefaultPlanSettings()
		if err := setHygieneDays(&ps, spec); err != nil {
			return
		}
		if err := ps.Validate(); err != nil {
			t.Fatalf("%q accepted, but the settings do not validate: %v", spec, err)
		}
		for _, p := range append([]civic.PlanPolicy{ps.Default}, slices.Collect(maps.Values(ps.Streams))...) {
			if !(p.HygieneDays >= 0 && p.HygieneDays <= 365) {
				t.Fatalf("%q accepted with %v hygiene days", spec, p.HygieneDays)
			}
		}
	})
}
