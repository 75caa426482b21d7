package assets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// ReadBinsCSV reads bins from a CSV file with a header row. The header names
// the columns, in any order and any letter case:
//
//	id,serial,name,lat,lon,address,stream,capacity_l,compacting,model,zone_id,status,installed_on,full_threshold,access_window
//
// Cells are separated by commas, or by semicolons or tabs when the header
// line has those and no comma.
//
// id, name, lat, lon and capacity_l are required; compacting takes true,
// false, yes, no, 1 or 0; access_window, when given, is "HH:MM-HH:MM". The state columns an export adds (fill,
// temperature_c, battery, last_reading) are accepted and ignored. Unknown or
// repeated columns are an error naming them. Cells are trimmed; each row is
// normalized (civic.Bin.Normalize) and validated.
//
// Any problem, including a duplicate id, fails the whole file with a
// *RowError naming the file, line and field, e.g.
// "bins.csv:17: capacity_l: must be a positive number of litres", and no
// bins. filename is used only in errors.
func ReadBinsCSV(r io.Reader, filename string) ([]civic.Bin, error) {
	file := displayName(filename)
	br := bufio.NewReader(limit(r))
	cr := csv.NewReader(br)
	cr.Comma = sniffComma(br)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &RowError{File: file, Line: 1, Err: civic.FieldError("", "the file is empty; the first row must name the columns")}
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	cols, err := csvHeader(header)
	if err != nil {
		return nil, rowError(file, 1, "", err)
	}
	cr.FieldsPerRecord = len(cols)

	bins := []civic.Bin{}
	firstLine := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(file, err)
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			continue
		}
		var b civic.Bin
		for i, c := range cols {
			if c == nil || c.state {
				continue
			}
			s := strings.TrimSpace(rec[i])
			if s == "" {
				if c.required {
					return nil, rowError(file, line, "", civic.FieldError(c.name, "is required"))
				}
				continue
			}
			if err := c.set(&b, s); err != nil {
				return nil, rowError(file, line, "", err)
			}
		}
		if err := finish(&b); err != nil {
			return nil, rowError(file, line, "", err)
		}
		if first, dup := firstLine[b.ID]; dup {
			return nil, rowError(file, line, "", civic.FieldError("id", "duplicate id %q (first on line %d)", b.ID, first))
		}
		firstLine[b.ID] = line
		bins = append(bins, b)
	}
	return bins, nil
}

// sniffComma picks the separator from the header line: a comma, unless the
// line has none and has semicolons (spreadsheets in locales with a decimal
// comma write those) or tabs.
func sniffComma(br *bufio.Reader) rune {
	head, _ := br.Peek(4096)
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	switch {
	case bytes.IndexByte(head, ',') >= 0:
		return ','
	case bytes.IndexByte(head, ';') >= 0:
		return ';'
	case bytes.IndexByte(head, '\t') >= 0:
		return '\t'
	}
	return ','
}

// csvHeader maps each header cell to its column.
func csvHeader(header []string) ([]*column, error) {
	cols := make([]*column, len(header))
	var unknown []string
	seen := map[string]bool{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\uFEFF") // spreadsheets write a byte-order mark
		}
		name := strings.ToLower(strings.TrimSpace(h))
		c, ok := columnsByName[name]
		if !ok {
			unknown = append(unknown, fmt.Sprintf("%q", strings.TrimSpace(h)))
			continue
		}
		if seen[name] {
			return nil, civic.FieldError("header", "column %q appears twice", name)
		}
		seen[name] = true
		cols[i] = c
	}
	if len(unknown) > 0 {
		word := "column"
		if len(unknown) > 1 {
			word = "columns"
		}
		return nil, civic.FieldError("header", "unknown %s %s (known: %s)", word, strings.Join(unknown, ", "), knownColumns())
	}
	for _, c := range binColumns {
		if c.required && !seen[c.name] {
			return nil, civic.FieldError("header", "missing required column %q (required: id, name, lat, lon, capacity_l)", c.name)
		}
	}
	return cols, nil
}

func blankRecord(rec []string) bool {
	return !slices.ContainsFunc(rec, func(s string) bool { return strings.TrimSpace(s) != "" })
}

// csvError turns an error of encoding/csv into a RowError at its line.
func csvError(file string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			return &RowError{File: file, Line: pe.StartLine, Err: civic.FieldError("", "the row has a different number of cells than the header")}
		}
		var ce *civic.Error
		if errors.As(pe.Err, &ce) {
			return &RowError{File: file, Line: pe.StartLine, Err: ce}
		}
		return &RowError{File: file, Line: pe.Line, Err: civic.FieldError("", "%v", pe.Err)}
	}
	return fileError(file, err)
}

// WriteBinsCSV writes bins as CSV with a header row: the bin columns in the
// order ReadBinsCSV documents, then fill, temperature_c, battery and
// last_reading (RFC 3339, UTC) when any bin has a state. Numbers are written
// in their shortest exact form, so a file reads back to the same bins.
func WriteBinsCSV(w io.Writer, bins []civic.BinView) error {
	cols := slices.Clone(binColumns)
	if slices.ContainsFunc(bins, func(v civic.BinView) bool { return v.State != nil }) {
		cols = append(cols, stateColumns...)
	}
	cw := csv.NewWriter(w)
	rec := make([]string, len(cols))
	for i, c := range cols {
		rec[i] = c.name
	}
	if err := cw.Write(rec); err != nil {
		return err
	}
	for i := range bins {
		for j, c := range cols {
			rec[j] = c.get(&bins[i])
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
