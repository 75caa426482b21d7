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

// TestExcessShortcutsMatchMerge: excess2 and excessInsert give exactly the
// time excess of the merged segments they stand for, with and without a
// duration limit.
func TestExcessShortcutsMatchMerge(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for trial := 0; trial < 300; trial++ {
		p := randomProblem(rng, 10, randOpts{tw: true})
		if trial%2 == 1 {
			p.MaxDuration = 50 + 200*rng.Float64()
		}
		in := newInstance(p)
		seq := func() tseg { // a random run of customers, maybe from the depot
			s := in.nodeSeg(int32(rng.IntN(in.n)))
			for k := rng.IntN(4); k > 0; k-- {
				s = in.merge(s, in.nodeSeg(int32(1+rng.IntN(in.nc))))
			}
			return s
		}
		a, b := seq(), seq()
		c := int32(1 + rng.IntN(in.nc))
		if got, want := in.excess2(&a, &b), in.timeExcess(in.merge(a, b)); got != want {
			t.Fatalf("trial %d: excess2 %v, merge %v", trial, got, want)
		}
		if got, want := in.excessInsert(&a, c, &b), in.timeExcess(in.merge(in.merge(a, in.nodeSeg(c)), b)); got != want {
			t.Fatalf("trial %d: excessInsert %v, merge %v", trial, got, want)
		}
	}
}
