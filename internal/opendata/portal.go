package opendata

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/httperr"
)

// Config is the portal's configuration: who publishes, whom to ask, under
// which licence. The zero value publishes as "civic" under CC BY 4.0.
type Config struct {
	// Publisher is the organisation that publishes the data, e.g. "City of
	// Springfield".
	Publisher string
	// ContactName and ContactEmail are the catalogue's contact point.
	ContactName  string
	ContactEmail string
	// License is the URL of the data's licence; DefaultLicense if empty.
	License string
	// BaseURL is civic's public URL, for the absolute links of data.json;
	// without it they are built from each request's Host.
	BaseURL string
	// LocationDecimals rounds the location columns of the named datasets
	// to so many decimal places (3: about 100 m), overriding their
	// declarations; see Dataset.WithDecimals.
	LocationDecimals map[string]int
	// Datasets are the published datasets; Datasets if nil.
	Datasets []Dataset
}

// DefaultLicense is the licence of data published without one configured.
const DefaultLicense = "https://creativecommons.org/licenses/by/4.0/"

// BinSource gives the NGSI-LD endpoints their bins.
type BinSource interface {
	ListBins(ctx context.Context, f civic.BinFilter) ([]civic.BinView, error)
	Bin(ctx context.Context, id string) (civic.BinView, error)
}

// Deps are what the portal reads.
type Deps struct {
	Data civic.DataStore
	// Bins serves the NGSI-LD entities; without it they answer 503.
	Bins BinSource
	// Logger receives failures users cannot be told about; discarded if
	// nil.
	Logger *slog.Logger
}

// Portal publishes datasets. Create it with New; it is safe for concurrent
// use.
type Portal struct {
	cfg      Config
	data     civic.DataStore
	bins     BinSource
	log      *slog.Logger
	datasets []Dataset
	byName   map[string]*Dataset
}

// New returns the portal. It fails when a dataset declaration is wrong or
// the configuration names an unknown dataset (errors a test or start-up
// catches).
func New(cfg Config, deps Deps) (*Portal, error) {
	if deps.Data == nil {
		return nil, fmt.Errorf("opendata: Deps.Data is required")
	}
	if cfg.Publisher == "" {
		cfg.Publisher = "civic"
	}
	if cfg.ContactName == "" {
		cfg.ContactName = cfg.Publisher
	}
	if cfg.License == "" {
		cfg.License = DefaultLicense
	}
	cfg.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	if cfg.ContactEmail != "" && !emailRE.MatchString(cfg.ContactEmail) {
		return nil, fmt.Errorf("opendata: contact e-mail %q is not an address", cfg.ContactEmail)
	}
	if u, err := url.Parse(cfg.License); err != nil || !u.IsAbs() {
		return nil, fmt.Errorf("opendata: licence %q is not an absolute URL", cfg.License)
	}
	if cfg.BaseURL != "" {
		if u, err := url.Parse(cfg.BaseURL); err != nil || !u.IsAbs() || u.Host == "" {
			return nil, fmt.Errorf("opendata: base URL %q is not an absolute URL", cfg.BaseURL)
		}
	}
	p := &Portal{cfg: cfg, data: deps.Data, bins: deps.Bins, log: deps.Logger, byName: map[string]*Dataset{}}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	src := cfg.Datasets
	if src == nil {
		src = Datasets
	}
	for _, d := range src {
		if err := d.check(); err != nil {
			return nil, err
		}
		p.datasets = append(p.datasets, d.WithDecimals(cfg.LocationDecimals[d.Name]))
	}
	for i := range p.datasets {
		d := &p.datasets[i]
		if p.byName[d.Name] != nil {
			return nil, fmt.Errorf("opendata: dataset %s declared twice", d.Name)
		}
		p.byName[d.Name] = d
	}
	for name := range cfg.LocationDecimals {
		if d := p.byName[name]; d == nil || !d.HasLocation() {
			return nil, fmt.Errorf("opendata: location precision for %q: no dataset with locations has that name", name)
		}
	}
	return p, nil
}

// Datasets returns the published datasets, as configured.
func (p *Portal) Datasets() []Dataset { return slices.Clone(p.datasets) }

// Config returns the configuration, defaults filled in.
func (p *Portal) Config() Config { return p.cfg }

// Entry is a dataset with its last update, for the catalogue page.
type Entry struct {
	Dataset
	Modified time.Time // zero: no rows yet
}

// Catalogue returns every dataset with its last update.
func (p *Portal) Catalogue(ctx context.Context) ([]Entry, error) {
	out := make([]Entry, 0, len(p.datasets))
	for _, d := range p.datasets {
		m, _, err := p.data.DataVersion(ctx, d.Source)
		if err != nil {
			return nil, err
		}
		out = append(out, Entry{Dataset: d, Modified: m})
	}
	return out, nil
}

// Handler serves the portal's routes (see the package documentation), for
// mounting on a server's mux at those paths. Nothing needs a login: open
// data is public, and every response may be read cross-origin.
func (p *Portal) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /data.json", p.serveCatalog)
	mux.HandleFunc("GET /data/{file}", p.serveQuery)
	mux.HandleFunc("GET /data/{name}/{file}", p.serveDatasetFile)
	mux.HandleFunc("GET /ngsi-ld/v1/entities", p.serveEntities)
	mux.HandleFunc("GET /ngsi-ld/v1/entities/{id}", p.serveEntity)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", "*")
		h.Set("Access-Control-Expose-Headers", "ETag, Last-Modified, Link, NGSILD-Results-Count")
		h.Set("X-Content-Type-Options", "nosniff")
		if _, pattern := mux.Handler(r); pattern == "" {
			if strings.HasPrefix(r.URL.Path, "/ngsi-ld/") {
				p.ngsiError(w, r, http.StatusNotFound, "ResourceNotFound", "no such NGSI-LD endpoint: civic serves GET /ngsi-ld/v1/entities and /ngsi-ld/v1/entities/{id}")
				return
			}
			p.writeError(w, r, civic.Errorf(civic.NotFound, "no such dataset file: see /data.json"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// serveQuery is GET /data/{name}.{format}: the query endpoint.
func (p *Portal) serveQuery(w http.ResponseWriter, r *http.Request) {
	name, format, ok := strings.Cut(r.PathValue("file"), ".")
	if !ok {
		p.writeError(w, r, civic.Errorf(civic.NotFound, "no such dataset file %q: ask for NAME.csv, NAME.json or NAME.geojson", clip(r.PathValue("file"))))
		return
	}
	p.serveRows(w, r, name, format, false)
}

// serveDatasetFile is GET /data/{name}/rows.{format} (the whole dataset)
// and /data/{name}/dictionary.json.
func (p *Portal) serveDatasetFile(w http.ResponseWriter, r *http.Request) {
	name, file := r.PathValue("name"), r.PathValue("file")
	if file == "dictionary.json" {
		d, err := p.dataset(name)
		if err != nil {
			p.writeError(w, r, err)
			return
		}
		p.serveDictionary(w, r, d)
		return
	}
	base, format, _ := strings.Cut(file, ".")
	if base != "rows" {
		p.writeError(w, r, civic.Errorf(civic.NotFound, "no such dataset file %q: ask for rows.csv, rows.json, rows.geojson or dictionary.json", clip(file)))
		return
	}
	p.serveRows(w, r, name, format, true)
}

func (p *Portal) dataset(name string) (*Dataset, error) {
	d := p.byName[name]
	if d == nil {
		return nil, civic.Errorf(civic.NotFound, "no dataset %q: see /data.json", clip(name))
	}
	return d, nil
}

func (p *Portal) serveRows(w http.ResponseWriter, r *http.Request, name, format string, bulk bool) {
	d, err := p.dataset(name)
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	if !slices.Contains(d.Formats(), format) {
		p.writeError(w, r, civic.Errorf(civic.NotFound, "dataset %s comes as %s, not %q", d.Name, strings.Join(d.Formats(), ", "), clip(format)))
		return
	}
	q, err := ParseQuery(d, r.URL.Query(), bulk)
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	dq := civic.DataQuery{Source: d.Source, Columns: d.Columns, Select: q.Select, Where: q.Where, Order: q.Order,
		Limit: q.Limit, Offset: q.Offset}
	props := q.Select
	if format == "geojson" {
		dq.Select = append(slices.Clone(q.Select), d.Lat, d.Lon)
	}
	modified, token, err := p.data.DataVersion(r.Context(), d.Source)
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Cache-Control", "public, no-cache")
	if p.notModified(w, r, etag(d.Name, format, token, q.Canonical(), fmt.Sprint(bulk)), modified) {
		return
	}
	h.Set("Content-Type", mediaTypes[format])
	if bulk {
		h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, d.Name, format))
	}
	if r.Method == http.MethodHead {
		return
	}
	var rw rowWriter
	switch format {
	case "csv":
		rw, err = newCSV(w, props)
	case "json":
		rw, err = newJSON(w, props)
	case "geojson":
		rw, err = newGeoJSON(w, props)
	}
	if err == nil {
		err = p.data.StreamData(r.Context(), dq, rw.row)
	}
	if err == nil {
		err = rw.end()
	}
	if err != nil {
		// The status is sent: cut the connection, so the client sees a
		// broken download rather than a short file that looks whole.
		if r.Context().Err() == nil {
			p.log.Error("opendata: streaming a dataset", "dataset", d.Name, "format", format, "err", err)
		}
		panic(http.ErrAbortHandler)
	}
}

// etag is a weak entity tag over what makes a response.
func etag(parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return `W/"` + hex.EncodeToString(h.Sum(nil)[:12]) + `"`
}

// notModified sets ETag and Last-Modified and answers a conditional request
// whose copy is current with 304 (RFC 9110: If-None-Match first; If-
// Modified-Since only without it).
func (p *Portal) notModified(w http.ResponseWriter, r *http.Request, tag string, modified time.Time) bool {
	h := w.Header()
	h.Set("ETag", tag)
	if !modified.IsZero() {
		h.Set("Last-Modified", modified.UTC().Format(http.TimeFormat))
	}
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		for _, t := range strings.Split(inm, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == strings.TrimPrefix(tag, "W/") {
				w.WriteHeader(http.StatusNotModified)
				return true
			}
		}
		return false
	}
	if ims := r.Header.Get("If-Modified-Since"); ims != "" && !modified.IsZero() {
		if t, err := http.ParseTime(ims); err == nil && !modified.Truncate(time.Second).After(t) {
			w.WriteHeader(http.StatusNotModified)
			return true
		}
	}
	return false
}

// dictionary is the data dictionary document of a dataset.
type dictionary struct {
	Dataset     string             `json:"dataset"`
	Title       string             `json:"title"`
	Description string             `json:"description"`
	Key         []string           `json:"key"`
	Location    []string           `json:"location,omitempty"`
	Columns     []civic.DataColumn `json:"columns"`
}

func (p *Portal) serveDictionary(w http.ResponseWriter, r *http.Request, d *Dataset) {
	doc := dictionary{Dataset: d.Name, Title: d.Title, Description: d.Description, Key: d.Key, Columns: d.Columns}
	if d.HasLocation() {
		doc.Location = []string{d.Lat, d.Lon}
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		p.writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "public, no-cache")
	if p.notModified(w, r, etag(string(b)), time.Time{}) {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

// writeError answers in the JSON API's error form, naming the field.
func (p *Portal) writeError(w http.ResponseWriter, r *http.Request, err error) {
	k := civic.KindOf(err)
	status := httperr.Status(k)
	if k == civic.Internal || status >= 500 {
		p.log.Error("opendata: request failed", "path", r.URL.Path, "err", err)
	}
	body := map[string]any{"code": string(k), "message": civic.MessageOf(err)}
	if f := civic.FieldOf(err); f != "" {
		body["field"] = f
	}
	b, _ := json.Marshal(map[string]any{"error": body})
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// baseURL is the absolute URL links in data.json start with.
func (p *Portal) baseURL(r *http.Request) string {
	if p.cfg.BaseURL != "" {
		return p.cfg.BaseURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
