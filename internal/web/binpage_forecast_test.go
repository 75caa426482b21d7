package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// stubForecaster answers every bin with fc or err.
type stubForecaster struct {
	fc  civic.Forecast
	err error
}

func (s stubForecaster) Forecast(_ context.Context, id string) (civic.Forecast, error) {
	fc := s.fc
	fc.BinID = id
	return fc, s.err
}

func TestBinPageForecast(t *testing.T) {
	now := time.Date(2026, 11, 25, 16, 0, 0, 0, time.UTC) // a Wednesday
	at := func(h float64) *time.Time { t := now.Add(time.Duration(h * float64(time.Hour))); return &t }
	hours := func(h float64) *float64 { return &h }
	fc := civic.Forecast{Now: now, Fill: 0.4, Threshold: 0.9, RatePerHour: 0.035, HorizonHours: 336,
		FullAt: at(14), FullAtLow: at(10), FullAtHigh: at(19), HoursToFull: hours(14)}
	tests := []struct {
		name string
		fc   civic.Forecaster
		want []string
		nope []string
	}{
		{"forecast", stubForecaster{fc: fc}, []string{
			`<dd id="bin-forecast">full in ~14 h (10–19 h), Thu 06:00 UTC</dd>`,
			`data-forecast-now="` + itoa64(now.Unix()) + `"`, `data-forecast-fill="40"`,
			`data-forecast-full="` + itoa64(at(14).Unix()) + `"`, `data-forecast-threshold="90"`,
		}, nil},
		{"not within the horizon", stubForecaster{fc: civic.Forecast{Now: now, Fill: 0.1, Threshold: 0.9, HorizonHours: 336}},
			[]string{`not full within 14 days`}, []string{"data-forecast-full"}},
		{"full now", stubForecaster{fc: civic.Forecast{Now: now, Fill: 0.95, Threshold: 0.9, HorizonHours: 336, FullAt: at(0), FullAtLow: at(0), FullAtHigh: at(0), HoursToFull: hours(0)}},
			[]string{`>full now<`}, []string{"data-forecast-full"}},
		{"no reading", stubForecaster{err: civic.Errorf(civic.NotFound, "no fill reading")}, []string{"no forecast yet: no fill reading"}, []string{"data-forecast-full"}},
		{"training", stubForecaster{err: civic.Errorf(civic.Unavailable, "training")}, []string{"the model is still training"}, nil},
		{"no forecaster", nil, nil, []string{"bin-forecast", "data-forecast"}},
	}
	f := newFixture(t, fixtureOpts{bins: 3})
	c := f.client("super")
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f.ui.deps.Forecaster = tc.fc
			res, body := f.get(c, "/bins/"+f.binID(0))
			if res.StatusCode != 200 {
				t.Fatalf("bin page: %d", res.StatusCode)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, n := range tc.nope {
				if strings.Contains(body, n) {
					t.Errorf("page has %q", n)
				}
			}
		})
	}
}

func TestHoursText(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		want   string
	}{
		{10, 19, "10–19 h"},
		{0.25, 0.75, "15–45 min"},
		{0.5, 3, "30 min – 3 h"},
		{30, 60, "30 h – 2.5 days"},
		{72, 120, "3–5 days"},
	} {
		if got := bandText(hoursText(tc.lo), hoursText(tc.hi)); got != tc.want {
			t.Errorf("band %g..%g h = %q, want %q", tc.lo, tc.hi, got, tc.want)
		}
	}
}
