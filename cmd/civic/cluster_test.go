package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/storetest"
)

// TestTwoNodes runs two `civic serve` processes on one PostgreSQL database,
// as a city with several stateless nodes does: a reading ingested on node
// A changes the map and opens an alert that node B's browsers see live
// (Server-Sent Events), and only one node sweeps alerts.
func TestTwoNodes(t *testing.T) {
	dbURL := scratchPostgres(t)
	m := keyLine.FindStringSubmatch(civicCmd(t, "key", "add", "--scope", "admin", "--name", "cluster", "--db", dbURL))
	if m == nil {
		t.Fatal("civic key add printed no key")
	}
	key := m[1]

	// No nightly plan here (TestTwoNodesNightlyPlan is about that).
	b := startNode(t, dbURL, "--plan-at", "")
	// The bin exists before A starts, so A's alert engine knows it.
	if code := call(t, "POST", b.base+"/api/v1/bins", key, map[string]any{
		"id": "B-1", "name": "Market St & 12th", "lat": 39.9522, "lon": -75.1600, "stream": "trash", "capacity_l": 568,
	}, nil); code != http.StatusCreated {
		t.Fatalf("create bin: status %d, want 201; logs:\n%s", code, b.logs)
	}
	if code := call(t, "POST", b.base+"/api/v1/devices", key, map[string]any{"id": "S-1", "bin_id": "B-1"}, nil); code != http.StatusCreated {
		t.Fatalf("create device: status %d, want 201", code)
	}
	a := startNode(t, dbURL, "--plan-at", "")

	bins := openSSE(t, b.base+"/events", key)
	alerts := openSSE(t, b.base+"/alerts/events", key)
	waitSSE(t, bins, "hello", func(string) bool { return true })
	waitSSE(t, alerts, "hello", func(string) bool { return true })

	reading := map[string]any{"device": "S-1", "time": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), "fill": 0.42, "fire": true}
	if code := call(t, "POST", a.base+"/api/v1/readings", key, map[string]any{"readings": []any{reading}}, nil); code != http.StatusAccepted {
		t.Fatalf("ingest on A: status %d, want 202; logs:\n%s", code, a.logs)
	}

	waitSSE(t, bins, "bins", func(data string) bool {
		var msg struct{ Bins [][]any }
		if json.Unmarshal([]byte(data), &msg) != nil {
			return false
		}
		for _, row := range msg.Bins {
			// [id, lat, lon, fill %, stream, zone, status, flags, time]
			if len(row) > 3 && row[0] == "B-1" && row[3] == float64(42) {
				return true
			}
		}
		return false
	})
	waitSSE(t, alerts, "alert", func(data string) bool {
		var ev struct {
			Event  string `json:"event"`
			BinID  string `json:"bin_id"`
			Rule   string `json:"rule"`
			Status string `json:"status"`
		}
		if json.Unmarshal([]byte(data), &ev) != nil {
			return false
		}
		return ev.Event == "opened" && ev.BinID == "B-1" && ev.Rule == "fire" && ev.Status == "open"
	})

	// B started first and took the sweep lock; A, asking at its start and
	// at every sweep, did not.
	const took = "took the sweep lock"
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(b.logs.String(), took) {
		if time.Now().After(deadline) {
			t.Fatalf("node B did not take the sweep lock; logs:\n%s", b.logs)
		}
		time.Sleep(50 * time.Millisecond) // the log line is the only sign
	}
	if strings.Contains(a.logs.String(), took) {
		t.Errorf("both nodes took the sweep lock; A's logs:\n%s", a.logs)
	}

	// A key revoked elsewhere (here by the CLI, a third process) stops
	// working on a node that has it cached well before the cache's 10 s:
	// the revocation's transaction notifies every node.
	m = keyLine.FindStringSubmatch(civicCmd(t, "key", "add", "--scope", "read", "--name", "dashboard", "--db", dbURL))
	if m == nil {
		t.Fatal("civic key add printed no key")
	}
	reader := m[1]
	if code := call(t, "GET", b.base+"/api/v1/bins", reader, nil, nil); code != http.StatusOK {
		t.Fatalf("read with a new key on B: status %d, want 200", code)
	}
	id, _, _ := strings.Cut(strings.TrimPrefix(reader, "civic_"), "_")
	civicCmd(t, "key", "revoke", id, "--db", dbURL)
	revoked := time.Now()
	for {
		code := call(t, "GET", b.base+"/api/v1/bins", reader, nil, nil)
		if code == http.StatusUnauthorized {
			break
		}
		// Under 8 s, not the cache's 10: the notification did it (on a
		// quiet machine it takes milliseconds; 3 s failed under load).
		if time.Since(revoked) > 8*time.Second {
			t.Fatalf("a key revoked by the CLI still works on B after %s (status %d)", time.Since(revoked).Round(time.Millisecond), code)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// A bin created, then deleted, on A appears on, then leaves, the maps
	// of both nodes: A's through the store's change hook, B's through the
	// notification the change's transaction sent.
	if code := call(t, "POST", a.base+"/api/v1/bins", key, map[string]any{
		"id": "B-2", "name": "Chestnut St & 15th", "lat": 39.9512, "lon": -75.1650, "stream": "recycling", "capacity_l": 240,
	}, nil); code != http.StatusCreated {
		t.Fatalf("create bin on A: status %d, want 201", code)
	}
	for _, n := range []*serveProc{a, b} {
		waitMap(t, n, key, "B-2", true)
	}
	if code := call(t, "DELETE", a.base+"/api/v1/bins/B-2", key, nil, nil); code != http.StatusNoContent {
		t.Fatalf("delete bin on A: status %d, want 204", code)
	}
	for _, n := range []*serveProc{a, b} {
		waitMap(t, n, key, "B-2", false)
	}
}

// TestTwoNodesNightlyPlan starts two `civic serve` nodes on one PostgreSQL
// database when their nightly plan is already due: the cluster lock lets
// one of them plan the next day, and the other finds the plan made. A
// third node started later plans nothing either.
func TestTwoNodesNightlyPlan(t *testing.T) {
	dbURL := scratchPostgres(t)
	m := keyLine.FindStringSubmatch(civicCmd(t, "key", "add", "--scope", "admin", "--name", "cluster", "--db", dbURL))
	if m == nil {
		t.Fatal("civic key add printed no key")
	}
	key := m[1]

	// The city, made through a node that does not plan: a depot, a
	// transfer station, a trash truck and its crew, and five full bins.
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
	for i := range 5 {
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
	// The writer acknowledges after commit; the states are there once the
	// bins show them.
	waitFill := func() bool {
		var bin struct {
			State *struct{ Fill *float64 } `json:"state"`
		}
		code := call(t, "GET", api+"/bins/B-5", key, nil, &bin)
		return code == http.StatusOK && bin.State != nil && bin.State.Fill != nil
	}
	for deadline := time.Now().Add(10 * time.Second); !waitFill(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the readings did not reach the bins' states")
		}
	}

	// Both nodes start at once, their nightly plan (at midnight, in UTC)
	// long due.
	nightly := []string{"--plan-at", "00:00", "--plan-time", "2s"}
	var nodes [2]*serveProc
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { nodes[i] = startNode(t, dbURL, nightly...) })
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}

	const made = "nightly plan made"
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	var p struct {
		ID        string
		Date      string
		Status    string
		CreatedBy string `json:"created_by"`
		Routes    []struct {
			TruckID string `json:"truck_id"`
			CrewID  string `json:"crew_id"`
			Stops   []struct{ Kind, BinID string }
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code := call(t, "GET", nodes[1].base+"/api/v1/plans/date/"+tomorrow, key, nil, &p)
		if code == http.StatusOK && strings.Contains(nodes[0].logs.String()+nodes[1].logs.String(), made) {
			break
		}
		if code != http.StatusOK && code != http.StatusNotFound {
			t.Fatalf("plan for %s: status %d", tomorrow, code)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no nightly plan for %s after 60 s; logs:\nA:\n%s\nB:\n%s", tomorrow, nodes[0].logs, nodes[1].logs)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if p.Date != tomorrow || p.Status != "draft" || p.CreatedBy != "scheduler" || len(p.Routes) != 1 ||
		p.Routes[0].TruckID != "T-1" || p.Routes[0].CrewID != "C-1" {
		t.Errorf("nightly plan %s for %s, %s by %q, routes %+v; want a draft by the scheduler with T-1's route for C-1",
			p.ID, p.Date, p.Status, p.CreatedBy, p.Routes)
	}
	planned := 0
	for _, r := range p.Routes {
		for _, s := range r.Stops {
			if s.Kind == "bin" {
				planned++
			}
		}
	}
	if planned != 5 {
		t.Errorf("the nightly plan empties %d bins, want the 5 full ones", planned)
	}

	// A third node, started once the plan exists, finds it.
	c := startNode(t, dbURL, nightly...)
	const found = "nightly plan: already planned"
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(c.logs.String(), found); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("node C did not find the nightly plan; logs:\n%s", c.logs)
		}
	}

	var plans struct {
		Items []struct{ ID, Date string }
	}
	if code := call(t, "GET", api+"/plans?from="+tomorrow+"&to="+tomorrow, key, nil, &plans); code != http.StatusOK || len(plans.Items) != 1 {
		t.Errorf("plans for %s: status %d, %+v; want exactly one", tomorrow, code, plans.Items)
	}
	n := 0
	for _, node := range []*serveProc{nodes[0], nodes[1], c} {
		n += strings.Count(node.logs.String(), made)
	}
	if n != 1 {
		t.Errorf("%d nodes say they made the nightly plan, want 1; logs:\nA:\n%s\nB:\n%s\nC:\n%s", n, nodes[0].logs, nodes[1].logs, c.logs)
	}
}

// waitMap waits until node n's map data (/map/bins.json) holds bin id, or
// no longer does (want false).
func waitMap(t *testing.T, n *serveProc, key, id string, want bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		var snap struct{ Bins [][]any }
		if code := call(t, "GET", n.base+"/map/bins.json", key, nil, &snap); code != http.StatusOK {
			t.Fatalf("map data: status %d", code)
		}
		has := slices.ContainsFunc(snap.Bins, func(row []any) bool { return len(row) > 0 && row[0] == id })
		if has == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: map holds bin %s = %v after 15 s, want %v; logs:\n%s", n.base, id, has, want, n.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// scratchPostgres returns an empty database on the test PostgreSQL server
// (CIVIC_TEST_POSTGRES): a schema of its own, dropped when t ends.
func scratchPostgres(t *testing.T) string {
	t.Helper()
	return storetest.PostgresDSN(t)
}

// lockedBuffer is a bytes.Buffer safe to read while a process writes to
// it.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type serveProc struct {
	base string
	logs *lockedBuffer
	cmd  *exec.Cmd
}

// startNode starts `civic serve` on dbURL and a random port, without MQTT
// and with the further flags args, and kills it when t ends.
func startNode(t *testing.T, dbURL string, args ...string) *serveProc {
	t.Helper()
	return startServe(t, append([]string{"--db", dbURL, "--data", t.TempDir()}, args...)...)
}

// startServe starts `civic serve` with args on a random port, without
// MQTT, logging text, and kills it when t ends.
func startServe(t *testing.T, args ...string) *serveProc {
	t.Helper()
	cmd := exec.Command(civicBin, append([]string{"serve", "--addr", "127.0.0.1:0", "--mqtt-addr", "", "--log-format", "text"}, args...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &serveProc{logs: &lockedBuffer{}, cmd: cmd}
	cmd.Stderr = n.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case n.base = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("civic serve did not report its address; logs:\n%s", n.logs)
	}
	return n
}

type sseEvent struct{ name, data string }

// openSSE connects to a Server-Sent Events stream with an API key and
// returns its events until t ends.
func openSSE(t *testing.T, url, key string) <-chan sseEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		t.Fatalf("GET %s: status %d", url, resp.StatusCode)
	}
	ch := make(chan sseEvent, 64)
	go func() {
		defer resp.Body.Close()
		defer close(ch)
		sc := bufio.NewScanner(resp.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					select {
					case ch <- ev:
					case <-ctx.Done():
						return
					}
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				ev.data += strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	return ch
}

// waitSSE reads events until one named name whose data match accepts.
func waitSSE(t *testing.T, ch <-chan sseEvent, name string, match func(data string) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	var seen []string
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("stream ended before a %q event (saw %v)", name, seen)
			}
			if ev.name == name && match(ev.data) {
				return
			}
			seen = append(seen, ev.name+" "+ev.data)
		case <-deadline:
			t.Fatalf("no matching %q event within 20 s (saw %v)", name, seen)
		}
	}
}
