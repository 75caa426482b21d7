package main

import (
	"bytes"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestWiringOnly keeps cmd/civic to flags and wiring (DESIGN.md): no file
// grows past a few hundred lines, and none reaches a database, a broker or
// an HTTP client or handler of its own; the one HTTP server is the node's.
func TestWiringOnly(t *testing.T) {
	const maxLines = 400
	banned := []string{"database/sql", "github.com/jackc/", "modernc.org/sqlite", "github.com/mochi-mqtt/", "github.com/eclipse/paho.golang"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		seen++
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(src, []byte("\n")); n > maxLines {
			t.Errorf("%s has %d lines, more than %d: move the logic into its package under internal/", f, n, maxLines)
		}
		af, err := parser.ParseFile(token.NewFileSet(), f, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			for _, b := range banned {
				if strings.HasPrefix(p, b) {
					t.Errorf("%s imports %s: storage and brokers belong to internal/store and internal/mqtt", f, p)
				}
			}
			if p == "net/http" && f != "node.go" {
				t.Errorf("%s imports net/http: handlers belong to internal/server and internal/web, benchmarks to internal/bench", f)
			}
		}
	}
	if seen < 5 {
		t.Fatalf("found only %d files: is the glob broken?", seen)
	}
}

// TestCommandsUnique: every command is listed once in 'civic help' (a
// merge once left two "bench" entries).
func TestCommandsUnique(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range commands() {
		if seen[c.name] {
			t.Errorf("command %q is listed twice", c.name)
		}
		seen[c.name] = true
	}
}

// TestBenchUsageUnique: every benchmark is described once in 'civic bench'
// usage (a merge left two "civic bench mqtt" synopses, one of them stale).
// A synopsis is told by what it says outside its optional [flags]:
// "civic bench ingest" and "civic bench ingest --crash" are two.
func TestBenchUsageUnique(t *testing.T) {
	optional := regexp.MustCompile(`\[[^\]]*\]`)
	seen := map[string]bool{}
	for line := range strings.SplitSeq(benchUsage, "\n") {
		if !strings.HasPrefix(line, "civic bench ") {
			continue
		}
		key := strings.Join(strings.Fields(optional.ReplaceAllString(line, "")), " ")
		if seen[key] {
			t.Errorf("%q is described twice in the bench usage", key)
		}
		seen[key] = true
	}
	if len(seen) < 8 {
		t.Errorf("found %d benchmarks in the usage, want the 8 or more civic has", len(seen))
	}
}
