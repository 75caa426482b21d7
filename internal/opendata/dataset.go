// Package opendata is civic's open data portal: a registry of published
// datasets, each a declaration (columns with types and descriptions, the
// data dictionary; the SQL its rows come from; its location columns), and
// the HTTP face that publishes them:
//
//	GET /data.json                          the catalogue, Project Open Data v1.1 (DCAT-US, non-federal)
//	GET /data/{name}.{csv,json,geojson}     a dataset with SODA-style parameters ($limit, default 1,000, max 50,000)
//	GET /data/{name}/rows.{csv,json,geojson} the whole dataset (the catalogue's download), same parameters, no cap
//	GET /data/{name}/dictionary.json        the data dictionary
//	GET /ngsi-ld/v1/entities?type=WasteContainer, /ngsi-ld/v1/entities/{id}
//	                                        bins as FIWARE WasteContainer entities (NGSI-LD API)
//
// A query's $where is parsed into a syntax tree (civic.DataExpr) over the
// dataset's declared columns only, each value typed for its column; the
// store binds every value as a parameter. Rows stream from the database to
// the client: nothing holds a whole dataset in memory. Every response has
// an ETag and Last-Modified from the dataset's version queries, and
// conditional requests get 304.
//
// The human catalogue page (/data) is internal/web's; it reads Catalogue.
package opendata

import (
	"fmt"
	"regexp"
	"slices"

	"github.com/civic-city/civic/internal/civic"
)

// Dataset declares one published dataset. Adding a dataset is adding one
// of these to Datasets (see datasets.go).
type Dataset struct {
	// Name is the dataset's URL name: /data/{Name}.csv.
	Name        string
	Title       string
	Description string
	Keywords    []string
	// Frequency is how often the data changes, an ISO 8601 repeating
	// duration (R/PT1H, R/P1D) or "irregular": DCAT-US accrualPeriodicity.
	Frequency string
	// Columns are every column of Source: the data dictionary.
	Columns []civic.DataColumn
	// Key is the default order, a unique key: always the last terms of
	// the order, so paging is stable.
	Key []string
	// Lat and Lon name the location columns (WGS 84 degrees); empty for a
	// dataset without locations, which has no GeoJSON.
	Lat, Lon string
	// Source is the SQL the rows come from.
	Source civic.DataSource
}

// HasLocation reports whether the dataset has a GeoJSON form.
func (d *Dataset) HasLocation() bool { return d.Lat != "" && d.Lon != "" }

// Formats are the formats the dataset is published in.
func (d *Dataset) Formats() []string {
	if d.HasLocation() {
		return []string{"csv", "json", "geojson"}
	}
	return []string{"csv", "json"}
}

// Column returns the declared column name.
func (d *Dataset) Column(name string) (civic.DataColumn, bool) {
	for _, c := range d.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return civic.DataColumn{}, false
}

// ColumnNames are the names of the declared columns, in order.
func (d *Dataset) ColumnNames() []string {
	out := make([]string, len(d.Columns))
	for i, c := range d.Columns {
		out[i] = c.Name
	}
	return out
}

var nameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)

var frequencyRE = regexp.MustCompile(`^(irregular|R/P(T?[0-9]+[YMWDHS])+)$`)

// check validates a declaration: a programming error otherwise.
func (d *Dataset) check() error {
	if !nameRE.MatchString(d.Name) {
		return fmt.Errorf("opendata: dataset name %q is not a lower-case identifier", d.Name)
	}
	if d.Title == "" || d.Description == "" || len(d.Keywords) == 0 {
		return fmt.Errorf("opendata: dataset %s needs a title, a description and keywords", d.Name)
	}
	if !frequencyRE.MatchString(d.Frequency) {
		return fmt.Errorf("opendata: dataset %s: frequency %q is not an ISO 8601 repeating duration", d.Name, d.Frequency)
	}
	if d.Source.SQL == "" || len(d.Source.Version) == 0 {
		return fmt.Errorf("opendata: dataset %s needs source SQL and version queries", d.Name)
	}
	seen := map[string]bool{}
	for _, c := range d.Columns {
		if !nameRE.MatchString(c.Name) || seen[c.Name] {
			return fmt.Errorf("opendata: dataset %s: column %q is not a lower-case identifier, or twice", d.Name, c.Name)
		}
		seen[c.Name] = true
		switch c.Type {
		case civic.DataText, civic.DataNumber, civic.DataInteger, civic.DataBoolean, civic.DataTime, civic.DataDate:
		default:
			return fmt.Errorf("opendata: dataset %s: column %s has unknown type %q", d.Name, c.Name, c.Type)
		}
		if c.Description == "" {
			return fmt.Errorf("opendata: dataset %s: column %s has no description", d.Name, c.Name)
		}
		if c.Decimals != 0 && (c.Type != civic.DataNumber || c.Decimals < 0 || c.Decimals > 12) {
			return fmt.Errorf("opendata: dataset %s: column %s: decimals only round number columns, 1 to 12", d.Name, c.Name)
		}
	}
	if len(d.Key) == 0 {
		return fmt.Errorf("opendata: dataset %s has no key", d.Name)
	}
	for _, k := range append(slices.Clone(d.Key), d.Lat, d.Lon) {
		if k != "" && !seen[k] {
			return fmt.Errorf("opendata: dataset %s: %q is not a declared column", d.Name, k)
		}
	}
	if (d.Lat == "") != (d.Lon == "") {
		return fmt.Errorf("opendata: dataset %s: Lat and Lon go together", d.Name)
	}
	return nil
}

// WithDecimals returns a copy of d whose location columns are rounded to
// decimals places (3 is about 100 m, 4 about 10 m): how far a dataset's
// locations are published is configuration (Config.LocationDecimals). 0
// leaves d as declared.
func (d Dataset) WithDecimals(decimals int) Dataset {
	if decimals <= 0 || !d.HasLocation() {
		return d
	}
	d.Columns = slices.Clone(d.Columns)
	for i := range d.Columns {
		if n := d.Columns[i].Name; n == d.Lat || n == d.Lon {
			d.Columns[i].Decimals = decimals
		}
	}
	return d
}
