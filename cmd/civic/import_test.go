package main

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/civic"
)

// vendorData is the folder of vendor-shaped files internal/assets tests with.
const vendorData = "../../internal/assets/testdata/vendor"

func vendorPath(name string) string { return filepath.Join(vendorData, name) }

func wantLines(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s has no %q:\n%s", what, w, got)
		}
	}
}

// TestImportVendorInventory imports a vendor's inventory as it comes: a
// dry run that stores nothing, the import, a saved mapping that changes
// the coordinates, and a repeat that changes nothing.
func TestImportVendorInventory(t *testing.T) {
	data := t.TempDir()
	args := []string{"bins", vendorPath("bins.csv"), "--data", data, "--default", "capacity_l=568"}

	for range 2 { // a dry run stores nothing, so the second reports the same
		out, stderr, err := runCmd(t, runImport, append(args, "--dry-run")...)
		if err != nil {
			t.Fatalf("dry run: %v\n%s", err, stderr)
		}
		wantLines(t, "dry run", out,
			"bins.csv: columns id=SN serial=SN name=Desc_ lat=Lat lon=Long stream=StreamType status=Status\n",
			"create 1305 \"Charles St at Beacon St\"\n",
			"dry run: bins.csv would import 4 bins: 4 created, 0 updated, 0 unchanged, 0 invalid rows skipped; nothing stored\n")
		if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, `warning: bins.csv: ignored 4 columns civic does not use: "Station", "Customer", "LAT", "LNG"`) {
			t.Errorf("want one warning naming the ignored columns, got:\n%s", stderr)
		}
	}

	out, stderr, err := runCmd(t, runImport, args...)
	if err != nil {
		t.Fatalf("import: %v\n%s", err, stderr)
	}
	wantLines(t, "import", out, "imported 4 bins from bins.csv: 4 created, 0 updated, 0 unchanged, 0 invalid rows skipped\n")

	mapped := []string{"bins", vendorPath("bins.geojson"), "--data", data, "--map-file", vendorPath("mapping.json")}
	out, stderr, err = runCmd(t, runImport, mapped...)
	if err != nil {
		t.Fatalf("import with a mapping: %v\n%s", err, stderr)
	}
	// GeoJSON takes its coordinates from the geometry (unchanged); the
	// mapping's default model changes every bin.
	wantLines(t, "import with a mapping", out, "imported 4 bins from bins.geojson: 0 created, 4 updated, 0 unchanged")
	out, _, err = runCmd(t, runImport, mapped...)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, "the same import again", out, "imported 0 bins from bins.geojson: 0 created, 0 updated, 4 unchanged")

	a, err := openApp(context.Background(), &config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	b, err := a.store.Bin(context.Background(), "1305")
	if err != nil {
		t.Fatal(err)
	}
	if b.Stream != civic.StreamBottlesCans || b.Status != civic.StatusInactive || b.Model != "Bigbelly HC5" || b.CapacityL != 568 || b.Serial != "1305" {
		t.Errorf("bin 1305 = %+v", b.Bin)
	}
}

// TestImportInvalidRows: every bad row is listed; the file is refused
// unless --skip-invalid, and then the good rows import.
func TestImportInvalidRows(t *testing.T) {
	data := t.TempDir()
	args := []string{"bins", vendorPath("bins-bad.csv"), "--data", data, "--default", "capacity_l=240"}
	_, stderr, err := runCmd(t, runImport, args...)
	if err == nil || !strings.Contains(err.Error(), "bins-bad.csv: 3 invalid rows, nothing imported (fix them, or leave them out with --skip-invalid)") {
		t.Fatalf("err = %v", err)
	}
	wantLines(t, "stderr", stderr, "bins-bad.csv:3: StreamType: \"Glass\"", "bins-bad.csv:4: Lat:", "bins-bad.csv:5: Status: \"Parked\"")
	out, _, err := runCmd(t, runImport, append(args, "--skip-invalid")...)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, "import", out, "imported 1 bins from bins-bad.csv: 1 created, 0 updated, 0 unchanged, 3 invalid rows skipped")

	for _, bad := range [][]string{
		{"bins", vendorPath("bins.csv"), "--data", data, "--map", "colour=Paint"},
		{"bins", vendorPath("bins.csv"), "--data", data, "--default", "capacity_l=-1"},
	} {
		if _, _, err := runCmd(t, runImport, bad...); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v, want a usage error", bad, err)
		}
	}
	_, _, err = runCmd(t, runImport, "bins", vendorPath("bins.csv"), "--data", data)
	if err == nil || !strings.Contains(err.Error(), "--default capacity_l=LITRES") {
		t.Errorf("no capacity: %v", err)
	}
}

// TestImportCollectionLog turns a vendor's collection log with colour-band
// fullness into collections, found by serial, once.
func TestImportCollectionLog(t *testing.T) {
	data := t.TempDir()
	if _, stderr, err := runCmd(t, runImport, "bins", vendorPath("bins.csv"), "--data", data, "--default", "capacity_l=568"); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	args := []string{"collections", vendorPath("collections-bands.csv"), "--data", data}
	out, stderr, err := runCmd(t, runImport, append(args, "--dry-run")...)
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	wantLines(t, "dry run", out,
		"collections-bands.csv: columns bin=Serial time=Date/Time fullness=Fullness; numeric fullness read as fraction\n",
		"dry run: collections-bands.csv would import 4 collections; 0 already there, 0 repeated in the file, 1 for unknown bins, 0 invalid rows skipped; nothing stored\n")
	wantLines(t, "warnings", stderr, `warning: collections-bands.csv: ignored 2 columns civic does not use: "Station", "Driver"`,
		`warning: collections-bands.csv: skipped 1 row naming bins civic does not know (import the bins first): "9999" (line 6)`)

	out, _, err = runCmd(t, runImport, args...)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, "import", out, "imported 4 collections from collections-bands.csv; 0 already there")
	out, _, err = runCmd(t, runImport, args...)
	if err != nil {
		t.Fatal(err)
	}
	wantLines(t, "again", out, "imported 0 collections from collections-bands.csv; 4 already there")

	a, err := openApp(context.Background(), &config{DataDir: data})
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	got, err := a.store.ListCollections(context.Background(), civic.CollectionFilter{BinID: "1201"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Source != "import" || got[0].FillBefore == nil || *got[0].FillBefore != 1 || *got[1].FillBefore != 0.3 {
		t.Errorf("bin 1201 collections = %+v", got)
	}
}
