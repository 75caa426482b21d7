package forecast

import (
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// pts builds a series with readings every 30 minutes.
func pts(xs ...float64) []point {
	out := make([]point, len(xs))
	for i, x := range xs {
		out[i] = point{t: float64(i) * 1800, x: x}
	}
	return out
}

func fills(ps []point) []float64 {
	out := make([]float64, len(ps))
	for i, p := range ps {
		out[i] = p.x
	}
	return out
}

func TestClean(t *testing.T) {
	tests := []struct {
		name       string
		in         []float64
		causal     bool
		wantFills  []float64
		wantStarts []int
	}{
		{"zero between high readings is noise", []float64{0.5, 0.52, 0, 0.55, 0.56}, false,
			[]float64{0.5, 0.52, 0.55, 0.56}, []int{0}},
		{"two zeros between high readings are noise", []float64{0.5, 0.52, 0, 0, 0.55, 0.56}, false,
			[]float64{0.5, 0.52, 0.55, 0.56}, []int{0}},
		{"spike up is noise", []float64{0.3, 0.31, 1, 0.33}, false,
			[]float64{0.3, 0.31, 0.33}, []int{0}},
		{"emptying is kept", []float64{0.7, 0.8, 0.9, 0.02, 0.03, 0.05}, false,
			[]float64{0.7, 0.8, 0.9, 0.02, 0.03, 0.05}, []int{0, 3}},
		{"emptying to zero is kept", []float64{0.7, 0.8, 0, 0, 0.01, 0.03}, false,
			[]float64{0.7, 0.8, 0, 0, 0.01, 0.03}, []int{0, 3 - 1}},
		{"early emptying of a fairly empty bin", []float64{0.25, 0.27, 0.3, 0.01, 0.02, 0.03}, false,
			[]float64{0.25, 0.27, 0.3, 0.01, 0.02, 0.03}, []int{0, 3}},
		{"small noise is no emptying", []float64{0.4, 0.43, 0.38, 0.44, 0.41, 0.46}, false,
			[]float64{0.4, 0.43, 0.38, 0.44, 0.41, 0.46}, []int{0}},
		{"unconfirmed zero at the end is held back", []float64{0.5, 0.52, 0}, true,
			[]float64{0.5, 0.52}, []int{0}},
		{"confirmed zero at the end is an emptying", []float64{0.5, 0.52, 0, 0.01}, true,
			[]float64{0.5, 0.52, 0, 0.01}, []int{0, 2}},
		{"stuck sensor repeats are dropped", []float64{0.3, 0.32, 0.32, 0.32, 0.32, 0.32, 0.45, 0.47}, false,
			[]float64{0.3, 0.32, 0.45, 0.47}, []int{0}},
		{"short repeats are kept", []float64{0.3, 0.32, 0.32, 0.32, 0.34}, false,
			[]float64{0.3, 0.32, 0.32, 0.32, 0.34}, []int{0}},
	}
	o := Options{}.withDefaults()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := clean(pts(tt.in...), &o, tt.causal)
			if got := fills(s.pts); !reflect.DeepEqual(got, tt.wantFills) {
				t.Errorf("fills = %v, want %v", got, tt.wantFills)
			}
			if !reflect.DeepEqual(s.starts, tt.wantStarts) {
				t.Errorf("starts = %v, want %v", s.starts, tt.wantStarts)
			}
		})
	}
}

// TestEmptyingsDetected checks, on generated noisy data with zeros, that
// every true collection of a bin that was at least a third full is found
// within an hour, and that few emptyings are invented.
func TestEmptyingsDetected(t *testing.T) {
	c := generate(synthParams{bins: 30, days: 21, seed: 7})
	o := Options{}.withDefaults()
	byBin := pointsByBin(c.readings)
	missed, found, invented := 0, 0, 0
	for _, b := range c.bins {
		s := clean(byBin[b.ID], &o, false)
		var detected []float64
		for _, i := range s.starts[1:] {
			detected = append(detected, s.pts[i].t)
		}
		used := make([]bool, len(detected))
		for _, ct := range c.collections[b.ID] {
			at := float64(ct.Unix())
			ok := false
			for k, d := range detected {
				if !used[k] && d >= at && d-at <= time.Hour.Seconds() {
					used[k], ok = true, true
					break
				}
			}
			// Only collections the sensor could see must be found: the
			// bin's fill before well above the noise.
			before := upTo(s.pts, at)
			switch {
			case ok:
				found++
			case len(before) > 0 && before[len(before)-1].x >= 0.33:
				missed++
			}
		}
		for _, u := range used {
			if !u {
				invented++
			}
		}
	}
	t.Logf("collections found %d, missed %d; emptyings invented %d", found, missed, invented)
	if found < 100 || missed > 0 {
		t.Errorf("found %d collections, missed %d; want at least 100 and none missed", found, missed)
	}
	if invented > found/20 {
		t.Errorf("%d emptyings without a collection, want at most %d", invented, found/20)
	}
}

// TestObserveKeepsOneReadingPerSlot: a sensor (or a replaying client)
// that reports every second does not grow the model by a point a second:
// a bin keeps the latest reading of each Resolution slot, in order and
// out of order, and the newest reading is always kept.
func TestObserveKeepsOneReadingPerSlot(t *testing.T) {
	m := Train(nil, nil, Options{})
	start := time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)
	const n = 2 * 3600
	reading := func(i int) civic.Reading {
		f := 0.1 + 0.8*float64(i)/n
		return civic.Reading{Device: "d1", Bin: "b1", Time: start.Add(time.Duration(i) * time.Second), Fill: &f}
	}
	for i := range n / 60 { // a batch a minute, in order
		batch := make([]civic.Reading, 60)
		for k := range batch {
			batch[k] = reading(i*60 + k)
		}
		m.Observe(batch)
	}
	raw := m.bins["b1"].raw
	if want := int(2 * 3600 / Resolution); len(raw) != want {
		t.Fatalf("kept %d points of %d readings a second over 2 h, want %d (one per %v s slot)", len(raw), n, want, Resolution)
	}
	for i, p := range raw {
		if slot(p.t) != slot(raw[0].t)+float64(i) {
			t.Fatalf("point %d at %v is not in slot %d", i, p.t, i)
		}
		if i > 0 && slot(p.t+1) == slot(p.t) {
			t.Errorf("point %d (t=%v) is not the latest of its slot", i, p.t)
		}
	}
	last := reading(n - 1)
	if got := raw[len(raw)-1]; got.x != *last.Fill || got.t != float64(last.Time.Unix()) {
		t.Errorf("the newest kept point is %+v, want the newest reading", got)
	}
	// A late reading in a slot already kept replaces nothing newer.
	m.Observe([]civic.Reading{reading(30)})
	if got := m.bins["b1"].raw; len(got) != len(raw) || got[0].t != float64(start.Add(299*time.Second).Unix()) {
		t.Errorf("after a late reading: %d points, first at %v; want %d, the slot's latest", len(got), got[0].t, len(raw))
	}
}

// TestCleanTail: whatever readings come after a bin's, and whether or not
// the first of them replaces its last, cleaning its readings from
// cleanTail's from on gives the cycles that cleaning them all gives from
// cycle done on, and the cycles before done stay as they were.
func TestCleanTail(t *testing.T) {
	o := Options{}.withDefaults()
	rng := rand.New(rand.NewPCG(3, 4))
	// Readings that glitch, stick and empty often, in steps of 0.05 so
	// that values repeat.
	walk := func(n int, x, t float64) []point {
		out := make([]point, 0, n)
		for range n {
			switch u := rng.Float64(); {
			case u < 0.1:
				x = 0 // a lost echo, or emptied
			case u < 0.2:
				x = math.Min(1, x+0.3) // up: a spike if it falls back
			case u < 0.35: // stuck
			case u < 0.45:
				x = float64(rng.IntN(21)) / 20
			default:
				x = math.Min(1, x+float64(rng.IntN(3))*0.05)
			}
			t += 600
			out = append(out, point{t: t, x: x})
		}
		return out
	}
	resumed := 0
	for i := range 50000 {
		pts := walk(1+rng.IntN(16), 0.3, 0)
		n := len(pts)
		s, from, done := cleanTail(pts, &o)
		all := append(slices.Clone(pts), walk(rng.IntN(6), pts[n-1].x, pts[n-1].t)...)
		if rng.IntN(3) == 0 {
			all[n-1].x = float64(rng.IntN(21)) / 20 // a later reading in its slot
		}
		full, tail := clean(all, &o, true), clean(all[from:], &o, true)
		if done >= len(full.starts) {
			t.Fatalf("case %d: cycle %d is the first cleaned again, but all readings have %d cycles", i, done, len(full.starts))
		}
		at := full.starts[done]
		starts := make([]int, 0, len(tail.starts))
		for _, k := range full.starts[done:] {
			starts = append(starts, k-at)
		}
		if !slices.Equal(full.pts[at:], tail.pts) || !slices.Equal(starts, tail.starts) {
			t.Fatalf("case %d: %v then %v: cleaned from reading %d, cycles from %d: %v %v; cleaning all gives %v %v",
				i, fills(pts), fills(all[n-1:]), from, done, fills(tail.pts), tail.starts, fills(full.pts[at:]), starts)
		}
		for k := range done {
			if !slices.Equal(s.cycle(k), full.cycle(k)) {
				t.Fatalf("case %d: %v then %v: cycle %d changed: %v, then %v", i, fills(pts), fills(all[n-1:]), k, fills(s.cycle(k)), fills(full.cycle(k)))
			}
		}
		if done > 0 {
			resumed++
		}
	}
	if resumed < 5000 {
		t.Errorf("%d of 50000 cases resume after a cycle; want more, to test it", resumed)
	}
}
