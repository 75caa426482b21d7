package civic_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

func TestBinStateApply(t *testing.T) {
	t0 := time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	f := func(v float64) *float64 { return &v }
	b := func(v bool) *bool { return &v }
	base := civic.BinState{BinID: "B1", Device: "D1", Time: at(10), Fill: f(0.5), TemperatureC: f(20), RSSI: f(-90),
		UpdatedAt: at(11)}
	tests := []struct {
		name        string
		from        civic.BinState
		r           civic.Reading
		want        civic.BinState
		wantChanged bool
	}{
		{"empty state takes the reading",
			civic.BinState{},
			civic.Reading{Device: "D1", Bin: "B1", Time: at(1), Fill: f(0.1), Compactions: new(int), SNR: f(3)},
			civic.BinState{BinID: "B1", Device: "D1", Time: at(1), Fill: f(0.1)}, true},
		{"newer reading keeps what it lacks",
			base,
			civic.Reading{Device: "D2", Bin: "B1", Time: at(20), TemperatureC: f(22), Fire: b(false)},
			civic.BinState{BinID: "B1", Device: "D2", Time: at(20), Fill: f(0.5), TemperatureC: f(22), Fire: b(false),
				RSSI: f(-90), UpdatedAt: at(11)}, true},
		{"older reading changes nothing",
			base,
			civic.Reading{Device: "D9", Bin: "B1", Time: at(5), Fill: f(0.9), Battery: f(0.1)},
			base, false},
		{"reading at the state's time changes nothing",
			base,
			civic.Reading{Device: "D9", Bin: "B1", Time: at(10), Fill: f(0.9), Battery: f(0.1)},
			base, false},
		{"every kept measurement",
			base,
			civic.Reading{Device: "D1", Bin: "B1", Time: at(30), Fill: f(0.6), TemperatureC: f(1), Battery: f(0.7),
				TiltDeg: f(4), DoorOpen: b(true), Fire: b(true), RSSI: f(-100)},
			civic.BinState{BinID: "B1", Device: "D1", Time: at(30), Fill: f(0.6), TemperatureC: f(1), Battery: f(0.7),
				TiltDeg: f(4), DoorOpen: b(true), Fire: b(true), RSSI: f(-100), UpdatedAt: at(11)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.from
			changed := got.Apply(tt.r)
			if !reflect.DeepEqual(got, tt.want) || changed != tt.wantChanged {
				t.Errorf("Apply = %v, %+v\nwant %v, %+v", changed, got, tt.wantChanged, tt.want)
			}
			again := got
			if again.Apply(tt.r) || !reflect.DeepEqual(again, got) {
				t.Errorf("applying the reading twice changed the state: %+v", again)
			}
		})
	}
}

func TestBinStateReading(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	b := func(v bool) *bool { return &v }
	s := civic.BinState{BinID: "B1", Device: "D1", Time: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC),
		Fill: f(0.6), TemperatureC: f(1), Battery: f(0.7), TiltDeg: f(4), DoorOpen: b(true), Fire: b(false), RSSI: f(-100),
		UpdatedAt: time.Date(2026, 3, 10, 12, 0, 1, 0, time.UTC)}
	var got civic.BinState
	got.Apply(s.Reading())
	got.UpdatedAt = s.UpdatedAt
	if !reflect.DeepEqual(got, s) {
		t.Errorf("empty state after Apply(s.Reading()) = %+v,\nwant %+v", got, s)
	}
}
