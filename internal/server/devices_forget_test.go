package server_test

import (
	"net/http"
	"testing"

	"github.com/civic-city/civic/internal/server"
)

// TestDeviceChangeReachesIngest checks that a device retired through the API
// is refused by ingest at once, not after the Writer's registry cache
// expires, and that a device created after a refused reading is accepted at
// once.
func TestDeviceChangeReachesIngest(t *testing.T) {
	f := newFixture(t, server.Config{})
	reading := func(device, at string) request {
		return request{method: "POST", url: "/api/v1/readings", as: "key:ingest",
			body: `{"readings":[{"device":"` + device + `","time":"` + at + `","fill":0.5}]}`}
	}
	if rec := f.do(reading("S1", "2026-03-02T09:00:00Z")); rec.Code != http.StatusAccepted {
		t.Fatalf("first reading: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(request{method: "PATCH", url: "/api/v1/devices/S1", as: "admin", body: `{"status":"inactive"}`}); rec.Code != http.StatusOK {
		t.Fatalf("retire S1: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(reading("S1", "2026-03-02T09:05:00Z")); rec.Code != http.StatusBadRequest {
		t.Errorf("reading of a retired device: %d, want 400 at once", rec.Code)
	}

	if rec := f.do(reading("S9", "2026-03-02T09:00:00Z")); rec.Code != http.StatusBadRequest {
		t.Fatalf("reading of an unknown device: %d, want 400", rec.Code)
	}
	if rec := f.do(request{method: "POST", url: "/api/v1/devices", as: "admin", body: `{"id":"S9","bin_id":"B1"}`}); rec.Code != http.StatusCreated {
		t.Fatalf("create S9: %d %s", rec.Code, rec.Body)
	}
	if rec := f.do(reading("S9", "2026-03-02T09:01:00Z")); rec.Code != http.StatusAccepted {
		t.Errorf("reading of a device just registered: %d %s, want 202 at once", rec.Code, rec.Body)
	}
}
