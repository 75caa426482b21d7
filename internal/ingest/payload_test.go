package ingest

import (
	"testing"

	"github.com/civic-city/civic/internal/civic"
)

func TestCivicV1RoundTrip(t *testing.T) {
	tests := []struct {
		name string
		in   civic.Reading
		want civic.Reading
		len  int
	}{
		{"everything",
			civic.Reading{Fill: ptr(0.42), Battery: ptr(0.87), TemperatureC: ptr(21.5), TiltDeg: ptr(2.0), DistanceMM: ptr(812.0), Fire: ptr(true), DoorOpen: ptr(true), Compactions: ptr(3)},
			civic.Reading{Fill: ptr(42.0), Battery: ptr(0.87), TemperatureC: ptr(21.5), TiltDeg: ptr(2.0), DistanceMM: ptr(812.0), Fire: ptr(true), DoorOpen: ptr(true), Compactions: ptr(3)},
			11},
		{"flags only",
			civic.Reading{},
			civic.Reading{Fire: ptr(false), DoorOpen: ptr(false)},
			9},
		{"negative temperature, clamped values",
			civic.Reading{TemperatureC: ptr(-12.3), Fill: ptr(1.5), TiltDeg: ptr(400.0), DistanceMM: ptr(-5.0)},
			civic.Reading{TemperatureC: ptr(-12.3), Fill: ptr(100.0), TiltDeg: ptr(180.0), DistanceMM: ptr(0.0), Fire: ptr(false), DoorOpen: ptr(false)},
			9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := EncodeCivicV1(tt.in)
			if len(b) != tt.len {
				t.Fatalf("len = %d, want %d", len(b), tt.len)
			}
			got, scale, err := NewDecoders().Decode(CivicV1, 1, b)
			if err != nil {
				t.Fatal(err)
			}
			if scale != civic.ScalePercent || !sameReading(got, tt.want) {
				t.Errorf("decode = %s (%s), want %s (percent)", dump(got), scale, dump(tt.want))
			}
		})
	}
}

func TestCivicV1Layout(t *testing.T) {
	// The documented example: fire, lid closed, 812 mm, 42 %, 87 %, 21.5 °C, 2°.
	b := []byte{0x01, 0x01, 0x03, 0x2C, 42, 87, 0x00, 0xD7, 2}
	got, _, err := DecodeCivicV1(0, b)
	if err != nil {
		t.Fatal(err)
	}
	want := civic.Reading{Fire: ptr(true), DoorOpen: ptr(false), DistanceMM: ptr(812.0), Fill: ptr(42.0), Battery: ptr(0.87), TemperatureC: ptr(21.5), TiltDeg: ptr(2.0)}
	if !sameReading(got, want) {
		t.Errorf("got %s, want %s", dump(got), dump(want))
	}
}

func TestCivicV1Errors(t *testing.T) {
	for _, b := range [][]byte{
		nil,
		{1, 0, 0, 0, 0, 0, 0, 0},
		{1, 0, 0, 0, 0, 0, 0, 0, 0, 0},
		{2, 0, 0, 0, 0, 0, 0, 0, 0},
		{1, 0, 0, 0, 101, 0, 0, 0, 0},
		{1, 0, 0, 0, 0, 200, 0, 0, 0},
		{1, 0, 0, 0, 0, 0, 0, 0, 181},
	} {
		if _, _, err := DecodeCivicV1(1, b); !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != "payload" {
			t.Errorf("DecodeCivicV1(% x) err = %v, want invalid payload", b, err)
		}
	}
	if _, _, err := NewDecoders().Decode("acme-9", 1, []byte{1}); civic.FieldOf(err) != "payload_format" {
		t.Errorf("unknown format err = %v", err)
	}
	if names := NewDecoders().Names(); len(names) != 1 || names[0] != CivicV1 {
		t.Errorf("Names = %v", names)
	}
}
