package forecast

import (
	"math"
	"sort"

	"github.com/civic-city/civic/internal/civic"
)

// point is one fill reading: unix seconds and a 0..1 fraction.
type point struct {
	t float64
	x float64
}

// pointsOf extracts the fill readings of rs, sorted by time, one per
// instant. Readings without a fill or with a value outside 0..1 are left out.
func pointsOf(rs []civic.Reading) []point {
	pts := make([]point, 0, len(rs))
	for i := range rs {
		if p, ok := pointOf(&rs[i]); ok {
			pts = append(pts, p)
		}
	}
	return sortPoints(pts)
}

// pointOf returns r's fill reading; false when r has no fill in 0..1.
func pointOf(r *civic.Reading) (point, bool) {
	f := r.Fill
	if f == nil || !(*f >= 0 && *f <= 1) {
		return point{}, false
	}
	return point{t: float64(r.Time.UnixMilli()) / 1000, x: *f}, true
}

// Resolution is the finest spacing of the readings the model keeps for a
// bin: of a bin's readings within one Resolution-long slot of the clock
// (slots aligned on the Unix epoch) the model keeps the latest only.
// Bin sensors report every 10 minutes to a few hours; a sensor, gateway
// or replaying client that sends far more often would otherwise grow the
// model's memory with every reading until the next training (the store
// keeps them all), and the cost of re-fitting a bin, which is linear in
// its history.
const Resolution = 5 * 60.0 // seconds

// sortPoints sorts pts by time and keeps the latest of each Resolution
// slot (of equal instants, the last given).
func sortPoints(pts []point) []point {
	sort.SliceStable(pts, func(i, j int) bool { return pts[i].t < pts[j].t })
	return thinSorted(pts)
}

// thinSorted keeps, in place, the latest point of each Resolution slot of
// pts, which is sorted by time.
func thinSorted(pts []point) []point {
	out := pts[:0]
	for _, p := range pts {
		if n := len(out); n > 0 && slot(out[n-1].t) == slot(p.t) {
			out[n-1] = p
			continue
		}
		out = append(out, p)
	}
	return out
}

// slot is the Resolution slot of the instant t (Unix seconds).
func slot(t float64) float64 { return math.Floor(t / Resolution) }

// series is a bin's cleaned fill history cut into fill cycles: starts[k] is
// the index in pts of the first reading of cycle k; a cycle ends at the next
// emptying.
type series struct {
	pts    []point
	starts []int
}

// cycle returns the readings of cycle k.
func (s *series) cycle(k int) []point {
	end := len(s.pts)
	if k+1 < len(s.starts) {
		end = s.starts[k+1]
	}
	return s.pts[s.starts[k]:end]
}

// last returns the readings of the latest cycle.
func (s *series) last() []point {
	if len(s.starts) == 0 {
		return nil
	}
	return s.cycle(len(s.starts) - 1)
}

// maxSpikeRun is the longest run of readings the spike filter removes: longer
// runs are believed.
const maxSpikeRun = 2

// zeroLevel is the fill below which a reading counts as a zero: what an
// ultrasonic sensor reports when its echo is lost.
const zeroLevel = 0.02

// clean removes sensor glitches from pts and segments the result at
// emptyings.
//
// A glitch is a run of at most maxSpikeRun readings that departs from both
// the reading before and the reading after it by more than o.SpikeTol in
// the same direction while those two agree: a zero between two high readings
// is an echo lost, not an emptying, because the bin cannot refill by itself.
// A drop that the following readings confirm is an emptying. Runs of
// identical readings are cut to their first (see dropRepeats). When causal is
// set, pts is all that is known so far: a zero that is the very last reading
// after a high one cannot be told from an emptying yet and is held back.
func clean(pts []point, o *Options, causal bool) series {
	out, _, _ := despike(pts, o, causal, false)
	out, _ = dropRepeats(out, nil)
	return series{pts: out, starts: emptyings(out, o)}
}

// cleanTail is clean (causal) of a bin's readings pts that later readings
// only add to: more come after pts's last, which one of them may replace
// (the latest of a Resolution slot is kept). It also returns from, the
// index in pts of the first reading of the latest cycle that no such
// readings can change, nor any cycle before it, and done, the number of
// cycles of s before that one. Cleaning pts[from:] with the later readings
// then gives the cycles that cleaning pts with them gives from cycle done
// on: Observe cleans only the end of a bin's history.
func cleanTail(pts []point, o *Options) (s series, from, done int) {
	out, src, final := despike(pts, o, true, true)
	// Of the readings kept for good, those before their latest run of
	// identical values stay as they are once stuck runs are cut: that
	// run may go on, and be cut.
	stable := 0
	if final > 0 {
		r := final - 1
		for r > 0 && out[r-1].x == out[final-1].x {
			r--
		}
		stable = src[r]
	}
	out, src = dropRepeats(out, src)
	s = series{pts: out, starts: emptyings(out, o)}
	// The readings kept for good now are those before stable; a cycle's
	// start is for good once the dropWindow readings from it on are.
	kept := sort.SearchInts(src, stable)
	for k := len(s.starts) - 1; k >= 0; k-- {
		if s.starts[k]+dropWindow <= kept {
			return s, src[s.starts[k]], k
		}
	}
	return s, 0, 0
}

// despike is clean's glitch filter: pts without its glitches. With track
// it also returns the index in pts of each reading kept, and final: how
// many of them are kept whatever readings come after pts's last (which
// one of them may replace). Each decision looks maxSpikeRun readings
// ahead, so those made before the last maxSpikeRun+1 readings stand.
func despike(pts []point, o *Options, causal, track bool) (out []point, src []int, final int) {
	out = make([]point, 0, len(pts))
	if track {
		src = make([]int, 0, len(pts))
	}
	n := len(pts)
	final = -1
	for i := 0; i < n; {
		if final < 0 && i+maxSpikeRun >= n-1 {
			final = len(out)
		}
		if len(out) > 0 {
			prev := out[len(out)-1].x
			skipped := false
			for run := 1; run <= maxSpikeRun && i+run < n; run++ {
				next := pts[i+run].x
				if math.Abs(next-prev) > o.SpikeTol {
					continue
				}
				all := true
				for j := i; j < i+run; j++ {
					dp, dn := pts[j].x-prev, pts[j].x-next
					if !(math.Abs(dp) > o.SpikeTol && math.Abs(dn) > o.SpikeTol && (dp > 0) == (dn > 0)) {
						all = false
						break
					}
				}
				if all {
					i += run
					skipped = true
					break
				}
			}
			if skipped {
				continue
			}
			if causal && i == n-1 && pts[i].x <= zeroLevel && prev-pts[i].x > o.SpikeTol {
				break
			}
		}
		out = append(out, pts[i])
		if track {
			src = append(src, i)
		}
		i++
	}
	if final < 0 {
		final = len(out)
	}
	return out, src, final
}

// minStuckRun is the length from which a run of identical readings is taken
// for a stuck sensor.
const minStuckRun = 4

// dropRepeats keeps only the first reading of every run of at least
// minStuckRun identical fill values. A stuck sensor repeats its last value
// for hours while the bin fills: those repeats would drag the rate and the
// current level down. A quiet bin whose sensor reports in coarse steps
// loses nothing by it: the first reading of each step still traces its
// fill. src, if not nil, is a value for each reading (its index in what
// it was cleaned from), kept or dropped with it; both are changed in place.
func dropRepeats(pts []point, src []int) ([]point, []int) {
	out := pts[:0]
	var outSrc []int
	if src != nil {
		outSrc = src[:0]
	}
	for i := 0; i < len(pts); {
		j := i + 1
		for j < len(pts) && pts[j].x == pts[i].x {
			j++
		}
		keep := j
		if j-i >= minStuckRun {
			keep = i + 1
		}
		out = append(out, pts[i:keep]...)
		if src != nil {
			outSrc = append(outSrc, src[i:keep]...)
		}
		i = j
	}
	return out, outSrc
}

// dropWindow is how many readings on each side of a fall of fill
// emptyings looks at to confirm it.
const dropWindow = 3

// emptyings returns the indices where fill cycles start: 0 and every reading
// that follows a confirmed drop of at least o.MinDrop.
func emptyings(pts []point, o *Options) []int {
	if len(pts) == 0 {
		return nil
	}
	starts := []int{0}
	for i := 1; i < len(pts); i++ {
		a, b := pts[i-1].x, pts[i].x
		if a-b < o.MinDrop || b > 0.7*a && a-b < 2.5*o.MinDrop {
			continue
		}
		lo := max(starts[len(starts)-1], i-dropWindow)
		hi := min(len(pts), i+dropWindow)
		if median(pts[lo:i])-median(pts[i:hi]) >= o.MinDrop {
			starts = append(starts, i)
		}
	}
	return starts
}

func median(pts []point) float64 {
	var buf [8]float64
	xs := buf[:0]
	for _, p := range pts {
		xs = append(xs, p.x)
	}
	sort.Float64s(xs)
	n := len(xs)
	if n == 0 {
		return math.NaN()
	}
	if n%2 == 1 {
		return xs[n/2]
	}
	return (xs[n/2-1] + xs[n/2]) / 2
}
