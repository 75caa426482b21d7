package assets

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// MaxFileBytes is the largest file a reader accepts; a longer input fails
// with a civic.TooLarge error. It bounds the memory an upload can take.
const MaxFileBytes = 64 << 20

// RowError is an error in the content of an asset file. Its text names the
// place, e.g. "bins.csv:17: capacity_l: must be a positive number of litres"
// or "bins.geojson: features[12].properties.stream: must be one of ...", and
// is safe to show to the person who sent the file. Err is a *civic.Error
// (kind Invalid, or TooLarge) with the same Field, so civic.KindOf,
// civic.FieldOf and civic.MessageOf work on a RowError; only Error() adds
// the file and line.
type RowError struct {
	File  string // the file name as the caller gave it ("input" if it gave none)
	Line  int    // 1-based line for CSV rows and JSON decoding errors; 0 if none
	Field string // column, property or JSON path, e.g. "features[12].properties.stream"; empty if none
	Err   error  // the cause: a *civic.Error
}

// Error returns "file:line: field: message", leaving out what is unknown.
func (e *RowError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Field != "" {
		b.WriteString(": ")
		b.WriteString(e.Field)
	}
	b.WriteString(": ")
	b.WriteString(civic.MessageOf(e.Err))
	return b.String()
}

// Unwrap returns the *civic.Error inside.
func (e *RowError) Unwrap() error { return e.Err }

// rowError builds a RowError around a civic error whose field (if any) is
// already relative to prefix; prefix and the error's own field are joined.
func rowError(file string, line int, prefix string, err error) *RowError {
	field := prefix
	if f := civic.FieldOf(err); f != "" {
		switch {
		case field == "":
			field = f
		case f[0] == '[':
			field += f
		default:
			field += "." + f
		}
	}
	return &RowError{File: file, Line: line, Field: field, Err: renameField(err, field)}
}

// renameField returns err with its field replaced: where a validation error
// points in a file differs from the civic.Bin field it names.
func renameField(err error, field string) error {
	var ce *civic.Error
	if !errors.As(err, &ce) {
		return err
	}
	c := *ce
	c.Field = field
	return &c
}

// displayName is the name errors use for a file.
func displayName(filename string) string {
	if filename == "" {
		return "input"
	}
	return filename
}

// limitedReader fails with a civic.TooLarge error once more than
// MaxFileBytes have been read, and keeps failing: the probe that finds the
// excess consumes it.
type limitedReader struct {
	r   io.Reader
	n   int64
	err error
}

// maxFileBytes is MaxFileBytes; tests lower it (export_test.go).
var maxFileBytes int64 = MaxFileBytes

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if l.n <= 0 {
		// Probe whether there is more: a file of exactly the limit is fine.
		var one [1]byte
		n, err := l.r.Read(one[:])
		if n > 0 {
			l.err = civic.Errorf(civic.TooLarge, "the file is larger than %d MiB", MaxFileBytes>>20)
			return 0, l.err
		}
		return 0, err
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func limit(r io.Reader) io.Reader { return &limitedReader{r: r, n: maxFileBytes} }

// readAll reads a whole (limited) file, mapping the size limit to a RowError.
func readAll(r io.Reader, file string) ([]byte, error) {
	data, err := io.ReadAll(limit(r))
	if err != nil {
		return nil, fileError(file, err)
	}
	return data, nil
}

// fileError turns a read failure into an error naming the file: a civic
// error (size limit) becomes a RowError, anything else (I/O) is wrapped.
func fileError(file string, err error) error {
	var ce *civic.Error
	if errors.As(err, &ce) {
		return &RowError{File: file, Err: ce}
	}
	return fmt.Errorf("read %s: %w", file, err)
}

// Format names an asset file format for bins.
type Format string

// The bin file formats.
const (
	FormatCSV              Format = "csv"                // CSV with a header row (see ReadBinsCSV)
	FormatGeoJSON          Format = "geojson"            // RFC 7946 FeatureCollection of Points
	FormatNGSILD           Format = "ngsi-ld"            // FIWARE WasteContainer, NGSI-LD key-values
	FormatNGSILDNormalized Format = "ngsi-ld-normalized" // FIWARE WasteContainer, NGSI-LD normalized
)

// Formats lists every bin format, in the order a help text shows them.
var Formats = []Format{FormatCSV, FormatGeoJSON, FormatNGSILD, FormatNGSILDNormalized}

// Valid reports whether f is a known format.
func (f Format) Valid() bool {
	switch f {
	case FormatCSV, FormatGeoJSON, FormatNGSILD, FormatNGSILDNormalized:
		return true
	}
	return false
}

func unknownFormat(f Format) error {
	return civic.FieldError("format", "unknown format %q (csv, geojson, ngsi-ld, ngsi-ld-normalized)", string(f))
}

// DetectFormat tells a bin file's format from its name: .csv is CSV,
// .geojson is GeoJSON, .jsonld is NGSI-LD. Anything else, .json included
// (GeoJSON and NGSI-LD both use it), fails with a civic.Invalid error; ReadBins
// can still tell .json files apart by their content.
func DetectFormat(filename string) (Format, error) {
	switch strings.ToLower(filepath.Ext(filename)) {
	case ".csv":
		return FormatCSV, nil
	case ".geojson":
		return FormatGeoJSON, nil
	case ".jsonld":
		return FormatNGSILD, nil
	}
	return "", civic.FieldError("format", "cannot tell the format of %q from its name; give one of csv, geojson, ngsi-ld", filename)
}

// ReadBins reads bins in the given format. An empty format is detected
// with DetectFormat; for a .json file it is detected from the content (a
// FeatureCollection is GeoJSON, anything else NGSI-LD). Both NGSI-LD formats
// read both forms. Errors are as for the format's reader.
func ReadBins(r io.Reader, filename string, format Format) ([]civic.Bin, error) {
	if format == "" {
		f, err := DetectFormat(filename)
		if err != nil {
			if strings.ToLower(filepath.Ext(filename)) != ".json" {
				return nil, err
			}
			data, err := readAll(r, displayName(filename))
			if err != nil {
				return nil, err
			}
			if isFeatureCollection(data) {
				return strict(readBinsGeoJSON(data, displayName(filename), &Mapping{}))
			}
			return readWasteContainers(data, displayName(filename))
		}
		format = f
	}
	switch format {
	case FormatCSV:
		return ReadBinsCSV(r, filename)
	case FormatGeoJSON:
		return ReadBinsGeoJSON(r, filename)
	case FormatNGSILD, FormatNGSILDNormalized:
		return ReadWasteContainers(r, filename)
	}
	return nil, unknownFormat(format)
}

// WriteBins writes bins, with their state when known, in the given format.
// An unknown format is a civic.Invalid error.
func WriteBins(w io.Writer, format Format, bins []civic.BinView) error {
	switch format {
	case FormatCSV:
		return WriteBinsCSV(w, bins)
	case FormatGeoJSON:
		return WriteBinsGeoJSON(w, bins)
	case FormatNGSILD:
		return WriteWasteContainersKeyValues(w, bins)
	case FormatNGSILDNormalized:
		return WriteWasteContainersNormalized(w, bins)
	}
	return unknownFormat(format)
}
