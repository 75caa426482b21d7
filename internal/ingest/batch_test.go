package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

func TestDecodeBatchShapes(t *testing.T) {
	one := `{"device":"S-1","time":"2026-05-01T08:30:00Z","fill":0.42,"temperature_c":21.5,"battery":0.87,"tilt_deg":2,"compactions":3,"door_open":false,"fire":true,"distance_mm":812,"rssi_dbm":-97,"snr_db":7.25}`
	want := civic.Reading{
		Device: "S-1", Time: time.Date(2026, 5, 1, 8, 30, 0, 0, time.UTC),
		Fill: ptr(0.42), TemperatureC: ptr(21.5), Battery: ptr(0.87), TiltDeg: ptr(2.0),
		Compactions: ptr(3), DoorOpen: ptr(false), Fire: ptr(true), DistanceMM: ptr(812.0),
		RSSI: ptr(-97.0), SNR: ptr(7.25),
	}
	for _, body := range []string{
		`{"readings":[` + one + `]}`,
		`[` + one + `]`,
		one,
		" \n\t{ \"readings\" : [ " + one + " ] } \n",
		strings.Replace(one, "2026-05-01T08:30:00Z", "2026-05-01t10:30:00+02:00", 1), // RFC 3339 allows t and offsets
	} {
		got, err := DecodeBatch(strings.NewReader(body))
		if err != nil {
			t.Fatalf("DecodeBatch(%s): %v", body, err)
		}
		if len(got) != 1 || !sameReading(got[0], want) {
			t.Errorf("DecodeBatch(%s) = %s, want [%s]", body, dump(got), dump(want))
		}
	}
}

// TestDecodeBatchMatchesEncodingJSON checks the hand-written decoder against
// encoding/json on tricky but valid input.
func TestDecodeBatchMatchesEncodingJSON(t *testing.T) {
	for _, one := range []string{
		`{"device":"a\u002db","time":"2026-05-01T08:30:00.123456789+02:00","fill":1e-1}`,
		`{"device":"S-1","time":"2026-05-01T08:30:00Z","fill":-0.0,"battery":0.30000000000000004}`,
		`{"device":"S-1","time":"2024-02-29T23:59:59.5-11:30","temperature_c":-12.345678901234567890}`,
		`{"device":"S-1","time":"2026-05-01T08:30:00Z","fill":123456789012345678901234567890}`,
		`{"device":"S-1","time":"2026-05-01T08:30:00Z","fill":null,"rssi_dbm":-1.5E+2,"door_open":null}`,
		`{"time":"2026-05-01T08:30:00Z","device":"S-1","device":"S-2","fill":0.5}`,
		`{}`,
	} {
		got, err := DecodeBatchBytes([]byte(one))
		if err != nil {
			t.Fatalf("DecodeBatchBytes(%s): %v", one, err)
		}
		var want civic.Reading
		if err := json.Unmarshal([]byte(one), &want); err != nil {
			t.Fatal(err)
		}
		if !sameReading(got[0], want) {
			t.Errorf("DecodeBatchBytes(%s) = %s, want %s", one, dump(got[0]), dump(want))
		}
	}
}

func TestDecodeBatchErrors(t *testing.T) {
	ok := `{"device":"S-1","time":"2026-05-01T08:30:00Z","fill":0.4}`
	tests := []struct {
		name, body string
		kind       civic.Kind
		field      string
		msg        string // substring of the message
	}{
		{"empty", ``, civic.Invalid, "", "empty"},
		{"empty batch", `{"readings":[]}`, civic.Invalid, "readings", "at least one"},
		{"null batch", `{"readings":null}`, civic.Invalid, "readings", "at least one"},
		{"readings not array", `{"readings":{}}`, civic.Invalid, "readings", "array"},
		{"empty array", `[]`, civic.Invalid, "readings", "at least one"},
		{"string", `"hello"`, civic.Invalid, "", "expected a JSON object"},
		{"unknown field", `[` + ok + `,{"device":"S-1","colour":"red"}]`, civic.Invalid, "readings[1]", `unknown field "colour"`},
		{"bin is not for senders", `{"device":"S-1","bin":"B-1"}`, civic.Invalid, "readings[0]", `unknown field "bin"`},
		{"unknown wrapper field", `{"readings":[` + ok + `],"gateway":"g"}`, civic.Invalid, "", `unknown field "gateway"`},
		{"fill string", `{"readings":[` + ok + `,` + ok + `,{"fill":"0.4"}]}`, civic.Invalid, "readings[2].fill", "must be a number"},
		{"fill object", `[{"fill":{"v":1}}]`, civic.Invalid, "readings[0].fill", "must be a number"},
		{"fill bool", `[{"fill":true}]`, civic.Invalid, "readings[0].fill", "must be a number"},
		{"device number", `[{"device":7}]`, civic.Invalid, "readings[0].device", "must be a string"},
		{"time number", `[{"time":1714552200}]`, civic.Invalid, "readings[0].time", "RFC 3339"},
		{"time bad", `[{"time":"2026-02-30T00:00:00Z"}]`, civic.Invalid, "readings[0].time", "RFC 3339"},
		{"time no zone", `[{"time":"2026-05-01T08:30:00"}]`, civic.Invalid, "readings[0].time", "RFC 3339"},
		{"compactions fraction", `[{"compactions":1.5}]`, civic.Invalid, "readings[0].compactions", "integer"},
		{"door string", `[{"door_open":"yes"}]`, civic.Invalid, "readings[0].door_open", "true or false"},
		{"reading not object", `[1]`, civic.Invalid, "readings[0]", "reading object"},
		{"reading null", `[null]`, civic.Invalid, "readings[0]", "not null"},
		{"trailing comma", `[` + ok + `,]`, civic.Invalid, "readings[1]", "reading object"},
		{"trailing data", ok + `x`, civic.Invalid, "", "after the JSON value"},
		{"two values", ok + ok, civic.Invalid, "", "after the JSON value"},
		{"truncated", `[` + ok[:30], civic.Invalid, "readings[0]", "malformed JSON"},
		{"leading zero", `[{"fill":01}]`, civic.Invalid, "readings[0]", "malformed JSON"},
		{"bad number", `[{"fill":-}]`, civic.Invalid, "readings[0]", "malformed JSON"},
		{"bad exponent", `[{"fill":1e}]`, civic.Invalid, "readings[0]", "malformed JSON"},
		{"huge number", `[{"fill":1e999}]`, civic.Invalid, "readings[0]", "out of range"},
		{"bad escape", `[{"device":"a\x"}]`, civic.Invalid, "readings[0]", "escape"},
		{"control char", "[{\"device\":\"a\x01\"}]", civic.Invalid, "readings[0]", "control character"},
		{"bad literal", `[{"fire":tru}]`, civic.Invalid, "readings[0]", "malformed JSON"},
		{"garbage value", `[{"fill":@}]`, civic.Invalid, "readings[0]", "malformed JSON"},
		{"missing colon", `[{"fill" 1}]`, civic.Invalid, "readings[0]", "expected ':'"},
		{"too many", tooMany(), civic.TooLarge, "readings", "more than 10000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeBatch(strings.NewReader(tt.body))
			if err == nil {
				t.Fatalf("DecodeBatch = %s, want a %s error", dump(got), tt.kind)
			}
			if k, f := civic.KindOf(err), civic.FieldOf(err); k != tt.kind || f != tt.field {
				t.Errorf("err = %v: kind %q field %q, want kind %q field %q", err, k, f, tt.kind, tt.field)
			}
			if !strings.Contains(civic.MessageOf(err), tt.msg) {
				t.Errorf("message %q does not contain %q", civic.MessageOf(err), tt.msg)
			}
		})
	}
}

func TestDecodeBatchBodyLimit(t *testing.T) {
	body := bytes.Repeat([]byte(" "), MaxBatchBytes+1)
	_, err := DecodeBatch(bytes.NewReader(body))
	if !civic.IsKind(err, civic.TooLarge) {
		t.Fatalf("err = %v, want too_large", err)
	}
}

func TestDecodeBatchMax(t *testing.T) {
	body := batchBody(civic.MaxBatch, 100)
	got, err := DecodeBatchBytes(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != civic.MaxBatch {
		t.Fatalf("got %d readings, want %d", len(got), civic.MaxBatch)
	}
	var want struct{ Readings []civic.Reading }
	if err := json.Unmarshal(body, &want); err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if !sameReading(got[i], want.Readings[i]) {
			t.Fatalf("reading %d = %s, want %s", i, dump(got[i]), dump(want.Readings[i]))
		}
	}
}

func tooMany() string {
	var b strings.Builder
	b.WriteString(`{"readings":[`)
	for i := range civic.MaxBatch + 1 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"fill":1}`)
	}
	b.WriteString(`]}`)
	return b.String()
}

// batchBody returns a realistic batch of n readings from the given number
// of devices, every field set as the example has them.
func batchBody(n, devices int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"readings":[`)
	t0 := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"device":"SENS-%05d","time":%q,"fill":%.2f,"temperature_c":%.1f,"battery":0.87,"tilt_deg":2,"compactions":%d,"door_open":false,"rssi_dbm":-97}`,
			i%devices, t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339), float64(i%100)/100, 15+float64(i%100)/10, i%50)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

func BenchmarkDecodeBatch10k(b *testing.B) {
	body := batchBody(10000, 1000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBatch(bytes.NewReader(body)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeBatch10kEncodingJSON is the reference the hand-written
// decoder is measured against.
func BenchmarkDecodeBatch10kEncodingJSON(b *testing.B) {
	body := batchBody(10000, 1000)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var v struct{ Readings []civic.Reading }
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}

func sameReading(a, b civic.Reading) bool {
	return a.Device == b.Device && a.Time.Equal(b.Time) && a.Bin == b.Bin &&
		eq(a.Fill, b.Fill) && eq(a.TemperatureC, b.TemperatureC) && eq(a.Battery, b.Battery) &&
		eq(a.TiltDeg, b.TiltDeg) && eq(a.Compactions, b.Compactions) && eq(a.DoorOpen, b.DoorOpen) &&
		eq(a.Fire, b.Fire) && eq(a.DistanceMM, b.DistanceMM) && eq(a.RSSI, b.RSSI) && eq(a.SNR, b.SNR)
}

func eq[T comparable](a, b *T) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func dump(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func BenchmarkDecodeBatchOne(b *testing.B) {
	body := []byte(`{"time":"2026-05-01T08:30:00Z","fill":0.42,"battery":0.9,"temperature_c":12.5}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeBatchBytes(body); err != nil {
			b.Fatal(err)
		}
	}
}
