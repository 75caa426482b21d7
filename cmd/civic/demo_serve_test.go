package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// TestDemoServe starts `civic serve --demo` on a fresh data folder with
// three days of history and time running an hour a second and follows,
// through the API as the demo supervisor, what the demo's crews do: in the
// history, service days planned and their plans done by crews' reports;
// then a plan the crews are working (the history's last, or a live day's),
// its stops collected, and a collected bin's sensor reading low after the
// collection.
//
// The demo plans a day from 03:00 to 12:00 (simulated) and Sunday has no
// collection, so a start on a Saturday afternoon (UTC) waits for Monday
// morning: some 40 real seconds, after the history. The deadline leaves
// room for that.
func TestDemoServe(t *testing.T) {
	srv := startServe(t, "--data", t.TempDir(), "--demo", "--demo-days", "3", "--speed", "3600", "--plan-time", "3s")
	started := time.Now()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(path string, out any) int {
		t.Helper()
		resp, err := client.Get(srv.base + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK && out != nil {
			if err := json.Unmarshal(raw, out); err != nil {
				t.Fatalf("GET %s: decoding %q: %v", path, raw, err)
			}
		}
		return resp.StatusCode
	}
	body, _ := json.Marshal(map[string]string{"name": "supervisor", "password": demoPassword("supervisor")})
	resp, err := client.Post(srv.base+"/api/v1/session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("log in as the demo supervisor: status %d; logs:\n%s", resp.StatusCode, srv.logs)
	}

	type plan struct {
		ID, Date, Status string
		Routes           []struct{ ID string }
	}
	type collection struct {
		BinID string
		Time  time.Time
	}
	type collections struct {
		Items []struct {
			BinID  string    `json:"bin_id"`
			StopID string    `json:"stop_id"`
			PlanID string    `json:"plan_id"`
			Source string    `json:"source"`
			Time   time.Time `json:"time"`
		}
	}
	var (
		day, past plan
		collected []collection
	)
	deadline := started.Add(120 * time.Second)
	for {
		if time.Now().After(deadline) {
			t.Fatalf("after %s: history's plan %+v, plan %+v, %d collections, no collected bin read low since; logs:\n%s",
				time.Since(started).Round(time.Second), past, day, len(collected), srv.logs)
		}
		time.Sleep(500 * time.Millisecond)
		if past.ID == "" {
			// The history: a past service day planned, its routes worked
			// and the plan done, its stops collected by crews.
			var plans struct{ Items []plan }
			if code := get("/api/v1/plans?limit=10", &plans); code != http.StatusOK {
				t.Fatalf("list plans: status %d", code)
			}
			for _, p := range plans.Items {
				if p.Status == "done" && len(p.Routes) > 0 {
					past = p
				}
			}
			if past.ID == "" {
				continue
			}
			var cs collections
			if code := get("/api/v1/collections?plan="+url.QueryEscape(past.ID)+"&limit=500", &cs); code != http.StatusOK {
				t.Fatalf("list collections: status %d", code)
			}
			if len(cs.Items) == 0 {
				t.Fatalf("plan %s of the history is done with no collections", past.ID)
			}
			for _, c := range cs.Items {
				if c.Source != "crew" || c.StopID == "" || c.PlanID != past.ID {
					t.Fatalf("collection %+v of the history's plan %s: want a crew's, of one of its stops", c, past.ID)
				}
			}
			t.Logf("%s: the history's plan %s for %s is done, %d collections", time.Since(started).Round(time.Second), past.ID, past.Date, len(cs.Items))
		}
		if day.ID == "" {
			var plans struct{ Items []plan }
			if code := get("/api/v1/plans?limit=10", &plans); code != http.StatusOK {
				t.Fatalf("list plans: status %d", code)
			}
			for _, p := range plans.Items {
				// A plan the crews locked and work, with routes (a
				// Sunday's has none).
				if (p.Status == "locked" || p.Status == "in_progress") && len(p.Routes) > 0 {
					day = p
					t.Logf("%s: plan %s for %s, %s, %d routes", time.Since(started).Round(time.Second), p.ID, p.Date, p.Status, len(p.Routes))
					break
				}
			}
			continue
		}
		var cs collections
		if code := get("/api/v1/collections?plan="+url.QueryEscape(day.ID)+"&limit=20", &cs); code != http.StatusOK {
			t.Fatalf("list collections: status %d", code)
		}
		if len(cs.Items) > 0 && len(collected) == 0 {
			t.Logf("%s: %d collections", time.Since(started).Round(time.Second), len(cs.Items))
		}
		collected = collected[:0]
		for _, c := range cs.Items {
			if c.PlanID != day.ID || c.StopID == "" || c.Source != "crew" {
				t.Fatalf("collection %+v of plan %s: want a crew's, of a stop of the plan", c, day.ID)
			}
			collected = append(collected, collection{BinID: c.BinID, Time: c.Time})
		}
		// A collected bin whose sensor has spoken since reads nearly
		// empty on the map (one request for every bin: the API limits a
		// client's rate), and on the API.
		var snap struct{ Bins [][]any }
		if code := get("/map/bins.json", &snap); code != http.StatusOK {
			t.Fatalf("map data: status %d", code)
		}
		rows := map[string][]any{}
		for _, row := range snap.Bins {
			// [id, lat, lon, fill %|null, stream, zone, status, flags, last reading (Unix s)]
			if id, ok := row[0].(string); ok && len(row) > 8 {
				rows[id] = row
			}
		}
		for _, c := range collected {
			row, ok := rows[c.BinID]
			if !ok {
				continue
			}
			pct, okFill := row[3].(float64)
			read, okTime := row[8].(float64)
			if !okFill || !okTime || int64(read) <= c.Time.Unix() {
				continue // no reading since the collection yet
			}
			if pct >= 20 {
				t.Fatalf("bin %s collected at %s shows %v %% on the map, read at %s; want < 20 %%",
					c.BinID, c.Time, pct, time.Unix(int64(read), 0).UTC())
			}
			var bin struct {
				State *struct {
					Time time.Time `json:"time"`
					Fill *float64  `json:"fill"`
				} `json:"state"`
			}
			if code := get("/api/v1/bins/"+url.PathEscape(c.BinID), &bin); code != http.StatusOK {
				t.Fatalf("get bin %s: status %d", c.BinID, code)
			}
			if st := bin.State; st == nil || st.Fill == nil || !st.Time.After(c.Time) || *st.Fill >= 0.2 {
				t.Fatalf("bin %s collected at %s: state %+v, want a reading since below 0.2", c.BinID, c.Time, st)
			}
			t.Logf("%s: bin %s collected at %s reads %.2f at %s", time.Since(started).Round(time.Second),
				c.BinID, c.Time.Format(time.TimeOnly), *bin.State.Fill, bin.State.Time.Format(time.TimeOnly))
			return
		}
	}
}

// TestServeSimulation: on a running server, the demo supervisor simulates
// the city's own bins from the simulations page: the run is stored
// running, then done with its report, while the server goes on serving;
// SIGTERM during a second run stops it, stored as stopped.
func TestServeSimulation(t *testing.T) {
	data := t.TempDir()
	srv := startServe(t, "--data", data, "--demo", "--demo-days", "2", "--plan-time", "200ms")
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Jar: jar, Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	// The history is ready once the demo's readings reach the present.
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(srv.logs.String(), "demo: history ready") {
		if time.Now().After(deadline) {
			t.Fatalf("the demo history was not ready in 2 minutes; logs:\n%s", srv.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := client.PostForm(srv.base+"/login", url.Values{"name": {"supervisor"}, "password": {demoPassword("supervisor")}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	start := func(days string) string {
		t.Helper()
		resp, err := client.PostForm(srv.base+"/simulations", url.Values{"days": {days}, "history_days": {"2"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		page := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(page, "/simulations/sim-") {
			t.Fatalf("POST /simulations: %d to %q; logs:\n%s", resp.StatusCode, page, srv.logs)
		}
		return page
	}
	read := func(path string) string {
		t.Helper()
		resp, err := client.Get(srv.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		return string(b)
	}
	page := start("7")
	began := time.Now()
	for body := read(page); !strings.Contains(body, `id="simreport"`); body = read(page) {
		if strings.Contains(body, `class="error"`) || time.Since(began) > 3*time.Minute {
			t.Fatalf("run %s: not done after %s:\n%s\nlogs:\n%s", page, time.Since(began).Round(time.Second), body, srv.logs)
		}
		if code := func() int { // the server goes on serving meanwhile
			resp, err := client.Get(srv.base + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}(); code != http.StatusOK {
			t.Fatalf("GET /healthz during the run: %d", code)
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Logf("7 days of the demo city's 1,000 bins simulated in %s", time.Since(began).Round(time.Second))
	if report := read(page + "/report"); !strings.Contains(report, "A simulation of the city's own 1000 bins") {
		t.Errorf("the report does not say it simulated the city's own bins")
	}

	// The API starts the second, and follows it.
	resp, err = client.Post(srv.base+"/api/v1/simulations", "application/json", strings.NewReader(`{"days":365,"history_days":2,"name":"A year","crew_eur_h":55}`))
	if err != nil {
		t.Fatal(err)
	}
	var started struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	err = json.NewDecoder(resp.Body).Decode(&started)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusAccepted || started.Status != "running" ||
		resp.Header.Get("Location") != "/api/v1/simulations/"+started.ID {
		t.Fatalf("POST /api/v1/simulations: %d, %+v (%v), Location %q", resp.StatusCode, started, err, resp.Header.Get("Location"))
	}
	if body := read("/api/v1/simulations/" + started.ID); !strings.Contains(body, `"name":"A year"`) || !strings.Contains(body, `"status":"running"`) ||
		!strings.Contains(body, `"crew_eur_h":55,`) {
		t.Errorf("GET the run under way: %s", body)
	}
	page = "/simulations/" + started.ID
	time.Sleep(time.Second)
	if err := srv.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := srv.cmd.Wait(); err != nil {
		t.Fatalf("civic serve after SIGTERM: %v; logs:\n%s", err, srv.logs)
	}
	st, err := store.Open(context.Background(), "sqlite:"+filepath.Join(data, "civic.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	run, err := st.Simulation(context.Background(), strings.TrimPrefix(page, "/simulations/"))
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != civic.SimulationFailed || !strings.HasPrefix(run.Error, "Stopped: the server shut down") {
		t.Errorf("the run SIGTERM stopped is stored %q, %q", run.Status, run.Error)
	}
}
