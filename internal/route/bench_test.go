package route

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkLocalSearchConverged measures one local search pass over an
// already locally optimal solution of X-n1001-k43: the fixed cost every
// genetic iteration pays on large instances.
func BenchmarkLocalSearchConverged(b *testing.B) {
	benchConvergedPass(b, "X-n1001-k43", RoundNearest, penalties{load: 10, time: 1})
}

// BenchmarkLocalSearchConvergedTW is the same on RC2_10_1, time windows
// with long routes: intra-route moves and time segments dominate.
func BenchmarkLocalSearchConvergedTW(b *testing.B) {
	benchConvergedPass(b, "vrptw/RC2_10_1", RoundAuto, penalties{load: 10, time: 50})
}

// benchConvergedPass times local search passes over a locally optimal
// solution of instance name, in CPU nanoseconds per pass.
func benchConvergedPass(b *testing.B, name string, round Rounding, w penalties) {
	p := loadInstance(b, name, round)
	if perm := localityOrder(p); perm != nil {
		p = permute(p, perm)
	}
	in := newInstance(p)
	rng := rand.New(rand.NewPCG(1, 2))
	ls := newLocalSearch(in, rng)
	sp := newSplitter(in)
	c := newIndividual(in)
	newConstructor(in).savingsTour(c.tour, 0, rng.Float64)
	c.routes = sp.split(c.tour, w, c.routes)
	ls.run(c, w)
	b.ResetTimer()
	t0 := ProcessCPUClock()
	for i := 0; i < b.N; i++ {
		ls.run(c, w)
	}
	b.ReportMetric(float64(ProcessCPUClock().Sub(t0).Nanoseconds())/float64(b.N), "cpu-ns/op")
}
