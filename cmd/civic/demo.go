package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

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
		{"bins.csv", func(w io.Writer) error { return writeBinsCSV(w, views) }},
		{"bins.geojson", func(w io.Writer) error { return writeBinsGeoJSON(w, views) }},
		{"devices.csv", func(w io.Writer) error { return writeDevicesCSV(w, city.Devices) }},
		{"zones.geojson", func(w io.Writer) error { return writeZonesGeoJSON(w, city.Zones) }},
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

// writeCSV writes a header and rows; columns are named like the JSON fields
// of the civic types.
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

// The bin and zone writers below produce the same columns, properties and
// layout as internal/assets (WriteBins, WriteZonesGeoJSON), so that
// "civic import" reads the files. They stand in for it because the assets
// package does not build yet at the commit this was written against (its
// GeoJSON dependency lacks a go.sum entry); once it does, demo should call
// it instead.

// binHeader lists the bin columns in the order internal/assets writes them.
var binHeader = []string{"id", "serial", "name", "lat", "lon", "address", "stream", "capacity_l",
	"compacting", "model", "zone_id", "status", "installed_on", "full_threshold"}

func binRow(b *civic.Bin) []string {
	return []string{b.ID, b.Serial, b.Name, ftoa(b.Lat), ftoa(b.Lon), b.Address, string(b.Stream),
		ftoa(b.CapacityL), strconv.FormatBool(b.Compacting), b.Model, b.ZoneID, string(b.Status),
		b.InstalledOn, ftoa(b.FullThreshold)}
}

func writeBinsCSV(w io.Writer, bins []civic.BinView) error {
	rows := make([][]string, len(bins))
	for i := range bins {
		rows[i] = binRow(&bins[i].Bin)
	}
	return writeCSV(w, binHeader, rows)
}

// feature is an RFC 7946 Feature.
type feature struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Geometry   any            `json:"geometry"`
	Properties map[string]any `json:"properties"`
}

type point struct {
	Type        string     `json:"type"`
	Coordinates [2]float64 `json:"coordinates"`
}

// writeBinsGeoJSON writes Point features whose properties are the CSV
// columns but lat and lon, numbers and booleans typed, empty text left out.
func writeBinsGeoJSON(w io.Writer, bins []civic.BinView) error {
	fs := make([]feature, len(bins))
	for i := range bins {
		b := &bins[i].Bin
		props := map[string]any{}
		for k, v := range binRow(b) {
			name := binHeader[k]
			switch name {
			case "lat", "lon":
			case "capacity_l", "full_threshold":
				f, _ := strconv.ParseFloat(v, 64)
				props[name] = f
			case "compacting":
				props[name] = b.Compacting
			default:
				if v != "" {
					props[name] = v
				}
			}
		}
		fs[i] = feature{Type: "Feature", ID: b.ID, Geometry: point{"Point", [2]float64{b.Lon, b.Lat}}, Properties: props}
	}
	return writeFeatures(w, fs)
}

func writeZonesGeoJSON(w io.Writer, zones []civic.Zone) error {
	fs := make([]feature, len(zones))
	for i, z := range zones {
		fs[i] = feature{Type: "Feature", ID: z.ID, Geometry: z.Boundary, Properties: map[string]any{"id": z.ID, "name": z.Name}}
	}
	return writeFeatures(w, fs)
}

// writeFeatures writes a FeatureCollection with one feature per line.
func writeFeatures(w io.Writer, fs []feature) error {
	var buf strings.Builder
	buf.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, f := range fs {
		var line strings.Builder
		enc := json.NewEncoder(&line)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(f); err != nil {
			return err
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		buf.WriteString(strings.TrimSuffix(line.String(), "\n"))
	}
	buf.WriteString("\n]}\n")
	_, err := io.WriteString(w, buf.String())
	return err
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
