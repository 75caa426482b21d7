package open311_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/civic"
)

// TestBadInput sends the table of bad inputs (and more) in both
// formats: each gets the spec's HTTP code, an error body of the format
// naming the problem, and nothing is stored.
func TestBadInput(t *testing.T) {
	f := newFixture(t, "sqlite")
	with := func(changes map[string]string, drop ...string) url.Values {
		v := f.goodForm()
		for k, x := range changes {
			v.Set(k, x)
		}
		for _, k := range drop {
			v.Del(k)
		}
		return v
	}
	long := strings.Repeat("x", civic.MaxDescription+1)
	cases := []struct {
		name   string
		method string
		path   string // without the format suffix
		query  string
		form   url.Values
		files  [][]byte
		status int
		want   string // in the description
	}{
		{"missing service_code", "POST", "requests", "", with(nil, "service_code"), nil, 400, "service_code"},
		{"unknown service_code", "POST", "requests", "", with(map[string]string{"service_code": "nope"}), nil, 404, "service_code"},
		{"unknown attribute value", "POST", "requests", "", with(map[string]string{"attribute[bin_kind]": "golden"}), nil, 400, "attribute[bin_kind]"},
		{"unknown attribute", "POST", "requests", "", with(map[string]string{"attribute[colour]": "red"}), nil, 400, "attribute[colour]"},
		{"missing required attribute", "POST", "requests", "", with(nil, "attribute[bin_kind]"), nil, 400, "attribute[bin_kind]: is required"},
		{"two values for a single list", "POST", "requests", "", with(map[string]string{"attribute[bin_kind][]": "litter"}), nil, 400, "attribute[bin_kind]"},
		{"malformed attribute key", "POST", "requests", "", with(map[string]string{"attribute[bin_kind": "litter"}), nil, 400, "attribute[bin_kind"},
		{"oversize description", "POST", "requests", "", with(map[string]string{"description": long}), nil, 400, "description"},
		{"wrong api_key", "POST", "requests", "", with(map[string]string{"api_key": "civic_0123456789abcdef_nope"}), nil, 403, "Invalid api_key"},
		{"missing api_key", "POST", "requests", "", with(nil, "api_key"), nil, 403, "api_key"},
		{"api_key without the open311 scope", "POST", "requests", "", with(map[string]string{"api_key": f.readKey}), nil, 403, "open311 scope"},
		{"latitude not a number", "POST", "requests", "", with(map[string]string{"lat": "north"}), nil, 400, "lat"},
		{"latitude out of range", "POST", "requests", "", with(map[string]string{"lat": "95"}), nil, 400, "lat"},
		{"longitude out of range", "POST", "requests", "", with(map[string]string{"long": "-181"}), nil, 400, "long"},
		{"lat without long", "POST", "requests", "", with(nil, "long"), nil, 400, "long"},
		{"no location", "POST", "requests", "", with(nil, "lat", "long"), nil, 400, "location"},
		{"bad e-mail", "POST", "requests", "", with(map[string]string{"email": "ann at home"}), nil, 400, "email"},
		{"unknown bin", "POST", "requests", "", with(map[string]string{"service_object_type": "bin", "service_object_id": "B-9999"}), nil, 400, "service_object_id"},
		{"foreign jurisdiction on POST", "POST", "requests", "", with(map[string]string{"jurisdiction_id": "other.gov"}), nil, 404, "jurisdiction_id"},
		{"a file that is not an image", "POST", "requests", "", f.goodForm(), [][]byte{[]byte("MZ\x90\x00 not a photo")}, 400, "media[0]"},
		{"too many files", "POST", "requests", "", f.goodForm(), [][]byte{png, png, png, png}, 400, "media"},
		{"a file too large", "POST", "requests", "", f.goodForm(), [][]byte{append(bytes.Clone(png), make([]byte, 5<<20)...)}, 400, "media[0]"},

		{"bad start_date", "GET", "requests", "start_date=2026-03-01", nil, nil, 400, "start_date"},
		{"start_date without a time zone", "GET", "requests", "start_date=2026-03-01T00:00:00", nil, nil, 400, "start_date"},
		{"bad end_date", "GET", "requests", "end_date=yesterday", nil, nil, 400, "end_date"},
		{"end before start", "GET", "requests", "start_date=2026-03-10T00:00:00Z&end_date=2026-03-01T00:00:00Z", nil, nil, 400, "end_date"},
		{"span over 90 days", "GET", "requests", "start_date=2026-01-01T00:00:00Z&end_date=2026-04-01T00:00:01Z", nil, nil, 400, "90 days"},
		{"bad updated_after", "GET", "requests", "updated_after=soon", nil, nil, 400, "updated_after"},
		{"bad status", "GET", "requests", "status=pending", nil, nil, 400, "status"},
		{"page_size over 1000", "GET", "requests", "page_size=1001", nil, nil, 400, "page_size"},
		{"page zero", "GET", "requests", "page=0", nil, nil, 400, "page"},
		{"foreign jurisdiction", "GET", "services", "jurisdiction_id=other.gov", nil, nil, 404, "jurisdiction_id"},
		{"unknown service definition", "GET", "services/nope", "", nil, nil, 404, "nope"},
		{"unknown request", "GET", "requests/123456", "", nil, nil, 404, "123456"},
		{"request id not a number", "GET", "requests/abc", "", nil, nil, 404, "abc"},
		{"unknown token", "GET", "tokens/zzzz", "", nil, nil, 404, "zzzz"},
		{"unknown resource", "GET", "bins", "", nil, nil, 404, "resource"},
		{"wrong method", "DELETE", "requests", "", nil, nil, 405, "DELETE"},
	}
	before, _ := f.store.CountServiceRequests(context.Background(), civic.ServiceRequestFilter{})
	for _, format := range []string{"json", "xml"} {
		for _, c := range cases {
			var r resp
			path := c.path + "." + format
			switch {
			case c.files != nil:
				r = f.postMultipart(path, c.form, c.files...)
			case c.method == "POST":
				r = f.post(path, c.form)
			default:
				req, _ := http.NewRequest(c.method, f.srv.URL+"/open311/v2/"+path+"?"+c.query, nil)
				r = f.do(req)
			}
			if r.status != c.status {
				t.Errorf("%s (%s): status %d, want %d: %s", c.name, format, r.status, c.status, r.body)
				continue
			}
			checkFormat(t, c.name, format, r)
			code, desc := errorOf(t, format, r)
			if code != c.status || !strings.Contains(desc, c.want) {
				t.Errorf("%s (%s): error %d %q, want %d naming %q", c.name, format, code, desc, c.status, c.want)
			}
		}
	}
	// A path without a format answers in JSON.
	r := f.get("services")
	if r.status != 404 || !strings.HasPrefix(r.ctype, "application/json") {
		t.Errorf("services without a format: %d %s", r.status, r.ctype)
	}
	after, _ := f.store.CountServiceRequests(context.Background(), civic.ServiceRequestFilter{})
	if after != before {
		t.Errorf("bad inputs stored %d requests", after-before)
	}
	// And the good form works, so the table tested what it meant to.
	if r := f.post("requests.json", f.goodForm()); r.status != 200 {
		t.Errorf("the good form: %d %s", r.status, r.body)
	}
}
