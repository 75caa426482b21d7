package assets

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
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
// false, yes, no, 1 or 0; access_window, when given, is "HH:MM-HH:MM". The
// state columns an export adds (fill, temperature_c, battery,
// last_reading) are accepted and ignored. Columns are found as
// ReadBinsWith finds them with a zero Mapping: common vendor names
// (Latitude, Long, SN, ...) are understood, unknown columns are ignored,
// and a name repeated in another letter case reads the exact (else the
// first) match. Cells are trimmed; each row is normalized
// (civic.Bin.Normalize) and validated.
//
// Any problem, including a duplicate id, fails the whole file with a
// *RowError naming the file, line and field, e.g.
// "bins.csv:17: capacity_l: must be a positive number of litres", and no
// bins. filename is used only in errors.
func ReadBinsCSV(r io.Reader, filename string) ([]civic.Bin, error) {
	return strict(readBinsCSV(r, displayName(filename), &Mapping{}))
}

func readBinsCSV(r io.Reader, file string, m *Mapping) (*Result, error) {
	br := bufio.NewReader(limit(r))
	cr := csv.NewReader(br)
	cr.Comma = sniffComma(br)
	header, err := cr.Read()
	if err == io.EOF {
		return nil, &RowError{File: file, Line: 1, Err: civic.FieldError("", "the file is empty; the first row must name the columns")}
	}
	if err != nil {
		return nil, csvError(file, err)
	}
	header = slices.Clone(header)
	header[0] = strings.TrimPrefix(header[0], "\uFEFF") // spreadsheets write a byte-order mark
	targets := binColumnNames()
	res, err := resolveNames(header, targets, m, isStateName, true)
	if err != nil {
		return nil, rowError(file, 1, "", err)
	}
	if err := missingRequired(res, m, false); err != nil {
		return nil, rowError(file, 1, "", err)
	}
	cr.FieldsPerRecord = len(header)
	cr.ReuseRecord = true

	out := &Result{Bins: []civic.Bin{}, Columns: res.from, Ignored: res.ignored}
	firstLine := map[string]int{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			re := csvError(file, err)
			if row, ok := re.(*RowError); ok && errors.Is(err, csv.ErrFieldCount) {
				out.Invalid = append(out.Invalid, row)
				continue
			}
			return nil, re
		}
		line, _ := cr.FieldPos(0)
		if blankRecord(rec) {
			continue
		}
		var b civic.Bin
		src := func(c *column) (string, bool, error) {
			i, ok := res.index[c.name]
			if !ok {
				return "", false, nil
			}
			return strings.TrimSpace(rec[i]), true, nil
		}
		if err := buildBin(src, m, res.from, false, &b); err != nil {
			out.Invalid = append(out.Invalid, rowError(file, line, "", err))
			continue
		}
		if first, dup := firstLine[b.ID]; dup {
			out.Invalid = append(out.Invalid, rowError(file, line, "", duplicateID(b.ID, lineWord(first))))
			continue
		}
		firstLine[b.ID] = line
		out.Bins = append(out.Bins, b)
	}
	return out, nil
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
