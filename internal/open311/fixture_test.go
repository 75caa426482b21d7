package open311_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/open311"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// fixture is a GeoReport endpoint over a real store, with real API keys.
type fixture struct {
	t        *testing.T
	store    *store.Store
	clock    *storetest.Clock
	desk     *open311.Desk
	srv      *httptest.Server
	key      string // open311 scope
	readKey  string // read scope only
	changes  []civic.RequestNote
	supervis civic.Principal
}

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, engine string) *fixture {
	t.Helper()
	f := &fixture{t: t, clock: storetest.NewClock(t0),
		supervis: civic.Principal{UserID: "u-sup", Name: "sup", Role: civic.RoleSupervisor}}
	f.store = storetest.Open(t, engine, store.Options{Now: f.clock.Now})
	ctx := context.Background()
	f.desk = open311.NewDesk(open311.Options{Store: f.store, Now: f.clock.Now,
		AnonymousRate: rate.Inf, KeyRate: rate.Inf,
		BinExists: func(ctx context.Context, id string) (bool, error) { return id == "B-0001" || id == "B-0002", nil },
		OnChange:  func(_ context.Context, _ civic.ServiceRequest, n civic.RequestNote) { f.changes = append(f.changes, n) },
	})
	if err := f.desk.Seed(ctx); err != nil {
		t.Fatal(err)
	}
	a := auth.New(f.store, auth.Options{Now: f.clock.Now})
	var err error
	if f.key, _, err = a.CreateAPIKey(ctx, "app", []civic.Scope{civic.ScopeOpen311}, "admin"); err != nil {
		t.Fatal(err)
	}
	if f.readKey, _, err = a.CreateAPIKey(ctx, "reader", []civic.Scope{civic.ScopeRead}, "admin"); err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("America/New_York")
	h := open311.NewHandler(open311.HandlerOptions{Desk: f.desk, Keys: a.KeyPrincipal, Jurisdiction: "city.example",
		Location: loc, Now: f.clock.Now})
	mux := http.NewServeMux()
	mux.Handle(open311.Prefix, h)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// resp is an HTTP answer.
type resp struct {
	status int
	ctype  string
	body   []byte
}

func (f *fixture) do(req *http.Request) resp {
	f.t.Helper()
	res, err := f.srv.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return resp{res.StatusCode, res.Header.Get("Content-Type"), b}
}

func (f *fixture) get(path string) resp {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.srv.URL+open311.Prefix+path, nil)
	return f.do(req)
}

func (f *fixture) post(path string, form url.Values) resp {
	f.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+open311.Prefix+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	return f.do(req)
}

// postMultipart posts form with files as media[].
func (f *fixture) postMultipart(path string, form url.Values, files ...[]byte) resp {
	f.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for k, vs := range form {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	for i, data := range files {
		w, _ := mw.CreateFormFile("media[]", fmt.Sprintf("photo%d.png", i))
		w.Write(data)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, f.srv.URL+open311.Prefix+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return f.do(req)
}

// png is a tiny valid PNG header and body, enough for sniffing.
var png = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{0}, 64)...)

// schemas compiles the shipped GeoReport JSON Schemas.
func schemas(t *testing.T) map[string]*jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const base = "https://open311.example/schema/"
	for _, n := range []string{"request", "requests", "service", "services", "service-definition"} {
		fl, err := os.Open(filepath.Join("testdata", "schema", n+".json"))
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(fl)
		fl.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(base+n+".json", doc); err != nil {
			t.Fatal(err)
		}
	}
	out := map[string]*jsonschema.Schema{}
	for _, n := range []string{"request", "requests", "service", "services", "service-definition"} {
		s, err := c.Compile(base + n + ".json")
		if err != nil {
			t.Fatal(err)
		}
		out[n] = s
	}
	return out
}

// validate checks body against schema name.
func validate(t *testing.T, s map[string]*jsonschema.Schema, name string, body []byte) {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", name, err, body)
	}
	if err := s[name].Validate(doc); err != nil {
		t.Fatalf("%s does not validate: %v\n%s", name, err, body)
	}
}

// xmlDecl is the declaration every XML answer must start with.
const xmlDecl = `<?xml version="1.0" encoding="UTF-8"?>`

// decode reads a GeoReport answer of format into a generic tree: JSON
// as is; XML as a map of element names to text or child lists.
func checkFormat(t *testing.T, what, format string, r resp) {
	t.Helper()
	switch format {
	case "json":
		if r.ctype != "application/json; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", what, r.ctype)
		}
		if !json.Valid(r.body) {
			t.Errorf("%s: invalid JSON %s", what, r.body)
		}
	case "xml":
		if r.ctype != "text/xml; charset=utf-8" {
			t.Errorf("%s: Content-Type %q", what, r.ctype)
		}
		if !bytes.HasPrefix(r.body, []byte(xmlDecl)) {
			t.Errorf("%s: XML does not start with the UTF-8 declaration: %.80s", what, r.body)
		}
		d := xml.NewDecoder(bytes.NewReader(r.body))
		for {
			if _, err := d.Token(); err == io.EOF {
				break
			} else if err != nil {
				t.Errorf("%s: bad XML: %v\n%s", what, err, r.body)
				break
			}
		}
	}
}

// xmlRequests is the XML list shape, for reading answers in tests.
type xmlRequests struct {
	Requests []struct {
		ID          string `xml:"service_request_id"`
		Token       string `xml:"token"`
		Status      string `xml:"status"`
		Code        string `xml:"service_code"`
		Description string `xml:"description"`
		Requested   string `xml:"requested_datetime"`
		MediaURL    string `xml:"media_url"`
		Notice      string `xml:"service_notice"`
		Notes       []struct {
			Type string `xml:"type"`
		} `xml:"notes>note"`
	} `xml:"request"`
}

type xmlErrors struct {
	Errors []struct {
		Code        int    `xml:"code"`
		Description string `xml:"description"`
	} `xml:"error"`
}

// ids reads the service_request_ids of a list answer in either format.
func ids(t *testing.T, format string, r resp) []string {
	t.Helper()
	var out []string
	if format == "xml" {
		var doc xmlRequests
		if err := xml.Unmarshal(r.body, &doc); err != nil {
			t.Fatalf("%v\n%s", err, r.body)
		}
		for _, x := range doc.Requests {
			out = append(out, x.ID)
		}
		return out
	}
	var doc []map[string]any
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	for _, x := range doc {
		id, ok := x["service_request_id"].(string)
		if !ok {
			t.Fatalf("service_request_id is %T, want a string", x["service_request_id"])
		}
		out = append(out, id)
	}
	return out
}

// errorOf reads a GeoReport error answer: the code and description of
// its first error.
func errorOf(t *testing.T, format string, r resp) (int, string) {
	t.Helper()
	if format == "xml" {
		var doc xmlErrors
		if err := xml.Unmarshal(r.body, &doc); err != nil || len(doc.Errors) == 0 {
			t.Fatalf("not an XML error body (%v): %s", err, r.body)
		}
		return doc.Errors[0].Code, doc.Errors[0].Description
	}
	var doc []struct {
		Code        int    `json:"code"`
		Description string `json:"description"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil || len(doc) == 0 {
		t.Fatalf("not a JSON error body (%v): %s", err, r.body)
	}
	return doc[0].Code, doc[0].Description
}

// goodForm is a valid overflowing-bin report.
func (f *fixture) goodForm() url.Values {
	return url.Values{"api_key": {f.key}, "service_code": {"overflowing-bin"}, "lat": {"39.9526"}, "long": {"-75.1652"},
		"description": {"Bin at the corner is overflowing"}, "attribute[bin_kind]": {"litter"},
		"attribute[spilled]": {"yes"}, "email": {"ann@example.org"}, "first_name": {"Ann"}}
}
