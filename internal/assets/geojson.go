package assets

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"github.com/civic-city/civic/internal/civic"
)

// ReadBinsGeoJSON reads bins from an RFC 7946 FeatureCollection of Point
// features. The geometry gives lon and lat; the properties are the CSV
// columns (see ReadBinsCSV) with JSON values: numbers for capacity_l and
// full_threshold (numeric strings are accepted too), a boolean for
// compacting (or true/false/yes/no/1/0 as text or 0/1), text or numbers
// for the rest; null is the same as absent. A missing properties.id falls
// back to the feature's id; name and capacity_l are required. Properties
// are found as ReadBinsWith finds them with a zero Mapping; the state
// properties an export writes, lat and lon properties (the geometry wins)
// and properties civic does not use are ignored.
//
// Any problem fails the whole file with a *RowError naming the feature and
// property, e.g. "bins.geojson: features[12].properties.stream: must be one
// of ...", and no bins.
func ReadBinsGeoJSON(r io.Reader, filename string) ([]civic.Bin, error) {
	file := displayName(filename)
	data, err := readAll(r, file)
	if err != nil {
		return nil, err
	}
	return strict(readBinsGeoJSON(data, file, &Mapping{}))
}

func readBinsGeoJSON(data []byte, file string, m *Mapping) (*Result, error) {
	features, err := featureList(data, file)
	if err != nil {
		return nil, err
	}
	out := &Result{Bins: make([]civic.Bin, 0, len(features)), Columns: map[string]string{}}
	ignored := map[string]bool{}
	first := map[string]int{}
	for i, raw := range features {
		path := fmt.Sprintf("features[%d]", i)
		b, err := binFeature(raw, m, out.Columns, ignored)
		if err != nil {
			out.Invalid = append(out.Invalid, rowError(file, 0, path, err))
			continue
		}
		if j, dup := first[b.ID]; dup {
			out.Invalid = append(out.Invalid, rowError(file, 0, path, civic.FieldError("properties.id", "duplicate id %q (first in features[%d])", b.ID, j)))
			continue
		}
		first[b.ID] = i
		out.Bins = append(out.Bins, b)
	}
	for k := range ignored {
		if !slices.Contains(slices.Collect(maps.Values(out.Columns)), k) {
			out.Ignored = append(out.Ignored, k)
		}
	}
	slices.Sort(out.Ignored)
	for _, t := range slices.Sorted(maps.Keys(m.Columns)) {
		if t == "lat" || t == "lon" || slices.Contains(collectionColumns, t) {
			continue // the geometry has the position; a collection log's columns are not a bin's
		}
		if _, ok := out.Columns[t]; !ok && len(features) > 0 {
			return nil, &RowError{File: file, Field: "properties", Err: civic.FieldError("properties",
				"%s is mapped to %q, which no feature has", t, m.Columns[t])}
		}
	}
	return out, nil
}

// featureList checks that data is a FeatureCollection and returns its
// features undecoded, so errors can name the feature they are about.
func featureList(data []byte, file string) ([]json.RawMessage, error) {
	var fc struct {
		Type     *string            `json:"type"`
		Features *[]json.RawMessage `json:"features"`
	}
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, jsonError(file, data, err)
	}
	if fc.Type == nil || *fc.Type != "FeatureCollection" {
		return nil, &RowError{File: file, Field: "type", Err: civic.FieldError("type", "must be FeatureCollection")}
	}
	if fc.Features == nil {
		return nil, &RowError{File: file, Field: "features", Err: civic.FieldError("features", "is required")}
	}
	return *fc.Features, nil
}

// isFeatureCollection reports whether data looks like a GeoJSON
// FeatureCollection (for telling .json files apart).
func isFeatureCollection(data []byte) bool {
	var fc struct {
		Type string `json:"type"`
	}
	return json.Unmarshal(data, &fc) == nil && fc.Type == "FeatureCollection"
}

// jsonError reports a JSON decoding failure at its line.
func jsonError(file string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &RowError{File: file, Line: lineAt(data, se.Offset), Err: civic.FieldError("", "is not valid JSON: %v", se)}
	case errors.As(err, &te):
		field := te.Field
		return &RowError{File: file, Line: lineAt(data, te.Offset), Field: field, Err: civic.FieldError(field, "must not be a JSON %s", te.Value)}
	}
	return &RowError{File: file, Err: civic.FieldError("", "is not valid JSON")}
}

// lineAt returns the 1-based line of byte offset off in data.
func lineAt(data []byte, off int64) int {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	return bytes.Count(data[:off], []byte{'\n'}) + 1
}

// decodeFeature decodes one feature with orb, mapping its errors.
func decodeFeature(raw json.RawMessage) (*geojson.Feature, error) {
	var probe struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return nil, civic.FieldError("", "must be a GeoJSON Feature object")
	}
	if probe.Type != "Feature" {
		return nil, civic.FieldError("type", "must be Feature")
	}
	f, err := geojson.UnmarshalFeature(raw)
	if err != nil {
		return nil, civic.FieldError("geometry", "is not a valid GeoJSON geometry")
	}
	return f, nil
}

// binFeature reads one feature. It records in columns where each civic
// column came from, and in ignored the properties it did not use.
func binFeature(raw json.RawMessage, m *Mapping, columns map[string]string, ignored map[string]bool) (civic.Bin, error) {
	var b civic.Bin
	f, err := decodeFeature(raw)
	if err != nil {
		return b, err
	}
	pt, ok := f.Geometry.(orb.Point)
	if !ok || !pointHasLatLon(raw) {
		return b, civic.FieldError("geometry", "must be a GeoJSON Point [lon, lat]")
	}
	b.Lon, b.Lat = pt[0], pt[1]

	keys := propertyKeys(raw, f.Properties)
	res, err := resolveNames(keys, binColumnNames(), m, isStateName, false)
	if err != nil {
		return b, err
	}
	// The geometry gives lat and lon; properties that look like them are
	// read by no one.
	delete(res.from, "lat")
	delete(res.from, "lon")
	maps.Copy(columns, res.from)
	for _, n := range res.ignored {
		ignored[n] = true
	}
	src := func(c *column) (string, bool, error) {
		i, ok := res.index[c.name]
		if !ok {
			if c.name == "id" {
				id := featureID(f.ID)
				return id, id != "", nil
			}
			return "", false, nil
		}
		val := f.Properties[keys[i]]
		if val == nil {
			return "", false, nil
		}
		s, err := propertyText(c, val)
		return s, true, err
	}
	if err := buildBin(src, m, res.from, true, &b); err != nil {
		return b, geoField(err)
	}
	return b, nil
}

// propertyKeys lists the keys of a feature's properties in the order the
// file has them, so that of two names differing only in case the first
// wins as it does in CSV. It falls back to sorted order if the raw JSON
// cannot be walked (it always can once orb has decoded it).
func propertyKeys(raw json.RawMessage, props map[string]any) []string {
	sorted := slices.Sorted(maps.Keys(props))
	var f struct {
		Properties json.RawMessage `json:"properties"`
	}
	if json.Unmarshal(raw, &f) != nil || len(f.Properties) == 0 {
		return sorted
	}
	dec := json.NewDecoder(bytes.NewReader(f.Properties))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return sorted
	}
	var keys []string
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return sorted
		}
		k, ok := t.(string)
		var skip json.RawMessage
		if !ok || dec.Decode(&skip) != nil {
			return sorted
		}
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	if len(keys) != len(sorted) {
		return sorted
	}
	return keys
}

// pointHasLatLon reports whether a Point feature's coordinates have at least
// two numbers; orb reads [lon] as [lon, 0] otherwise.
func pointHasLatLon(raw json.RawMessage) bool {
	var g struct {
		Geometry struct {
			Coordinates []json.RawMessage `json:"coordinates"`
		} `json:"geometry"`
	}
	return json.Unmarshal(raw, &g) == nil && len(g.Geometry.Coordinates) >= 2
}

// geoField maps a field of civic.Bin.Validate to its place in a feature.
func geoField(err error) error {
	switch f := civic.FieldOf(err); f {
	case "lat", "lon":
		return renameField(err, "geometry.coordinates")
	default:
		return civic.PrefixField("properties", err)
	}
}

// propertyText converts a JSON property value to the text a column parses.
func propertyText(c *column, v any) (string, error) {
	switch c.kind {
	case kindNumber:
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'g', -1, 64), nil
		case string:
			return strings.TrimSpace(x), nil
		}
		return "", civic.FieldError(c.name, "must be a number")
	case kindBool:
		switch x := v.(type) {
		case bool:
			return strconv.FormatBool(x), nil
		case string:
			return strings.TrimSpace(x), nil
		case float64:
			if x == 0 || x == 1 {
				return strconv.FormatFloat(x, 'g', -1, 64), nil
			}
		}
		return "", civic.FieldError(c.name, "must be true or false")
	}
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case bool:
		return strconv.FormatBool(x), nil
	}
	return "", civic.FieldError(c.name, "must be text")
}

// featureID returns a feature's own id as text.
func featureID(id any) string {
	switch x := id.(type) {
	case string:
		return strings.TrimSpace(x)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// WriteBinsGeoJSON writes bins as an RFC 7946 FeatureCollection of Point
// features, one BinFeature per bin.
func WriteBinsGeoJSON(w io.Writer, bins []civic.BinView) error {
	fc := geojson.NewFeatureCollection()
	for i := range bins {
		fc.Append(BinFeature(&bins[i]))
	}
	return writeFeatures(w, fc)
}

// BinFeature is the one GeoJSON form of a bin, for exports and the API
// alike: a Point feature whose id is the bin id and whose properties are the
// CSV columns except lat and lon (which are the geometry), with numbers and
// booleans as JSON numbers and booleans, empty optional text left out, and
// the state (fill, temperature_c, battery, last_reading) when known.
// ReadBinsGeoJSON reads it back.
func BinFeature(v *civic.BinView) *geojson.Feature {
	f := geojson.NewFeature(orb.Point{v.Lon, v.Lat})
	f.ID = v.ID
	for _, c := range binColumns {
		if c.name == "lat" || c.name == "lon" {
			continue
		}
		if val, ok := propertyValue(&c, v); ok {
			f.Properties[c.name] = val
		}
	}
	for _, c := range stateColumns {
		if val, ok := propertyValue(&c, v); ok {
			f.Properties[c.name] = val
		}
	}
	return f
}

// propertyValue returns a column's value as a typed JSON value.
func propertyValue(c *column, v *civic.BinView) (any, bool) {
	switch c.kind {
	case kindNumber:
		s := c.get(v)
		if s == "" {
			return nil, false
		}
		f, err := strconv.ParseFloat(s, 64)
		return f, err == nil
	case kindBool:
		return c.get(v) == "true", true
	}
	s := c.get(v)
	return s, s != ""
}

// writeFeatures writes a FeatureCollection with one feature per line:
// compact enough for large boundaries, and a diff shows which bin changed.
func writeFeatures(w io.Writer, fc *geojson.FeatureCollection) error {
	var buf bytes.Buffer
	buf.WriteString(`{"type":"FeatureCollection","features":[`)
	for i, f := range fc.Features {
		data, err := f.MarshalJSON()
		if err != nil {
			return err
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
		buf.Write(unescapeHTML(data))
	}
	buf.WriteString("\n]}\n")
	_, err := w.Write(buf.Bytes())
	return err
}

// writeJSON writes v as indented JSON: exports are read by people too, and
// indentation keeps golden files diffable.
func writeJSON(w io.Writer, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, unescapeHTML(data), "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

// unescapeHTML undoes encoding/json's escaping of <, > and & (orb marshals
// with json.Marshal): an address like "Market St & 5th" should read so in
// the file. An escaped backslash is copied as is, so "\\u0026" stays.
func unescapeHTML(data []byte) []byte {
	if !bytes.Contains(data, []byte(`\u00`)) {
		return data
	}
	out := make([]byte, 0, len(data))
	for i := 0; i < len(data); i++ {
		c := data[i]
		if c != '\\' || i+1 >= len(data) {
			out = append(out, c)
			continue
		}
		if data[i+1] == 'u' && i+6 <= len(data) {
			switch string(data[i+2 : i+6]) {
			case "0026":
				out = append(out, '&')
				i += 5
				continue
			case "003c":
				out = append(out, '<')
				i += 5
				continue
			case "003e":
				out = append(out, '>')
				i += 5
				continue
			}
		}
		out = append(out, c, data[i+1])
		i++
	}
	return out
}

// ReadZonesGeoJSON reads zones from an RFC 7946 FeatureCollection of Polygon
// and MultiPolygon features with properties id and name. A missing
// properties.id falls back to the feature's id. Other properties are
// ignored: boundary files exported from a GIS carry many. Each zone is
// validated (civic.Zone.Validate); any problem, a duplicate id included,
// fails the whole file with a *RowError naming the feature and property,
// and no zones.
func ReadZonesGeoJSON(r io.Reader, filename string) ([]civic.Zone, error) {
	file := displayName(filename)
	data, err := readAll(r, file)
	if err != nil {
		return nil, err
	}
	features, err := featureList(data, file)
	if err != nil {
		return nil, err
	}
	zones := make([]civic.Zone, 0, len(features))
	first := map[string]int{}
	for i, raw := range features {
		path := fmt.Sprintf("features[%d]", i)
		z, err := zoneFeature(raw)
		if err != nil {
			return nil, rowError(file, 0, path, err)
		}
		if j, dup := first[z.ID]; dup {
			return nil, rowError(file, 0, path, civic.FieldError("properties.id", "duplicate id %q (first in features[%d])", z.ID, j))
		}
		first[z.ID] = i
		zones = append(zones, z)
	}
	return zones, nil
}

func zoneFeature(raw json.RawMessage) (civic.Zone, error) {
	var z civic.Zone
	f, err := decodeFeature(raw)
	if err != nil {
		return z, err
	}
	switch g := f.Geometry.(type) {
	case orb.Polygon:
		z.Boundary = civic.MultiPolygon{fromOrbPolygon(g)}
	case orb.MultiPolygon:
		for _, p := range g {
			z.Boundary = append(z.Boundary, fromOrbPolygon(p))
		}
	default:
		return z, civic.FieldError("geometry", "must be a GeoJSON Polygon or MultiPolygon")
	}
	for _, key := range []string{"id", "name"} {
		v, ok := f.Properties[key]
		if !ok || v == nil {
			continue
		}
		s, ok := v.(string)
		if !ok {
			return z, civic.FieldError("properties."+key, "must be a string")
		}
		if key == "id" {
			z.ID = strings.TrimSpace(s)
		} else {
			z.Name = strings.TrimSpace(s)
		}
	}
	if z.ID == "" {
		z.ID = featureID(f.ID)
	}
	if err := z.Validate(); err != nil {
		if f := civic.FieldOf(err); strings.HasPrefix(f, "boundary") {
			return z, renameField(err, "geometry"+strings.TrimPrefix(f, "boundary"))
		}
		return z, civic.PrefixField("properties", err)
	}
	return z, nil
}

func fromOrbPolygon(p orb.Polygon) civic.Polygon {
	out := make(civic.Polygon, len(p))
	for i, r := range p {
		ring := make(civic.Ring, len(r))
		for j, pt := range r {
			ring[j] = [2]float64(pt)
		}
		out[i] = ring
	}
	return out
}

func toOrbPolygon(p civic.Polygon) orb.Polygon {
	out := make(orb.Polygon, len(p))
	for i, r := range p {
		ring := make(orb.Ring, len(r))
		for j, pt := range r {
			ring[j] = orb.Point(pt)
		}
		out[i] = ring
	}
	return out
}

// WriteZonesGeoJSON writes zones as an RFC 7946 FeatureCollection: one
// feature per zone, its id the zone id, properties id and name, and a
// Polygon geometry for a one-polygon boundary, else a MultiPolygon.
func WriteZonesGeoJSON(w io.Writer, zones []civic.Zone) error {
	fc := geojson.NewFeatureCollection()
	for _, z := range zones {
		var g orb.Geometry
		if len(z.Boundary) == 1 {
			g = toOrbPolygon(z.Boundary[0])
		} else {
			mp := make(orb.MultiPolygon, len(z.Boundary))
			for i, p := range z.Boundary {
				mp[i] = toOrbPolygon(p)
			}
			g = mp
		}
		f := geojson.NewFeature(g)
		f.ID = z.ID
		f.Properties["id"] = z.ID
		f.Properties["name"] = z.Name
		fc.Append(f)
	}
	return writeFeatures(w, fc)
}
