package server_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"maps"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/server"
)

// The LoRaWAN devices of lorawanFixture: the DevEUIs of the shared network
// server examples, and a civic-v1 sensor.
const (
	ttnEUI   = "0004A30B001C0530" // tts-v3-uplink.json
	csEUI    = "0101010101010101" // chirpstack-v4-up.json
	v1EUI    = "A1B2C3D4E5F60708"
	ttnToken = "ttn shared secret"
	csToken  = "chirpstack shared secret"
)

// lorawanSecrets configures both integrations.
func lorawanSecrets(c *server.Config) {
	c.LoRaWANSecrets = map[string]string{server.IntegrationTTN: ttnToken, server.IntegrationChirpStack: csToken}
}

// testLevel is the byte decoder of the ChirpStack example's device: one
// byte, the fill level in 255ths. The example's frame (0xAA) means nothing
// in civic-v1; a device profile with this format decodes it.
func testLevel(_ int, b []byte) (civic.Reading, civic.FillScale, error) {
	if len(b) != 1 {
		return civic.Reading{}, "", civic.FieldError("payload", "want 1 byte, got %d", len(b))
	}
	v := float64(b[0]) / 255
	return civic.Reading{Fill: &v}, civic.ScaleFraction, nil
}

// lorawanFixture is the API fixture with a server that has LoRaWAN
// integrations configured by cfg, the testLevel decoder and its own ingest
// writer, and three LoRaWAN devices: L-TTN (percent scale, bin B1), L-CS
// (payload format test-level, bin B2) and L-V1 (civic-v1).
func lorawanFixture(t *testing.T, cfg func(*server.Config)) *fixture {
	t.Helper()
	var c server.Config
	if cfg != nil {
		cfg(&c)
	}
	f := newFixture(t, c)
	now := func() time.Time { return testNow }
	w := ingest.NewWriter(f.store, f.store, ingest.WriterOptions{Now: now})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.Close(ctx)
	})
	decoders := ingest.NewDecoders()
	decoders["test-level"] = testLevel
	f.logBuf = &syncBuffer{}
	f.srv = server.New(c, server.Deps{
		Store: f.store, Ingester: w, Auth: f.auth, Now: now, Decoders: decoders,
		Logger: slog.New(slog.NewJSONHandler(f.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	f.h = f.srv.Handler()
	ctx := context.Background()
	for _, d := range []civic.Device{
		{ID: "L-TTN", BinID: "B1", DevEUI: ttnEUI, FillScale: civic.ScalePercent},
		{ID: "L-CS", BinID: "B2", DevEUI: csEUI, PayloadFormat: "test-level"},
		{ID: "L-V1", DevEUI: v1EUI, PayloadFormat: ingest.CivicV1},
	} {
		if err := f.store.CreateDevice(ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// example reads a shared network server example (copied into the ingest
// package's testdata, byte for byte).
func example(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "ingest", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func readingsOf(t *testing.T, f *fixture, device string) []civic.Reading {
	t.Helper()
	rs, err := f.store.Readings(context.Background(), civic.ReadingQuery{Device: device, From: time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

func healthOf(t *testing.T, f *fixture, device string) civic.DeviceHealth {
	t.Helper()
	h, err := f.store.DeviceHealthOf(context.Background(), device, testNow)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func eventsOf(t *testing.T, f *fixture, device string) []civic.DeviceEvent {
	t.Helper()
	evs, err := f.store.DeviceEvents(context.Background(), civic.DeviceEventQuery{Device: device})
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func ttnSecret() map[string]string { return map[string]string{"X-Civic-Secret": ttnToken} }
func csSecret() map[string]string  { return map[string]string{"X-Civic-Secret": csToken} }

// TestLoRaWANExamples sends the shared examples of The Things Stack v3 and
// ChirpStack v4 through the real endpoints, store and ingest writer.
func TestLoRaWANExamples(t *testing.T) {
	f := lorawanFixture(t, lorawanSecrets)

	rec := f.do(request{method: "POST", url: "/api/v1/lorawan/ttn", body: example(t, "tts-v3-uplink.json"), header: ttnSecret()})
	if rec.Code != 202 || !strings.Contains(rec.Body.String(), `"device":"L-TTN","event":"uplink","accepted":1,"duplicates":0`) {
		t.Fatalf("TTN example: %d %s", rec.Code, rec.Body.String())
	}
	rs := readingsOf(t, f, "L-TTN")
	wantTime := time.Date(2020, 2, 12, 15, 15, 45, 789000000, time.UTC)
	if len(rs) != 1 || !rs[0].Time.Equal(wantTime) || rs[0].Bin != "B1" || rs[0].TemperatureC == nil || *rs[0].TemperatureC != 1 ||
		rs[0].RSSI == nil || *rs[0].RSSI != -35 || rs[0].SNR == nil || *rs[0].SNR != 5 {
		t.Fatalf("TTN example stored as %+v", rs)
	}
	// Redelivery is a duplicate, not a second reading.
	rec = f.do(request{method: "POST", url: "/api/v1/lorawan/ttn", body: example(t, "tts-v3-uplink.json"), header: ttnSecret()})
	if rec.Code != 202 || !strings.Contains(rec.Body.String(), `"accepted":0,"duplicates":1`) || len(readingsOf(t, f, "L-TTN")) != 1 {
		t.Errorf("TTN redelivery: %d %s", rec.Code, rec.Body.String())
	}

	rec = f.do(request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: example(t, "chirpstack-v4-up.json"), header: csSecret()})
	if rec.Code != 202 || !strings.Contains(rec.Body.String(), `"device":"L-CS","event":"uplink","accepted":1`) {
		t.Fatalf("ChirpStack example: %d %s", rec.Code, rec.Body.String())
	}
	rs = readingsOf(t, f, "L-CS")
	if len(rs) != 1 || !rs[0].Time.Equal(time.Date(2022, 7, 18, 9, 34, 15, 775000000, time.UTC)) || rs[0].Bin != "B2" ||
		rs[0].Fill == nil || math.Abs(*rs[0].Fill-170.0/255) > 1e-9 || *rs[0].RSSI != -36 || *rs[0].SNR != 10.5 {
		t.Fatalf("ChirpStack example stored as %+v", rs)
	}
	// Signal and gateway reach the device's health.
	if h := healthOf(t, f, "L-CS"); h.Gateway != "0016c001f153a14c" || h.DecodeFailures != 0 {
		t.Errorf("L-CS health = %+v, want gateway 0016c001f153a14c", h)
	}
	if h := healthOf(t, f, "L-TTN"); h.Gateway != "gtw1" {
		t.Errorf("L-TTN health = %+v, want gateway gtw1", h)
	}
	if evs := eventsOf(t, f, "L-CS"); len(evs) != 0 {
		t.Errorf("uplinks recorded as events: %+v", evs)
	}
}

// csUp is a ChirpStack up event of dev with the given frame and decoded
// object (JSON, or "").
func csUp(eui string, frame []byte, object string) string {
	s := `{"time":"2026-03-02T11:55:00Z","deviceInfo":{"deviceName":"dev","devEui":"` + eui + `"},"fPort":2,"fCnt":7,` +
		`"data":"` + base64.StdEncoding.EncodeToString(frame) + `","rxInfo":[{"gatewayId":"gw-a","rssi":-112,"snr":-4.5}]`
	if object != "" {
		s += `,"object":` + object
	}
	return s + "}"
}

func TestLoRaWAN(t *testing.T) {
	frame := ingest.EncodeCivicV1(civic.Reading{Fill: f64p(0.42), Battery: f64p(0.9)})
	noReadings := func(device string) func(*testing.T, *fixture, *httptest.ResponseRecorder) {
		return func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
			if rs := readingsOf(t, f, device); len(rs) != 0 {
				t.Errorf("%s has readings %+v", device, rs)
			}
		}
	}
	tests := []struct {
		name   string
		cfg    func(*server.Config)
		before []request
		req    request
		status int
		want   []string
		field  string
		after  func(*testing.T, *fixture, *httptest.ResponseRecorder)
	}{
		{name: "civic-v1 frame decoded with the device's format",
			req:    request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, frame, ""), header: csSecret()},
			status: 202, want: []string{`"device":"L-V1"`, `"accepted":1`},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				rs := readingsOf(t, f, "L-V1")
				if len(rs) != 1 || rs[0].Fill == nil || math.Abs(*rs[0].Fill-0.42) > 1e-9 || *rs[0].Battery != 0.9 || *rs[0].RSSI != -112 {
					t.Errorf("stored %+v", rs)
				}
			}},
		{name: "decoded payload wins over the bytes",
			req:    request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, []byte{0xAA}, `{"fill_percent":55,"temperature":4}`), header: csSecret()},
			status: 202,
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				rs := readingsOf(t, f, "L-V1")
				if len(rs) != 1 || *rs[0].Fill != 0.55 || *rs[0].TemperatureC != 4 {
					t.Errorf("stored %+v", rs)
				}
			}},
		{name: "TTN frame decoded with the device's format",
			req: request{method: "POST", url: "/api/v1/lorawan/ttn", header: ttnSecret(),
				body: `{"end_device_ids":{"device_id":"v1","dev_eui":"` + v1EUI + `"},"received_at":"2026-03-02T11:50:00Z",` +
					`"uplink_message":{"f_port":1,"f_cnt":9,"frm_payload":"` + base64.StdEncoding.EncodeToString(frame) + `",` +
					`"decoded_payload":{"note":"no known field"},"rx_metadata":[{"gateway_ids":{"gateway_id":"gw-b"},"rssi":-97,"snr":3.5}]}}`},
			status: 202, want: []string{`"device":"L-V1"`, `"accepted":1`},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				rs := readingsOf(t, f, "L-V1")
				if len(rs) != 1 || math.Abs(*rs[0].Fill-0.42) > 1e-9 || *rs[0].RSSI != -97 || *rs[0].SNR != 3.5 ||
					!rs[0].Time.Equal(testNow.Add(-10*time.Minute)) {
					t.Errorf("stored %+v", rs)
				}
				if h := healthOf(t, f, "L-V1"); h.Gateway != "gw-b" || h.Uplinks24h != 1 || h.Status != civic.HealthOK {
					t.Errorf("health %+v", h)
				}
			}},
		{name: "wrong secret", req: request{method: "POST", url: "/api/v1/lorawan/ttn", body: `{}`, header: map[string]string{"X-Civic-Secret": "guess"}},
			status: 401, want: []string{"X-Civic-Secret"}},
		{name: "other integration's secret", req: request{method: "POST", url: "/api/v1/lorawan/ttn", body: `{}`, header: csSecret()}, status: 401},
		{name: "no secret", req: request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, frame, "")}, status: 401,
			after: noReadings("L-V1")},
		{name: "integration not configured", cfg: func(c *server.Config) { c.LoRaWANSecrets = map[string]string{server.IntegrationTTN: ttnToken} },
			req: request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, frame, ""), header: csSecret()}, status: 404,
			want: []string{"chirpstack integration is not configured", "--lorawan-chirpstack-secret-file"}},
		{name: "ingest API key instead of the secret", req: request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, frame, ""), as: "key:ingest"},
			status: 202},
		{name: "read key may not ingest", req: request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, frame, ""), as: "key:read"},
			status: 403},
		{name: "unknown DevEUI", before: []request{{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp("00000000000000AA", frame, ""), header: csSecret()}},
			req:    request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp("00000000000000AA", frame, ""), header: csSecret()},
			status: 404, field: "dev_eui", want: []string{"00000000000000AA"},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				if n := strings.Count(f.logBuf.String(), "unknown DevEUI"); n != 1 {
					t.Errorf("unknown DevEUI logged %d times, want once", n)
				}
				rec := httptest.NewRecorder()
				f.h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
				if !strings.Contains(rec.Body.String(), `civic_lorawan_messages_total{integration="chirpstack",result="unknown_device"} 2`) {
					t.Errorf("metrics lack 2 unknown_device messages")
				}
			}},
		{name: "ChirpStack event missing", req: request{method: "POST", url: "/api/v1/lorawan/chirpstack", body: csUp(v1EUI, frame, ""), header: csSecret()},
			status: 400, field: "event"},
		{name: "ChirpStack unknown event", req: request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=uplink", body: csUp(v1EUI, frame, ""), header: csSecret()},
			status: 400, field: "event"},
		{name: "ChirpStack protobuf encoding", req: request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: "\x0a\x05", header: map[string]string{"X-Civic-Secret": csToken, "Content-Type": "application/octet-stream"}},
			status: 400, want: []string{"JSON"}},
		{name: "malformed JSON", req: request{method: "POST", url: "/api/v1/lorawan/ttn", body: `{"end_device_ids":`, header: ttnSecret()}, status: 400},
		{name: "TTN message without DevEUI", req: request{method: "POST", url: "/api/v1/lorawan/ttn", body: `{"received_at":"2026-03-02T11:00:00Z","join_accept":{}}`, header: ttnSecret()},
			status: 400, field: "end_device_ids.dev_eui"},
		{name: "undecodable frame is counted", before: []request{{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, []byte{1, 2, 3}, ""), header: csSecret()}},
			req:    request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: example(t, "chirpstack-v4-up.json"), header: csSecret()},
			status: 202, // the same network server's next good uplink still goes through
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				h := healthOf(t, f, "L-V1")
				if h.DecodeFailures != 1 || h.LastDecodeFailure == nil || !strings.Contains(h.LastDecodeError, "payload") {
					t.Errorf("L-V1 health = %+v, want one decode failure", h)
				}
				evs := eventsOf(t, f, "L-V1")
				if len(evs) != 1 || evs[0].Kind != civic.EventDecodeFailure || evs[0].Detail["integration"] != "chirpstack" ||
					evs[0].Detail["payload"] != "AQID" || evs[0].Detail["gateway"] != "gw-a" {
					t.Errorf("L-V1 events = %+v", evs)
				}
				noReadings("L-V1")(t, f, nil)
			}},
		{name: "undecodable frame answers 400", req: request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, []byte{1, 2, 3}, ""), header: csSecret()},
			status: 400, field: "payload", want: []string{"9 or 11 bytes"}, after: noReadings("L-V1")},
		{name: "device without a format", before: []request{{method: "PATCH", url: "/api/v1/devices/L-V1", body: `{"payload_format":""}`, as: "admin"}},
			req:    request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, frame, ""), header: csSecret()},
			status: 400, field: "payload_format"},
		{name: "inactive device", before: []request{{method: "PATCH", url: "/api/v1/devices/L-V1", body: `{"status":"inactive"}`, as: "admin"}},
			req:    request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, frame, ""), header: csSecret()},
			status: 400, field: "dev_eui", want: []string{"inactive"},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				if h := healthOf(t, f, "L-V1"); h.DecodeFailures != 0 {
					t.Errorf("inactive device counted as a decode failure: %+v", h)
				}
				noReadings("L-V1")(t, f, nil)
			}},
		{name: "decoded value out of range", req: request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=up", body: csUp(v1EUI, frame, `{"temperature":500}`), header: csSecret()},
			status: 400, field: "temperature_c",
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				if h := healthOf(t, f, "L-V1"); h.DecodeFailures != 1 || !strings.HasPrefix(h.LastDecodeError, "temperature_c: ") {
					t.Errorf("L-V1 health = %+v", h)
				}
				noReadings("L-V1")(t, f, nil)
			}},
		{name: "TTN join is an event, not a reading",
			req: request{method: "POST", url: "/api/v1/lorawan/ttn", header: ttnSecret(),
				body: `{"end_device_ids":{"device_id":"dev1","dev_eui":"` + ttnEUI + `"},"received_at":"2026-03-02T11:30:00Z","join_accept":{"session_key_id":"AXA="}}`},
			status: 202, want: []string{`"device":"L-TTN","event":"join","accepted":0`},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				evs := eventsOf(t, f, "L-TTN")
				if len(evs) != 1 || evs[0].Kind != "join" || !evs[0].Time.Equal(testNow.Add(-30*time.Minute)) ||
					evs[0].Detail["message"] != "join accepted" || evs[0].Detail["network_id"] != "dev1" {
					t.Errorf("events = %+v", evs)
				}
				noReadings("L-TTN")(t, f, nil)
				if h := healthOf(t, f, "L-TTN"); h.LastEventKind != "join" {
					t.Errorf("health = %+v", h)
				}
			}},
		{name: "ChirpStack status is an event with the battery",
			req: request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=status", header: csSecret(),
				body: `{"time":"2026-03-02T11:40:00Z","deviceInfo":{"devEui":"` + csEUI + `"},"margin":7,"batteryLevel":12}`},
			status: 202, want: []string{`"event":"status"`},
			after: func(t *testing.T, f *fixture, _ *httptest.ResponseRecorder) {
				evs := eventsOf(t, f, "L-CS")
				if len(evs) != 1 || evs[0].Kind != "status" || evs[0].Battery == nil || *evs[0].Battery != 0.12 ||
					evs[0].Detail["message"] != "status: link margin 7 dB" {
					t.Errorf("events = %+v", evs)
				}
				noReadings("L-CS")(t, f, nil)
				// Heard through the status event only: battery known, low.
				if h := healthOf(t, f, "L-CS"); h.Battery == nil || *h.Battery != 0.12 {
					t.Errorf("health = %+v", h)
				}
			}},
		{name: "ChirpStack join for an unknown device", req: request{method: "POST", url: "/api/v1/lorawan/chirpstack?event=join", header: csSecret(),
			body: `{"time":"2026-03-02T11:40:00Z","deviceInfo":{"devEui":"00000000000000BB"}}`}, status: 404, field: "dev_eui"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			if cfg == nil {
				cfg = lorawanSecrets
			}
			f := lorawanFixture(t, cfg)
			for _, b := range tt.before {
				f.do(b)
			}
			rec := f.do(tt.req)
			if rec.Code != tt.status {
				t.Fatalf("status %d, want %d\n%s", rec.Code, tt.status, rec.Body.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(rec.Body.String(), w) {
					t.Errorf("body lacks %q: %s", w, rec.Body.String())
				}
			}
			if rec.Code >= 400 {
				if _, _, field := errorOf(t, rec); field != tt.field {
					t.Errorf("error field %q, want %q (%s)", field, tt.field, rec.Body.String())
				}
			}
			if tt.after != nil {
				tt.after(t, f, rec)
			}
		})
	}
}

// TestDeviceHealthAPI checks GET /api/v1/devices?health=true and the
// events endpoint. The fixture's S1 was last heard an hour before testNow
// and expects an uplink every 15 minutes; S2 has never been heard.
func TestDeviceHealthAPI(t *testing.T) {
	type item struct {
		ID     string              `json:"id"`
		Health *civic.DeviceHealth `json:"health"`
	}
	listHealth := func(t *testing.T, f *fixture) map[string]*civic.DeviceHealth {
		t.Helper()
		rec := f.do(request{method: "GET", url: "/api/v1/devices?health=true", as: "analyst"})
		if rec.Code != 200 {
			t.Fatalf("list: %d %s", rec.Code, rec.Body.String())
		}
		var l struct{ Items []item }
		if err := json.Unmarshal(rec.Body.Bytes(), &l); err != nil {
			t.Fatal(err)
		}
		m := map[string]*civic.DeviceHealth{}
		for _, it := range l.Items {
			if it.Health == nil {
				t.Fatalf("%s has no health: %s", it.ID, rec.Body.String())
			}
			m[it.ID] = it.Health
		}
		return m
	}

	f := lorawanFixture(t, lorawanSecrets)
	hs := listHealth(t, f)
	s1, s2 := hs["S1"], hs["S2"]
	if s1 == nil || s2 == nil || len(hs) != 5 {
		t.Fatalf("health of %d devices: %v", len(hs), hs)
	}
	if s1.LastSeen == nil || !s1.LastSeen.Equal(testNow.Add(-time.Hour)) || s1.Uplinks24h != 3 || !s1.Offline || s1.Status != civic.HealthOffline {
		t.Errorf("S1 = %+v, want 3 uplinks, last an hour ago: offline (> 3 × 15 min)", s1)
	}
	if s2.LastSeen != nil || s2.Offline || s2.Status != civic.HealthNeverSeen {
		t.Errorf("S2 = %+v, want never seen, just registered so not offline", s2)
	}

	// A page: the devices by id, each with the health the whole list gave.
	rec := f.do(request{method: "GET", url: "/api/v1/devices?health=true&limit=2&offset=1", as: "analyst"})
	var page struct{ Items []item }
	if rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &page) != nil {
		t.Fatalf("page: %d %s", rec.Code, rec.Body.String())
	}
	ids := slices.Sorted(maps.Keys(hs))
	if len(page.Items) != 2 || page.Items[0].ID != ids[1] || page.Items[1].ID != ids[2] {
		t.Errorf("page of 2 from offset 1: %+v, want %v", page.Items, ids[1:3])
	}
	for _, it := range page.Items {
		if it.Health == nil || !reflect.DeepEqual(*it.Health, *hs[it.ID]) {
			t.Errorf("%s in the page: health %+v, want %+v", it.ID, it.Health, hs[it.ID])
		}
	}
	rec = f.do(request{method: "GET", url: "/api/v1/devices?health=true&offset=5", as: "analyst"})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"items":[]`) {
		t.Errorf("past the end: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.do(request{method: "GET", url: "/api/v1/devices?limit=0", as: "analyst"})
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"field":"limit"`) {
		t.Errorf("limit=0: %d %s, want 400 naming limit", rec.Code, rec.Body.String())
	}

	// Without health=true the list is what it always was.
	rec = f.do(request{method: "GET", url: "/api/v1/devices", as: "analyst"})
	if rec.Code != 200 || strings.Contains(rec.Body.String(), `"health"`) || !strings.Contains(rec.Body.String(), `"id":"S1"`) {
		t.Errorf("plain list: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.do(request{method: "GET", url: "/api/v1/devices/S1?health=true", as: "analyst"})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"offline":true`) || !strings.Contains(rec.Body.String(), `"uplinks_24h":3`) {
		t.Errorf("one device: %d %s", rec.Code, rec.Body.String())
	}

	// A more patient threshold: 5 × 15 min > 1 h.
	f = lorawanFixture(t, func(c *server.Config) { lorawanSecrets(c); c.OfflineIntervals = 5 })
	if s1 := listHealth(t, f)["S1"]; s1.Offline || s1.Status != civic.HealthOK {
		t.Errorf("S1 with 5 intervals = %+v, want online", s1)
	}

	f.do(request{method: "POST", url: "/api/v1/lorawan/ttn", header: ttnSecret(),
		body: `{"end_device_ids":{"dev_eui":"` + ttnEUI + `"},"received_at":"2026-03-02T11:30:00Z","join_accept":{}}`})
	f.do(request{method: "POST", url: "/api/v1/lorawan/ttn", header: ttnSecret(),
		body: `{"end_device_ids":{"dev_eui":"` + ttnEUI + `"},"received_at":"2026-03-02T11:31:00Z","downlink_ack":{}}`})
	rec = f.do(request{method: "GET", url: "/api/v1/devices/L-TTN/events", as: "analyst"})
	var evs struct {
		Device string
		Items  []civic.DeviceEvent
	}
	json.Unmarshal(rec.Body.Bytes(), &evs)
	if rec.Code != 200 || evs.Device != "L-TTN" || len(evs.Items) != 2 || evs.Items[0].Kind != "ack" || evs.Items[1].Kind != "join" {
		t.Fatalf("events: %d %s", rec.Code, rec.Body.String())
	}
	rec = f.do(request{method: "GET", url: "/api/v1/devices/L-TTN/events?limit=1&before=" + strconv.FormatInt(evs.Items[0].ID, 10), as: "analyst"})
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"kind":"join"`) || strings.Contains(rec.Body.String(), `"kind":"ack"`) {
		t.Errorf("events page: %d %s", rec.Code, rec.Body.String())
	}

	runScenarios(t, []scenario{
		{name: "events of an unknown device", req: request{method: "GET", url: "/api/v1/devices/NOPE/events", as: "analyst"}, status: 404},
		{name: "events limit", req: request{method: "GET", url: "/api/v1/devices/S1/events?limit=0", as: "analyst"}, status: 400, field: "limit"},
		{name: "events before", req: request{method: "GET", url: "/api/v1/devices/S1/events?before=x", as: "analyst"}, status: 400, field: "before"},
		{name: "events need read", req: request{method: "GET", url: "/api/v1/devices/S1/events", as: "key:ingest"}, status: 403},
		{name: "no events yet", req: request{method: "GET", url: "/api/v1/devices/S1/events", as: "analyst"}, status: 200, want: []string{`"items":[]`}},
		{name: "health flag", req: request{method: "GET", url: "/api/v1/devices?health=maybe", as: "analyst"}, status: 400, field: "health"},
		{name: "health of an unknown device", req: request{method: "GET", url: "/api/v1/devices/NOPE?health=true", as: "analyst"}, status: 404},
	})
}

func f64p(v float64) *float64 { return &v }
