package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
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

	b := startNode(t, dbURL)
	// The bin exists before A starts, so A's alert engine knows it.
	if code := call(t, "POST", b.base+"/api/v1/bins", key, map[string]any{
		"id": "B-1", "name": "Market St & 12th", "lat": 39.9522, "lon": -75.1600, "stream": "trash", "capacity_l": 568,
	}, nil); code != http.StatusCreated {
		t.Fatalf("create bin: status %d, want 201; logs:\n%s", code, b.logs)
	}
	if code := call(t, "POST", b.base+"/api/v1/devices", key, map[string]any{"id": "S-1", "bin_id": "B-1"}, nil); code != http.StatusCreated {
		t.Fatalf("create device: status %d, want 201", code)
	}
	a := startNode(t, dbURL)

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
		if time.Since(revoked) > 3*time.Second {
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
}

// startNode starts `civic serve` on dbURL and a random port, without MQTT,
// and kills it when t ends.
func startNode(t *testing.T, dbURL string) *serveProc {
	t.Helper()
	cmd := exec.Command(civicBin, "serve", "--addr", "127.0.0.1:0", "--mqtt-addr", "", "--db", dbURL,
		"--data", t.TempDir(), "--log-format", "text")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	n := &serveProc{logs: &lockedBuffer{}}
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
