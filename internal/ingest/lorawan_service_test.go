package ingest_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
)

type euiDirectory map[string]civic.Device

func (d euiDirectory) DeviceByEUI(_ context.Context, eui string) (civic.Device, error) {
	if dev, ok := d[eui]; ok {
		return dev, nil
	}
	return civic.Device{}, civic.Errorf(civic.NotFound, "no device with DevEUI %s", eui)
}

type ingesterFunc func(ctx context.Context, rs []civic.Reading) (civic.IngestResult, error)

func (f ingesterFunc) Ingest(ctx context.Context, rs []civic.Reading) (civic.IngestResult, error) {
	return f(ctx, rs)
}

// TestLoRaWANService covers the service without HTTP; the webhook
// endpoints' tests in internal/server cover it with the real store.
func TestLoRaWANService(t *testing.T) {
	at := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	devices := euiDirectory{
		"00000000000000A1": {ID: "S1", Status: civic.StatusActive},
		"00000000000000A2": {ID: "S2", Status: civic.StatusInactive},
	}
	var got []civic.Reading
	svc := ingest.NewLoRaWAN(ingest.LoRaWANOptions{
		Devices: devices,
		Ingester: ingesterFunc(func(_ context.Context, rs []civic.Reading) (civic.IngestResult, error) {
			got = append(got, rs...)
			return civic.IngestResult{Accepted: len(rs)}, nil
		}),
		Logger: slog.New(slog.DiscardHandler),
	})
	uplink := func(eui string, decoded map[string]any) *ingest.Uplink {
		return &ingest.Uplink{Kind: ingest.KindUplink, DevEUI: eui, Time: at, Decoded: decoded}
	}
	tests := []struct {
		name    string
		u       *ingest.Uplink
		outcome string
		kind    civic.Kind
		field   string
	}{
		{"uplink", uplink("00000000000000A1", map[string]any{"fill": 0.5}), ingest.OutcomeAccepted, "", ""},
		{"unknown DevEUI", uplink("00000000000000FF", map[string]any{"fill": 0.5}), ingest.OutcomeUnknownDevice, civic.NotFound, "dev_eui"},
		{"inactive device", uplink("00000000000000A2", map[string]any{"fill": 0.5}), ingest.OutcomeInactiveDevice, civic.Invalid, "dev_eui"},
		{"decode failure", uplink("00000000000000A1", nil), ingest.OutcomeDecodeFailure, civic.Invalid, "payload"},
		{"event without a device health store", &ingest.Uplink{Kind: ingest.KindJoin, DevEUI: "00000000000000A1", Time: at}, "", civic.Unavailable, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := svc.Handle(context.Background(), "ttn", tt.u)
			if res.Outcome != tt.outcome {
				t.Errorf("Outcome = %q, want %q", res.Outcome, tt.outcome)
			}
			if tt.kind == "" {
				if err != nil {
					t.Fatalf("Handle: %v", err)
				}
				return
			}
			if civic.KindOf(err) != tt.kind || civic.FieldOf(err) != tt.field {
				t.Errorf("Handle error = %v (kind %q, field %q), want kind %q, field %q",
					err, civic.KindOf(err), civic.FieldOf(err), tt.kind, tt.field)
			}
		})
	}
	if len(got) != 1 || got[0].Device != "S1" || got[0].Fill == nil || *got[0].Fill != 0.5 {
		t.Errorf("ingested %+v, want one reading of S1 with fill 0.5", got)
	}
}
