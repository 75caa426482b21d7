package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

const importUsage = `civic import bins FILE [--format csv|geojson|ngsi-ld|ngsi-ld-normalized] [--data DIR | --db URL]
civic import zones FILE.geojson [--data DIR | --db URL]
    The format follows the file's extension unless --format is given. A file
    with any bad row is rejected whole; the error names file, line and field.`

func runImport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("import bins or import zones?")
	}
	what := args[0]
	var c config
	fs := newFlagSet("import " + what)
	storeFlags(fs, &c, e.getenv)
	format := fs.String("format", "", "file format (default: from the file extension)")
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
		// An empty format is detected from the file name, and for .json
		// from the content.
		bins, err := assets.ReadBins(f, name, assets.Format(*format))
		if err != nil {
			return err
		}
		a, err := openApp(ctx, &c)
		if err != nil {
			return err
		}
		defer a.close()
		if err := a.store.ImportBins(ctx, bins); err != nil {
			return fmt.Errorf("%s: %w", name, describe(err))
		}
		_ = a.store.AppendAudit(ctx, &civic.AuditEntry{Actor: "cli", Action: "bin.import", Target: name, Detail: fmt.Sprintf("%d bins", len(bins))})
		fmt.Fprintf(e.stdout, "imported %d bins from %s\n", len(bins), name)
		return nil
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
