package sim_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
)

func TestHistory(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 40, Seed: 30})
	p := sim.HistoryParams{Days: 3, Seed: 31}
	h := sim.History(c, p)
	if !reflect.DeepEqual(h, sim.History(c, p)) {
		t.Fatal("History is not deterministic")
	}
	start, end := c.Params.Start, c.Params.Start.Add(72*time.Hour)
	want := 0.0
	for _, d := range c.Devices {
		want += 3 * 86400 / float64(d.ExpectedInterval)
	}
	if n := float64(len(h)); n < 0.95*want || n > 1.01*want {
		t.Errorf("%d readings in 3 days, want about %.0f", len(h), want)
	}
	for i, r := range h {
		if !r.Time.After(start) || r.Time.After(end) {
			t.Fatalf("reading at %s outside the history (%s, %s]", r.Time, start, end)
		}
		if i > 0 && r.Time.Before(h[i-1].Time) {
			t.Fatalf("history out of time order at %d", i)
		}
	}

	// StreamHistory gives the same readings a day at a time, and its
	// Sensors hold the truth behind them.
	var streamed []civic.Reading
	days := 0
	truth := sim.NewSensors(c, p.SensorParams())
	err := sim.StreamHistory(c, p, func(s *sim.Sensors, day []civic.Reading) error {
		days++
		streamed = append(streamed, day...)
		truth.Step(s.Now())
		for _, b := range c.Bins[:20] {
			if s.TrueFill(b.ID) != truth.TrueFill(b.ID) {
				t.Fatalf("day %d, bin %s: StreamHistory's truth %g, NewSensors(p.SensorParams()) %g", days, b.ID, s.TrueFill(b.ID), truth.TrueFill(b.ID))
			}
		}
		if want := start.Add(time.Duration(days) * 24 * time.Hour); !s.Now().Equal(want) {
			t.Errorf("day %d ends at %s, want %s", days, s.Now(), want)
		}
		return nil
	})
	if err != nil || days != 3 {
		t.Fatalf("StreamHistory: %d days, %v", days, err)
	}
	if !reflect.DeepEqual(h, streamed) {
		t.Error("StreamHistory's readings differ from History's")
	}
	stop := errors.New("stop")
	calls := 0
	if err := sim.StreamHistory(c, p, func(*sim.Sensors, []civic.Reading) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("StreamHistory after an error: %d calls, %v", calls, err)
	}
	if pp := p.SensorParams(); pp.Policy.Kind != sim.PolicyFixed {
		t.Errorf("HistoryParams default policy %q, want fixed", pp.Policy.Kind)
	}
}

// TestStoredHistory: StoredHistory is History as ingest stores it (each
// reading on its device's bin, its fill a fraction; a device on no bin
// left out), and StreamStoredHistory gives the same a day at a time.
func TestStoredHistory(t *testing.T) {
	c := sim.GenerateCity(sim.CityParams{Bins: 30, Seed: 32})
	c.Devices[0].BinID = "" // unmounted: its readings are not stored
	p := sim.HistoryParams{Days: 2, Seed: 33}
	var raw []civic.Reading
	for _, r := range sim.History(c, p) {
		if r.Device != c.Devices[0].ID {
			raw = append(raw, r)
		}
	}
	stored := sim.StoredHistory(c, p)
	if len(stored) != len(raw) || len(raw) == 0 {
		t.Fatalf("%d readings stored, want %d: all but the unmounted device's", len(stored), len(raw))
	}
	devs := map[string]civic.Device{}
	for _, d := range c.Devices {
		devs[d.ID] = d
	}
	scales := map[civic.FillScale]int{}
	for i, r := range stored {
		d := devs[r.Device]
		want := math.Min(d.FillScale.ToFraction(*raw[i].Fill), 1)
		if r.Device != raw[i].Device || !r.Time.Equal(raw[i].Time) || r.Bin != d.BinID || *r.Fill != want {
			t.Fatalf("stored reading %d: device %s at %s on bin %q, fill %g; want %s at %s on %q, fill %g",
				i, r.Device, r.Time, r.Bin, *r.Fill, raw[i].Device, raw[i].Time, d.BinID, want)
		}
		scales[d.FillScale]++
	}
	if len(scales) < 2 {
		t.Errorf("readings in scales %v: want more than one, to see them normalized", scales)
	}

	var streamed []civic.Reading
	days := 0
	err := sim.StreamStoredHistory(c, p, func(s *sim.Sensors, day []civic.Reading) error {
		days++
		if want := c.Params.Start.Add(time.Duration(days) * 24 * time.Hour); !s.Now().Equal(want) {
			t.Errorf("day %d ends at %s, want %s", days, s.Now(), want)
		}
		streamed = append(streamed, day...)
		return nil
	})
	if err != nil || days != 2 || !reflect.DeepEqual(streamed, stored) {
		t.Errorf("StreamStoredHistory: %d days, %v, same readings as StoredHistory: %v", days, err, reflect.DeepEqual(streamed, stored))
	}
	stop := errors.New("stop")
	calls := 0
	if err := sim.StreamStoredHistory(c, p, func(*sim.Sensors, []civic.Reading) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("StreamStoredHistory after an error: %d calls, %v", calls, err)
	}
}

// TestHistoryCalibration checks that a fixed schedule reproduces the shape
// of Philadelphia's 2014 Bigbelly collections: time between collections of
// a bin (median 47.7 h, mean 66.4 h), about 10 collections per station per
// month, and fill at collection (47.7% fairly empty, 16.0% full).
func TestHistoryCalibration(t *testing.T) {
	for _, tc := range []struct {
		bins int
		seed uint64
	}{{1000, 1}, {1000, 9}, {600, 5}, {300, 3}, {2000, 7}} {
		t.Run(fmt.Sprintf("%d bins seed %d", tc.bins, tc.seed), func(t *testing.T) {
			checkCalibration(t, tc.bins, tc.seed)
		})
	}
}

func checkCalibration(t *testing.T, bins int, seed uint64) {
	const days = 28
	g := sim.GenerateCity(sim.CityParams{Bins: bins, Seed: seed})
	// Without devices the bins fill and are collected just the same,
	// without the cost of the readings.
	c := &sim.City{Params: g.Params, Bins: g.Bins, Sites: g.Sites, Zones: g.Zones}
	var colls []sim.Collection
	p := sim.HistoryParams{Seed: seed + 1, OnCollect: func(cl sim.Collection) { colls = append(colls, cl) }}
	s := sim.NewSensors(c, p.SensorParams())
	for d := 1; d <= days; d++ {
		s.Step(c.Params.Start.Add(time.Duration(d) * 24 * time.Hour))
	}
	last := map[string]time.Time{}
	var gaps []float64
	var green, red int
	for _, cl := range colls {
		if l, ok := last[cl.BinID]; ok {
			gaps = append(gaps, cl.Time.Sub(l).Hours())
		}
		last[cl.BinID] = cl.Time
		switch {
		case cl.Fill < 0.4:
			green++
		case cl.Fill >= 0.85:
			red++
		}
	}
	slices.Sort(gaps)
	mean, upTo1d, upTo3d := 0.0, 0, 0
	for _, g := range gaps {
		mean += g
		if g <= 24.5 {
			upTo1d++
		}
		if g <= 72.5 {
			upTo3d++
		}
	}
	n := float64(len(gaps))
	mean /= n
	perMonth := float64(len(colls)) / float64(len(c.Bins)) * 30 / days
	greenShare, redShare := float64(green)/float64(len(colls)), float64(red)/float64(len(colls))
	t.Logf("%d collections, %.1f per bin per month; gaps median %.0f h, mean %.0f h, %.0f%% within a day; fill at collection: %.0f%% under 40%%, %.0f%% over 85%%",
		len(colls), perMonth, gaps[len(gaps)/2], mean, 100*float64(upTo1d)/n, 100*greenShare, 100*redShare)
	if perMonth < 7 || perMonth > 14 {
		t.Errorf("%.1f collections per bin per month, want about 10", perMonth)
	}
	if mean < 50 || mean > 95 {
		t.Errorf("mean gap %.0f h, want about 66", mean)
	}
	if s := float64(upTo1d) / n; s < 0.3 || s > 0.55 {
		t.Errorf("%.0f%% of gaps within a day, want the median near 2 days", 100*s)
	}
	if s := float64(upTo3d) / n; s < 0.55 {
		t.Errorf("only %.0f%% of gaps within 3 days, want the median near 2 days", 100*s)
	}
	if greenShare < 0.35 || greenShare > 0.6 {
		t.Errorf("%.0f%% of collections under 40%% full, want nearly half", 100*greenShare)
	}
	if redShare < 0.05 || redShare > 0.25 {
		t.Errorf("%.0f%% of collections at 85%% or more, want about a sixth", 100*redShare)
	}
	if math.IsNaN(mean) {
		t.Fatal("no gaps")
	}
}
