package opendata

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// A rowWriter writes a dataset's rows in one format as they come: it holds
// one row at a time, never the result.
type rowWriter interface {
	row(values []any) error
	// end finishes the document and flushes it.
	end() error
}

// mediaTypes are the Content-Type of each format.
var mediaTypes = map[string]string{
	"csv":     "text/csv; charset=utf-8",
	"json":    "application/json",
	"geojson": "application/geo+json",
}

// formatValue renders a value as text (CSV, ETags); null is "" and false.
func formatValue(v any) (string, bool) {
	switch x := v.(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case bool:
		return strconv.FormatBool(x), true
	case time.Time:
		return x.UTC().Format("2006-01-02T15:04:05.000Z"), true
	}
	return fmt.Sprint(v), true
}

// appendJSON appends v as a JSON value.
func appendJSON(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...)
		}
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		b = append(b, '"')
		b = x.UTC().AppendFormat(b, "2006-01-02T15:04:05.000Z")
		return append(b, '"')
	}
	s, _ := formatValue(v)
	enc, _ := json.Marshal(s)
	return append(b, enc...)
}

type csvWriter struct {
	bw *bufio.Writer
	w  *csv.Writer
	r  []string
}

func newCSV(w io.Writer, cols []string) (rowWriter, error) {
	bw := bufio.NewWriterSize(w, 32<<10)
	c := &csvWriter{bw: bw, w: csv.NewWriter(bw), r: make([]string, len(cols))}
	return c, c.w.Write(cols)
}

func (c *csvWriter) row(values []any) error {
	for i, v := range values {
		c.r[i], _ = formatValue(v)
		if _, text := v.(string); text {
			c.r[i] = civic.SpreadsheetSafe(c.r[i])
		}
	}
	return c.w.Write(c.r)
}

func (c *csvWriter) end() error {
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return err
	}
	return c.bw.Flush()
}

// jsonWriter writes a JSON array of objects, one per row, keys in the
// order of the columns.
type jsonWriter struct {
	bw    *bufio.Writer
	keys  [][]byte // `"name":`
	buf   []byte
	first bool
}

func jsonKeys(cols []string) [][]byte {
	keys := make([][]byte, len(cols))
	for i, c := range cols {
		k, _ := json.Marshal(c)
		keys[i] = append(k, ':')
	}
	return keys
}

func newJSON(w io.Writer, cols []string) (rowWriter, error) {
	j := &jsonWriter{bw: bufio.NewWriterSize(w, 32<<10), keys: jsonKeys(cols), first: true}
	_, err := j.bw.WriteString("[")
	return j, err
}

func (j *jsonWriter) row(values []any) error {
	b := j.buf[:0]
	if !j.first {
		b = append(b, ',')
	}
	j.first = false
	b = append(b, "\n{"...)
	for i, v := range values {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, j.keys[i]...)
		b = appendJSON(b, v)
	}
	b = append(b, '}')
	j.buf = b
	_, err := j.bw.Write(b)
	return err
}

func (j *jsonWriter) end() error {
	if _, err := j.bw.WriteString("\n]\n"); err != nil {
		return err
	}
	return j.bw.Flush()
}

// geoJSONWriter writes an RFC 7946 FeatureCollection of Points. The rows
// hold the properties asked for, then the latitude and longitude.
type geoJSONWriter struct {
	bw    *bufio.Writer
	keys  [][]byte
	n     int // properties per row
	buf   []byte
	first bool
}

func newGeoJSON(w io.Writer, props []string) (rowWriter, error) {
	g := &geoJSONWriter{bw: bufio.NewWriterSize(w, 32<<10), keys: jsonKeys(props), n: len(props), first: true}
	_, err := g.bw.WriteString(`{"type":"FeatureCollection","features":[`)
	return g, err
}

func (g *geoJSONWriter) row(values []any) error {
	b := g.buf[:0]
	if !g.first {
		b = append(b, ',')
	}
	g.first = false
	b = append(b, "\n"+`{"type":"Feature","geometry":`...)
	lat, ok1 := values[g.n].(float64)
	lon, ok2 := values[g.n+1].(float64)
	if ok1 && ok2 {
		b = append(b, `{"type":"Point","coordinates":[`...)
		b = strconv.AppendFloat(b, lon, 'f', -1, 64)
		b = append(b, ',')
		b = strconv.AppendFloat(b, lat, 'f', -1, 64)
		b = append(b, "]}"...)
	} else {
		b = append(b, "null"...)
	}
	b = append(b, `,"properties":{`...)
	for i := 0; i < g.n; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, g.keys[i]...)
		b = appendJSON(b, values[i])
	}
	b = append(b, "}}"...)
	g.buf = b
	_, err := g.bw.Write(b)
	return err
}

func (g *geoJSONWriter) end() error {
	if _, err := g.bw.WriteString("\n]}\n"); err != nil {
		return err
	}
	return g.bw.Flush()
}
