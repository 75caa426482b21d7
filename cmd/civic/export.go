package main

import (
	"bufio"
	"context"
	"io"
	"os"

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

const exportUsage = `civic export bins [--format csv|geojson|ngsi-ld|ngsi-ld-normalized] [--out FILE] [--data DIR | --db URL]
civic export zones [--out FILE] [--data DIR | --db URL]
    Writes to standard output unless --out is given.`

func runExport(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("export bins or export zones?")
	}
	what := args[0]
	var c config
	fs := newFlagSet("export " + what)
	storeFlags(fs, &c, e.getenv)
	format := fs.String("format", "csv", "file format")
	out := fs.String("out", "", "output file (default standard output)")
	if err := fs.Parse(args[1:]); err != nil {
		return usageErrorf("%v", err)
	}
	a, err := openApp(ctx, &c)
	if err != nil {
		return err
	}
	defer a.close()

	var w io.Writer = e.stdout
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriter(w)
	switch what {
	case "bins":
		bins, err := a.store.ListBins(ctx, civic.BinFilter{})
		if err != nil {
			return describe(err)
		}
		if err := assets.WriteBins(bw, assets.Format(*format), bins); err != nil {
			return err
		}
	case "zones":
		zones, err := a.store.ListZones(ctx)
		if err != nil {
			return describe(err)
		}
		if err := assets.WriteZonesGeoJSON(bw, zones); err != nil {
			return err
		}
	default:
		return usageErrorf("unknown export %q", what)
	}
	return bw.Flush()
}
