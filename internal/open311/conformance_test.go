package open311_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/storetest"
)

// TestConformance runs every GeoReport v2 endpoint in JSON and XML on
// both engines, validating the JSON against the shipped schemas.
func TestConformance(t *testing.T) {
	sch := schemas(t)
	storetest.Engines(t, func(t *testing.T, engine string) {
		f := newFixture(t, engine)
		ctx := context.Background()
		created := map[string]string{} // format → id
		for _, format := range []string{"json", "xml"} {
			t.Run(format, func(t *testing.T) {
				// Discovery.
				r := f.get("discovery." + format)
				if r.status != 200 {
					t.Fatalf("discovery: %d %s", r.status, r.body)
				}
				checkFormat(t, "discovery", format, r)
				if format == "json" {
					var d struct {
						Changeset, Contact, KeyService string `json:"-"`
						Endpoints                      []struct {
							Specification, URL, Type string
							Formats                  []string
						}
					}
					if err := json.Unmarshal(r.body, &d); err != nil || len(d.Endpoints) != 1 ||
						!strings.HasSuffix(d.Endpoints[0].URL, "/open311/v2") ||
						!slices.Contains(d.Endpoints[0].Formats, "text/xml") || !slices.Contains(d.Endpoints[0].Formats, "application/json") {
						t.Errorf("discovery = %s (%v)", r.body, err)
					}
					var raw map[string]any
					json.Unmarshal(r.body, &raw)
					for _, k := range []string{"changeset", "contact", "key_service", "endpoints"} {
						if raw[k] == nil || raw[k] == "" {
							t.Errorf("discovery lacks %s: %s", k, r.body)
						}
					}
				} else if !strings.Contains(string(r.body), "<discovery><changeset>") ||
					!strings.Contains(string(r.body), "<format>text/xml</format>") {
					t.Errorf("discovery XML = %s", r.body)
				}

				// Services and every definition; every datatype appears.
				r = f.get("services." + format)
				checkFormat(t, "services", format, r)
				var codes []string
				if format == "json" {
					validate(t, sch, "services", r.body)
					var svcs []struct {
						Code     string `json:"service_code"`
						Metadata bool   `json:"metadata"`
						Type     string `json:"type"`
					}
					json.Unmarshal(r.body, &svcs)
					for _, s := range svcs {
						codes = append(codes, s.Code)
						if !s.Metadata || s.Type != "realtime" {
							t.Errorf("service %+v: want metadata true, type realtime", s)
						}
					}
				} else {
					var doc struct {
						Services []struct {
							Code string `xml:"service_code"`
						} `xml:"service"`
					}
					if err := xml.Unmarshal(r.body, &doc); err != nil {
						t.Fatal(err)
					}
					for _, s := range doc.Services {
						codes = append(codes, s.Code)
					}
				}
				for _, want := range []string{"overflowing-bin", "damaged-bin", "illegal-dumping", "litter", "missed-collection", "graffiti", "pothole", "streetlight"} {
					if !slices.Contains(codes, want) {
						t.Errorf("services lack %s: %v", want, codes)
					}
				}
				types := map[string]bool{}
				for _, c := range codes {
					r := f.get("services/" + c + "." + format)
					if r.status != 200 {
						t.Fatalf("services/%s: %d %s", c, r.status, r.body)
					}
					checkFormat(t, "definition", format, r)
					if format == "json" {
						validate(t, sch, "service-definition", r.body)
						var d struct {
							Attributes []struct {
								Datatype string `json:"datatype"`
								Order    int    `json:"order"`
							} `json:"attributes"`
						}
						json.Unmarshal(r.body, &d)
						for i, a := range d.Attributes {
							types[a.Datatype] = true
							if i > 0 && a.Order <= d.Attributes[i-1].Order {
								t.Errorf("services/%s: attributes not in order", c)
							}
						}
					} else if !strings.Contains(string(r.body), "<service_definition><service_code>"+c+"</service_code><attributes><attribute>") {
						t.Errorf("definition XML = %s", r.body)
					}
				}
				if format == "json" && len(types) != 6 {
					t.Errorf("datatypes used by the catalogue: %v, want all six", types)
				}

				// POST: JSON with a urlencoded form and a list attribute,
				// XML as multipart with a photo.
				var post resp
				if format == "json" {
					form := url.Values{"api_key": {f.key}, "service_code": {"damaged-bin"}, "lat": {"39.95"}, "long": {"-75.16"},
						"attribute[bin_kind]": {"compactor"}, "attribute[damage][]": {"lid", "sensor"},
						"description": {"Lid gone,\nsensor box cracked"}, "address_string": {"1400 John F Kennedy Blvd, Philadelphia"},
						"service_object_type": {"bin"}, "service_object_id": {"B-0002"}, "email": {"ann@example.org"}}
					post = f.post("requests.json", form)
				} else {
					post = f.postMultipart("requests.xml", f.goodForm(), png)
				}
				if post.status != 200 {
					t.Fatalf("POST requests.%s: %d %s", format, post.status, post.body)
				}
				checkFormat(t, "post", format, post)
				got := ids(t, format, post)
				if len(got) != 1 || got[0] == "" {
					t.Fatalf("POST answered ids %v: %s", got, post.body)
				}
				id := got[0]
				created[format] = id
				if strings.Contains(string(post.body), "token") {
					t.Errorf("POST answered both an id and a token: %s", post.body)
				}

				// GET requests: the new one is listed, JSON validates, no
				// contact leaks.
				r = f.get("requests." + format)
				checkFormat(t, "requests", format, r)
				if format == "json" {
					validate(t, sch, "requests", r.body)
				}
				if !slices.Contains(ids(t, format, r), id) {
					t.Errorf("requests.%s lacks %s: %s", format, id, r.body)
				}
				if strings.Contains(string(r.body), "ann@example.org") || strings.Contains(string(r.body), "Ann") {
					t.Errorf("reporter contact is public: %s", r.body)
				}

				// GET requests/{id}; dates carry the city's offset.
				r = f.get("requests/" + id + "." + format)
				if r.status != 200 {
					t.Fatalf("requests/%s: %d %s", id, r.status, r.body)
				}
				checkFormat(t, "request", format, r)
				if format == "json" {
					validate(t, sch, "requests", r.body)
					var one []map[string]any
					json.Unmarshal(r.body, &one)
					single, _ := json.Marshal(one[0])
					validate(t, sch, "request", single)
					if one[0]["requested_datetime"] != "2026-03-10T08:00:00-04:00" || one[0]["status"] != "open" ||
						one[0]["expected_datetime"] != "2026-03-15T08:00:00-04:00" {
						t.Errorf("request = %s", r.body)
					}
				} else {
					var doc xmlRequests
					xml.Unmarshal(r.body, &doc)
					if len(doc.Requests) != 1 || doc.Requests[0].MediaURL == "" {
						t.Fatalf("request XML = %s", r.body)
					}
					// The uploaded photo is served at media_url.
					req, _ := http.NewRequest(http.MethodGet, doc.Requests[0].MediaURL, nil)
					m := f.do(req)
					if m.status != 200 || m.ctype != "image/png" || string(m.body) != string(png) {
						t.Errorf("media_url %s: %d %s", doc.Requests[0].MediaURL, m.status, m.ctype)
					}
				}

				// tokens/{token}.
				stored, err := f.store.ServiceRequest(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				r = f.get("tokens/" + stored.Token + "." + format)
				checkFormat(t, "token", format, r)
				if r.status != 200 || !strings.Contains(string(r.body), stored.Token) || ids(t, format, r)[0] != id {
					t.Errorf("tokens: %d %s", r.status, r.body)
				}

				// extensions=true: the workflow status, the bin, the notes.
				f.clock.Advance(time.Minute)
				if _, err := f.desk.Act(ctx, f.supervis, id, civic.RequestAction{Action: "acknowledge"}); err != nil {
					t.Fatal(err)
				}
				r = f.get("requests/" + id + "." + format + "?extensions=true")
				checkFormat(t, "extended", format, r)
				if format == "json" {
					validate(t, sch, "requests", r.body)
					var one []struct {
						Extended struct {
							Status     string `json:"status_description"`
							ObjectType string `json:"service_object_type"`
							ObjectID   string `json:"service_object_id"`
						} `json:"extended_attributes"`
						Attributes []struct{ Code, Value, Name string } `json:"attributes"`
						Notes      []struct{ Datetime, Description, Type string }
					}
					json.Unmarshal(r.body, &one)
					if len(one) != 1 || one[0].Extended.Status != "acknowledged" || one[0].Extended.ObjectID != "B-0002" ||
						len(one[0].Notes) != 2 || one[0].Notes[1].Type != "acknowledge" || len(one[0].Attributes) != 3 {
						t.Errorf("extended = %s", r.body)
					}
				} else {
					var doc xmlRequests
					xml.Unmarshal(r.body, &doc)
					if len(doc.Requests) != 1 || len(doc.Requests[0].Notes) != 2 || !strings.Contains(string(r.body), "<status_description>acknowledged</status_description>") {
						t.Errorf("extended XML = %s", r.body)
					}
				}
				// Without extensions none of that is sent.
				r = f.get("requests/" + id + "." + format)
				if strings.Contains(string(r.body), "extended_attributes") || strings.Contains(string(r.body), `"notes"`) ||
					strings.Contains(string(r.body), "<notes>") {
					t.Errorf("extensions sent without extensions=true: %s", r.body)
				}
			})
		}

		// Filters, for both formats at once: service_request_id overrides
		// the rest, service_code, status, object, pages, updated_after.
		jsonID, xmlID := created["json"], created["xml"]
		for _, format := range []string{"json", "xml"} {
			for _, c := range []struct {
				query string
				want  []string
			}{
				{"", []string{xmlID, jsonID}},
				{"service_request_id=" + jsonID + "&service_code=litter&status=closed", []string{jsonID}},
				{"service_request_id=" + jsonID + "," + xmlID, []string{xmlID, jsonID}},
				{"service_code=damaged-bin", []string{jsonID}},
				{"service_code=damaged-bin,overflowing-bin", []string{xmlID, jsonID}},
				{"status=open", []string{xmlID, jsonID}},
				{"status=closed", nil},
				{"status=open,closed", []string{xmlID, jsonID}},
				{"service_object_type=bin&service_object_id=B-0002", []string{jsonID}},
				{"page_size=1", []string{xmlID}},
				{"page_size=1&page=2", []string{jsonID}},
				{"page_size=1&page=3", nil},
				{"start_date=2026-03-10T11:00:00Z&end_date=2026-03-10T13:00:00Z", []string{xmlID, jsonID}},
				{"start_date=2026-03-11T00:00:00Z", nil},
				{"end_date=2026-03-09T00:00:00Z", nil},
				{"updated_after=" + url.QueryEscape("2026-03-10T12:00:30Z"), []string{xmlID, jsonID}},
				{"updated_before=2026-03-10T12:00:00.5Z", nil},
				{"jurisdiction_id=city.example", []string{xmlID, jsonID}},
				{"service_code=", []string{xmlID, jsonID}}, // empty is not declared
			} {
				r := f.get("requests." + format + "?" + c.query)
				if r.status != 200 {
					t.Errorf("%s ?%s: %d %s", format, c.query, r.status, r.body)
					continue
				}
				if got := ids(t, format, r); !slices.Equal(got, c.want) {
					t.Errorf("%s ?%s: ids %v, want %v", format, c.query, got, c.want)
				}
			}
		}
	})
}

// TestDefaultRangeAndLimit checks the spec's defaults: the most recent
// 90 days, and at most 1,000 requests.
func TestDefaultRangeAndLimit(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	lat, long := 39.95, -75.16
	add := func(at time.Time, n int) []string {
		var out []string
		for i := range n {
			r := civic.ServiceRequest{Token: fmt.Sprintf("t-%d-%d", at.Unix(), i), ServiceCode: "litter", Status: civic.StatusSubmitted,
				Lat: &lat, Long: &long, RequestedAt: at.Add(time.Duration(i) * time.Second)}
			if err := f.store.CreateServiceRequest(ctx, &r, nil, nil); err != nil {
				t.Fatal(err)
			}
			out = append(out, r.ID)
		}
		return out
	}
	old := add(t0.Add(-100*24*time.Hour), 1)
	add(t0.Add(-2*time.Hour), 1005)
	for _, format := range []string{"json", "xml"} {
		r := f.get("requests." + format)
		got := ids(t, format, r)
		if len(got) != 1000 {
			t.Errorf("%s: default list has %d requests, want 1000", format, len(got))
		}
		if slices.Contains(got, old[0]) {
			t.Errorf("%s: a 100-day-old request is in the default 90-day range", format)
		}
		r = f.get("requests." + format + "?start_date=2025-11-25T00:00:00Z&end_date=2025-12-05T00:00:00Z")
		if got := ids(t, format, r); !slices.Equal(got, old) {
			t.Errorf("%s: explicit old range = %v, want %v", format, got, old)
		}
		r = f.get("requests." + format + "?page_size=1000&page=2")
		if got := ids(t, format, r); len(got) != 5 {
			t.Errorf("%s: page 2 of 1000 has %d, want 5", format, len(got))
		}
	}
}

// TestCacheFollowsChanges checks that a cached list answer is not served
// after a change through the desk.
func TestCacheFollowsChanges(t *testing.T) {
	f := newFixture(t, "sqlite")
	ctx := context.Background()
	if r := f.post("requests.json", f.goodForm()); r.status != 200 {
		t.Fatalf("post: %d %s", r.status, r.body)
	}
	first := f.get("requests.json?status=open")
	if got := ids(t, "json", first); len(got) != 1 {
		t.Fatalf("open requests %v", got)
	}
	if again := f.get("requests.json?status=open"); string(again.body) != string(first.body) {
		t.Errorf("the same query answered differently with no change")
	}
	if _, err := f.desk.Act(ctx, f.supervis, ids(t, "json", first)[0], civic.RequestAction{Action: "close", Reason: civic.CloseFixed}); err != nil {
		t.Fatal(err)
	}
	if got := ids(t, "json", f.get("requests.json?status=open")); len(got) != 0 {
		t.Errorf("after closing, status=open still lists %v (a stale cached answer)", got)
	}
}
