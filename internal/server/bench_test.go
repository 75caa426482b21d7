package server_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/server"
)

// BenchmarkIngestHTTP measures POST /api/v1/readings through the whole
// middleware stack into the real writer and SQLite store, 1,000 readings a
// request. Its readings/s metric is comparable with the ingest target.
func BenchmarkIngestHTTP(b *testing.B) {
	f := newFixture(b, server.Config{})
	const batch = 1000
	start := testNow.Add(-20 * time.Hour)
	bodies := make([]string, 0, b.N)
	for i := range b.N {
		var sb strings.Builder
		sb.WriteString(`{"readings":[`)
		for j := range batch {
			if j > 0 {
				sb.WriteByte(',')
			}
			t := start.Add(time.Duration(i*batch+j) * time.Millisecond).Format(time.RFC3339Nano)
			sb.WriteString(`{"device":"S` + strconv.Itoa(1+j%2) + `","time":"` + t + `","fill":0.5,"battery":0.9}`)
		}
		sb.WriteString(`]}`)
		bodies = append(bodies, sb.String())
	}
	auth := "Bearer " + f.keys["key:ingest"]
	b.ResetTimer()
	for i := range b.N {
		r := httptest.NewRequest("POST", "/api/v1/readings", strings.NewReader(bodies[i]))
		r.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, r)
		if rec.Code != http.StatusAccepted {
			b.Fatalf("status %d: %s", rec.Code, rec.Body.String())
		}
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "readings/s")
}
