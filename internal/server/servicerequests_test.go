package server_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/open311"
	"github.com/civic-city/civic/internal/server"
)

// with311 rebuilds f's server with the 311 desk and GeoReport handler, as
// civic serve wires them.
func with311(t testing.TB, f *fixture) *open311.Desk {
	t.Helper()
	desk := open311.NewDesk(open311.Options{Store: f.store, Now: func() time.Time { return testNow },
		AnonymousRate: rate.Inf, KeyRate: rate.Inf,
		BinExists: func(ctx context.Context, id string) (bool, error) {
			_, err := f.store.Bin(ctx, id)
			if civic.IsKind(err, civic.NotFound) {
				return false, nil
			}
			return err == nil, err
		}})
	if err := desk.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	geo := open311.NewHandler(open311.HandlerOptions{Desk: desk, Keys: f.auth.KeyPrincipal, ClientIP: server.ClientIP,
		Now: func() time.Time { return testNow }})
	f.srv = server.New(server.Config{}, server.Deps{Store: f.store, Ingester: f.ingester, Auth: f.auth,
		Now: func() time.Time { return testNow }, Pages: testPages(), Planner: f.planner, ServiceDesk: desk, Open311: geo,
		Logger: slog.New(slog.DiscardHandler)})
	f.h = f.srv.Handler()
	return desk
}

func TestServiceRequestAPI(t *testing.T) {
	f := newFixture(t, server.Config{})
	with311(t, f)
	ctx := context.Background()
	secret, _, err := f.auth.CreateAPIKey(ctx, "311 app", []civic.Scope{civic.ScopeOpen311}, "test")
	if err != nil {
		t.Fatal(err)
	}
	decode := func(rec *httptest.ResponseRecorder, v any) {
		t.Helper()
		if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
			t.Fatalf("%v: %s", err, rec.Body)
		}
	}
	expect := func(rec *httptest.ResponseRecorder, status int, what string) {
		t.Helper()
		if rec.Code != status {
			t.Fatalf("%s: %d, want %d: %s", what, rec.Code, status, rec.Body)
		}
	}

	// The catalogue: public to read, admins change it.
	rec := f.do(request{method: "GET", url: "/api/v1/services"})
	expect(rec, 200, "list services")
	var list struct{ Items []civic.Service }
	decode(rec, &list)
	if len(list.Items) != 8 {
		t.Errorf("catalogue has %d services, want the 8 defaults", len(list.Items))
	}
	expect(f.do(request{method: "GET", url: "/api/v1/services?all=true", as: "analyst"}), 200, "all services")
	expect(f.do(request{method: "GET", url: "/api/v1/services/pothole"}), 200, "get service")
	expect(f.do(request{method: "GET", url: "/api/v1/services/nope"}), 404, "missing service")
	tree := `{"code":"fallen-tree","name":"Fallen tree","group":"parks","department":"parks","sla_hours":48,"active":true,
		"attributes":[{"code":"blocking","variable":true,"datatype":"singlevaluelist","required":true,"order":1,"description":"Is it blocking the road?",
		"values":[{"key":"yes","name":"Yes"},{"key":"no","name":"No"}]}]}`
	expect(f.do(request{method: "POST", url: "/api/v1/services", body: tree, as: "supervisor"}), 403, "supervisor adds a service")
	expect(f.do(request{method: "POST", url: "/api/v1/services", body: tree, as: "admin"}), 201, "admin adds a service")
	expect(f.do(request{method: "POST", url: "/api/v1/services", body: tree, as: "admin"}), 409, "twice")
	rec = f.do(request{method: "POST", url: "/api/v1/services", as: "admin",
		body: `{"code":"x","name":"X","attributes":[{"code":"a","variable":true,"datatype":"colour","order":1,"description":"?"}]}`})
	expect(rec, 400, "bad datatype")
	if _, _, field := errorOf(t, rec); field != "attributes[0].datatype" {
		t.Errorf("bad datatype names %q", field)
	}
	expect(f.do(request{method: "PUT", url: "/api/v1/services/fallen-tree", as: "admin",
		body: strings.Replace(tree, `"Fallen tree"`, `"Fallen tree or branch"`, 1)}), 200, "put service")
	expect(f.do(request{method: "PUT", url: "/api/v1/services/none", body: strings.Replace(tree, `"fallen-tree"`, `"none"`, 1), as: "admin"}), 404, "put missing")

	// A resident's app reports through GeoReport, through the server's
	// middleware.
	post := func(form url.Values) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/open311/v2/requests.json", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, r)
		return rec
	}
	form := url.Values{"api_key": {secret}, "service_code": {"overflowing-bin"}, "lat": {"42.36"}, "long": {"-71.06"},
		"attribute[bin_kind]": {"litter"}, "service_object_type": {"bin"}, "service_object_id": {"B1"}, "email": {"res@example.org"}}
	rec = post(form)
	expect(rec, 200, "GeoReport POST")
	var created []struct {
		ID string `json:"service_request_id"`
	}
	decode(rec, &created)
	id := created[0].ID
	form.Set("service_object_id", "B404")
	if rec := post(form); rec.Code != 400 || !strings.Contains(rec.Body.String(), "service_object_id") {
		t.Errorf("unknown bin: %d %s", rec.Code, rec.Body)
	}
	form.Set("service_object_id", "B2")
	form.Set("lat", "42.30")
	form.Set("long", "-71.00")
	decode(post(form), &created)
	id2 := created[0].ID

	// The staff queue.
	expect(f.do(request{method: "GET", url: "/api/v1/service-requests"}), 401, "anonymous queue")
	expect(f.do(request{method: "GET", url: "/api/v1/service-requests", as: "analyst"}), 403, "analyst queue")
	rec = f.do(request{method: "GET", url: "/api/v1/service-requests?status=open&service=overflowing-bin", as: "supervisor"})
	expect(rec, 200, "queue")
	var queue struct {
		Items []struct {
			ID      string        `json:"id"`
			Contact civic.Contact `json:"contact"`
			Overdue bool          `json:"overdue"`
		}
	}
	decode(rec, &queue)
	if len(queue.Items) != 2 || queue.Items[1].ID != id || queue.Items[1].Contact.Email != "res@example.org" {
		t.Errorf("queue = %+v", queue.Items)
	}
	expect(f.do(request{method: "GET", url: "/api/v1/service-requests?status=lost", as: "supervisor"}), 400, "bad status")
	rec = f.do(request{method: "GET", url: "/api/v1/service-requests?bin=B1&overdue=false&limit=10", as: "supervisor"})
	decode(rec, &queue)
	if len(queue.Items) != 1 || queue.Items[0].ID != id {
		t.Errorf("bin filter = %+v", queue.Items)
	}
	// Pages: next_offset says where the next one starts, and the last
	// has none.
	var page struct {
		Items []struct {
			ID string `json:"id"`
		}
		NextOffset *int `json:"next_offset"`
	}
	decode(f.do(request{method: "GET", url: "/api/v1/service-requests?limit=1", as: "supervisor"}), &page)
	if len(page.Items) != 1 || page.Items[0].ID != id2 || page.NextOffset == nil || *page.NextOffset != 1 {
		t.Errorf("first page of 1 = %+v, next %v", page.Items, page.NextOffset)
	}
	page.NextOffset = nil
	decode(f.do(request{method: "GET", url: "/api/v1/service-requests?limit=1&offset=1", as: "supervisor"}), &page)
	if len(page.Items) != 1 || page.Items[0].ID != id || page.NextOffset != nil {
		t.Errorf("last page = %+v, next %v", page.Items, page.NextOffset)
	}
	rec = f.do(request{method: "GET", url: "/api/v1/service-requests?moderation=held&limit=1", as: "supervisor"})
	expect(rec, 200, "held")
	decode(rec, &queue)
	if len(queue.Items) != 0 {
		t.Errorf("held = %+v, want none", queue.Items)
	}
	for _, c := range []struct{ query, field string }{{"moderation=spam", "moderation"}, {"zone=nowhere", "zone"}} {
		rec = f.do(request{method: "GET", url: "/api/v1/service-requests?" + c.query, as: "supervisor"})
		expect(rec, 400, c.query)
		if _, _, field := errorOf(t, rec); field != c.field {
			t.Errorf("%s names %q, want %s", c.query, field, c.field)
		}
	}

	// Workflow by the API: one request, then in bulk.
	act := func(id, body string) *httptest.ResponseRecorder {
		return f.do(request{method: "POST", url: "/api/v1/service-requests/" + id + "/actions", body: body, as: "supervisor"})
	}
	expect(act(id, `{"action":"assign","department":"sanitation","assigned_to":"crew:C1"}`), 200, "assign")
	rec = act(id, `{"action":"close"}`)
	expect(rec, 400, "close without reason")
	if _, _, field := errorOf(t, rec); field != "reason" {
		t.Errorf("close without reason names %q", field)
	}
	expect(act("999", `{"action":"start"}`), 404, "missing request")
	expect(act(id, `{"action":"note","text":"lid jammed","public":false}`), 200, "internal note")
	rec = f.do(request{method: "POST", url: "/api/v1/service-requests/actions", as: "supervisor",
		body: `{"ids":["` + id + `","` + id2 + `","999"],"action":{"action":"close","reason":"fixed","text":"Emptied."}}`})
	expect(rec, 200, "bulk close")
	var bulk struct {
		Results []struct {
			ID, Status string
			OK         bool
			Error      *struct{ Code string }
		}
	}
	decode(rec, &bulk)
	if len(bulk.Results) != 3 || !bulk.Results[0].OK || !bulk.Results[1].OK || bulk.Results[2].OK ||
		bulk.Results[2].Error == nil || bulk.Results[2].Error.Code != "not_found" {
		t.Errorf("bulk = %+v", bulk.Results)
	}
	expect(f.do(request{method: "POST", url: "/api/v1/service-requests/actions", as: "supervisor", body: `{"ids":[],"action":{"action":"start"}}`}), 400, "bulk without ids")

	rec = f.do(request{method: "GET", url: "/api/v1/service-requests/" + id, as: "supervisor"})
	expect(rec, 200, "get request")
	var detail struct {
		Status string
		Notes  []civic.RequestNote
	}
	decode(rec, &detail)
	if detail.Status != "closed" || len(detail.Notes) < 4 {
		t.Errorf("detail = %+v", detail)
	}

	// The public view through GeoReport: closed, the public note, no
	// internal note, no contact.
	r := httptest.NewRequest("GET", "/open311/v2/requests/"+id+".json?extensions=true", nil)
	out := httptest.NewRecorder()
	f.h.ServeHTTP(out, r)
	body := out.Body.String()
	if out.Code != 200 || !strings.Contains(body, `"status":"closed"`) || !strings.Contains(body, "Emptied.") ||
		strings.Contains(body, "lid jammed") || strings.Contains(body, "res@example.org") || strings.Contains(body, "crew:C1") {
		t.Errorf("public view: %d %s", out.Code, body)
	}
	if strings.Contains(f.logBuf.String(), "internal error") {
		t.Errorf("internal errors logged: %s", f.logBuf.String())
	}
	_ = http.StatusOK
}

// TestServiceRequestAPIOff checks the 311 routes answer 503 without a
// desk.
func TestServiceRequestAPIOff(t *testing.T) {
	f := newFixture(t, server.Config{})
	rec := f.do(request{method: "GET", url: "/api/v1/service-requests", as: "supervisor"})
	if rec.Code != 503 {
		t.Errorf("without a desk: %d %s", rec.Code, rec.Body)
	}
}
