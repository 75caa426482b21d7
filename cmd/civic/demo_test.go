package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/assets"
)

func runDemoCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	code = run(context.Background(), e, append([]string{"demo"}, args...))
	return code, out.String(), errb.String()
}

func TestDemoGenerate(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := runDemoCmd(t, "generate", "--bins", "150", "--out", dir, "--seed", "7")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if !strings.Contains(stdout, "wrote 150 bins") || !strings.Contains(stdout, "bins by zone") {
		t.Errorf("summary missing counts:\n%s", stdout)
	}

	for _, name := range []string{"bins.csv", "bins.geojson"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		bins, err := assets.ReadBins(f, name, "")
		f.Close()
		if err != nil {
			t.Fatalf("%s does not read back: %v", name, err)
		}
		if len(bins) != 150 {
			t.Errorf("%s: got %d bins, want 150", name, len(bins))
		}
	}
	f, err := os.Open(filepath.Join(dir, "zones.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	zones, err := assets.ReadZonesGeoJSON(f, "zones.geojson")
	f.Close()
	if err != nil || len(zones) < 2 {
		t.Fatalf("zones.geojson: %d zones, err %v", len(zones), err)
	}

	wantRows := map[string]int{"devices.csv": 150}
	for _, name := range []string{"devices.csv", "depots.csv", "trucks.csv", "crews.csv"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(rows) < 2 {
			t.Errorf("%s: no rows", name)
		}
		if n, ok := wantRows[name]; ok && len(rows)-1 != n {
			t.Errorf("%s: %d rows, want %d", name, len(rows)-1, n)
		}
	}

	// The same seed writes the same files.
	dir2 := t.TempDir()
	if code, _, stderr := runDemoCmd(t, "generate", "--out", dir2, "--bins", "150", "--seed", "7"); code != 0 {
		t.Fatalf("second run: exit %d, %s", code, stderr)
	}
	for _, name := range []string{"bins.csv", "devices.csv", "zones.geojson", "crews.csv"} {
		a, _ := os.ReadFile(filepath.Join(dir, name))
		b, _ := os.ReadFile(filepath.Join(dir2, name))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs with the same seed", name)
		}
	}
}

func TestDemoUsage(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"generate"},
		{"generate", "--out", t.TempDir(), "--bins", "0"},
		{"generate", "--out", t.TempDir(), "--bins", "x"},
		{"generate", "--out", t.TempDir(), "extra"},
	} {
		if code, _, stderr := runDemoCmd(t, args...); code != 2 || !strings.Contains(stderr, "civic demo generate") {
			t.Errorf("demo %q: exit %d, stderr %q; want 2 with usage", args, code, stderr)
		}
	}
}
