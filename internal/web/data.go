package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/opendata"
)

// The open data catalogue page, /data: public, like the data it lists.
// It shows each dataset the portal (internal/opendata) publishes with its
// description, update frequency, licence, last update, formats and its
// data dictionary; the files themselves are the portal's.

// dataPageView is what templates/data.html shows.
type dataPageView struct {
	Publisher, Contact, ContactEmail string
	License, LicenseName             string
	Datasets                         []dataSetView
}

type dataSetView struct {
	opendata.Entry
	Frequency string
	Downloads []dataLink
	Examples  []dataLink
}

type dataLink struct{ Label, URL string }

// licenseNames are the common open licences by URL.
var licenseNames = map[string]string{
	"https://creativecommons.org/licenses/by/4.0/":                              "Creative Commons Attribution 4.0 (CC BY 4.0)",
	"https://creativecommons.org/publicdomain/zero/1.0/":                        "CC0 1.0 (public domain dedication)",
	"https://opendatacommons.org/licenses/pddl/1-0/":                            "Open Data Commons PDDL 1.0",
	"https://opendatacommons.org/licenses/by/1-0/":                              "Open Data Commons Attribution 1.0",
	"https://opendatacommons.org/licenses/odbl/1-0/":                            "Open Data Commons ODbL 1.0",
	"http://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/": "Open Government Licence v3.0",
}

var formatLabels = map[string]string{"csv": "CSV", "json": "JSON", "geojson": "GeoJSON"}

// frequencyWords says an ISO 8601 repeating duration in words.
func frequencyWords(f string) string {
	switch f {
	case "R/PT1H":
		return "hourly"
	case "R/P1D":
		return "daily"
	case "R/P1W":
		return "weekly"
	case "R/P1M":
		return "monthly"
	case "irregular":
		return "irregularly"
	}
	return strings.TrimPrefix(f, "R/")
}

// dataPage is GET /data. Without a portal it says open data is not
// enabled.
func (u *UI) dataPage(w http.ResponseWriter, r *http.Request) {
	p := civic.PrincipalFrom(r.Context())
	if u.deps.OpenData == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "Open data is not enabled on this server."))
		return
	}
	entries, err := u.deps.OpenData.Catalogue(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	cfg := u.deps.OpenData.Config()
	v := dataPageView{Publisher: cfg.Publisher, Contact: cfg.ContactName, ContactEmail: cfg.ContactEmail, License: cfg.License,
		LicenseName: licenseNames[cfg.License]}
	if v.LicenseName == "" {
		v.LicenseName = cfg.License
	}
	for _, e := range entries {
		d := dataSetView{Entry: e, Frequency: frequencyWords(e.Frequency)}
		for _, f := range e.Formats() {
			d.Downloads = append(d.Downloads, dataLink{formatLabels[f], "/data/" + e.Name + "/rows." + f})
		}
		d.Examples = append(d.Examples, dataLink{"first 1,000 rows as JSON", "/data/" + e.Name + ".json"})
		if len(e.Columns) > 1 {
			c := e.Columns[1]
			d.Examples = append(d.Examples, dataLink{"ordered by " + c.Name + ", 10 rows", "/data/" + e.Name + ".csv?$order=" + c.Name + "+desc&$limit=10"})
		}
		v.Datasets = append(v.Datasets, d)
	}
	u.render(w, r, http.StatusOK, "data", "", pageData{Title: "Open data", Active: "/data", Principal: p, Data: v})
}

// dataTime is a dataset's last update as the page shows it, in loc.
func dataTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "no data yet"
	}
	return whenIn(t, loc)
}
