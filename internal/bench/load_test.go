package bench

import (
	"bytes"
	"cmp"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// samples makes a run of n one-second samples whose RSS is rss(t) for t
// in minutes.
func samples(n int, rss func(min float64) float64) []memSample {
	out := make([]memSample, n)
	for i := range out {
		at := time.Duration(i+1) * time.Second
		r := rss(at.Minutes())
		out[i] = memSample{at: at, rss: r, goStats: goStats{heap: 50, goal: 80, resident: 70, goroutines: 500}, db: float64(i)}
	}
	return out
}

// sawtooth rises by amp over period minutes, then drops back (the write-
// ahead log's cycle).
func sawtooth(m, period, amp float64) float64 { return amp * math.Mod(m, period) / period }

// TestWriteMemory: the verdict follows the second half of the run, its
// trend and its peak against the first half's, not the growth of the
// first half (warming up), nor the noise, nor where in a cycle of the
// memory the run ends, nor one high sample.
func TestWriteMemory(t *testing.T) {
	for _, tt := range []struct {
		name string
		rss  func(float64) float64
		want float64 // MiB/min; 0: steady
		tol  float64 // default 0.3 MiB/min
	}{
		// Swings by 30 MiB every 100 s, ending high: a fitted line over
		// the second half rises, yet no peak is above the first half's.
		{"swings, ends high", func(m float64) float64 { return 300 + sawtooth(m, 5.0/3, 30) }, 0, 0},
		// One high sample late in the run lifts the peak, not the trend.
		{"one spike", func(m float64) float64 {
			if math.Abs(m-4) < 0.5/60 {
				return 320
			}
			return 300 + 2*math.Sin(m*40)
		}, 0, 0},
		{"swings and leaks 3 MiB/min", func(m float64) float64 { return 300 + 3*m + sawtooth(m, 5.0/3, 30) }, 3, 1.5},
		// Grows 40 MiB/min for two minutes, then flat with ±3 MiB of noise.
		{"warms up then steady", func(m float64) float64 {
			return 100 + 40*math.Min(m, 2) + 3*math.Sin(m*40)
		}, 0, 0},
		{"leaks 5 MiB/min", func(m float64) float64 { return 100 + 5*m + 3*math.Sin(m*40) }, 5, 0},
		{"grows in the second half only", func(m float64) float64 { return 100 + 10*math.Max(m-2.5, 0) }, 10, 0},
	} {
		var out bytes.Buffer
		writeMemory(&out, samples(300, tt.rss))
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		last := lines[len(lines)-1]
		if m := growing.FindStringSubmatch(last); tt.want == 0 && !strings.HasPrefix(last, "memory: steady (") ||
			tt.want > 0 && (m == nil || math.Abs(atof(t, m[1])-tt.want) > cmp.Or(tt.tol, 0.3)) {
			t.Errorf("%s: verdict %q, want %v MiB/min (0: steady)", tt.name, last, tt.want)
		}
		// A header, the first sample, the five minute marks (the last is the end), the verdict.
		if len(lines) != 8 || !strings.HasPrefix(lines[1], "1s ") || !strings.HasPrefix(lines[2], "1m0s ") || !strings.HasPrefix(lines[6], "5m0s ") {
			t.Errorf("%s: want a header, rows at 1m..5m and the verdict, got:\n%s", tt.name, out.String())
		}
	}
	var out bytes.Buffer
	writeMemory(&out, samples(20, func(float64) float64 { return 100 }))
	if !strings.Contains(out.String(), "memory: too short a run to tell") {
		t.Errorf("a 20 s run: got\n%s", out.String())
	}
}

var growing = regexp.MustCompile(`^memory: growing (\d+\.\d) MiB/min \(`)

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSlope(t *testing.T) {
	s := samples(120, func(m float64) float64 { return 7 + 2.5*m })
	if got := slope(s, func(m memSample) float64 { return m.rss }); math.Abs(got-2.5) > 1e-9 {
		t.Errorf("slope %v, want 2.5 MiB/min", got)
	}
	if got := slope(s[:1], func(m memSample) float64 { return m.rss }); got != 0 {
		t.Errorf("slope of one sample %v, want 0", got)
	}
}
