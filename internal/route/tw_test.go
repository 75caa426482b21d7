package route

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTimeSegmentsMatchSimulation: the segment concatenation gives the same
// time warp as simulating the route.
func TestTimeSegmentsMatchSimulation(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 3))
	for trial := 0; trial < 200; trial++ {
		p := randomProblem(rng, 12, randOpts{tw: true})
		in := newInstance(p)
		perm := rng.Perm(12)
		r32 := make([]int32, 0, 12)
		r := make([]int, 0, 12)
		for _, c := range perm[:1+rng.IntN(12)] {
			r32 = append(r32, int32(c+1))
			r = append(r, c+1)
		}
		_, _, ex := in.routeMeasure(r32)
		st := p.Evaluate(r)
		if math.Abs(ex-st.TimeWarp) > 1e-6 {
			t.Fatalf("trial %d: segments %v, simulation %v", trial, ex, st.TimeWarp)
		}
	}
}
