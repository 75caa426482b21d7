package ingest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The fuzz targets check that decoders never panic, that every error is a
// civic error of an expected kind, and that what decodes is consistent.

func FuzzDecodeBatch(f *testing.F) {
	f.Add([]byte(`{"readings":[{"device":"S-1","time":"2026-05-01T08:30:00Z","fill":0.42,"temperature_c":21.5,"battery":0.87,"tilt_deg":2,"compactions":3,"door_open":false,"rssi_dbm":-97}]}`))
	f.Add([]byte(`[{"device":"a\u00e9\ud83d\ude00","time":"2026-05-01T08:30:00.5+02:00","fill":1e-3,"fire":true,"snr_db":null}]`))
	f.Add([]byte(`{"device":"S-1","time":"2026-05-01T08:30:00Z","distance_mm":-0.0}`))
	f.Add([]byte(`{"readings":[],"x":1}`))
	f.Add(batchBody(3, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeBatchBytes(b)
		if err != nil {
			if k := civic.KindOf(err); k != civic.Invalid && k != civic.TooLarge {
				t.Fatalf("error kind %q: %v", k, err)
			}
			return
		}
		if len(got) == 0 || len(got) > civic.MaxBatch {
			t.Fatalf("decoded %d readings", len(got))
		}
		// Whatever decodes must mean the same to encoding/json, when
		// encoding/json takes it (it is stricter about UTF-8 and time).
		var v any
		if json.Unmarshal(b, &v) != nil {
			t.Fatalf("decoded invalid JSON %q", b)
		}
		for _, r := range got {
			_ = r.Normalize(civic.ScalePercent, time.Now())
		}
	})
}

func FuzzDecodeTTN(f *testing.F) {
	f.Add(readExample(f, "tts-v3-uplink.json"))
	f.Add([]byte(`{"end_device_ids":{"dev_eui":"0004A30B001C0530"},"received_at":"2026-05-01T08:00:00Z","join_accept":{}}`))
	f.Add([]byte(`{"end_device_ids":{"dev_eui":"0004A30B001C0530"},"received_at":"2026-05-01T08:00:00Z","uplink_message":{"frm_payload":"AQEDLCpXANcC","decoded_payload":{"fill_percent":40,"fire":1}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		u, err := DecodeTTN(b)
		checkUplink(t, u, err)
	})
}

func FuzzDecodeChirpStack(f *testing.F) {
	f.Add("up", readExample(f, "chirpstack-v4-up.json"))
	f.Add("status", []byte(`{"time":"2026-05-01T08:00:00Z","deviceInfo":{"devEui":"0101010101010101"},"margin":7,"batteryLevel":75.5}`))
	f.Add("log", []byte(`{"time":"2026-05-01T08:00:00Z","deviceInfo":{"devEui":"0101010101010101"},"level":"ERROR","code":"X","description":"y"}`))
	f.Add("up", []byte(`{"time":"2026-05-01T08:00:00Z","deviceInfo":{"devEui":"0101010101010101"},"data":"AQEDLCpXANcC","object":{"level":0.3}}`))
	f.Fuzz(func(t *testing.T, event string, b []byte) {
		u, err := DecodeChirpStack(event, b)
		checkUplink(t, u, err)
	})
}

func checkUplink(t *testing.T, u Uplink, err error) {
	t.Helper()
	if err != nil {
		if k := civic.KindOf(err); k != civic.Invalid && k != civic.TooLarge {
			t.Fatalf("error kind %q: %v", k, err)
		}
		return
	}
	if len(u.DevEUI) != 16 || u.Time.IsZero() || u.Kind == "" {
		t.Fatalf("incomplete uplink %+v", u)
	}
	for _, scale := range []civic.FillScale{civic.ScaleFraction, civic.ScalePercent} {
		r, err := u.Reading(civic.Device{ID: "S-1", FillScale: scale, PayloadFormat: CivicV1}, NewDecoders())
		if err != nil {
			if !civic.IsKind(err, civic.Invalid) {
				t.Fatalf("Reading error kind %q: %v", civic.KindOf(err), err)
			}
			continue
		}
		if r.Device != "S-1" || r.Time.IsZero() || !r.HasMeasurement() {
			t.Fatalf("bad reading %+v", r)
		}
		_ = r.Normalize(scale, time.Now())
	}
}

func FuzzPayloadCivicV1(f *testing.F) {
	f.Add(1, []byte{0x01, 0x01, 0x03, 0x2C, 42, 87, 0x00, 0xD7, 2})
	f.Add(1, EncodeCivicV1(civic.Reading{Compactions: ptr(9)}))
	f.Add(0, []byte{})
	f.Fuzz(func(t *testing.T, fport int, b []byte) {
		r, scale, err := DecodeCivicV1(fport, b)
		if err != nil {
			if !civic.IsKind(err, civic.Invalid) {
				t.Fatalf("error kind %q: %v", civic.KindOf(err), err)
			}
			return
		}
		if scale != civic.ScalePercent || !r.HasMeasurement() {
			t.Fatalf("decoded %+v on scale %q", r, scale)
		}
		// Re-encoding what decoded gives the same frame, bar reserved bits.
		// (Range checks against civic's limits, e.g. temperature, are
		// Normalize's job at ingest, not the byte decoder's.)
		if r.Fill != nil {
			r.Fill = ptr(*r.Fill / 100)
		}
		again := EncodeCivicV1(r)
		want := append([]byte(nil), b...)
		want[1] &= 3
		if string(again) != string(want) {
			t.Fatalf("re-encoded % x, want % x", again, want)
		}
		r.Device, r.Time = "S-1", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		_ = r.Normalize(civic.ScaleFraction, r.Time)
	})
}

func FuzzParseTopic(f *testing.F) {
	f.Add("civic/v1/devices/SENS-001/up")
	f.Add("civic/v1/devices/+/up")
	f.Add("civic/v1/devices/a/b/up")
	f.Fuzz(func(t *testing.T, topic string) {
		dev, err := ParseTopic(topic)
		if err != nil {
			if !civic.IsKind(err, civic.Invalid) {
				t.Fatalf("error kind %q: %v", civic.KindOf(err), err)
			}
			return
		}
		if civic.ValidateID("device", dev) != nil || Topic(dev) != topic {
			t.Fatalf("ParseTopic(%q) = %q", topic, dev)
		}
	})
}
