package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

// TestBinStateFollowsApply holds the SQL merges of WriteReadings to the
// domain's rule: after every call the stored states equal civic.BinState.Apply
// folded over the same readings, each call's readings oldest first (stable,
// so of equal times the first given wins), and UpdatedAt moves exactly when
// Apply changes a state. The readings are generated: out of order, with
// duplicates (some resent with other values), missing measurements, several
// devices per bin, equal times across devices, readings without a bin and
// several batches per call; calls whose newest reading per bin carries every
// measurement (the newest-only path) and calls that need the full merge both
// occur.
//
// Not covered: a resend of (device, time) stamped with another bin than the
// first copy (a device remounted between an uplink and its redelivery). The
// engines disagree there: within one call SQLite merges the resend into the
// new bin's state and PostgreSQL, which drops repeats before staging, does
// not; across calls both merge it.
func TestBinStateFollowsApply(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		want := map[string]*civic.BinState{}
		var bins []string
		for _, seed := range []uint64{1, 2, 3, 4} {
			g := mergeGen{rng: rand.New(rand.NewPCG(seed, 10)), base: t0, binOf: map[string]string{}}
			for i := range 4 {
				id := fmt.Sprintf("S%d-B%d", seed, i)
				must(t, "CreateBin", s.CreateBin(ctx, testBin(id, 52.5, 13.4)))
				g.bins = append(g.bins, id)
			}
			bins = append(bins, g.bins...)
			for i := range 9 {
				g.devices = append(g.devices, fmt.Sprintf("S%d-D%d", seed, i))
			}
			for call := range 30 {
				clk.Advance(time.Second)
				batches := g.call(call)
				_, err := s.WriteReadings(ctx, batches)
				must(t, fmt.Sprintf("seed %d call %d: WriteReadings", seed, call), err)

				var all []civic.Reading
				for _, b := range batches {
					all = append(all, b...)
				}
				applyCall(want, batches, func(st *civic.BinState) { st.UpdatedAt = clk.Now() })

				got, err := s.BinStates(ctx)
				must(t, "BinStates", err)
				var wantList []civic.BinState
				for _, id := range slices.Sorted(slices.Values(bins)) {
					if st := want[id]; st != nil {
						wantList = append(wantList, *st)
					}
				}
				if !reflect.DeepEqual(got, wantList) {
					t.Fatalf("seed %d call %d: stored states differ from Apply folded over the readings:\n%s\nreadings of the call:\n%s",
						seed, call, stateDiff(got, wantList), formatReadings(all))
				}
			}
		}
	})
}

// mergeGen makes random calls of WriteReadings for a few bins.
type mergeGen struct {
	rng     *rand.Rand
	base    time.Time
	bins    []string
	devices []string // device i is mounted on bin i/2; the last ones report without a bin
	sent    []civic.Reading
	binOf   map[string]string // device and time → bin of the first reading with that key
}

func (g *mergeGen) call(n int) [][]civic.Reading {
	rng := g.rng
	// Readings fall in a window that moves forward, so that some are newer
	// than the stored states and some late.
	from := g.base.Add(time.Duration(n) * 5 * time.Minute)
	// Some calls carry every measurement in every reading.
	pField := 0.35
	if rng.IntN(3) == 0 {
		pField = 1
	}
	batches := make([][]civic.Reading, 1+rng.IntN(3))
	for b := range batches {
		for range 1 + rng.IntN(12) {
			var r civic.Reading
			switch {
			case len(g.sent) > 0 && rng.IntN(6) == 0:
				// A duplicate of (device, time), half of them with other values.
				r = g.sent[rng.IntN(len(g.sent))]
				if rng.IntN(2) == 0 {
					g.measure(&r, pField)
				}
			default:
				d := rng.IntN(len(g.devices))
				r.Device = g.devices[d]
				if bin := d / 2; bin < len(g.bins) {
					r.Bin = g.bins[bin]
				}
				if rng.IntN(10) == 0 {
					r.Bin = g.bins[rng.IntN(len(g.bins))] // a device moved
				}
				// Whole minutes make equal times across devices common.
				r.Time = from.Add(time.Duration(rng.IntN(60)) * time.Minute)
				if rng.IntN(4) == 0 {
					r.Time = r.Time.Add(time.Duration(rng.IntN(1000)) * time.Millisecond)
				}
				g.measure(&r, pField)
			}
			// A resend keeps the bin of the first reading with its key:
			// see the test's comment.
			k := r.Device + r.Time.String()
			if bin, ok := g.binOf[k]; ok {
				r.Bin = bin
			} else {
				g.binOf[k] = r.Bin
			}
			batches[b] = append(batches[b], r)
			g.sent = append(g.sent, r)
		}
	}
	return batches
}

// measure sets each measurement with probability p, at least one.
func (g *mergeGen) measure(r *civic.Reading, p float64) {
	rng := g.rng
	val := func(lo, hi float64) *float64 { return f64(lo + float64(rng.IntN(101))*(hi-lo)/100) }
	for {
		*r = civic.Reading{Device: r.Device, Time: r.Time, Bin: r.Bin}
		if rng.Float64() < p {
			r.Fill = val(0, 1)
		}
		if rng.Float64() < p {
			r.TemperatureC = val(-10, 60)
		}
		if rng.Float64() < p {
			r.Battery = val(0, 1)
		}
		if rng.Float64() < p {
			r.TiltDeg = val(0, 90)
		}
		if rng.Float64() < p {
			r.DoorOpen = boolp(rng.IntN(2) == 0)
		}
		if rng.Float64() < p {
			r.Fire = boolp(rng.IntN(2) == 0)
		}
		if rng.Float64() < p {
			r.RSSI = val(-120, -40)
		}
		if rng.Float64() < p {
			r.Compactions = intp(rng.IntN(100))
		}
		if rng.Float64() < p {
			r.DistanceMM = val(0, 2000)
		}
		if rng.Float64() < p {
			r.SNR = val(-20, 10)
		}
		if r.HasMeasurement() {
			return
		}
	}
}

func stateDiff(got, want []civic.BinState) string {
	var b strings.Builder
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = formatState(got[i])
		}
		if i < len(want) {
			w = formatState(want[i])
		}
		mark := "  "
		if g != w {
			mark = "≠ "
		}
		fmt.Fprintf(&b, "%sgot  %s\n%swant %s\n", mark, g, mark, w)
	}
	return b.String()
}

func formatState(s civic.BinState) string {
	return fmt.Sprintf("%s %s %s fill=%s temp=%s battery=%s tilt=%s door=%s fire=%s rssi=%s updated=%s",
		s.BinID, s.Device, s.Time.Format("15:04:05.000"), fs(s.Fill), fs(s.TemperatureC), fs(s.Battery),
		fs(s.TiltDeg), bs(s.DoorOpen), bs(s.Fire), fs(s.RSSI), s.UpdatedAt.Format("15:04:05"))
}

func formatReadings(rs []civic.Reading) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %s %s %s fill=%s temp=%s battery=%s tilt=%s door=%s fire=%s rssi=%s\n",
			r.Bin, r.Device, r.Time.Format("15:04:05.000"), fs(r.Fill), fs(r.TemperatureC), fs(r.Battery),
			fs(r.TiltDeg), bs(r.DoorOpen), bs(r.Fire), fs(r.RSSI))
	}
	return b.String()
}

func fs(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}

func bs(p *bool) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprint(*p)
}
