package main

import (
	"context"
	"encoding/csv"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
)

const demoUsage = `civic demo generate --bins N --out DIR [--seed S]

Generates a realistic synthetic city (internal/sim) and writes its assets
into DIR, creating it if needed: bins.csv, bins.geojson, devices.csv,
zones.geojson, depots.csv, trucks.csv and crews.csv. The same seed gives the
same city.
  --bins   number of bins (default 1000)
  --seed   random seed (default 1)`

func runDemo(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("which action? (generate)")
	}
	switch args[0] {
	case "generate":
		return runDemoGenerate(ctx, e, args[1:])
	}
	return usageErrorf("unknown action %q", args[0])
}

func runDemoGenerate(_ context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("demo generate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bins := fs.Int("bins", sim.DefaultBins, "number of bins")
	out := fs.String("out", "", "output directory")
	seed := fs.Uint64("seed", 1, "random seed")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *out == "" {
		return usageErrorf("--out is required")
	}
	if *bins < 1 || *bins > 1_000_000 {
		return usageErrorf("--bins must be between 1 and 1000000")
	}
	city := sim.GenerateCity(sim.CityParams{Bins: *bins, Seed: *seed})
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	views := city.BinViews()
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{"bins.csv", func(w io.Writer) error { return assets.WriteBins(w, assets.FormatCSV, views) }},
		{"bins.geojson", func(w io.Writer) error { return assets.WriteBins(w, assets.FormatGeoJSON, views) }},
		{"devices.csv", func(w io.Writer) error { return writeDevicesCSV(w, city.Devices) }},
		{"zones.geojson", func(w io.Writer) error { return assets.WriteZonesGeoJSON(w, city.Zones) }},
		{"depots.csv", func(w io.Writer) error { return writeDepotsCSV(w, city.Depots) }},
		{"trucks.csv", func(w io.Writer) error { return writeTrucksCSV(w, city.Trucks) }},
		{"crews.csv", func(w io.Writer) error { return writeCrewsCSV(w, city.Crews) }},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(*out, f.name), f.write); err != nil {
			return err
		}
	}
	printDemoSummary(e.stdout, city, *out)
	return nil
}

// writeFile writes path through a temporary file, so that a failure never
// leaves half a file behind.
func writeFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// writeCSV writes a header and rows. internal/assets has no writers for
// devices, depots, trucks and crews yet; their columns are named like the
// JSON fields of the civic types.
func writeCSV(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func writeDevicesCSV(w io.Writer, ds []civic.Device) error {
	rows := make([][]string, len(ds))
	for i, d := range ds {
		rows[i] = []string{d.ID, d.Kind, d.BinID, d.DevEUI, string(d.FillScale), d.PayloadFormat,
			strconv.Itoa(d.ExpectedInterval), d.Firmware, string(d.Status)}
	}
	return writeCSV(w, []string{"id", "kind", "bin_id", "dev_eui", "fill_scale", "payload_format",
		"expected_interval_s", "firmware", "status"}, rows)
}

func writeDepotsCSV(w io.Writer, ds []civic.Depot) error {
	rows := make([][]string, len(ds))
	for i, d := range ds {
		rows[i] = []string{d.ID, d.Name, ftoa(d.Lat), ftoa(d.Lon), d.Address}
	}
	return writeCSV(w, []string{"id", "name", "lat", "lon", "address"}, rows)
}

func writeTrucksCSV(w io.Writer, ts []civic.Truck) error {
	rows := make([][]string, len(ts))
	for i, t := range ts {
		rows[i] = []string{t.ID, t.Name, t.DepotID, ftoa(t.CapacityL), string(t.Stream), t.ShiftStart, t.ShiftEnd, string(t.Status)}
	}
	return writeCSV(w, []string{"id", "name", "depot_id", "capacity_l", "stream", "shift_start", "shift_end", "status"}, rows)
}

// writeCrewsCSV writes members as one column of user names separated by ';'.
func writeCrewsCSV(w io.Writer, cs []civic.Crew) error {
	rows := make([][]string, len(cs))
	for i, c := range cs {
		rows[i] = []string{c.ID, c.Name, c.DepotID, c.TruckID, strings.Join(c.Members, ";")}
	}
	return writeCSV(w, []string{"id", "name", "depot_id", "truck_id", "members"}, rows)
}

func printDemoSummary(w io.Writer, c *sim.City, dir string) {
	compacting := 0
	byStream := map[string]int{}
	byZone := map[string]int{}
	byKind := map[string]int{}
	for _, b := range c.Bins {
		byStream[string(b.Stream)]++
		byZone[b.ZoneID]++
		if b.Compacting {
			compacting++
		}
	}
	for _, d := range c.Devices {
		byKind[d.Kind]++
	}
	fmt.Fprintf(w, "demo: wrote %d bins (%d compacting stations), %d devices, %d zones, %d depots, %d trucks, %d crews to %s\n",
		len(c.Bins), compacting, len(c.Devices), len(c.Zones), len(c.Depots), len(c.Trucks), len(c.Crews), dir)
	fmt.Fprintf(w, "bins by stream:")
	for _, s := range civic.Streams {
		if n := byStream[string(s)]; n > 0 {
			fmt.Fprintf(w, " %s %d", s, n)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "devices by kind:")
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		fmt.Fprintf(w, " %s %d", k, byKind[k])
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "bins by zone:")
	for _, z := range c.Zones {
		fmt.Fprintf(w, "  %-6s %-24s %5d\n", z.ID, z.Name, byZone[z.ID])
	}
}
