package route

import (
	"math/rand/v2"
	"runtime"
	"syscall"
	"testing"
)

// BenchmarkLocalSearchConverged measures one local search pass over an
// already locally optimal solution of X-n1001-k43: the fixed cost every
// genetic iteration pays on large instances.
func BenchmarkLocalSearchConverged(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p := loadInstance(b, "X-n1001-k43", RoundNearest)
	if perm := localityOrder(p); perm != nil {
		p = permute(p, perm)
	}
	in := newInstance(p)
	rng := rand.New(rand.NewPCG(1, 2))
	ls := newLocalSearch(in, rng)
	sp := newSplitter(in)
	c := newIndividual(in)
	newConstructor(in).savingsTour(c.tour, 0, rng.Float64)
	w := penalties{load: 10, time: 1}
	c.routes = sp.split(c.tour, w, c.routes)
	ls.run(c, w)
	b.ResetTimer()
	var r0, r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_THREAD, &r0)
	for i := 0; i < b.N; i++ {
		ls.run(c, w)
	}
	syscall.Getrusage(syscall.RUSAGE_THREAD, &r1)
	b.ReportMetric(float64(r1.Utime.Nano()-r0.Utime.Nano())/float64(b.N), "cpu-ns/op")
}
