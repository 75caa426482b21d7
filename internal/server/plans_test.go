package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/server"
)

// The plan of the fixture's next day: one trash route for truck T1 and
// crew C1, whose first bin stop is full bin B1.
const (
	planID  = "plan-2026-03-03"
	routeID = planID + "-r1"
	stopID  = routeID + "-s1"
)

var (
	makePlan   = request{method: "POST", url: "/api/v1/plans", body: `{"date":"2026-03-03"}`, as: "supervisor"}
	lockPlan   = request{method: "POST", url: "/api/v1/plans/" + planID + "/lock", as: "supervisor"}
	reportBody = `{"client_id":"phone-1","status":"collected","fill_seen":0.9}`
)

// multipartReport is a stop report form with a photo part.
func multipartReport(photo []byte) (body, contentType string) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	mw.WriteField("client_id", "phone-2")
	mw.WriteField("status", "collected")
	if photo != nil {
		w, _ := mw.CreateFormFile("photo", "bin.png")
		w.Write(photo)
	}
	mw.Close()
	return b.String(), mw.FormDataContentType()
}

var pngPhoto = append([]byte("\x89PNG\r\n\x1a\n"), bytes.Repeat([]byte{0}, 64)...)

func TestPlans(t *testing.T) {
	form, formType := multipartReport(pngPhoto)
	bigForm, bigType := multipartReport(append(bytes.Repeat([]byte("\x89PNG\r\n\x1a\n"), 1), make([]byte, civic.MaxPhotoBytes)...))
	textForm, textType := multipartReport([]byte("not an image at all"))
	stopStatus := func(want civic.StopStatus) func(*testing.T, *fixture, *httptest.ResponseRecorder) {
		return func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
			rt, err := f.store.Route(context.Background(), routeID)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range rt.Stops {
				if s.ID == stopID && s.Status != want {
					t.Errorf("stop %s is %s, want %s", stopID, s.Status, want)
				}
			}
		}
	}
	runScenarios(t, []scenario{
		{name: "create", req: makePlan, status: 201, want: []string{`"id":"` + planID + `"`, `"status":"draft"`, `"bin_id":"B1"`, `"crew_id":"C1"`, `"created_by":"supervisor1"`},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				es, _ := f.store.ListAudit(context.Background(), civic.AuditFilter{Action: "plan.create"})
				if len(es) != 1 {
					t.Errorf("audit entries for plan.create: %d", len(es))
				}
			}},
		{name: "create replaces a draft", before: []request{makePlan}, req: makePlan, status: 201},
		{name: "crew cannot plan", req: request{method: "POST", url: "/api/v1/plans", body: `{"date":"2026-03-03"}`, as: "crew"}, status: 403},
		{name: "bad date", req: request{method: "POST", url: "/api/v1/plans", body: `{"date":"tomorrow"}`, as: "supervisor"}, status: 400, field: "date"},
		{name: "no date", req: request{method: "POST", url: "/api/v1/plans", body: `{}`, as: "supervisor"}, status: 400, field: "date"},
		{name: "impossible date", req: request{method: "POST", url: "/api/v1/plans", body: `{"date":"2026-02-30"}`, as: "supervisor"}, status: 400, field: "date"},
		{name: "locked day", before: []request{makePlan, lockPlan}, req: makePlan, status: 409},
		{name: "get", before: []request{makePlan}, req: request{method: "GET", url: "/api/v1/plans/" + planID, as: "analyst"}, status: 200, want: []string{`"stops":[`}},
		{name: "get unknown", req: request{method: "GET", url: "/api/v1/plans/plan-1999-01-01", as: "analyst"}, status: 404},
		{name: "by date", before: []request{makePlan}, req: request{method: "GET", url: "/api/v1/plans/date/2026-03-03", as: "analyst"}, status: 200, want: []string{`"id":"` + planID + `"`}},
		{name: "by date none", req: request{method: "GET", url: "/api/v1/plans/date/2026-03-04", as: "analyst"}, status: 404},
		{name: "by bad date", req: request{method: "GET", url: "/api/v1/plans/date/soon", as: "analyst"}, status: 400, field: "date"},
		{name: "list", before: []request{makePlan}, req: request{method: "GET", url: "/api/v1/plans?from=2026-03-01&to=2026-03-05&status=draft", as: "analyst"}, status: 200, want: []string{`"id":"` + planID + `"`}},
		{name: "list bad status", req: request{method: "GET", url: "/api/v1/plans?status=open", as: "analyst"}, status: 400, field: "status"},
		{name: "list bad from", req: request{method: "GET", url: "/api/v1/plans?from=03/01/2026", as: "analyst"}, status: 400, field: "from"},
		{name: "route", before: []request{makePlan}, req: request{method: "GET", url: "/api/v1/routes/" + routeID, as: "analyst"}, status: 200, want: []string{`"truck_id":"T1"`}},
		{name: "route unknown", req: request{method: "GET", url: "/api/v1/routes/nope", as: "analyst"}, status: 404},

		{name: "drop", before: []request{makePlan}, req: request{method: "POST", url: "/api/v1/plans/" + planID + "/moves", body: `{"moves":[{"bin_id":"B1"}]}`, as: "supervisor"}, status: 200,
			want: []string{`"routes":[]`}, nope: []string{`"kind":"bin"`},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				es, _ := f.store.ListAudit(context.Background(), civic.AuditFilter{Action: "plan.move"})
				if len(es) != 1 || !strings.Contains(es[0].Detail, "B1") {
					t.Errorf("audit entries for plan.move: %+v", es)
				}
			}},
		{name: "move", before: []request{makePlan},
			req: request{method: "POST", url: "/api/v1/plans/" + planID + "/moves", body: `{"moves":[{"bin_id":"B1","to_route":"` + routeID + `"}]}`, as: "supervisor"}, status: 200,
			want: []string{`"kind":"bin"`, `"bin_id":"B1"`}},
		{name: "move unknown bin", before: []request{makePlan}, req: request{method: "POST", url: "/api/v1/plans/" + planID + "/moves", body: `{"moves":[{"bin_id":"B9"}]}`, as: "supervisor"}, status: 400, field: "moves[0].bin_id"},
		{name: "move to unknown route", before: []request{makePlan}, req: request{method: "POST", url: "/api/v1/plans/" + planID + "/moves", body: `{"moves":[{"bin_id":"B1","to_route":"r9"}]}`, as: "supervisor"}, status: 400, field: "moves[0].to_route"},
		{name: "move recycling to a trash route", before: []request{makePlan}, req: request{method: "POST", url: "/api/v1/plans/" + planID + "/moves", body: `{"moves":[{"bin_id":"B2","to_route":"` + routeID + `"}]}`, as: "supervisor"}, status: 400, field: "moves[0].to_route"},
		{name: "no moves", before: []request{makePlan}, req: request{method: "POST", url: "/api/v1/plans/" + planID + "/moves", body: `{"moves":[]}`, as: "supervisor"}, status: 400, field: "moves"},
		{name: "move unknown plan", req: request{method: "POST", url: "/api/v1/plans/nope/moves", body: `{"moves":[{"bin_id":"B1"}]}`, as: "supervisor"}, status: 404},
		{name: "move locked", before: []request{makePlan, lockPlan}, req: request{method: "POST", url: "/api/v1/plans/" + planID + "/moves", body: `{"moves":[{"bin_id":"B1"}]}`, as: "supervisor"}, status: 409},

		{name: "settings default", req: request{method: "GET", url: "/api/v1/plan-settings", as: "analyst"}, status: 200,
			want: []string{`"may_go_fill":0.6`, `"compost"`}, nope: []string{`"updated_at"`}},
		{name: "settings put", req: request{method: "PUT", url: "/api/v1/plan-settings", as: "supervisor", body: planSettingsBody(0.7)}, status: 200,
			want: []string{`"may_go_fill":0.7`, `"updated_by":"supervisor1"`, `"updated_at"`}},
		{name: "settings read back", before: []request{{method: "PUT", url: "/api/v1/plan-settings", as: "supervisor", body: planSettingsBody(0.75)}},
			req: request{method: "GET", url: "/api/v1/plan-settings", as: "key:read"}, status: 200, want: []string{`"may_go_fill":0.75`}},
		{name: "settings bad", req: request{method: "PUT", url: "/api/v1/plan-settings", as: "supervisor", body: planSettingsBody(1.5)}, status: 400, field: "default.may_go_fill"},
		{name: "settings crew", req: request{method: "PUT", url: "/api/v1/plan-settings", as: "crew", body: planSettingsBody(0.7)}, status: 403},
		{name: "settings risk", req: request{method: "PUT", url: "/api/v1/plan-settings", as: "supervisor", body: planRiskBody(0.25)}, status: 200,
			want: []string{`"overflow_risk":0.25`}},
		{name: "settings risk bad", req: request{method: "PUT", url: "/api/v1/plan-settings", as: "supervisor", body: planRiskBody(0.7)}, status: 400,
			field: "streams.compost.overflow_risk"},
		{name: "settings make the plan", before: []request{{method: "PUT", url: "/api/v1/plan-settings", as: "supervisor", body: mondaysOnly()}},
			req: makePlan, status: 201, want: []string{`"must_go":0`, `"skipped":2`, `"routes":[]`}},
		{name: "lock", before: []request{makePlan}, req: lockPlan, status: 200, want: []string{`"status":"locked"`}},
		{name: "lock twice", before: []request{makePlan, lockPlan}, req: lockPlan, status: 409},
		{name: "unlock", before: []request{makePlan, lockPlan}, req: request{method: "POST", url: "/api/v1/plans/" + planID + "/unlock", as: "supervisor"}, status: 200, want: []string{`"status":"draft"`}},
		{name: "crew cannot lock", before: []request{makePlan}, req: request{method: "POST", url: "/api/v1/plans/" + planID + "/lock", as: "crew"}, status: 403},

		{name: "my routes", before: []request{makePlan, lockPlan}, req: request{method: "GET", url: "/api/v1/me/routes?date=2026-03-03", as: "crew"}, status: 200, want: []string{`"id":"` + routeID + `"`, `"bin_id":"B1"`}},
		{name: "my routes of a draft", before: []request{makePlan}, req: request{method: "GET", url: "/api/v1/me/routes?date=2026-03-03", as: "crew"}, status: 200, want: []string{`"items":[]`}},
		{name: "my routes bad date", req: request{method: "GET", url: "/api/v1/me/routes?date=3.3.2026", as: "crew"}, status: 400, field: "date"},
		{name: "supervisor asks for a crew", before: []request{makePlan, lockPlan}, req: request{method: "GET", url: "/api/v1/me/routes?date=2026-03-03&crew=C1", as: "supervisor"}, status: 200, want: []string{`"id":"` + routeID + `"`}},
		{name: "crew asks for another crew", before: []request{{method: "POST", url: "/api/v1/crews", body: `{"id":"C2","name":"Crew 2","members":[]}`, as: "supervisor"}},
			req: request{method: "GET", url: "/api/v1/me/routes?crew=C2", as: "crew"}, status: 403},
		{name: "analyst has no route", req: request{method: "GET", url: "/api/v1/me/routes", as: "analyst"}, status: 403},

		{name: "report", before: []request{makePlan, lockPlan}, req: request{method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: reportBody, as: "crew"}, status: 201,
			want: []string{`"applied":true`, `"status":"collected"`}, after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				stopStatus(civic.StopCollected)(t, f, rec)
				as, _ := f.store.ListAlerts(context.Background(), civic.AlertFilter{BinID: "B1"})
				if len(as) != 1 || as[0].Status != civic.AlertResolved || as[0].Note != "emptied by crew C1" {
					t.Errorf("B1's alert after the report: %+v", as)
				}
			}},
		{name: "report again", before: []request{makePlan, lockPlan, {method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: reportBody, as: "crew"}},
			req: request{method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: reportBody, as: "crew"}, status: 200, want: []string{`"applied":false`, `"status":"collected"`},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				cs, _ := f.store.ListCollections(context.Background(), civic.CollectionFilter{BinID: "B1"})
				if len(cs) != 1 {
					t.Errorf("%d collections of B1, want 1", len(cs))
				}
			}},
		{name: "report skipped", before: []request{makePlan, lockPlan}, req: request{method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: `{"client_id":"p3","status":"skipped","skip_reason":"blocked"}`, as: "crew"}, status: 201,
			want: []string{`"skip_reason":"blocked"`}, after: stopStatus(civic.StopSkipped)},
		{name: "report without client id", before: []request{makePlan, lockPlan}, req: request{method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: `{"status":"collected"}`, as: "crew"}, status: 400, field: "client_id", after: stopStatus(civic.StopPending)},
		{name: "report bad status", before: []request{makePlan, lockPlan}, req: request{method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: `{"client_id":"p4","status":"emptied"}`, as: "crew"}, status: 400, field: "status"},
		{name: "report unknown stop", req: request{method: "POST", url: "/api/v1/stops/nope-s1/report", body: reportBody, as: "crew"}, status: 404},
		{name: "report another crew's stop", before: []request{makePlan, lockPlan, {method: "PATCH", url: "/api/v1/crews/C1", body: `{"members":["someone"]}`, as: "supervisor"}},
			req: request{method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: reportBody, as: "crew"}, status: 403, after: stopStatus(civic.StopPending)},
		{name: "report with photo", before: []request{makePlan, lockPlan},
			req: request{method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: form, as: "crew", header: map[string]string{"Content-Type": formType}}, status: 201, want: []string{`"applied":true`},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				b, ct, err := f.store.StopPhoto(context.Background(), stopID)
				if err != nil || ct != "image/png" || !bytes.Equal(b, pngPhoto) {
					t.Errorf("stored photo: %q %d bytes, %v", ct, len(b), err)
				}
			}},
		{name: "photo too large", before: []request{makePlan, lockPlan},
			req: request{method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: bigForm, as: "crew", header: map[string]string{"Content-Type": bigType}}, status: 413, field: "photo", after: stopStatus(civic.StopPending)},
		{name: "photo not an image", before: []request{makePlan, lockPlan},
			req: request{method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: textForm, as: "crew", header: map[string]string{"Content-Type": textType}}, status: 400, field: "photo", after: stopStatus(civic.StopPending)},
		{name: "photo", before: []request{makePlan, lockPlan, {method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: form, as: "crew", header: map[string]string{"Content-Type": formType}}},
			req: request{method: "GET", url: "/api/v1/stops/" + stopID + "/photo", as: "analyst"}, status: 200, want: []string{"PNG"}},
		{name: "no photo", req: request{method: "GET", url: "/api/v1/stops/nope/photo", as: "analyst"}, status: 404},

		{name: "collections", before: []request{makePlan, lockPlan, {method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: reportBody, as: "crew"}},
			req: request{method: "GET", url: "/api/v1/collections?bin=B1&from=2026-03-01T00:00:00Z&to=2026-03-05T00:00:00Z", as: "analyst"}, status: 200, want: []string{`"bin_id":"B1"`, `"source":"crew"`}},
		{name: "collections as WasteObserved", before: []request{makePlan, lockPlan, {method: "POST", url: "/api/v1/stops/" + stopID + "/report", body: reportBody, as: "crew"}},
			req: request{method: "GET", url: "/api/v1/collections?format=fiware", as: "key:read"}, status: 200,
			want: []string{`"type": "WasteObserved"`, `"refWasteContainer": "urn:ngsi-ld:WasteContainer:B1"`, `"refGarbageTruck": "urn:ngsi-ld:Vehicle:T1"`}},
		{name: "collections bad time", req: request{method: "GET", url: "/api/v1/collections?from=yesterday", as: "analyst"}, status: 400, field: "from"},
		{name: "collections bad format", req: request{method: "GET", url: "/api/v1/collections?format=csv", as: "analyst"}, status: 400, field: "format"},
		{name: "collections bad offset", req: request{method: "GET", url: "/api/v1/collections?offset=-1", as: "analyst"}, status: 400, field: "offset"},
	})
}

// planSettingsBody is civic's default planner settings with the default
// may-go fill set to mayGo.
func planSettingsBody(mayGo float64) string {
	ps := civic.DefaultPlanSettings()
	ps.Default.MayGoFill = mayGo
	b, _ := json.Marshal(ps)
	return string(b)
}

// planRiskBody is civic's default planner settings with compost's
// overflow risk set to risk.
func planRiskBody(risk float64) string {
	ps := civic.DefaultPlanSettings()
	c := ps.Streams[civic.StreamCompost]
	c.OverflowRisk = risk
	ps.Streams[civic.StreamCompost] = c
	b, _ := json.Marshal(ps)
	return string(b)
}

// mondaysOnly is civic's default planner settings with collection on
// Mondays only: the fixture's Tuesday plan then skips every bin.
func mondaysOnly() string {
	ps := civic.DefaultPlanSettings()
	ps.Default.ServiceDays = []time.Weekday{time.Monday}
	ps.Streams = nil
	b, _ := json.Marshal(ps)
	return string(b)
}

// TestCollectionPagesAPI: GET /api/v1/collections pages newest first and
// says where the next page starts, in next_offset and a Link header.
func TestCollectionPagesAPI(t *testing.T) {
	f := newFixture(t, server.Config{})
	ctx := context.Background()
	for i := range 3 {
		c := &civic.Collection{BinID: "B1", Time: testNow.Add(-time.Duration(i+1) * time.Hour), Source: "demo"}
		if err := f.store.RecordCollection(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var page struct {
		Items []struct {
			Time time.Time `json:"time"`
		}
		NextOffset *int `json:"next_offset"`
	}
	decode := func(rec *httptest.ResponseRecorder, v any) {
		t.Helper()
		if rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatal(err)
		}
	}
	rec := f.do(request{method: "GET", url: "/api/v1/collections?bin=B1&limit=2", as: "analyst"})
	decode(rec, &page)
	if len(page.Items) != 2 || !page.Items[0].Time.Equal(testNow.Add(-time.Hour)) || page.NextOffset == nil || *page.NextOffset != 2 {
		t.Fatalf("first page: %+v, next %v", page.Items, page.NextOffset)
	}
	if link := rec.Header().Get("Link"); link != `</api/v1/collections?bin=B1&limit=2&offset=2>; rel="next"` {
		t.Errorf("Link = %q", link)
	}
	page.NextOffset = nil
	rec = f.do(request{method: "GET", url: "/api/v1/collections?bin=B1&limit=2&offset=2", as: "analyst"})
	decode(rec, &page)
	if len(page.Items) != 1 || !page.Items[0].Time.Equal(testNow.Add(-3*time.Hour)) || page.NextOffset != nil || rec.Header().Get("Link") != "" {
		t.Errorf("last page: %+v, next %v, Link %q", page.Items, page.NextOffset, rec.Header().Get("Link"))
	}
}
