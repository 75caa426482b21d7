package assets

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// Result is what ReadBinsWith found in a file.
type Result struct {
	// Bins are the valid rows, each normalized, with distinct ids.
	Bins []civic.Bin
	// Columns maps each civic column read to the file's column (CSV) or
	// property (GeoJSON) it came from, e.g. "id" -> "SN".
	Columns map[string]string
	// Ignored lists the file's columns or properties civic did not use,
	// in file order; Warning tells them in one line.
	Ignored []string
	// Invalid lists the rows left out, each with its error naming the
	// line (or feature) and field, in file order.
	Invalid []*RowError
}

// Warning is the one warning about ignored columns, or "".
func (r *Result) Warning(filename string) string { return IgnoredWarning(filename, r.Ignored) }

// ReadBinsWith reads bins as ReadBins does, but reads a vendor's file as it
// comes: columns (CSV) or properties (GeoJSON) are found through m (see
// Mapping and Guesses), a name used twice in different letter case is not
// an error (the exact or first match is read, the other ignored), columns
// civic does not use are listed in Result.Ignored, stream and status values
// are mapped, and m.Defaults fill what the file lacks. A bad row does not
// stop the reading: it is listed in Result.Invalid with its error, and the
// caller decides (civic import refuses the file unless told to skip them).
//
// The error is for the file as a whole: unreadable, not CSV or JSON, a
// header without a required column, over MaxFileBytes. NGSI-LD files are
// read as ReadWasteContainers reads them (m is not used; the first bad
// entity is the error).
func ReadBinsWith(r io.Reader, filename string, format Format, m Mapping) (*Result, error) {
	file := displayName(filename)
	if format == "" {
		f, err := DetectFormat(filename)
		if err != nil {
			if strings.ToLower(filepath.Ext(filename)) != ".json" {
				return nil, err
			}
			data, err := readAll(r, file)
			if err != nil {
				return nil, err
			}
			if isFeatureCollection(data) {
				return readBinsGeoJSON(data, file, &m)
			}
			bins, err := readWasteContainers(data, file)
			if err != nil {
				return nil, err
			}
			return &Result{Bins: bins}, nil
		}
		format = f
	}
	switch format {
	case FormatCSV:
		return readBinsCSV(r, file, &m)
	case FormatGeoJSON:
		data, err := readAll(r, file)
		if err != nil {
			return nil, err
		}
		return readBinsGeoJSON(data, file, &m)
	case FormatNGSILD, FormatNGSILDNormalized:
		bins, err := ReadWasteContainers(r, filename)
		if err != nil {
			return nil, err
		}
		return &Result{Bins: bins}, nil
	}
	return nil, unknownFormat(format)
}

// strict turns a Result into the all-or-nothing answer of ReadBins: the
// first invalid row is the error.
func strict(res *Result, err error) ([]civic.Bin, error) {
	if err != nil {
		return nil, err
	}
	if len(res.Invalid) > 0 {
		return nil, res.Invalid[0]
	}
	return res.Bins, nil
}

// binSource gives the raw text of a civic column for one row: ok is false
// when the row has no value for it.
type binSource func(c *column) (s string, ok bool, err error)

// buildBin makes one bin from a row: each bin column from src (its value
// mapped by m), or m's default, then normalized and validated. from names
// the file's column of each civic column, so errors can name it. skipGeo
// leaves lat and lon to the caller (GeoJSON geometry).
func buildBin(src binSource, m *Mapping, from map[string]string, skipGeo bool, b *civic.Bin) error {
	named := func(c *column, err error) error {
		if f := from[c.name]; f != "" && f != c.name && civic.FieldOf(err) == c.name {
			return renameField(err, f)
		}
		return err
	}
	byField := func(err error) error {
		if c, ok := columnsByName[civic.FieldOf(err)]; ok {
			return named(c, err)
		}
		return err
	}
	for i := range binColumns {
		c := &binColumns[i]
		if skipGeo && (c.name == "lat" || c.name == "lon") {
			continue
		}
		s, ok, err := src(c)
		if err != nil {
			return named(c, err)
		}
		if !ok || s == "" {
			if d, has := m.Defaults[c.name]; has {
				s = strings.TrimSpace(d)
			}
		}
		if s == "" {
			if c.required {
				return named(c, civic.FieldError(c.name, "is required"))
			}
			continue
		}
		if err := m.setValue(c, b, s); err != nil {
			return named(c, err)
		}
	}
	return byField(finish(b))
}

// missingRequired is the header error for a required column neither found
// nor given a default.
func missingRequired(res resolution, m *Mapping, skipGeo bool) error {
	for _, c := range binColumns {
		if !c.required || (skipGeo && (c.name == "lat" || c.name == "lon")) {
			continue
		}
		if _, ok := res.from[c.name]; ok {
			continue
		}
		if _, ok := m.Defaults[c.name]; ok {
			continue
		}
		return civic.FieldError("header", "missing required column %q (required: id, name, lat, lon, capacity_l): name the file's column with --map %s=NAME%s",
			c.name, c.name, defaultHint(c.name))
	}
	return nil
}

func defaultHint(name string) string {
	switch name {
	case "capacity_l":
		return ", or give every bin one with --default capacity_l=LITRES"
	case "name":
		return ", or give every bin one with --default name=TEXT"
	}
	return ""
}

// duplicateID is the error of a row whose id an earlier row has.
func duplicateID(id string, where string) error {
	return civic.FieldError("id", "duplicate id %q (first %s)", id, where)
}

// lineWord describes a CSV line for duplicate errors.
func lineWord(line int) string { return fmt.Sprintf("on line %d", line) }
