package bench

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// lastLine returns the last line written to out, the figure the README
// quotes.
func lastLine(t *testing.T, out string) string {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}

// TestHarnesses runs small versions of the in-process harnesses and checks
// the line each ends with. The crash harness needs the civic binary: see
// cmd/civic's TestCrashDurability; the route harness is TestBenchRoute.
func TestHarnesses(t *testing.T) {
	tests := []struct {
		name string
		run  func(out io.Writer) error
		want string
	}{
		{"ingest", func(out io.Writer) error {
			return Ingest(t.Context(), IngestOptions{Readings: 2000, Batch: 250, Senders: 2, Devices: 20, Out: out, Progress: io.Discard})
		}, `^ingest: \d+ readings/s; raw driver limit \d+ readings/s; ratio \d+\.\d\d$`},
		{"mqtt lean", func(out io.Writer) error {
			return MQTT(t.Context(), MQTTOptions{Devices: 5, Messages: 4, PerMessage: 1, Inflight: 1, Client: LeanClient, Out: out, Progress: io.Discard})
		}, `^mqtt: \d+ readings/s, lost 0, duplicates stored 0; broker-only \d+/s; ratio \d+\.\d\d$`},
		{"mqtt for a duration", func(out io.Writer) error {
			return MQTT(t.Context(), MQTTOptions{Devices: 5, Messages: 4, PerMessage: 1, Inflight: 1, Duration: 500 * time.Millisecond, Client: LeanClient, Out: out, Progress: io.Discard})
		}, `^mqtt: [1-9]\d* readings/s, lost 0, duplicates stored 0; broker-only [1-9]\d*/s; ratio \d+\.\d\d$`},
		{"mqtt paho", func(out io.Writer) error {
			return MQTT(t.Context(), MQTTOptions{Devices: 5, Messages: 4, PerMessage: 3, Inflight: 2, Client: PahoClient, Out: out, Progress: io.Discard})
		}, `^mqtt: \d+ readings/s, lost 0, duplicates stored 0; broker-only \d+/s; ratio \d+\.\d\d$`},
		{"plan", func(out io.Writer) error {
			return Plan(t.Context(), PlanOptions{Bins: 400, Due: 80, MayGo: 40, Trucks: 8, Time: 2 * time.Second, Reference: 2 * time.Second, Seed: 1, Out: out})
		}, `^plan: 80 bins due, \d+ routes, \d+ km, \d+\.\d s; gap to a 2s solve -?\d+\.\d\d%$`},
		{"map", func(out io.Writer) error {
			return Map(t.Context(), MapOptions{Bins: 200, Requests: 50, Concurrency: 2, Duration: 10 * time.Second, Live: 100, Gzip: true, Seed: 1, Out: out})
		}, `^map: p99 \d+\.\d\d ms over 50 requests \(200 bins\)$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := tt.run(&out); err != nil {
				t.Fatalf("%v\noutput:\n%s", err, out.String())
			}
			if got := lastLine(t, out.String()); !regexp.MustCompile(tt.want).MatchString(got) {
				t.Errorf("last line %q, want it to match %s", got, tt.want)
			}
		})
	}
}

// TestOpenStoreBadURL: a --db that does not parse is the caller's to
// correct.
func TestOpenStoreBadURL(t *testing.T) {
	_, _, err := openStore(t.Context(), "postgres://%zz")
	if oe, ok := errors.AsType[*OptionError](err); !ok || !strings.HasPrefix(oe.Msg, "--db: ") {
		t.Errorf("got %v, want an *OptionError about --db", err)
	}
}

func TestReceiveMaximum(t *testing.T) {
	userProp := []byte{0x26, 0, 1, 'k', 0, 1, 'v'}
	tests := []struct {
		name    string
		props   []byte
		want    int
		wantErr bool
	}{
		{"none", []byte{0}, 65535, false},
		{"receive maximum", []byte{3, 0x21, 0, 10}, 10, false},
		{"after a user property and a string", append(append([]byte{17}, userProp...), 0x12, 0, 4, 'c', 'l', 'i', 'd', 0x21, 1, 0), 256, false},
		{"after a byte and a four-byte integer", []byte{10, 0x24, 1, 0x11, 0, 0, 0, 60, 0x21, 0, 7}, 7, false},
		{"truncated properties", []byte{3, 0x21, 0}, 0, true},
		{"truncated property", []byte{2, 0x21, 0}, 0, true},
		{"unknown property", []byte{2, 0x7f, 0}, 0, true},
		{"length too long", []byte{0x80, 0x80, 0x80, 0x80, 0x01}, 0, true},
	}
	for _, tt := range tests {
		got, err := receiveMaximum(tt.props)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: receiveMaximum(%v) = %d, %v; want %d, error %v", tt.name, tt.props, got, err, tt.want, tt.wantErr)
		}
	}
}
