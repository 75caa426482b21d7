package assets

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// LoggedCollection is one row of a vendor's collection log: a bin emptied
// at a time, and how full it was then.
type LoggedCollection struct {
	Line int       // the CSV line, for messages
	Bin  string    // the bin as the log names it: a serial or an id
	Time time.Time // UTC
	Fill *float64  // 0..1; nil when the log has no fullness for the row
}

// CollectionLog is what ReadCollectionsCSV found in a file.
type CollectionLog struct {
	Rows    []LoggedCollection
	Columns map[string]string // bin, time, fullness -> the file's column
	Ignored []string          // the file's columns not used, in file order
	Invalid []*RowError       // rows left out, with their errors, in file order
	// Scale is the scale numeric fullness was read in: the mapping's, or
	// percent when a value is above 1, else fraction.
	Scale civic.FillScale
}

// Warning is the one warning about ignored columns, or "".
func (l *CollectionLog) Warning(filename string) string { return IgnoredWarning(filename, l.Ignored) }

// timeLayouts are the forms of a collection time a log may use; those
// without an offset are in the mapping's time zone.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04",
	"2006-01-02 15:04:05Z07:00",
	"2006-01-02 15:04:05 -0700",
	"1/2/2006 15:04:05",
	"1/2/2006 15:04",
	"1/2/2006 3:04:05 PM",
	"1/2/2006 3:04 PM",
	"01/02/2006 03:04:05 PM",
	"01/02/2006 03:04 PM",
}

// parseLogTime reads a collection time in any of timeLayouts.
func parseLogTime(s string, loc *time.Location) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.ParseInLocation(l, s, loc); err == nil {
			if t.Year() < 1970 || t.Year() > 2200 {
				return time.Time{}, civic.FieldError("time", "%q is not a plausible collection time (years 1970 to 2200)", s)
			}
			return t.UTC(), nil
		}
	}
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil && ms > 1e11 && ms < 7e12 {
		return time.UnixMilli(ms).UTC(), nil // Unix milliseconds
	}
	return time.Time{}, civic.FieldError("time", "%q is not a time civic reads (2006-01-02T15:04:05Z, 2006-01-02 15:04:05, 1/2/2006 3:04 PM, Unix milliseconds)", s)
}

// ReadCollectionsCSV reads a vendor's collection log: a CSV file with a
// header row and, per row, the bin (its serial or id), the time it was
// emptied, and optionally its fullness then, as a number or a colour band
// (GREEN, YELLOW, RED by default; see Mapping.Fullness). Columns are found
// as for bins: m.Columns["bin"], ["time"], ["fullness"], else the civic
// name, else Guesses. Times without an offset are in m.TimeZone (UTC when
// empty). Bad rows are listed in Invalid; the error is for the file as a
// whole (unreadable, no bin or time column, over MaxFileBytes).
func ReadCollectionsCSV(r io.Reader, filename string, m Mapping) (*CollectionLog, error) {
	file := displayName(filename)
	loc := time.UTC
	if m.TimeZone != "" {
		l, err := time.LoadLocation(m.TimeZone)
		if err != nil {
			return nil, &RowError{File: file, Field: "time_zone", Err: civic.FieldError("time_zone", "%q is not a time zone this machine knows", m.TimeZone)}
		}
		loc = l
	}
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
	header[0] = strings.TrimPrefix(header[0], "\uFEFF")
	res, err := resolveNames(header, collectionColumns, &m, nil, true)
	if err != nil {
		return nil, rowError(file, 1, "", err)
	}
	for _, c := range []string{"bin", "time"} {
		if _, ok := res.from[c]; !ok {
			return nil, rowError(file, 1, "", civic.FieldError("header", "missing the %s column: name the file's column with --map %s=NAME", c, c))
		}
	}
	cr.FieldsPerRecord = len(header)

	type raw struct {
		line      int
		bin, fill string
		t         time.Time
	}
	var rows []raw
	out := &CollectionLog{Columns: res.from, Ignored: res.ignored, Scale: m.FillScale}
	bad := func(line int, err error) {
		out.Invalid = append(out.Invalid, rowError(file, line, "", err))
	}
	named := func(c string, err error) error {
		if f := res.from[c]; f != c && civic.FieldOf(err) == c {
			return renameField(err, f)
		}
		return err
	}
	maxNum := 0.0
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
		row := raw{line: line, bin: strings.TrimSpace(rec[res.index["bin"]])}
		if row.bin == "" {
			bad(line, named("bin", civic.FieldError("bin", "is required")))
			continue
		}
		ts := strings.TrimSpace(rec[res.index["time"]])
		if ts == "" {
			bad(line, named("time", civic.FieldError("time", "is required")))
			continue
		}
		if row.t, err = parseLogTime(ts, loc); err != nil {
			bad(line, named("time", err))
			continue
		}
		if i, ok := res.index["fullness"]; ok {
			row.fill = strings.TrimSpace(rec[i])
			if v, err := strconv.ParseFloat(strings.TrimSuffix(row.fill, "%"), 64); err == nil && v > maxNum {
				maxNum = v
			}
		}
		rows = append(rows, row)
	}
	if out.Scale == "" {
		out.Scale = civic.ScaleFraction
		if maxNum > 1 {
			out.Scale = civic.ScalePercent
		}
	}
	for _, row := range rows {
		c := LoggedCollection{Line: row.line, Bin: row.bin, Time: row.t}
		if row.fill != "" {
			v, err := m.fullness(row.fill, out.Scale)
			if err != nil {
				bad(row.line, named("fullness", err))
				continue
			}
			c.Fill = &v
		}
		out.Rows = append(out.Rows, c)
	}
	sortInvalid(out.Invalid)
	return out, nil
}

// sortInvalid orders row errors by line (fullness errors are found in a
// second pass).
func sortInvalid(errs []*RowError) {
	slices.SortStableFunc(errs, func(a, b *RowError) int { return a.Line - b.Line })
}
