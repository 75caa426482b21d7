package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

const importUsage = `civic import bins FILE [--format csv|geojson|ngsi-ld|ngsi-ld-normalized] [--map id=SN,name=Desc_,...]
        [--map-file FILE.json] [--default capacity_l=240,...] [--dry-run] [--skip-invalid] [--data DIR | --db URL]
civic import collections FILE.csv [--map bin=SN,time=Date,fullness=Level] [--map-file FILE.json] [--dry-run]
        [--skip-invalid] [--data DIR | --db URL]
civic import zones FILE.geojson [--data DIR | --db URL]
    The format follows the file's extension unless --format is given.
    A vendor's file imports as it comes: columns are found by their civic name
    or a common vendor name (SN, Serial, Station, Desc_, Lat, Long, LNG,
    Latitude, StreamType, Status, ...; an exact-case match wins), or as --map
    names them; columns civic does not use are ignored with one warning.
    Streams and statuses as vendors write them ("Single Stream", "Bottles/Cans",
    "Out of Service", ...) are understood. --map-file is a saved mapping (JSON:
    columns, streams, statuses, defaults, fullness bands, fill_scale,
    time_zone); --map and --default override it. --dry-run reports what would
    be created, updated and skipped, and stores nothing. Rows with errors are
    all listed (file, line, field) and the file is refused, unless
    --skip-invalid leaves them out.
    A collection log names the bin (serial or id), the time it was emptied
    (times without an offset are in the mapping's time_zone, else UTC), and
    its fullness then, as a number (fraction, or percent when any value is
    above 1) or a colour band (GREEN 0.3, YELLOW 0.7, RED 1 unless the mapping's
    "fullness" says otherwise); they become collections (source "import") and
    importing the same log twice adds nothing.`

func runImport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("import bins, collections or zones?")
	}
	what := args[0]
	var c config
	fs := newFlagSet("import " + what)
	storeFlags(fs, &c, e.getenv)
	format := fs.String("format", "", "file format (default: from the file extension)")
	mapping := mappingFlags(fs)
	path, err := parseWithName(fs, args[1:])
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	name := filepath.Base(path)

	switch what {
	case "bins":
		m, err := mapping.load()
		if err != nil {
			return err
		}
		return importBins(ctx, e, &c, f, name, assets.Format(*format), m, mapping)
	case "collections":
		m, err := mapping.load()
		if err != nil {
			return err
		}
		return importCollections(ctx, e, &c, f, name, m, mapping)
	case "zones":
		zones, err := assets.ReadZonesGeoJSON(f, name)
		if err != nil {
			return err
		}
		a, err := openApp(ctx, &c)
		if err != nil {
			return err
		}
		defer a.close()
		for i := range zones {
			if err := a.store.CreateZone(ctx, &zones[i]); err != nil {
				return fmt.Errorf("%s: zone %s: %w", name, zones[i].ID, describe(err))
			}
		}
		fmt.Fprintf(e.stdout, "imported %d zones from %s\n", len(zones), name)
		return nil
	}
	return usageErrorf("unknown import %q", what)
}

// importFlags are the flags of a vendor import.
type importFlags struct {
	columns, file, defaults *string
	dryRun, skipInvalid     *bool
}

func mappingFlags(fs *flag.FlagSet) *importFlags {
	return &importFlags{
		columns:     fs.String("map", "", "civic column=the file's column, comma-separated (e.g. id=SN,name=Desc_)"),
		file:        fs.String("map-file", "", "a saved mapping (JSON: columns, streams, statuses, defaults, fullness, fill_scale, time_zone)"),
		defaults:    fs.String("default", "", "civic column=value for rows without one (e.g. capacity_l=240)"),
		dryRun:      fs.Bool("dry-run", false, "report what would be created, updated and skipped; store nothing"),
		skipInvalid: fs.Bool("skip-invalid", false, "leave out rows with errors (listed) instead of refusing the file"),
	}
}

// load builds the mapping: the saved one, then --map and --default.
func (f *importFlags) load() (assets.Mapping, error) {
	var m assets.Mapping
	if *f.file != "" {
		data, err := os.ReadFile(*f.file)
		if err != nil {
			return m, err
		}
		if m, err = assets.ParseMapping(data); err != nil {
			return m, fmt.Errorf("--map-file %s: %w", *f.file, describe(err))
		}
	}
	cols, err := assets.ParseColumnMap(*f.columns)
	if err != nil {
		return m, usageErrorf("%v", describe(err))
	}
	defs, err := assets.ParseDefaults(*f.defaults)
	if err != nil {
		return m, usageErrorf("%v", describe(err))
	}
	return m.Merge(cols, defs), nil
}

// maxListed is how many invalid rows a report lists one by one.
const maxListed = 20

// reportInvalid writes the rows left out, and, unless skipped, returns the
// error that refuses the file.
func reportInvalid(w io.Writer, name string, invalid []*assets.RowError, skip bool) error {
	if len(invalid) == 0 {
		return nil
	}
	for i, re := range invalid {
		if i == maxListed {
			fmt.Fprintf(w, "... and %d more invalid rows\n", len(invalid)-maxListed)
			break
		}
		fmt.Fprintln(w, re.Error())
	}
	if skip {
		return nil
	}
	return fmt.Errorf("%s: %d invalid %s, nothing imported (fix them, or leave them out with --skip-invalid)",
		name, len(invalid), civic.Plural(len(invalid), "row"))
}

// columnLine is "id=SN name=Desc_ ..." in civic's column order.
func columnLine(cols map[string]string, order []string) string {
	var parts []string
	for _, c := range order {
		if f, ok := cols[c]; ok {
			parts = append(parts, c+"="+f)
		}
	}
	return strings.Join(parts, " ")
}

func importBins(ctx context.Context, e *env, c *config, r io.Reader, name string, format assets.Format, m assets.Mapping, fl *importFlags) error {
	res, err := assets.ReadBinsWith(r, name, format, m)
	if err != nil {
		return err
	}
	if len(res.Columns) > 0 {
		fmt.Fprintf(e.stdout, "%s: columns %s\n", name, columnLine(res.Columns, binColumnOrder))
	}
	if w := res.Warning(name); w != "" {
		fmt.Fprintln(e.stderr, "warning: "+w)
	}
	if err := reportInvalid(e.stderr, name, res.Invalid, *fl.skipInvalid); err != nil {
		return err
	}
	a, err := openApp(ctx, c)
	if err != nil {
		return err
	}
	defer a.close()
	views, err := a.store.ListBins(ctx, civic.BinFilter{})
	if err != nil {
		return err
	}
	stored := make([]civic.Bin, len(views))
	for i := range views {
		stored[i] = views[i].Bin
	}
	ch := assets.CompareBins(stored, res.Bins)
	summary := fmt.Sprintf("%d created, %d updated, %d unchanged, %d invalid %s skipped",
		len(ch.Create), len(ch.Update), len(ch.Unchanged), len(res.Invalid), civic.Plural(len(res.Invalid), "row"))
	if *fl.dryRun {
		for _, b := range ch.Create {
			fmt.Fprintf(e.stdout, "create %s %q\n", b.ID, b.Name)
		}
		for _, b := range ch.Update {
			fmt.Fprintf(e.stdout, "update %s %q\n", b.ID, b.Name)
		}
		fmt.Fprintf(e.stdout, "dry run: %s would import %d bins: %s; nothing stored\n", name, len(ch.Create)+len(ch.Update), summary)
		return nil
	}
	changed := append(ch.Create, ch.Update...)
	if err := a.store.ImportBins(ctx, changed); err != nil {
		return fmt.Errorf("%s: %w", name, describe(err))
	}
	_ = a.store.AppendAudit(ctx, &civic.AuditEntry{Actor: "cli", Action: "bin.import", Target: name, Detail: summary})
	fmt.Fprintf(e.stdout, "imported %d bins from %s: %s\n", len(changed), name, summary)
	return nil
}

// binColumnOrder is the order columnLine lists bin columns in.
var binColumnOrder = []string{"id", "serial", "name", "lat", "lon", "address", "stream", "capacity_l", "compacting",
	"model", "zone_id", "status", "installed_on", "full_threshold", "access_window"}
