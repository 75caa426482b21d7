package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/bench"
)

// TestBenchLoad runs a few seconds of `civic bench load` as a user would,
// on a day of history: every kind of traffic made requests without an
// error, and the last line reports no server error.
func TestBenchLoad(t *testing.T) {
	profiles := t.TempDir()
	cmd := exec.CommandContext(t.Context(), civicBin, "bench", "load", "--duration", "4s", "--bins", "100",
		"--http", "1", "--mqtt", "20", "--sse", "4", "--sse-hold", "1s", "--map", "1", "--pages", "1", "--api", "2",
		"--open311-read", "1", "--open311-post", "1", "--open311-every", "500ms", "--history-days", "1", "--heap-profiles", profiles)
	cmd.Env = bench.ChildEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("civic bench load: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if last := lines[len(lines)-1]; !regexp.MustCompile(`^load: [1-9]\d* req/s, 5xx 0, p99 \d+\.\d ms, peak RSS [1-9]\d* MiB$`).MatchString(last) {
		t.Errorf("last line %q, want \"load: N req/s, 5xx 0, p99 X ms, peak RSS M MiB\"", last)
	}
	if !regexp.MustCompile(`(?m)^memory: (steady|growing \d+\.\d MiB/min|too short a run to tell) \(over the last \d+s: peak RSS `).MatchString(out.String()) {
		t.Errorf("no memory verdict in:\n%s", out.String())
	}
	// A day of history, every sensor every 10 minutes, which the forecast
	// model was trained on before the run.
	if !regexp.MustCompile(`(?m)^history: 14400 readings, 1 day of every sensor, written in \d+\.\d s; the forecast model trained on 14400 in `).MatchString(out.String()) {
		t.Errorf("no history line in:\n%s", out.String())
	}
	// The heap profile at the end, through civic serve --pprof-addr.
	if m, _ := filepath.Glob(filepath.Join(profiles, "heap-*.pb.gz")); len(m) != 1 {
		t.Errorf("heap profiles %v, want the one taken at the end\nstderr: %s", m, errb.String())
	} else if b, err := os.ReadFile(m[0]); err != nil || len(b) < 100 || b[0] != 0x1f || b[1] != 0x8b {
		t.Errorf("%s: %d bytes (%v), want a gzipped profile", m[0], len(b), err)
	}
	row := regexp.MustCompile(`^(\S+)\s+(\d+)\s+\S+\s+(\d+)\s+(\d+)\s`)
	kinds := map[string]bool{}
	for _, l := range lines {
		m := row.FindStringSubmatch(l)
		if m == nil || m[1] == "kind" {
			continue
		}
		kinds[m[1]] = true
		if m[2] == "0" || m[3] != "0" {
			t.Errorf("%s: %s requests, %s errors; want some, and no error\nstderr: %s", m[1], m[2], m[3], errb.String())
		}
	}
	for _, k := range []string{"ingest-http", "ingest-mqtt", "sse", "map", "pages", "api", "open311-read", "open311-post"} {
		if !kinds[k] {
			t.Errorf("no row for %s in:\n%s", k, out.String())
		}
	}
}
