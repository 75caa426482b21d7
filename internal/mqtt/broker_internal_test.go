package mqtt

import (
	"context"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/lifecycle"
)

func TestIsUplinkOf(t *testing.T) {
	tests := []struct {
		topic, device string
		want          bool
	}{
		{ingest.Topic("D-1"), "D-1", true},
		{ingest.Topic("D-1"), "D-2", false},
		{ingest.Topic("D-10"), "D-1", false},
		{ingest.Topic("D-1"), "D-10", false},
		{"civic/v1/devices/D-1/down", "D-1", false},
		{"civic/v1/devices/D-1/up/x", "D-1", false},
		{"civic/v2/devices/D-1/up", "D-1", false},
		{"", "", false},
		{ingest.Topic(""), "", true}, // the empty id never connects: OnConnectAuthenticate validates it
	}
	for _, tt := range tests {
		if got := isUplinkOf(tt.topic, tt.device); got != tt.want {
			t.Errorf("isUplinkOf(%q, %q) = %v, want %v", tt.topic, tt.device, got, tt.want)
		}
	}
}

// TestIngestContext checks the messages of one second share a context
// whose deadline is IngestTimeout to IngestTimeout plus a second away.
func TestIngestContext(t *testing.T) {
	b := &Broker{opts: BrokerOptions{IngestTimeout: 30 * time.Second}, life: lifecycle.New("mqtt broker")}
	now := time.Now()
	first := b.ingestContext(now)
	if b.ingestContext(now.Add(999*time.Millisecond)) != first {
		t.Error("a message within the second got another context")
	}
	later := b.ingestContext(now.Add(time.Second))
	if later == first {
		t.Error("a message a second later shares the old context")
	}
	for _, tc := range []struct {
		ctx   context.Context
		start time.Time
	}{{first, now}, {later, now.Add(time.Second)}} {
		d, ok := tc.ctx.Deadline()
		if wait := d.Sub(tc.start); !ok || wait < 30*time.Second || wait > 31*time.Second {
			t.Errorf("deadline %v after the first message, want 30 to 31 s", wait)
		}
	}
	if err := b.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if first.Err() == nil || later.Err() == nil {
		t.Error("closing the broker leaves ingest contexts running")
	}
}
