package server_test

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// TestMetricsLabelsBounded sends requests with invented methods and paths
// (API, pages, streams, nonsense) and checks that /metrics stays the same
// size: no label takes its value from the request. Pages and streams, served
// by a mux of their own behind the catch-all route, are labelled by their
// own patterns.
func TestMetricsLabelsBounded(t *testing.T) {
	st := storetest.Open(t, store.EngineSQLite, store.Options{})
	pages := http.NewServeMux()
	pages.HandleFunc("GET /bins/{id}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "bin page") })
	pages.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "stream") })
	srv := server.New(server.Config{AnonymousRate: rate.Inf, AnonymousBurst: 1}, server.Deps{
		Store: st, Auth: auth.New(st, auth.Options{Params: auth.TestParams}), Pages: pages,
	})
	h := srv.Handler()
	send := func(method, path string) {
		t.Helper()
		req := httptest.NewRequest("GET", path, nil)
		req.Method = method
		h.ServeHTTP(httptest.NewRecorder(), req)
	}
	series := func() (lines int, body string) {
		t.Helper()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		if rec.Code != http.StatusOK {
			t.Fatalf("/metrics: status %d", rec.Code)
		}
		for l := range strings.SplitSeq(rec.Body.String(), "\n") {
			if strings.HasPrefix(l, "civic_http_") {
				lines++
			}
		}
		return lines, rec.Body.String()
	}

	rng := rand.New(rand.NewPCG(1, 2))
	invent := func(i int) (string, string) {
		method := fmt.Sprintf("M%dX%d", i, rng.IntN(1e6))
		paths := []string{
			fmt.Sprintf("/api/v1/bins/B-%d", i),
			fmt.Sprintf("/api/v1/nope-%d/%d", i, rng.IntN(1e6)),
			fmt.Sprintf("/bins/B-%d", i),
			fmt.Sprintf("/events?x=%d", i),
			fmt.Sprintf("/random-%d/%d", i, rng.IntN(1e6)),
			fmt.Sprintf("/static/%d.js", i),
		}
		return method, paths[i%len(paths)]
	}
	// A warm-up round with every kind of request: the series it makes
	// are the fixed set.
	for i := range 60 {
		method, path := invent(i)
		send(method, path)
		send("GET", path)
		send("DELETE", path)
	}
	series() // the scrape itself is a series too
	before, body := series()
	first := body
	for _, want := range []string{`route="GET /bins/{id}"`, `route="GET /events"`, `route="GET /api/v1/bins/{id}"`, `route="unmatched"`, `method="other"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics has no series with %s", want)
		}
	}
	if strings.Contains(body, `route="/"`) || strings.Contains(body, `route="GET /"`) {
		t.Errorf("pages labelled with the catch-all route \"/\"")
	}
	for i := 60; i < 3060; i++ {
		method, path := invent(i)
		send(method, path)
		send("GET", path)
		send("DELETE", path)
	}
	after, body := series()
	if after != before {
		t.Errorf("civic_http_ series lines grew from %d to %d after 9,000 invented requests; new:\n%s", before, after, newSeries(first, body))
	}
	if strings.Contains(body, "M3000X") || strings.Contains(body, "B-3000") || strings.Contains(body, "random-") {
		t.Errorf("a request's method or path reached /metrics:\n%s", body)
	}
}

// newSeries lists the series of after that before has not.
func newSeries(before, after string) string {
	had := map[string]bool{}
	for l := range strings.SplitSeq(before, "\n") {
		had[seriesName(l)] = true
	}
	var out []string
	for l := range strings.SplitSeq(after, "\n") {
		if name := seriesName(l); !had[name] && strings.HasPrefix(l, "civic_http_") {
			out = append(out, name)
		}
	}
	return strings.Join(out, "\n")
}

// seriesName is an exposition line without its value.
func seriesName(line string) string {
	if i := strings.LastIndexByte(line, ' '); i >= 0 {
		return line[:i]
	}
	return line
}
