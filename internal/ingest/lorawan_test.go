package ingest

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The shared examples are copied into testdata so that the package's tests
// and fuzz seeds do not depend on the layout outside the module.
func readExample(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeTTNExample(t *testing.T) {
	u, err := DecodeTTN(readExample(t, "tts-v3-uplink.json"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := base64.StdEncoding.DecodeString("gkHe")
	if u.Kind != KindUplink || u.DevEUI != "0004A30B001C0530" || u.NetworkID != "dev1" ||
		!u.Time.Equal(time.Date(2020, 2, 12, 15, 15, 45, 789585559, time.UTC)) ||
		u.FCnt != 1 || string(u.Payload) != string(payload) || u.GatewayID != "gtw1" ||
		u.RSSI == nil || *u.RSSI != -35 || u.SNR == nil || *u.SNR != 5 {
		t.Errorf("DecodeTTN = %+v", u)
	}
	if u.Decoded["temperature"] != 1.0 || u.Decoded["luminosity"] != 0.64 {
		t.Errorf("Decoded = %v", u.Decoded)
	}

	dev := civic.Device{ID: "S-1", FillScale: civic.ScalePercent}
	r, err := u.Reading(dev, NewDecoders())
	if err != nil {
		t.Fatal(err)
	}
	want := civic.Reading{Device: "S-1", Time: u.Time, TemperatureC: ptr(1.0), RSSI: ptr(-35.0), SNR: ptr(5.0)}
	if !sameReading(r, want) {
		t.Errorf("Reading = %s, want %s", dump(r), dump(want))
	}
	if err := r.Normalize(dev.FillScale, time.Now()); err != nil {
		t.Errorf("Normalize: %v", err)
	}
}

func TestDecodeChirpStackExample(t *testing.T) {
	u, err := DecodeChirpStack("up", readExample(t, "chirpstack-v4-up.json"))
	if err != nil {
		t.Fatal(err)
	}
	if u.Kind != KindUplink || u.DevEUI != "0101010101010101" || u.NetworkID != "Test device" ||
		!u.Time.Equal(time.Date(2022, 7, 18, 9, 34, 15, 775023242, time.UTC)) ||
		u.FPort != 1 || string(u.Payload) != "\xaa" || u.GatewayID != "0016c001f153a14c" ||
		u.RSSI == nil || *u.RSSI != -36 || u.SNR == nil || *u.SNR != 10.5 || u.Decoded != nil {
		t.Errorf("DecodeChirpStack = %+v", u)
	}
	// No decoded object and a one-byte frame: civic-v1 refuses it.
	_, err = u.Reading(civic.Device{ID: "S-1", PayloadFormat: CivicV1}, NewDecoders())
	if civic.FieldOf(err) != "payload" {
		t.Errorf("Reading err = %v, want invalid payload", err)
	}
	_, err = u.Reading(civic.Device{ID: "S-1"}, NewDecoders())
	if civic.FieldOf(err) != "payload_format" {
		t.Errorf("Reading without format err = %v, want invalid payload_format", err)
	}
}

func TestChirpStackBytesDecodedWithDeviceFormat(t *testing.T) {
	frame := EncodeCivicV1(civic.Reading{Fill: ptr(0.73), Battery: ptr(0.5), TemperatureC: ptr(-3.4), DoorOpen: ptr(true)})
	body := `{"time":"2026-05-01T08:30:00Z","deviceInfo":{"devEui":"a1b2c3d4e5f60708"},"fPort":2,"data":"` +
		base64.StdEncoding.EncodeToString(frame) + `","rxInfo":[{"gatewayId":"g1","rssi":-110,"snr":-3},{"gatewayId":"g2","rssi":-90,"snr":2}]}`
	u, err := DecodeChirpStack("up", []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if u.DevEUI != "A1B2C3D4E5F60708" || u.GatewayID != "g2" || *u.RSSI != -90 {
		t.Errorf("DecodeChirpStack = %+v, want upper-case EUI and the best gateway g2", u)
	}
	for _, tt := range []struct {
		scale civic.FillScale
		fill  float64
	}{{civic.ScalePercent, 73}, {civic.ScaleFraction, 0.73}, {"", 0.73}, {civic.ScaleBigbelly, 7.3}} {
		r, err := u.Reading(civic.Device{ID: "S-1", FillScale: tt.scale, PayloadFormat: CivicV1}, NewDecoders())
		if err != nil {
			t.Fatal(err)
		}
		want := civic.Reading{Device: "S-1", Time: u.Time, Fill: ptr(tt.fill), Battery: ptr(0.5), TemperatureC: ptr(-3.4),
			DoorOpen: ptr(true), Fire: ptr(false), RSSI: ptr(-90.0), SNR: ptr(2.0)}
		if !sameReading(r, want) {
			t.Errorf("scale %q: Reading = %s, want %s", tt.scale, dump(r), dump(want))
		}
	}
}

func TestDecodedPayloadFields(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		obj    string
		scale  civic.FillScale
		want   civic.Reading
		hasErr bool
	}{
		{"fill in device scale", `{"fillLevel":55,"batteryLevel":80}`, civic.ScalePercent,
			civic.Reading{Fill: ptr(55.0), Battery: ptr(0.8)}, false},
		{"fill percent to fraction", `{"fill_percent":50,"battery":0.9,"temp":4}`, civic.ScaleFraction,
			civic.Reading{Fill: ptr(0.5), Battery: ptr(0.9), TemperatureC: ptr(4.0)}, false},
		{"battery percent guessed", `{"level":0.2,"battery":90}`, civic.ScaleFraction,
			civic.Reading{Fill: ptr(0.2), Battery: ptr(0.9)}, false},
		{"flags as numbers", `{"distance":640,"fire_alarm":1,"lidOpen":0,"tilt":12,"compaction_count":7}`, civic.ScaleFraction,
			civic.Reading{DistanceMM: ptr(640.0), Fire: ptr(true), DoorOpen: ptr(false), TiltDeg: ptr(12.0), Compactions: ptr(7)}, false},
		{"device time", `{"fill":0.1,"time":"2026-05-01T07:59:00Z"}`, civic.ScaleFraction,
			civic.Reading{Fill: ptr(0.1), Time: t0.Add(-time.Minute)}, false},
		{"nothing known falls back to bytes", `{"luminosity":3}`, civic.ScaleFraction, civic.Reading{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"end_device_ids":{"device_id":"d","dev_eui":"0004a30b001c0530"},"received_at":"2026-05-01T08:00:00Z",` +
				`"uplink_message":{"f_port":1,"frm_payload":"AQ==","decoded_payload":` + tt.obj + `}}`
			u, err := DecodeTTN([]byte(body))
			if err != nil {
				t.Fatal(err)
			}
			r, err := u.Reading(civic.Device{ID: "S-1", FillScale: tt.scale, PayloadFormat: CivicV1}, NewDecoders())
			if tt.hasErr {
				if err == nil {
					t.Fatalf("Reading = %s, want an error", dump(r))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.want.Device = "S-1"
			if tt.want.Time.IsZero() {
				tt.want.Time = t0
			}
			if !sameReading(r, tt.want) {
				t.Errorf("Reading = %s, want %s", dump(r), dump(tt.want))
			}
		})
	}
}

func TestDecodeTTNEvents(t *testing.T) {
	ids := `"end_device_ids":{"device_id":"d","dev_eui":"0004A30B001C0530"},"received_at":"2026-05-01T08:00:00Z"`
	tests := []struct {
		body  string
		kind  EventKind
		field string // error field, "" for success
	}{
		{`{` + ids + `,"join_accept":{"session_key_id":"x"}}`, KindJoin, ""},
		{`{` + ids + `,"downlink_ack":{}}`, KindAck, ""},
		{`{` + ids + `,"downlink_nack":{}}`, KindAck, ""},
		{`{` + ids + `,"downlink_sent":{}}`, KindTxAck, ""},
		{`{` + ids + `,"downlink_failed":{}}`, KindDownlink, ""},
		{`{` + ids + `,"downlink_queued":{}}`, KindDownlink, ""},
		{`{` + ids + `,"location_solved":{}}`, KindLocation, ""},
		{`{` + ids + `,"service_data":{}}`, KindIntegration, ""},
		{`{` + ids + `}`, "", ""},
		{`{` + ids + `,"uplink_message":null}`, "", ""},
		{`{"end_device_ids":{"dev_eui":"XYZ"},"received_at":"2026-05-01T08:00:00Z","uplink_message":{}}`, "", "end_device_ids.dev_eui"},
		{`{"end_device_ids":{},"received_at":"2026-05-01T08:00:00Z","uplink_message":{}}`, "", "end_device_ids.dev_eui"},
		{`{"end_device_ids":{"dev_eui":"0004A30B001C0530"},"uplink_message":{}}`, "", "received_at"},
		{`{"end_device_ids":{"dev_eui":"0004A30B001C0530"},"received_at":"x","uplink_message":{}}`, "", ""},
		{`{"end_device_ids":{"dev_eui":"0004A30B001C0530"},"uplink_message":{"f_port":"one"}}`, "", "uplink_message.f_port"},
		{`[]`, "", ""},
	}
	for _, tt := range tests {
		u, err := DecodeTTN([]byte(tt.body))
		if tt.kind != "" {
			if err != nil || u.Kind != tt.kind || u.Detail == "" {
				t.Errorf("DecodeTTN(%s) = %+v, %v; want kind %s", tt.body, u, err, tt.kind)
			}
			if _, err := u.Reading(civic.Device{ID: "x"}, nil); !civic.IsKind(err, civic.Invalid) {
				t.Errorf("Reading of a %s event: err = %v, want invalid", u.Kind, err)
			}
			continue
		}
		if !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != tt.field {
			t.Errorf("DecodeTTN(%s) err = %v, want invalid field %q", tt.body, err, tt.field)
		}
	}
	if _, err := DecodeTTN([]byte(`{"x":"` + strings.Repeat("a", maxWebhookBytes) + `"}`)); !civic.IsKind(err, civic.TooLarge) {
		t.Errorf("huge body: err = %v, want too_large", err)
	}
}

func TestDecodeChirpStackEvents(t *testing.T) {
	info := `"time":"2026-05-01T08:00:00Z","deviceInfo":{"devEui":"0101010101010101","deviceName":"d"}`
	u, err := DecodeChirpStack("status", []byte(`{`+info+`,"margin":7,"batteryLevel":75.5}`))
	if err != nil || u.Kind != KindStatus || u.Battery == nil || *u.Battery != 0.755 || u.Detail != "status: link margin 7 dB" {
		t.Errorf("status = %+v, %v", u, err)
	}
	u, err = DecodeChirpStack("status", []byte(`{`+info+`,"externalPowerSource":true,"batteryLevel":0}`))
	if err != nil || u.Battery != nil {
		t.Errorf("status on mains = %+v, %v; want no battery", u, err)
	}
	u, err = DecodeChirpStack("log", []byte(`{`+info+`,"level":"ERROR","code":"UPLINK_CODEC","description":"bad"}`))
	if err != nil || u.Kind != KindLog || u.Detail != "ERROR UPLINK_CODEC: bad" {
		t.Errorf("log = %+v, %v", u, err)
	}
	for _, ev := range []string{"join", "ack", "txack", "location", "integration"} {
		u, err := DecodeChirpStack(ev, []byte(`{`+info+`}`))
		if err != nil || string(u.Kind) != map[string]string{"join": "join", "ack": "ack", "txack": "txack", "location": "location", "integration": "integration"}[ev] {
			t.Errorf("%s = %+v, %v", ev, u, err)
		}
	}
	// A missing time falls back to the network server's rx time.
	u, err = DecodeChirpStack("up", []byte(`{"deviceInfo":{"devEui":"0101010101010101"},"rxInfo":[{"nsTime":"2026-05-01T08:00:01Z"}]}`))
	if err != nil || !u.Time.Equal(time.Date(2026, 5, 1, 8, 0, 1, 0, time.UTC)) {
		t.Errorf("nsTime fallback = %+v, %v", u, err)
	}
	for _, tt := range []struct{ event, body, field string }{
		{"dance", `{}`, "event"},
		{"up", `{"deviceInfo":{"devEui":"0101010101010101"}}`, "time"},
		{"up", `{"time":"yesterday","deviceInfo":{"devEui":"0101010101010101"}}`, "time"},
		{"up", `{"time":"2026-05-01T08:00:00Z","deviceInfo":{}}`, "deviceInfo.dev_eui"},
		{"up", `{"time":"2026-05-01T08:00:00Z","deviceInfo":{"devEui":"0101010101010101"},"data":"!!"}`, ""},
		{"up", `not json`, ""},
	} {
		if _, err := DecodeChirpStack(tt.event, []byte(tt.body)); !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != tt.field {
			t.Errorf("DecodeChirpStack(%s, %s) err = %v, want invalid field %q", tt.event, tt.body, err, tt.field)
		}
	}
}
