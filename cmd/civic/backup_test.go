package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/store"
)

// TestBackupRestoreUnderIngest backs the SQLite database up with
// `civic backup` while `civic serve` ingests from two HTTP senders, then
// restores it with `civic restore` into a new data folder and serves it:
// the backup holds every batch acknowledged before it began, whole
// batches only, nothing acknowledged after it ended (but the one batch
// then in flight), and passes the integrity check. The live server's
// /metrics are checked on the way.
func TestBackupRestoreUnderIngest(t *testing.T) {
	data := t.TempDir()
	m := keyLine.FindStringSubmatch(civicCmd(t, "key", "add", "--scope", "admin", "--name", "backup", "--data", data))
	if m == nil {
		t.Fatal("civic key add printed no key")
	}
	key := m[1]
	srv := startServe(t, "--data", data)
	const senders, batch = 2, 200
	for i := range senders {
		bin, dev := fmt.Sprintf("B-%d", i), fmt.Sprintf("S-%d", i)
		if code := call(t, "POST", srv.base+"/api/v1/bins", key, map[string]any{
			"id": bin, "name": "Bin " + bin, "lat": 39.95, "lon": -75.16 + float64(i)*0.001, "stream": "trash", "capacity_l": 240,
		}, nil); code != http.StatusCreated {
			t.Fatalf("create bin: status %d", code)
		}
		if code := call(t, "POST", srv.base+"/api/v1/devices", key, map[string]any{"id": dev, "bin_id": bin}, nil); code != http.StatusCreated {
			t.Fatalf("create device: status %d", code)
		}
	}

	// Sender i posts batch b of device S-i: readings at base + (b*batch+k) s.
	base := time.Now().UTC().Add(-10 * 24 * time.Hour).Truncate(time.Second)
	var acked [senders]atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, senders)
	client := &http.Client{Timeout: 30 * time.Second}
	for i := range senders {
		wg.Go(func() {
			for b := 0; !stop.Load(); b++ {
				var body bytes.Buffer
				body.WriteString(`{"readings":[`)
				for k := range batch {
					if k > 0 {
						body.WriteByte(',')
					}
					fmt.Fprintf(&body, `{"device":"S-%d","time":%q,"fill":%.2f}`, i, base.Add(time.Duration(b*batch+k)*time.Second).Format(time.RFC3339), float64(k%100)/100)
				}
				body.WriteString(`]}`)
				req, _ := http.NewRequest("POST", srv.base+"/api/v1/readings", &body)
				req.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					errs <- fmt.Errorf("sender %d batch %d: status %d", i, b, resp.StatusCode)
					return
				}
				acked[i].Store(int64(b + 1))
			}
		})
	}
	waitFor := func(n int64) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); acked[0].Load() < n || acked[1].Load() < n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("senders did not reach %d batches each in 30 s", n)
			}
		}
	}
	waitFor(10)

	backup := filepath.Join(t.TempDir(), "civic-backup.db")
	var before, after [senders]int64
	for i := range senders {
		before[i] = acked[i].Load()
	}
	out := civicCmd(t, "backup", "--data", data, "--out", backup)
	for i := range senders {
		after[i] = acked[i].Load()
	}
	if !regexp.MustCompile(`^backup: \S+, schema \d+, [1-9]\d* readings, [\d.]+ MiB in \S+\n$`).MatchString(out) {
		t.Errorf("civic backup printed %q", out)
	}
	waitFor(after[0] + 3) // ingest goes on after the backup
	var metrics string
	{
		resp, err := http.Get(srv.base + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		metrics = string(raw)
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	progressed := false
	for i := range senders {
		progressed = progressed || after[i] > before[i]
	}
	if !progressed {
		t.Logf("no batch was acknowledged while the backup ran (%v → %v): the backup was quicker than one batch", before, after)
	}
	for _, want := range []string{"civic_ingest_lag_seconds_count", "civic_ingest_queue_batches", "civic_alert_queue_batches",
		`civic_http_request_duration_seconds_count{method="POST",route="POST /api/v1/readings"}`, "civic_alerts_opened_total",
		"civic_forecast_trainings_total", "civic_forecast_trained_readings"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	restored := t.TempDir()
	out = civicCmd(t, "restore", "--from", backup, "--data", restored)
	if !strings.HasPrefix(out, "restored ") {
		t.Errorf("civic restore printed %q", out)
	}
	// Restoring over a database needs --force.
	if code, stderr := civicExit(t, "restore", "--from", backup, "--data", restored); code != 1 || !strings.Contains(stderr, "--force") {
		t.Errorf("restore over a database: exit %d, %q; want 1 naming --force", code, stderr)
	}

	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(restored, "civic.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range senders {
		var n, first, last int64
		rows := st.DB().QueryRowContext(t.Context(), `SELECT COUNT(*) FROM readings WHERE device_id = ?`, fmt.Sprintf("S-%d", i))
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		first, last = before[i]*batch, (after[i]+1)*batch
		if n < first || n > last || n%batch != 0 {
			t.Errorf("device S-%d: the backup holds %d readings; want whole batches of %d, at least the %d acknowledged before the backup and at most %d",
				i, n, batch, first, last)
		}
	}
	st.Close()

	// The restored folder serves, and takes readings.
	srv2 := startServe(t, "--data", restored)
	reading := map[string]any{"device": "S-0", "time": time.Now().UTC().Add(-time.Minute).Format(time.RFC3339), "fill": 0.5}
	if code := call(t, "POST", srv2.base+"/api/v1/readings", key, map[string]any{"readings": []any{reading}}, nil); code != http.StatusAccepted {
		t.Errorf("ingest on the restored server: status %d, want 202; logs:\n%s", code, srv2.logs)
	}
}

// civicExit runs the built binary and returns its exit status and stderr.
func civicExit(t *testing.T, args ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(civicBin, args...)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), errb.String()
		}
		t.Fatal(err)
	}
	return 0, errb.String()
}

// TestRestoreRefusesRunningServer: civic restore --force on the database
// of a running civic serve fails with an error that says to stop it, and
// leaves the database as the server has it; once the server is gone
// (SIGKILL, so the lock is the operating system's to drop) it restores.
func TestRestoreRefusesRunningServer(t *testing.T) {
	data := t.TempDir()
	m := keyLine.FindStringSubmatch(civicCmd(t, "key", "add", "--scope", "admin", "--name", "restore", "--data", data))
	if m == nil {
		t.Fatal("civic key add printed no key")
	}
	key := m[1]
	backup := filepath.Join(t.TempDir(), "before.db")
	civicCmd(t, "backup", "--data", data, "--out", backup)

	srv := startServe(t, "--data", data)
	if code := call(t, "POST", srv.base+"/api/v1/bins", key, map[string]any{
		"id": "KEEP", "name": "Kept", "lat": 39.95, "lon": -75.16, "stream": "trash", "capacity_l": 240,
	}, nil); code != http.StatusCreated {
		t.Fatalf("create bin: status %d", code)
	}
	code, stderr := civicExit(t, "restore", "--from", backup, "--data", data, "--force")
	if code != 1 || !strings.Contains(stderr, "in use by a running civic") || !strings.Contains(stderr, "stop it") {
		t.Fatalf("restore under a running server: exit %d, %q; want 1 saying the database is in use", code, stderr)
	}
	if code := call(t, "GET", srv.base+"/api/v1/bins/KEEP", key, nil, nil); code != http.StatusOK {
		t.Errorf("after the refused restore the server's bin answers %d, want 200", code)
	}

	_ = srv.cmd.Process.Signal(syscall.SIGKILL)
	_ = srv.cmd.Wait()
	if out := civicCmd(t, "restore", "--from", backup, "--data", data, "--force"); !strings.HasPrefix(out, "restored ") {
		t.Errorf("restore after the server stopped printed %q", out)
	}
	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(data, "civic.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.Bin(t.Context(), "KEEP"); err == nil {
		t.Error("the restored database holds bin KEEP, made after the backup")
	}
}
