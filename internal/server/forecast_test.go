package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/forecast"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/server"
)

// withForecast rebuilds f's server with a forecast service over f's store,
// fed by an ingest writer's commit hook as civic serve wires it. With
// train, the service is started and its first training awaited; without,
// it is never started, as if its first training were still running.
func withForecast(t *testing.T, f *fixture, train bool) *forecast.Service {
	t.Helper()
	now := func() time.Time { return testNow }
	svc := forecast.NewService(f.store, f.store, forecast.ServiceOptions{Now: now, Logger: slog.New(slog.DiscardHandler)})
	w := ingest.NewWriter(f.store, f.store, ingest.WriterOptions{Now: now, OnCommit: svc.Observe})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if train {
		if err := svc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for svc.Stats().Trainings == 0 {
			if time.Now().After(deadline) {
				t.Fatal("the forecast service did not train within 10 s")
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.Close(ctx)
		svc.Close(ctx)
	})
	f.srv = server.New(server.Config{}, server.Deps{
		Store: f.store, Ingester: w, Auth: f.auth, Now: now, Pages: testPages(), Forecaster: svc,
		Logger: slog.New(slog.NewJSONHandler(f.logBuf, nil)),
	})
	f.h = f.srv.Handler()
	return svc
}

func trainedForecast(t *testing.T, f *fixture) { withForecast(t, f, true) }

// decodeForecast decodes a forecast answer.
func decodeForecast(t *testing.T, rec *httptest.ResponseRecorder) civic.Forecast {
	t.Helper()
	var fc civic.Forecast
	if err := json.Unmarshal(rec.Body.Bytes(), &fc); err != nil {
		t.Fatalf("forecast %q: %v", rec.Body.String(), err)
	}
	return fc
}

func TestForecastAPI(t *testing.T) {
	ingestS2 := request{method: "POST", url: "/api/v1/readings", body: readingsBody("S2", testNow.Add(-30*time.Minute), rising(10, 25)...), as: "key:ingest"}
	get := func(id, as string) request {
		return request{method: "GET", url: "/api/v1/bins/" + id + "/forecast", as: as}
	}
	runScenarios(t, []scenario{
		// B2's sensor S2 (percent) read 10% rising 2%/h for 12 hours.
		{name: "forecast", before: []request{ingestS2}, setup: trainedForecast, req: get("B2", "analyst"), status: 200,
			want: []string{`"bin_id":"B2"`, `"threshold":0.9`, `"now":"2026-03-02T12:00:00Z"`, `"horizon_hours":336`},
			after: func(t *testing.T, f *fixture, rec *httptest.ResponseRecorder) {
				fc := decodeForecast(t, rec)
				if fc.FullAt == nil || fc.FullAtLow == nil || fc.FullAtHigh == nil || fc.HoursToFull == nil {
					t.Fatalf("forecast %+v: want full_at and its band", fc)
				}
				if !fc.FullAt.After(testNow) || fc.FullAtLow.After(*fc.FullAt) || fc.FullAt.After(*fc.FullAtHigh) {
					t.Errorf("full_at %v, band %v .. %v: want after now and inside the band", fc.FullAt, fc.FullAtLow, fc.FullAtHigh)
				}
				if *fc.HoursToFull < 15 || *fc.HoursToFull > 60 || fc.Fill < 0.3 || fc.Fill > 0.4 || fc.RatePerHour <= 0 || fc.Samples != 25 {
					t.Errorf("forecast %+v: want about 34%% full, rising 2%%/h: full in about 28 h, from 25 readings", fc)
				}
			}},
		// The fixture's B1 read 20, 50 and 80% over the last three hours:
		// full by now.
		{name: "already full", setup: trainedForecast, req: get("B1", "analyst"), status: 200,
			want: []string{`"full_at":"2026-03-02T12:00:00Z"`, `"full_at_low":"2026-03-02T12:00:00Z"`, `"hours_to_full":0`}},
		{name: "read key", setup: trainedForecast, req: get("B1", "key:read"), status: 200, want: []string{`"full_at":"2026-03-02T`}},
		{name: "crew may read", setup: trainedForecast, req: get("B1", "crew"), status: 200},
		{name: "bin without readings", setup: trainedForecast, req: get("B2", "analyst"), status: 404, want: []string{"no fill reading"}},
		{name: "unknown bin", setup: trainedForecast, req: get("B404", "analyst"), status: 404, want: []string{`"code":"not_found"`}},
		{name: "malformed id", setup: trainedForecast, req: get("..x", "analyst"), status: 404},
		{name: "anonymous", setup: trainedForecast, req: get("B1", ""), status: 401},
		{name: "ingest key may not read", setup: trainedForecast, req: get("B1", "key:ingest"), status: 403},
		{name: "still training", setup: func(t *testing.T, f *fixture) { withForecast(t, f, false) },
			req: get("B1", "analyst"), status: 503, want: []string{`"code":"unavailable"`, "still training"}},
		{name: "no forecaster", req: get("B1", "analyst"), status: 503, want: []string{"not enabled"}},
		{name: "wrong method", setup: trainedForecast, req: request{method: "POST", url: "/api/v1/bins/B1/forecast", as: "admin"}, status: 405},
	})
}

// readingsBody is a batch of device's readings at the given fills, the last
// at end and the others every 30 minutes before.
func readingsBody(device string, end time.Time, fills ...float64) string {
	var rs []string
	for i, v := range fills {
		at := end.Add(-time.Duration(len(fills)-1-i) * 30 * time.Minute).Format(time.RFC3339)
		rs = append(rs, fmt.Sprintf(`{"device":%q,"time":%q,"fill":%g}`, device, at, v))
	}
	return `{"readings":[` + strings.Join(rs, ",") + `]}`
}

// rising returns n fills from start, one more each.
func rising(start float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = start + float64(i)
	}
	return out
}

// TestForecastFollowsIngest ingests history through the API, trains, and
// checks that readings ingested afterwards reach the forecast through the
// writer's commit hook.
func TestForecastFollowsIngest(t *testing.T) {
	f := newFixture(t, server.Config{})
	// B2's sensor S2 reports percent: 12 hours rising 2%/h to 34%.
	f.do(request{method: "POST", url: "/api/v1/readings", body: readingsBody("S2", testNow.Add(-30*time.Minute), rising(10, 25)...), as: "key:ingest"})
	svc := withForecast(t, f, true)
	if got := svc.Stats().Readings; got != 28 {
		t.Fatalf("trained on %d readings, want 28 (3 of B1, 25 of B2)", got)
	}
	rec := f.do(request{method: "GET", url: "/api/v1/bins/B2/forecast", as: "analyst"})
	if rec.Code != 200 {
		t.Fatalf("B2: %d %s", rec.Code, rec.Body.String())
	}
	b2 := decodeForecast(t, rec)
	if b2.HoursToFull == nil || *b2.HoursToFull < 15 || *b2.HoursToFull > 60 || b2.Fill < 0.3 || b2.Fill > 0.4 {
		t.Errorf("B2 %+v: want about 34%% full, rising 2%%/h: full in about 28 h", b2)
	}

	// B1 is emptied and reads low again: the forecast starts over.
	before := decodeForecast(t, f.do(request{method: "GET", url: "/api/v1/bins/B1/forecast", as: "analyst"}))
	rec = f.do(request{method: "POST", url: "/api/v1/readings", body: readingsBody("S1", testNow.Add(-time.Minute), 0.03, 0.04, 0.05, 0.05), as: "key:ingest"})
	if rec.Code != 202 {
		t.Fatalf("ingest: %d %s", rec.Code, rec.Body.String())
	}
	deadline := time.Now().Add(5 * time.Second)
	for svc.Stats().Observed < 4 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	after := decodeForecast(t, f.do(request{method: "GET", url: "/api/v1/bins/B1/forecast", as: "analyst"}))
	if !(before.Fill > 0.8 && after.Fill < 0.15) || after.HoursToFull == nil || before.HoursToFull == nil || *after.HoursToFull <= *before.HoursToFull {
		t.Errorf("B1 before the emptying %+v, after %+v: want the fill to drop and the time to full to grow", before, after)
	}
}
