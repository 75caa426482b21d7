package route

import (
	"math"
	"math/rand/v2"
	"testing"
)

type randOpts struct {
	tw, dur  bool
	vehicles int
}

// randomProblem is a small Euclidean instance; with tw the windows are
// loose enough to be satisfiable one customer per route.
func randomProblem(rng *rand.Rand, nc int, o randOpts) *Problem {
	n := nc + 1
	p := &Problem{Name: "random", N: n, Demand: make([]int, n), Capacity: 20 + rng.IntN(20), Vehicles: o.vehicles}
	p.X, p.Y = make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		p.X[i], p.Y[i] = rng.Float64()*100, rng.Float64()*100
		if i > 0 {
			p.Demand[i] = 1 + rng.IntN(10)
		}
	}
	p.Dist = make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			p.Dist[i*n+j] = math.Hypot(p.X[i]-p.X[j], p.Y[i]-p.Y[j])
		}
	}
	if o.dur || o.tw {
		p.Service = make([]float64, n)
		for i := 1; i < n; i++ {
			p.Service[i] = 5
		}
	}
	if o.dur {
		p.MaxDuration = 400
	}
	if o.tw {
		p.Ready, p.Due = make([]float64, n), make([]float64, n)
		p.Due[0] = 1200
		for i := 1; i < n; i++ {
			p.Ready[i] = p.Dist[i] + rng.Float64()*600 // reachable from the depot
			p.Due[i] = p.Ready[i] + 50 + rng.Float64()*200
		}
	}
	return p
}

// bruteSplit tries every way to cut tour and returns the least penalised
// cost with at most maxRoutes routes (0 = any).
func bruteSplit(in *instance, tour []int32, w penalties, maxRoutes, maxLoad int) float64 {
	nc := len(tour)
	best := math.Inf(1)
	for mask := 0; mask < 1<<(nc-1); mask++ {
		cost, routes, start := 0.0, 0, 0
		for i := 1; i <= nc; i++ {
			if i == nc || mask&(1<<(i-1)) != 0 {
				d, load, ex := in.routeMeasure(tour[start:i])
				if load > maxLoad && i-start > 1 {
					cost = math.Inf(1)
				}
				cost += d + w.time*ex
				if load > in.capacity {
					cost += w.load * float64(load-in.capacity)
				}
				routes++
				start = i
			}
		}
		if (maxRoutes == 0 || routes <= maxRoutes) && cost < best {
			best = cost
		}
	}
	return best
}

func splitCost(in *instance, routes [][]int32, w penalties) float64 {
	c := 0.0
	for _, r := range routes {
		d, load, ex := in.routeMeasure(r)
		c += d + w.time*ex
		if load > in.capacity {
			c += w.load * float64(load-in.capacity)
		}
	}
	return c
}

// TestSplitOptimal compares every split variant with exhaustive enumeration
// on small tours: the linear split (capacity only), the Bellman split (time
// windows, duration) and the limited-fleet split.
func TestSplitOptimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for trial := 0; trial < 150; trial++ {
		o := randOpts{tw: trial%3 == 1, dur: trial%3 == 2}
		if trial%5 == 4 {
			o.vehicles = 2
		}
		nc := 3 + rng.IntN(9)
		p := randomProblem(rng, nc, o)
		in := newInstance(p)
		sp := newSplitter(in)
		tour := make([]int32, nc)
		for i := range tour {
			tour[i] = int32(i + 1)
		}
		rng.Shuffle(nc, func(a, b int) { tour[a], tour[b] = tour[b], tour[a] })
		w := penalties{load: 0.5 + rng.Float64()*20, time: 0.5 + rng.Float64()*5}
		routes := sp.split(tour, w, nil)
		// Every customer kept, in tour order.
		k := 0
		for _, r := range routes {
			for _, c := range r {
				if c != tour[k] {
					t.Fatalf("trial %d: split broke the tour order", trial)
				}
				k++
			}
		}
		if k != nc {
			t.Fatalf("trial %d: split kept %d of %d customers", trial, k, nc)
		}
		if o.vehicles > 0 && len(routes) > o.vehicles {
			t.Fatalf("trial %d: %d routes for %d vehicles", trial, len(routes), o.vehicles)
		}
		got := splitCost(in, routes, w)
		// The Bellman splits consider routes up to 1.5 capacity (as HGS
		// does); the linear split has no bound. The limited-fleet split
		// runs when the unlimited one needs too many routes, and drops the
		// bound when it leaves no solution.
		bound := math.MaxInt
		if in.timed || in.hasDur {
			bound = in.capacity + in.capacity/2
		}
		base := bruteSplit(in, tour, w, 0, bound)
		ok := math.Abs(got-base) < 1e-9
		if o.vehicles > 0 && !ok {
			lim := bruteSplit(in, tour, w, o.vehicles, in.capacity+in.capacity/2)
			if math.IsInf(lim, 1) {
				lim = bruteSplit(in, tour, w, o.vehicles, math.MaxInt)
			}
			ok = math.Abs(got-lim) < 1e-9
		}
		if !ok {
			t.Errorf("trial %d (%+v): split cost %v, optimum %v", trial, o, got, base)
		}
	}
}

// TestSplitKnown checks a hand-made case: customers on a line, capacity two
// customers per route: the optimum pairs neighbours.
func TestSplitKnown(t *testing.T) {
	// Depot at 0; customers at 1, 2, 10, 11 on a line.
	xs := []float64{0, 1, 2, 10, 11}
	n := len(xs)
	p := &Problem{N: n, Demand: []int{0, 1, 1, 1, 1}, Capacity: 2, Dist: make([]float64, n*n)}
	for i := range xs {
		for j := range xs {
			p.Dist[i*n+j] = math.Abs(xs[i] - xs[j])
		}
	}
	in := newInstance(p)
	routes := newSplitter(in).split([]int32{1, 2, 3, 4}, penalties{load: 100, time: 1}, nil)
	if len(routes) != 2 || len(routes[0]) != 2 || routes[0][0] != 1 || routes[1][0] != 3 {
		t.Fatalf("routes %v, want [[1 2] [3 4]]", routes)
	}
	if c := splitCost(in, routes, penalties{}); c != 4+22 {
		t.Errorf("cost %v, want 26", c)
	}
	// With one vehicle the limited split must put everything in one route.
	p.Vehicles = 1
	in = newInstance(p)
	routes = newSplitter(in).split([]int32{1, 2, 3, 4}, penalties{load: 100, time: 1}, nil)
	if len(routes) != 1 {
		t.Fatalf("routes %v, want one route", routes)
	}
}
