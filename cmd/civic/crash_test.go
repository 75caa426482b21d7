package main

import (
	"bytes"
	"log/slog"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/bench"
	"github.com/civic-city/civic/internal/store"
)

// TestCrashDurability SIGKILLs the real server twice while HTTP senders and
// MQTT QoS 1 devices publish, restarts it on the same data folder, lets the
// senders resend what was not acknowledged, and then checks, in the bench's
// own reading-by-reading check and again here on the killed server's
// database, that every acknowledged reading is stored and none twice.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the server three times")
	}
	data := t.TempDir()
	res, err := bench.Crash(t.Context(), bench.CrashOptions{
		Bin: civicBin, Data: data, Kills: 2, Duration: 4 * time.Second,
		Senders: 2, Batch: 400, Devices: 8, MQTTDevices: 10, Seed: 1, Drain: 30 * time.Second,
		// Batches of 400 keep a request at the server long enough for
		// every kill to interrupt one (batches of 50 commit so fast that
		// a kill could find all of them answered). The check reads every
		// row back, slowly under -race: the pause keeps the readings to
		// some tens of thousands.
		Pause:    100 * time.Millisecond,
		Progress: testLog{t, time.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res.Kills); got != 2 {
		t.Errorf("kills = %d, want 2", got)
	}
	if res.HTTPReadings == 0 || res.MQTTMessages == 0 {
		t.Errorf("acknowledged %d HTTP readings and %d MQTT messages, want both > 0", res.HTTPReadings, res.MQTTMessages)
	}
	for i, k := range res.Kills {
		if k.HTTP == 0 || k.MQTT == 0 {
			t.Errorf("kill %d interrupted %d HTTP requests and %d MQTT messages, want both > 0", i+1, k.HTTP, k.MQTT)
		}
	}
	if res.HTTPRetries == 0 || res.MQTTRetries == 0 {
		t.Errorf("resent %d HTTP requests and %d MQTT messages, want both > 0", res.HTTPRetries, res.MQTTRetries)
	}
	if res.Missing != 0 || res.Duplicates != 0 || res.Unexpected != 0 || res.Partial != 0 || res.Unacknowledged != 0 || res.StaleStates != 0 {
		t.Errorf("missing %d, duplicates %d, unexpected %d, partly stored batches %d, stored but unacknowledged %d, stale live states %d; want all 0",
			res.Missing, res.Duplicates, res.Unexpected, res.Partial, res.Unacknowledged, res.StaleStates)
	}

	// Every reading sent was acknowledged in the end, so the table holds
	// exactly the acknowledged readings, once each.
	st, err := store.Open(t.Context(), "sqlite:"+filepath.Join(data, "civic.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var rows, keys int
	if err := st.DB().QueryRowContext(t.Context(),
		`SELECT COUNT(*), (SELECT COUNT(*) FROM (SELECT DISTINCT device_id, time FROM readings)) FROM readings`).Scan(&rows, &keys); err != nil {
		t.Fatal(err)
	}
	if rows != keys || rows != res.Acknowledged {
		t.Errorf("readings table: %d rows, %d distinct (device, time); want both = %d acknowledged", rows, keys, res.Acknowledged)
	}
}

// TestCrashBenchCommand runs `civic bench ingest --crash` as a user would
// and reads its verdict.
func TestCrashBenchCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts and kills the server twice")
	}
	cmd := exec.CommandContext(t.Context(), civicBin, "bench", "ingest", "--crash", "--kills", "1", "--duration", "2s",
		"--senders", "1", "--devices", "2", "--batch", "100", "--mqtt-devices", "2")
	cmd.Env = bench.ChildEnv()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("civic bench ingest --crash: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^crash: 1 kills, [1-9]\d* acknowledged readings, all stored, 0 duplicates$`).MatchString(last) {
		t.Errorf("last line %q, want \"crash: 1 kills, N acknowledged readings, all stored, 0 duplicates\"\nstderr: %s", last, errb.String())
	}
}

// testLog writes a run's progress to the test log.
type testLog struct {
	t     *testing.T
	start time.Time
}

func (l testLog) Write(p []byte) (int, error) {
	l.t.Logf("%6.2fs %s", time.Since(l.start).Seconds(), strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
