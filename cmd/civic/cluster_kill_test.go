package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// TestTwoNodesKill runs two `civic serve` nodes on one PostgreSQL
// database. Node A starts first: it holds the alert sweep lock and, its
// nightly plan due and given a long solver budget, the nightly plan lock
// while it plans. HTTP senders post to A; A is SIGKILLed in the middle of
// it, and the senders move to B (as a load balancer would) and resend
// what A did not acknowledge. Then every acknowledged reading is in the
// database once, and B has taken over the singleton jobs: it sweeps
// alerts and makes the nightly plan A never finished.
func TestTwoNodesKill(t *testing.T) {
	dbURL := scratchPostgres(t)
	m := keyLine.FindStringSubmatch(civicCmd(t, "key", "add", "--scope", "admin", "--name", "cluster", "--db", dbURL))
	if m == nil {
		t.Fatal("civic key add printed no key")
	}
	key := m[1]
	const devices = 4
	makeCity(t, dbURL, key, devices)

	fast := []string{"--plan-at", "00:00", "--job-interval", "1s"}
	a := startNode(t, dbURL, append(fast, "--plan-time", "120s")...)
	waitLog(t, a, "took the sweep lock")
	waitLog(t, a, "nightly plan: planning")
	b := startNode(t, dbURL, append(fast, "--plan-time", "2s")...)

	// Each sender posts its device's batches in turn, each until a 202:
	// to A while it lives, then to B.
	const batch = 100
	base := time.Now().UTC().Add(-5 * 24 * time.Hour).Truncate(time.Second)
	var target atomic.Pointer[serveProc]
	target.Store(a)
	var acked [devices]atomic.Int64
	var resent atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, devices)
	client := &http.Client{Timeout: 10 * time.Second}
	for d := range devices {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				var body bytes.Buffer
				body.WriteString(`{"readings":[`)
				for k := range batch {
					if k > 0 {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"device":"S-%d","time":%q,"fill":0.5}`, d+1, base.Add(time.Duration(n*batch+k)*time.Second).Format(time.RFC3339))
				}
				body.WriteString(`]}`)
				for attempt := 0; ; attempt++ {
					if attempt == 50 {
						errs <- fmt.Errorf("S-%d batch %d: not acknowledged in 50 attempts", d+1, n)
						return
					}
					req, _ := http.NewRequest("POST", target.Load().base+"/api/v1/readings", bytes.NewReader(body.Bytes()))
					req.Header.Set("Authorization", "Bearer "+key)
					resp, err := client.Do(req)
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == http.StatusAccepted {
							break
						}
						if resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests {
							errs <- fmt.Errorf("S-%d batch %d: status %d", d+1, n, resp.StatusCode)
							return
						}
					}
					resent.Add(1)
					time.Sleep(20 * time.Millisecond)
				}
				acked[d].Store(int64(n + 1))
			}
		})
	}
	waitAcked := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			low := acked[0].Load()
			for d := range devices {
				low = min(low, acked[d].Load())
			}
			if low >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("senders did not reach %d batches each in 30 s", n)
			}
		}
	}
	waitAcked(5)
	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := [devices]int64{}
	for d := range devices {
		killedAt[d] = acked[d].Load()
	}
	target.Store(b)
	waitAcked(killedAt[0] + 5)
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if resent.Load() == 0 {
		t.Log("no request failed at the kill: A had answered all before it died")
	}

	st, err := store.Open(t.Context(), dbURL, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for d := range devices {
		var n, distinct int64
		if err := st.DB().QueryRowContext(t.Context(), `SELECT COUNT(*), COUNT(DISTINCT time) FROM readings WHERE device_id = $1`,
			fmt.Sprintf("S-%d", d+1)).Scan(&n, &distinct); err != nil {
			t.Fatal(err)
		}
		// The 5 full-bin readings of makeCity, and every batch, all acknowledged.
		if want := acked[d].Load()*batch + 1; n != want || distinct != n {
			t.Errorf("S-%d: %d rows (%d distinct times), want the %d acknowledged", d+1, n, distinct, want)
		}
	}

	// B takes the sweep lock and makes the nightly plan A left unfinished.
	waitLog(t, b, "took the sweep lock")
	waitLog(t, b, "nightly plan made")
	if strings.Contains(a.logs.String(), "nightly plan made") {
		t.Errorf("A made the nightly plan before it was killed: the test proves no takeover; A's logs:\n%s", a.logs)
	}
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	var p struct {
		CreatedBy string `json:"created_by"`
		Routes    []struct{ Stops []struct{ Kind string } }
	}
	if code := call(t, "GET", b.base+"/api/v1/plans/date/"+tomorrow, key, nil, &p); code != http.StatusOK || p.CreatedBy != "scheduler" || len(p.Routes) != 1 {
		t.Errorf("plan for %s on B: status %d, %+v; want the scheduler's plan with one route", tomorrow, code, p)
	}
	resp, err := http.Get(b.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(raw), `civic_plan_seconds_count{result="ok"} 1`) || !strings.Contains(string(raw), "civic_alert_sweeps_total") {
		t.Errorf("B's /metrics lacks the plan it made or the sweeps")
	}
}

// makeCity makes, through a node that does not plan, a depot, a transfer
// station, a trash truck and its crew, and devices full bins B-i with
// sensors S-i, each with one reading of 95 %.
func makeCity(t *testing.T, dbURL, key string, devices int) {
	t.Helper()
	setup := startNode(t, dbURL, "--plan-at", "")
	api := setup.base + "/api/v1"
	for _, c := range []struct {
		path string
		body map[string]any
	}{
		{"/depots", map[string]any{"id": "DEP-1", "name": "North depot", "lat": 39.96, "lon": -75.15}},
		{"/facilities", map[string]any{"id": "F-1", "name": "Transfer station", "kind": "transfer_station", "lat": 39.94, "lon": -75.17,
			"streams": []string{"trash"}}},
		{"/trucks", map[string]any{"id": "T-1", "name": "Truck 1", "depot_id": "DEP-1", "capacity_l": 20000, "stream": "trash"}},
		{"/crews", map[string]any{"id": "C-1", "name": "Crew 1", "depot_id": "DEP-1", "truck_id": "T-1"}},
	} {
		if code := call(t, "POST", api+c.path, key, c.body, nil); code != http.StatusCreated {
			t.Fatalf("POST %s: status %d, want 201; logs:\n%s", c.path, code, setup.logs)
		}
	}
	serveEveryDay(t, api, key)
	var readings []any
	at := time.Now().UTC().Add(-time.Hour).Format(time.RFC3339)
	for i := range devices {
		bin, dev := fmt.Sprintf("B-%d", i+1), fmt.Sprintf("S-%d", i+1)
		if code := call(t, "POST", api+"/bins", key, map[string]any{
			"id": bin, "name": "Bin " + bin, "lat": 39.950 + float64(i)*0.002, "lon": -75.160, "stream": "trash", "capacity_l": 240,
		}, nil); code != http.StatusCreated {
			t.Fatalf("create bin %s: status %d", bin, code)
		}
		if code := call(t, "POST", api+"/devices", key, map[string]any{"id": dev, "bin_id": bin}, nil); code != http.StatusCreated {
			t.Fatalf("create device %s: status %d", dev, code)
		}
		readings = append(readings, map[string]any{"device": dev, "time": at, "fill": 0.95})
	}
	if code := call(t, "POST", api+"/readings", key, map[string]any{"readings": readings}, nil); code != http.StatusAccepted {
		t.Fatalf("ingest: status %d, want 202", code)
	}
	_ = setup.cmd.Process.Signal(syscall.SIGTERM)
	_ = setup.cmd.Wait()
}

// serveEveryDay makes every weekday a service day, so that the nightly
// plan's next day has collections whatever day the test runs on (by
// default a Saturday's next day, Sunday, has none, and its plan is empty).
func serveEveryDay(t *testing.T, api, key string) {
	t.Helper()
	ps := civic.DefaultPlanSettings()
	every := []time.Weekday{time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday}
	ps.Default.ServiceDays = every
	for st, p := range ps.Streams {
		p.ServiceDays = every
		ps.Streams[st] = p
	}
	if code := call(t, "PUT", api+"/plan-settings", key, ps, nil); code != http.StatusOK {
		t.Fatalf("PUT /plan-settings: status %d, want 200", code)
	}
}

// waitLog waits up to 30 s for text in n's logs.
func waitLog(t *testing.T, n *serveProc, text string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(n.logs.String(), text); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no %q in the logs after 30 s:\n%s", n.base, text, n.logs)
		}
	}
}
