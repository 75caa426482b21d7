package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	_ "time/tzdata" // a collection log's time_zone resolves on machines without a zone database

	"github.com/civic-city/civic/internal/assets"
	"github.com/civic-city/civic/internal/civic"
)

// importCollections is `civic import collections`: a vendor's collection
// log becomes collections, its bins found by id or serial.
func importCollections(ctx context.Context, e *env, c *config, r io.Reader, name string, m assets.Mapping, fl *importFlags) error {
	log, err := assets.ReadCollectionsCSV(r, name, m)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: columns %s; numeric fullness read as %s\n", name,
		columnLine(log.Columns, []string{"bin", "time", "fullness"}), log.Scale)
	if w := log.Warning(name); w != "" {
		fmt.Fprintln(e.stderr, "warning: "+w)
	}
	if err := reportInvalid(e.stderr, name, log.Invalid, *fl.skipInvalid); err != nil {
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
	// A log names a bin by its id or by its serial; an id wins.
	binOf := map[string]string{}
	for _, v := range views {
		if v.Serial != "" {
			if _, taken := binOf[v.Serial]; !taken {
				binOf[v.Serial] = v.ID
			}
		}
	}
	for _, v := range views {
		binOf[v.ID] = v.ID
	}
	var cols []civic.Collection
	unknown := map[string][]int{}
	seen := map[string]int{}
	dups := 0
	for _, row := range log.Rows {
		id, ok := binOf[row.Bin]
		if !ok {
			unknown[row.Bin] = append(unknown[row.Bin], row.Line)
			continue
		}
		key := id + "@" + strconv.FormatInt(row.Time.UnixMilli(), 10)
		if _, dup := seen[key]; dup {
			dups++
			continue
		}
		seen[key] = row.Line
		cols = append(cols, civic.Collection{BinID: id, Time: row.Time, FillBefore: row.Fill, Source: "import"})
	}
	if len(unknown) > 0 {
		fmt.Fprintf(e.stderr, "warning: %s: skipped %d %s naming bins civic does not know (import the bins first): %s\n",
			name, countRows(unknown), civic.Plural(countRows(unknown), "row"), unknownList(unknown))
	}
	added, err := a.store.ImportCollections(ctx, cols, *fl.dryRun)
	if err != nil {
		return fmt.Errorf("%s: %w", name, describe(err))
	}
	summary := fmt.Sprintf("%d already there, %d repeated in the file, %d for unknown bins, %d invalid %s skipped",
		len(cols)-added, dups, countRows(unknown), len(log.Invalid), civic.Plural(len(log.Invalid), "row"))
	if *fl.dryRun {
		fmt.Fprintf(e.stdout, "dry run: %s would import %d collections; %s; nothing stored\n", name, added, summary)
		return nil
	}
	_ = a.store.AppendAudit(ctx, &civic.AuditEntry{Actor: "cli", Action: "collection.import", Target: name,
		Detail: fmt.Sprintf("%d collections; %s", added, summary)})
	fmt.Fprintf(e.stdout, "imported %d collections from %s; %s\n", added, name, summary)
	return nil
}

func countRows(m map[string][]int) int {
	n := 0
	for _, lines := range m {
		n += len(lines)
	}
	return n
}

// unknownList is `"SN-9" (lines 4, 7), ...`, the first ten bins.
func unknownList(m map[string][]int) string {
	keys := slices.Sorted(maps.Keys(m))
	var parts []string
	for i, k := range keys {
		if i == 10 {
			parts = append(parts, fmt.Sprintf("and %d more", len(keys)-10))
			break
		}
		lines := make([]string, len(m[k]))
		for j, l := range m[k] {
			lines[j] = strconv.Itoa(l)
		}
		parts = append(parts, fmt.Sprintf("%q (%s %s)", k, civic.Plural(len(lines), "line"), strings.Join(lines, ", ")))
	}
	return strings.Join(parts, ", ")
}
