package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

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
	// Where civic's decoder and encoding/json disagree, by design.
	f.Add([]byte(`[{"device":"S-1","compactions":1e2},{"compactions":7.0}]`)) // integral numbers in float syntax
	f.Add([]byte(`[{"device":"S-1","Fill":0.5}]`))                            // names are exact
	f.Add([]byte("[{\"device\":\"S-\xff\"}]"))                                // invalid UTF-8
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := DecodeBatchBytes(b)
		// Whatever decodes must mean the same to encoding/json.
		checkAgainstJSON(t, b, got, err)
		if err != nil {
			if k := civic.KindOf(err); k != civic.Invalid && k != civic.TooLarge {
				t.Fatalf("error kind %q: %v", k, err)
			}
			return
		}
		if len(got) == 0 || len(got) > civic.MaxBatch {
			t.Fatalf("decoded %d readings", len(got))
		}
		for _, r := range got {
			_ = r.Normalize(civic.ScalePercent, time.Now())
		}
	})
}

// checkAgainstJSON decodes b with encoding/json into refReading, the same
// shape, and compares: where both decode, every reading field by field;
// where only one does, the input must be one of the cases where civic's
// decoder is right to differ.
func checkAgainstJSON(t *testing.T, b []byte, got []civic.Reading, err error) {
	t.Helper()
	want, jerr := decodeRef(b)
	switch {
	case err == nil && jerr == nil:
		if len(got) != len(want) {
			t.Fatalf("decoded %d readings, encoding/json %d, from %q", len(got), len(want), b)
		}
		for i := range got {
			compareReading(t, i, got[i], want[i], b)
		}
	case err == nil:
		// Accepted what encoding/json rejects. Right only where JSON has no
		// say: compactions written as an integral number in float syntax
		// (1.0, 1e2: JSON has one number type), a time encoding/json's
		// stricter RFC 3339 parser refuses but time.Parse accepts.
		if _, lerr := decodeLenient(b); lerr != nil {
			t.Fatalf("accepted what encoding/json rejects (%v): %q", jerr, b)
		}
	case jerr == nil:
		// Rejected what encoding/json accepts. Right only for the rules
		// encoding/json does not know: field names are exact (it matches
		// them ignoring case), and a value that is invalid JSON text
		// (invalid UTF-8, which encoding/json replaces).
		if civic.KindOf(err) != civic.Invalid && civic.KindOf(err) != civic.TooLarge {
			t.Fatalf("error kind %q: %v", civic.KindOf(err), err)
		}
		if !foldedKey(b) && utf8.Valid(b) {
			t.Fatalf("rejected what encoding/json accepts (%v): %q", err, b)
		}
	}
}

// refReading is civic's reading as encoding/json decodes it: the fields
// DecodeBatch takes ("bin" is not one).
type refReading struct {
	Device       *string    `json:"device"`
	Time         *time.Time `json:"time"`
	Fill         *float64   `json:"fill"`
	TemperatureC *float64   `json:"temperature_c"`
	Battery      *float64   `json:"battery"`
	TiltDeg      *float64   `json:"tilt_deg"`
	Compactions  *int       `json:"compactions"`
	DoorOpen     *bool      `json:"door_open"`
	Fire         *bool      `json:"fire"`
	DistanceMM   *float64   `json:"distance_mm"`
	RSSI         *float64   `json:"rssi_dbm"`
	SNR          *float64   `json:"snr_db"`
}

// decodeRef decodes b as DecodeBatch documents it, with encoding/json:
// an array of readings, an object whose first key is "readings", or one
// reading; unknown fields rejected; at least one reading.
func decodeRef(b []byte) ([]refReading, error) {
	return decodeShapeOf[refReading](b)
}

// decodeLenient is decodeRef with compactions taken as any integral number
// and times parsed by time.Parse, "t" and "z" in either case.
func decodeLenient(b []byte) ([]refReading, error) {
	type lenient struct {
		refReading
		Time        *string  `json:"time"`
		Compactions *float64 `json:"compactions"`
	}
	rs, err := decodeShapeOf[lenient](b)
	if err != nil {
		return nil, err
	}
	out := make([]refReading, len(rs))
	for i, r := range rs {
		out[i] = r.refReading
		if r.Time != nil {
			// RFC 3339 (section 5.6) allows "t" and "z" in lower case,
			// as civic does; time.Parse wants them upper case.
			v := []byte(*r.Time)
			if len(v) > 10 && v[10] == 't' {
				v[10] = 'T'
			}
			if n := len(v); n > 0 && v[n-1] == 'z' {
				v[n-1] = 'Z'
			}
			tm, err := time.Parse(time.RFC3339Nano, string(v))
			if err != nil {
				return nil, err
			}
			out[i].Time = &tm
		}
		if c := r.Compactions; c != nil {
			if *c != math.Trunc(*c) || math.Abs(*c) > 1<<53 {
				return nil, errors.New("compactions: not an integer")
			}
			n := int(*c)
			out[i].Compactions = &n
		}
	}
	return out, nil
}

// decodeShapeOf decodes the three shapes into readings of type R.
func decodeShapeOf[R any](b []byte) ([]R, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var out []R
	trimmed := bytes.TrimLeft(b, " \t\r\n")
	switch {
	case len(trimmed) > 0 && trimmed[0] == '[':
		if err := dec.Decode(&out); err != nil {
			return nil, err
		}
	case len(trimmed) > 0 && trimmed[0] == '{' && firstKeyIsReadings(trimmed):
		var w struct {
			Readings *[]R `json:"readings"`
		}
		if err := dec.Decode(&w); err != nil {
			return nil, err
		}
		if w.Readings != nil {
			out = *w.Readings
		}
	case len(trimmed) > 0 && trimmed[0] == '{':
		var r R
		if err := dec.Decode(&r); err != nil {
			return nil, err
		}
		out = []R{r}
	default:
		return nil, errors.New("not an object or array")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the value")
	}
	if len(out) == 0 || len(out) > civic.MaxBatch {
		return nil, fmt.Errorf("%d readings", len(out))
	}
	return out, nil
}

// firstKeyIsReadings reports whether the object b starts with has
// "readings" as its first key, as encoding/json reads keys.
func firstKeyIsReadings(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return false
	}
	tok, err := dec.Token()
	return err == nil && tok == "readings"
}

// foldedKey reports whether b has an object key that is not one of
// DecodeBatch's names but equals one ignoring case, as encoding/json
// matches them.
func foldedKey(b []byte) bool {
	names := []string{"readings", "device", "time", "fill", "temperature_c", "battery", "tilt_deg", "compactions",
		"door_open", "fire", "distance_mm", "rssi_dbm", "snr_db"}
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		k, ok := tok.(string)
		if !ok {
			continue
		}
		for _, n := range names {
			if k != n && strings.EqualFold(k, n) {
				return true
			}
		}
	}
}

func compareReading(t *testing.T, i int, got civic.Reading, want refReading, b []byte) {
	t.Helper()
	fail := func(field string, g, w any) {
		t.Fatalf("readings[%d].%s = %v, encoding/json %v, from %q", i, field, g, w, b)
	}
	if w := deref(want.Device); got.Device != w {
		// Invalid UTF-8 in the id: encoding/json replaces each bad byte
		// with U+FFFD, civic's decoder keeps the bytes. Either is refused
		// at ingest (an id is ASCII letters, digits and punctuation), with
		// the id as sent in the message: civic's way is the right one here.
		if utf8.ValidString(got.Device) || replaceInvalid(got.Device) != w ||
			civic.ValidateID("device", got.Device) == nil {
			fail("device", got.Device, w)
		}
	}
	if w := deref(want.Time); !got.Time.Equal(w) {
		fail("time", got.Time, w)
	}
	floats := []struct {
		name string
		g, w *float64
	}{
		{"fill", got.Fill, want.Fill}, {"temperature_c", got.TemperatureC, want.TemperatureC},
		{"battery", got.Battery, want.Battery}, {"tilt_deg", got.TiltDeg, want.TiltDeg},
		{"distance_mm", got.DistanceMM, want.DistanceMM}, {"rssi_dbm", got.RSSI, want.RSSI}, {"snr_db", got.SNR, want.SNR},
	}
	for _, f := range floats {
		if (f.g == nil) != (f.w == nil) || f.g != nil && *f.g != *f.w {
			fail(f.name, show(f.g), show(f.w))
		}
	}
	if g, w := got.Compactions, want.Compactions; (g == nil) != (w == nil) || g != nil && *g != *w {
		fail("compactions", show(g), show(w))
	}
	bools := []struct {
		name string
		g, w *bool
	}{{"door_open", got.DoorOpen, want.DoorOpen}, {"fire", got.Fire, want.Fire}}
	for _, f := range bools {
		if (f.g == nil) != (f.w == nil) || f.g != nil && *f.g != *f.w {
			fail(f.name, show(f.g), show(f.w))
		}
	}
}

// replaceInvalid replaces every byte of s that is not UTF-8 with U+FFFD,
// as encoding/json does.
func replaceInvalid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func show[T any](p *T) any {
	if p == nil {
		return "absent"
	}
	return *p
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
