package main

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
	"github.com/civic-city/civic/internal/store"
)

func runForecastCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = run(context.Background(), e, append([]string{"forecast"}, args...))
	return code, out.String(), errb.String()
}

var forecastSummary = regexp.MustCompile(`^forecast: MAE ([0-9.]+) h vs naive ([0-9.]+) h \(ratio ([0-9.]+)\) over ([0-9]+) predictions$`)

// lastLine checks the summary line and returns its ratio and count.
func lastLine(t *testing.T, stdout string) (ratio float64, n int) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(stdout, "\n"), "\n")
	m := forecastSummary.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line %q does not match %v", lines[len(lines)-1], forecastSummary)
	}
	ratio, _ = strconv.ParseFloat(m[3], 64)
	n, _ = strconv.Atoi(m[4])
	return ratio, n
}

func TestForecastBacktestGenerate(t *testing.T) {
	code, stdout, stderr := runForecastCmd(t, "backtest", "--generate", "--bins", "40", "--days", "28", "--seed", "3")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	ratio, n := lastLine(t, stdout)
	if n < 50 || ratio > 0.6 {
		t.Errorf("ratio %.2f over %d predictions, want at most 0.6 over at least 50", ratio, n)
	}
	if !strings.Contains(stderr, "replayed") {
		t.Errorf("no progress on stderr: %q", stderr)
	}
}

// TestForecastBacktestStore runs the backtest on history written to a real
// SQLite store, as civic serve would have stored it.
func TestForecastBacktestStore(t *testing.T) {
	dir := t.TempDir()
	bins, readings, _, err := simulatedHistory(context.Background(), 30, 24, 5, sim.PolicyThreshold, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "civic.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range bins {
		bins[i].ZoneID = "" // the store assigns zones from their boundaries; none here
	}
	if err := st.ImportBins(ctx, bins); err != nil {
		t.Fatal(err)
	}
	for len(readings) > 0 {
		n := min(len(readings), 5000)
		if _, err := st.WriteReadings(ctx, [][]civic.Reading{readings[:n]}); err != nil {
			t.Fatal(err)
		}
		readings = readings[n:]
	}
	st.Close()

	code, stdout, stderr := runForecastCmd(t, "backtest", "--data", dir)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, n := lastLine(t, stdout); n == 0 {
		t.Errorf("no predictions:\n%s", stdout)
	}
	if !strings.Contains(stdout, "30 bins") || !strings.Contains(stderr, "read 30/30 bins") {
		t.Errorf("stdout %q, stderr %q: want 30 bins read", stdout, stderr)
	}
}

func TestForecastUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"nope"},
		{"backtest", "--bogus"},
		{"backtest", "--generate", "--bins", "0"},
		{"backtest", "--generate", "--days", "1"},
		{"backtest", "--tz", "Mars/Olympus"},
		{"backtest", "--generate", "--policy", "never"},
		{"backtest", "extra"},
	} {
		code, _, stderr := runForecastCmd(t, args...)
		if code != 2 || !strings.Contains(stderr, "civic forecast backtest") {
			t.Errorf("%q: exit %d, stderr %q; want 2 and the usage", args, code, stderr)
		}
	}
	code, _, stderr := runForecastCmd(t, "backtest", "--data", t.TempDir())
	if code != 1 || !strings.Contains(stderr, "no database") {
		t.Errorf("empty data folder: exit %d, stderr %q; want 1 and no database", code, stderr)
	}
}
