package server_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// kpiHistory records the week before the fixture's Monday: B1 emptied on
// Tuesday and Thursday (fill 0.4, and 1: full to the top, an overflow
// incident), B2 on Friday (0.3).
func kpiHistory(t *testing.T, f *fixture) {
	t.Helper()
	for _, c := range []civic.Collection{
		{BinID: "B1", Time: time.Date(2026, 2, 24, 9, 0, 0, 0, time.UTC), FillBefore: ptr(0.4), Source: "demo"},
		{BinID: "B1", Time: time.Date(2026, 2, 26, 9, 0, 0, 0, time.UTC), FillBefore: ptr(1.0), Source: "demo"},
		{BinID: "B2", Time: time.Date(2026, 2, 27, 9, 0, 0, 0, time.UTC), FillBefore: ptr(0.3), Source: "demo"},
	} {
		if err := f.store.RecordCollection(context.Background(), &c); err != nil {
			t.Fatal(err)
		}
	}
}

func TestKPIs(t *testing.T) {
	report := func(check func(*testing.T, civic.KPIReport)) func(*testing.T, *fixture, *httptest.ResponseRecorder) {
		return func(t *testing.T, _ *fixture, rec *httptest.ResponseRecorder) {
			var rep civic.KPIReport
			if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			check(t, rep)
		}
	}
	runScenarios(t, []scenario{
		{name: "analyst, the week before and today", setup: kpiHistory,
			req: request{method: "GET", url: "/api/v1/kpi?from=2026-02-23&to=2026-03-02", as: "analyst"}, status: 200,
			want: []string{`"from":"2026-02-23"`, `"to":"2026-03-02"`, `"week":"2026-02-23"`, `"week":"2026-03-02"`, `"zone_id":"Z1"`},
			after: report(func(t *testing.T, rep civic.KPIReport) {
				// The bins were registered on Monday 2 without an
				// installation date: they count from their first
				// collection, Mon-Sat. B1 from Tue 24: 5 days and Monday
				// 2; B2 from Fri 27: 2 and Monday 2.
				if tot := rep.Total; tot.Collections != 3 || tot.Baseline != 9 || tot.Avoided != 6 || tot.Overflows != 1 ||
					tot.FillN != 3 || tot.FillUnderHalf != 2 || len(rep.Weeks) != 2 || rep.Weeks[0].Overflows != 1 {
					t.Errorf("report %+v", rep)
				}
				if rep.Fleet.Devices != 2 {
					t.Errorf("fleet %+v", rep.Fleet)
				}
			})},
		{name: "read key, one zone", setup: kpiHistory,
			req: request{method: "GET", url: "/api/v1/kpi?from=2026-02-23&to=2026-03-01&zone=Z1", as: "key:read"}, status: 200,
			want: []string{`"zone":"Z1"`, `"collections":2`}},
		{name: "defaults", req: request{method: "GET", url: "/api/v1/kpi", as: "supervisor"}, status: 200,
			want: []string{`"from":"2026-01-05"`, `"to":"2026-03-01"`, `"schedule":{`}},
		{name: "crews may not", req: request{method: "GET", url: "/api/v1/kpi", as: "crew"}, status: 403},
		{name: "anonymous", req: request{method: "GET", url: "/api/v1/kpi"}, status: 401},
		{name: "bad date", req: request{method: "GET", url: "/api/v1/kpi?from=2026-02-30", as: "analyst"}, status: 400, field: "from"},
		{name: "reversed", req: request{method: "GET", url: "/api/v1/kpi?from=2026-03-01&to=2026-02-01", as: "analyst"}, status: 400, field: "from"},
		{name: "unknown zone", req: request{method: "GET", url: "/api/v1/kpi?zone=Z9", as: "analyst"}, status: 400, field: "zone"},
	})
}
