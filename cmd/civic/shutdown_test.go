package main

import (
	"testing"
	"time"

	"github.com/civic-city/civic/internal/bench"
)

// TestGracefulShutdown sends SIGTERM to the real server twice while HTTP
// senders and MQTT QoS 1 devices publish, and once more at the end: each
// time it must exit with status 0, and every acknowledged reading must be
// stored, once. The HTTP requests in flight at the signal are answered
// before the server goes (drained), so no resent batch finds its readings
// already stored.
func TestGracefulShutdown(t *testing.T) {
	data := t.TempDir()
	res, err := bench.Crash(t.Context(), bench.CrashOptions{
		Bin: civicBin, Data: data, Kills: 2, Duration: 4 * time.Second, Graceful: true,
		Senders: 2, Batch: 400, Devices: 8, MQTTDevices: 10, Seed: 2, Drain: 30 * time.Second,
		Pause:    100 * time.Millisecond,
		Progress: testLog{t, time.Now()},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Kills) != 2 {
		t.Fatalf("stops = %d, want 2", len(res.Kills))
	}
	inflight := 0
	for _, k := range res.Kills {
		inflight += k.HTTP + k.MQTT
	}
	if inflight == 0 {
		t.Errorf("no request or message was waiting for its acknowledgement at any SIGTERM: the test proves nothing")
	}
	if res.HTTPReadings == 0 || res.MQTTMessages == 0 {
		t.Errorf("acknowledged %d HTTP readings and %d MQTT messages, want both > 0", res.HTTPReadings, res.MQTTMessages)
	}
	if res.Missing != 0 || res.Duplicates != 0 || res.Unexpected != 0 || res.Partial != 0 || res.Unacknowledged != 0 {
		t.Errorf("missing %d, duplicates %d, unexpected %d, partly stored %d, stored but unacknowledged %d; want all 0",
			res.Missing, res.Duplicates, res.Unexpected, res.Partial, res.Unacknowledged)
	}
	if res.AckLost != 0 {
		t.Errorf("%d readings were committed but their 202 was lost at a SIGTERM: the server did not drain its HTTP requests", res.AckLost)
	}
}
