package opendata

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// The Project Open Data v1.1 (DCAT-US) identifiers data.json uses.
const (
	podSchema  = "https://project-open-data.cio.gov/v1.1/schema"
	podContext = "https://project-open-data.cio.gov/v1.1/schema/catalog.jsonld"
	podCatalog = "https://project-open-data.cio.gov/v1.1/schema/catalog.json"
)

// emailRE is the address form the vCard schema's hasEmail accepts.
var emailRE = regexp.MustCompile(`^[\w_~!$&'()*+,;=:.-]+@[\w.-]+\.[\w.-]+$`)

type catalog struct {
	Context     string       `json:"@context"`
	ID          string       `json:"@id"`
	Type        string       `json:"@type"`
	ConformsTo  string       `json:"conformsTo"`
	DescribedBy string       `json:"describedBy"`
	Dataset     []catDataset `json:"dataset"`
}

type catDataset struct {
	Type               string        `json:"@type"`
	Title              string        `json:"title"`
	Description        string        `json:"description"`
	Keyword            []string      `json:"keyword"`
	Modified           string        `json:"modified,omitempty"`
	Publisher          catPublisher  `json:"publisher"`
	ContactPoint       catContact    `json:"contactPoint"`
	Identifier         string        `json:"identifier"`
	AccessLevel        string        `json:"accessLevel"`
	License            string        `json:"license"`
	AccrualPeriodicity string        `json:"accrualPeriodicity"`
	LandingPage        string        `json:"landingPage"`
	DescribedBy        string        `json:"describedBy"`
	DescribedByType    string        `json:"describedByType"`
	Distribution       []catDownload `json:"distribution"`
	Language           []string      `json:"language,omitempty"`
}

type catPublisher struct {
	Type string `json:"@type"`
	Name string `json:"name"`
}

type catContact struct {
	Type     string `json:"@type"`
	FN       string `json:"fn"`
	HasEmail string `json:"hasEmail,omitempty"`
}

type catDownload struct {
	Type        string `json:"@type"`
	Title       string `json:"title"`
	Description string `json:"description,omitempty"`
	DownloadURL string `json:"downloadURL,omitempty"`
	AccessURL   string `json:"accessURL,omitempty"`
	MediaType   string `json:"mediaType"`
	Format      string `json:"format"`
	ConformsTo  string `json:"conformsTo,omitempty"`
}

var formatNames = map[string]string{"csv": "CSV", "json": "JSON", "geojson": "GeoJSON"}

// serveCatalog is GET /data.json.
func (p *Portal) serveCatalog(w http.ResponseWriter, r *http.Request) {
	base := p.baseURL(r)
	if u, err := url.Parse(base); err != nil || u.Host == "" || strings.ContainsAny(u.Host, " \"<>\\^`{|}") {
		base = "http://localhost"
	}
	cat := catalog{
		Context: podContext, ID: base + "/data.json", Type: "dcat:Catalog", ConformsTo: podSchema, DescribedBy: podCatalog,
	}
	var tokens []string
	var newest time.Time
	for _, d := range p.datasets {
		modified, token, err := p.data.DataVersion(r.Context(), d.Source)
		if err != nil {
			p.writeError(w, r, err)
			return
		}
		tokens = append(tokens, d.Name, token)
		if modified.After(newest) {
			newest = modified
		}
		cat.Dataset = append(cat.Dataset, p.catDataset(base, &d, modified))
	}
	b, err := json.MarshalIndent(cat, "", "  ")
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, no-cache")
	if p.notModified(w, r, etag(append(tokens, string(b))...), newest) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

func (p *Portal) catDataset(base string, d *Dataset, modified time.Time) catDataset {
	c := catDataset{
		Type:               "dcat:Dataset",
		Title:              d.Title,
		Description:        d.Description,
		Keyword:            d.Keywords,
		Publisher:          catPublisher{Type: "org:Organization", Name: p.cfg.Publisher},
		ContactPoint:       catContact{Type: "vcard:Contact", FN: p.cfg.ContactName},
		Identifier:         base + "/data/" + d.Name,
		AccessLevel:        "public",
		License:            p.cfg.License,
		AccrualPeriodicity: d.Frequency,
		LandingPage:        base + "/data#" + d.Name,
		DescribedBy:        base + "/data/" + d.Name + "/dictionary.json",
		DescribedByType:    "application/json",
		Language:           []string{"en-US"},
	}
	if !modified.IsZero() {
		c.Modified = modified.UTC().Format(time.RFC3339)
	}
	if p.cfg.ContactEmail != "" {
		c.ContactPoint.HasEmail = "mailto:" + p.cfg.ContactEmail
	}
	for _, f := range d.Formats() {
		mt, _, _ := strings.Cut(mediaTypes[f], ";")
		c.Distribution = append(c.Distribution, catDownload{
			Type:        "dcat:Distribution",
			Title:       d.Title + " (" + formatNames[f] + ")",
			Description: "The whole dataset.",
			DownloadURL: base + "/data/" + d.Name + "/rows." + f,
			MediaType:   mt,
			Format:      formatNames[f],
		})
	}
	c.Distribution = append(c.Distribution, catDownload{
		Type:        "dcat:Distribution",
		Title:       d.Title + " (query API)",
		Description: "SODA-style queries: $select, $where, $order, $limit (default 1,000, at most 50,000), $offset and column=value filters.",
		AccessURL:   base + "/data/" + d.Name + ".json",
		MediaType:   "application/json",
		Format:      "API",
	})
	return c
}
