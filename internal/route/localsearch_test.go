package route

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// The moves are checked against a plain specification on route lists: for
// random states and random (u, v), each move must apply exactly when the
// specified neighbour is cheaper under the penalised objective, and must
// then produce exactly that neighbour.

type state [][]int32 // every route slot of the local search, empty ones too

func lsState(ls *localSearch) state {
	s := make(state, ls.nR)
	for i, r := range ls.routes[:ls.nR] {
		for w := r.depot.next; !w.depot; w = w.next {
			s[i] = append(s[i], w.c)
		}
	}
	return s
}

func (s state) clone() state {
	c := make(state, len(s))
	for i, r := range s {
		c[i] = slices.Clone(r)
	}
	return c
}

func (s state) find(c int32) (int, int) {
	for i, r := range s {
		if k := slices.Index(r, c); k >= 0 {
			return i, k
		}
	}
	panic(fmt.Sprint("customer not found ", c))
}

func stateCost(in *instance, s state, w penalties) float64 {
	c := 0.0
	for _, r := range s {
		d, load, ex := in.routeMeasure(r)
		c += d + w.time*ex
		if load > in.capacity {
			c += w.load * float64(load-in.capacity)
		}
	}
	return c
}

// specMove applies move k to s for u and v (v == 0 means the start depot of
// route vr) and returns the new state, or nil when the move does not apply.
func specMove(in *instance, s state, k int, u int32, v int32, vr int) state {
	s = s.clone()
	ur, up := s.find(u)
	vp := -1 // position of v; -1 is the depot
	if v != 0 {
		vr, vp = s.find(v)
	}
	ru, rv := s[ur], s[vr]
	at := func(r []int32, p int) int32 { // customer at p, 0 for either depot
		if p < 0 || p >= len(r) {
			return 0
		}
		return r[p]
	}
	x := at(ru, up+1)
	y := at(rv, vp+1)
	pu := at(ru, up-1)
	same := ur == vr
	switch k {
	case 1, 2, 3:
		if v == u || (same && vp == up-1) || (v == 0 && same && up == 0) {
			return nil
		}
		block := []int32{u}
		if k > 1 {
			if x == 0 || v == x {
				return nil
			}
			block = []int32{u, x}
			if k == 3 {
				block = []int32{x, u}
			}
		}
		ru = slices.Delete(ru, up, up+len(block))
		s[ur] = ru
		rv = s[vr]
		ip := 0
		if v != 0 {
			ip = slices.Index(rv, v) + 1
		}
		s[vr] = slices.Insert(rv, ip, block...)
	case 4, 5, 6:
		if v == 0 || v == u || v == x || v == pu {
			return nil
		}
		a := []int32{u}
		b := []int32{v}
		if k >= 5 {
			if x == 0 || (same && vp == up+2) {
				return nil
			}
			a = []int32{u, x}
		}
		if k == 6 {
			if y == 0 || y == pu || y == u {
				return nil
			}
			b = []int32{v, y}
		}
		if same {
			// Rebuild the route with the blocks exchanged.
			var out []int32
			for i := 0; i < len(ru); {
				switch {
				case i == up:
					out = append(out, b...)
					i += len(a)
				case i == vp:
					out = append(out, a...)
					i += len(b)
				default:
					out = append(out, ru[i])
					i++
				}
			}
			s[ur] = out
		} else {
			s[ur] = slices.Concat(ru[:up], b, ru[up+len(a):])
			s[vr] = slices.Concat(rv[:vp], a, rv[vp+len(b):])
		}
	case 7:
		if !same || v == 0 || vp <= up || vp == up+1 {
			return nil
		}
		slices.Reverse(ru[up+1 : vp+1])
	case 8, 9:
		if same {
			return nil
		}
		headU, tailU := slices.Clone(ru[:up+1]), slices.Clone(ru[up+1:])
		headV, tailV := slices.Clone(rv[:vp+1]), slices.Clone(rv[vp+1:])
		if k == 9 {
			s[ur] = slices.Concat(headU, tailV)
			s[vr] = slices.Concat(headV, tailU)
		} else {
			slices.Reverse(headV)
			slices.Reverse(tailU)
			s[ur] = slices.Concat(headU, headV)
			s[vr] = slices.Concat(tailU, tailV)
		}
	}
	return s
}

func callMove(ls *localSearch, k int) bool {
	switch k {
	case 1:
		return ls.move1()
	case 2:
		return ls.move2()
	case 3:
		return ls.move3()
	case 4:
		return ls.move4()
	case 5:
		return ls.move5()
	case 6:
		return ls.move6()
	case 7:
		return ls.move7()
	case 8:
		return ls.move8()
	}
	return ls.move9()
}

func equalStates(a, b state) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !slices.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// checkLinks verifies the linked representation against its measures.
func checkLinks(t *testing.T, ls *localSearch) {
	t.Helper()
	seen := make([]bool, ls.n)
	for _, r := range ls.routes[:ls.nR] {
		var s []int32
		prev := &r.depot
		for w := r.depot.next; !w.depot; w = w.next {
			if w.prev != prev || w.r != r || w.pos != len(s)+1 {
				t.Fatalf("route %d: broken links at customer %d", r.idx, w.c)
			}
			if seen[w.c] {
				t.Fatalf("customer %d twice", w.c)
			}
			seen[w.c] = true
			s = append(s, w.c)
			prev = w
		}
		d, load, _ := ls.in.routeMeasure(s)
		if math.Abs(d-r.dist) > 1e-6 || load != r.load || r.nc != len(s) {
			t.Fatalf("route %d: measures dist %v load %d nc %d, recomputed %v %d %d", r.idx, r.dist, r.load, r.nc, d, load, len(s))
		}
		checkMeasures(t, ls, r)
	}
	for c := 1; c < ls.n; c++ {
		if !seen[c] {
			t.Fatalf("customer %d lost", c)
		}
	}
}

// nodeMeasures are the prefix and suffix measures update keeps on a node.
type nodeMeasures struct {
	pos                     int
	cumLoad                 int
	cumDist, cumRev, cumSvc float64
	fw, bw, rpre, rsuf      tseg
}

// checkMeasures compares the measures update left on route r's nodes, some
// of them kept from earlier updates, with the same measures computed from
// scratch.
func checkMeasures(t *testing.T, ls *localSearch, r *lsRoute) {
	t.Helper()
	var kept []nodeMeasures
	for w := &r.depot; w != nil; w = w.next {
		kept = append(kept, nodeMeasures{w.pos, w.cumLoad, w.cumDist, w.cumRev, w.cumSvc, w.fw, w.bw, w.rpre, w.rsuf})
		w.fwPrev, w.bwNext = nil, nil
		if w == &r.end {
			break
		}
	}
	ls.update(r)
	i := 0
	for w := &r.depot; w != nil; w = w.next {
		fresh := nodeMeasures{w.pos, w.cumLoad, w.cumDist, w.cumRev, w.cumSvc, w.fw, w.bw, w.rpre, w.rsuf}
		if fresh != kept[i] {
			t.Fatalf("route %d, node %d (customer %d): kept measures %+v, from scratch %+v", r.idx, i, w.c, kept[i], fresh)
		}
		i++
		if w == &r.end {
			break
		}
	}
}

func TestMovesMatchSpecification(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	kinds := []randOpts{{}, {dur: true}, {tw: true}}
	applied := make(map[string]int)
	for trial := 0; trial < 60; trial++ {
		o := kinds[trial%3]
		p := randomProblem(rng, 8+rng.IntN(10), o)
		if trial%4 == 3 { // asymmetric distances
			for i := range p.Dist {
				p.Dist[i] *= 1 + 0.3*rng.Float64()
			}
			for i := 0; i < p.N; i++ {
				p.Dist[i*p.N+i] = 0
			}
		}
		in := newInstance(p)
		ls := newLocalSearch(in, rng)
		ind := newIndividual(in)
		for i := range ind.tour {
			ind.tour[i] = int32(i + 1)
		}
		rng.Shuffle(len(ind.tour), func(a, b int) { ind.tour[a], ind.tour[b] = ind.tour[b], ind.tour[a] })
		w := penalties{load: 0.5 + 10*rng.Float64(), time: 0.2 + 3*rng.Float64()}
		ind.routes = newSplitter(in).split(ind.tour, w, nil)
		ls.w = w
		ls.load(ind)
		for step := 0; step < 400; step++ {
			k := 1 + rng.IntN(9)
			u := int32(1 + rng.IntN(in.nc))
			v := int32(rng.IntN(in.nc + 1))
			vr := rng.IntN(ls.nR)
			if v == u {
				continue
			}
			before := lsState(ls)
			want := specMove(in, before, k, u, v, vr)
			ls.setU(&ls.nodes[u])
			if v == 0 {
				ls.setV(&ls.routes[vr].depot)
			} else {
				ls.setV(&ls.nodes[v])
			}
			if k == 7 && ls.ru != ls.rv || k >= 8 && ls.ru == ls.rv {
				continue // the search never calls these on such pairs
			}
			got := callMove(ls, k)
			after := lsState(ls)
			old := stateCost(in, before, w)
			desc := fmt.Sprintf("trial %d %+v move%d u=%d v=%d(route %d)", trial, o, k, u, v, vr)
			switch {
			case want == nil:
				if got {
					t.Fatalf("%s: applied a move the specification excludes", desc)
				}
			case math.Abs(stateCost(in, want, w)-old) < 1e-7:
				// A tie: either answer is right.
			case stateCost(in, want, w) < old:
				if !got {
					t.Fatalf("%s: missed an improvement %v -> %v", desc, old, stateCost(in, want, w))
				}
				if !equalStates(after, want) {
					t.Fatalf("%s: got %v, want %v", desc, after, want)
				}
				applied[fmt.Sprintf("%+v/%d", o, k)]++
			default:
				if got {
					t.Fatalf("%s: applied a worsening move %v -> %v", desc, old, stateCost(in, want, w))
				}
			}
			if !got && !equalStates(after, before) {
				t.Fatalf("%s: rejected move changed the routes", desc)
			}
			checkLinks(t, ls)
		}
	}
	for _, o := range kinds {
		for k := 1; k <= 9; k++ {
			if applied[fmt.Sprintf("%+v/%d", o, k)] == 0 {
				t.Errorf("move%d never applied on %+v problems: the test lacks coverage", k, o)
			}
		}
	}
}

// TestLocalSearchReachesLocalOptimum runs whole local searches, SWAP*
// included, and checks the result is consistent, no worse than the start,
// and that no single move improves it any more.
func TestLocalSearchReachesLocalOptimum(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 30; trial++ {
		o := []randOpts{{}, {dur: true}, {tw: true}}[trial%3]
		p := randomProblem(rng, 20+rng.IntN(40), o)
		in := newInstance(p)
		ls := newLocalSearch(in, rng)
		ind := newIndividual(in)
		for i := range ind.tour {
			ind.tour[i] = int32(i + 1)
		}
		rng.Shuffle(len(ind.tour), func(a, b int) { ind.tour[a], ind.tour[b] = ind.tour[b], ind.tour[a] })
		w := penalties{load: 1 + 10*rng.Float64(), time: 1 + 3*rng.Float64()}
		ind.routes = newSplitter(in).split(ind.tour, w, nil)
		ind.evaluate(in, w)
		start := ind.cost
		ls.run(ind, w)
		checkLinks(t, ls)
		ind.evaluate(in, w)
		if ind.cost > start+1e-9 {
			t.Fatalf("trial %d: local search worsened %v -> %v", trial, start, ind.cost)
		}
		// No move applies any more.
		for u := int32(1); u <= int32(in.nc); u++ {
			for _, v := range in.neighbors[u] {
				for k := 1; k <= 9; k++ {
					ls.setU(&ls.nodes[u])
					ls.setV(&ls.nodes[v])
					if k == 7 && ls.ru != ls.rv || k >= 8 && ls.ru == ls.rv || (k == 4 || k == 6) && u > v {
						continue
					}
					if callMove(ls, k) {
						t.Fatalf("trial %d: move%d still improves after the search", trial, k)
					}
				}
			}
		}
	}
}

// TestSwapStarKnown: two routes on a circle that cross; SWAP* must
// exchange the two customers placed on the wrong side.
func TestSwapStar(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	improved := 0
	for trial := 0; trial < 200; trial++ {
		p := randomProblem(rng, 10+rng.IntN(10), randOpts{dur: trial%3 == 1, tw: trial%3 == 2})
		in := newInstance(p)
		ls := newLocalSearch(in, rng)
		ind := newIndividual(in)
		for i := range ind.tour {
			ind.tour[i] = int32(i + 1)
		}
		rng.Shuffle(len(ind.tour), func(a, b int) { ind.tour[a], ind.tour[b] = ind.tour[b], ind.tour[a] })
		w := penalties{load: 1 + 10*rng.Float64(), time: 1}
		ind.routes = newSplitter(in).split(ind.tour, w, nil)
		ls.w = w
		ls.load(ind)
		if ls.nR < 2 || ls.routes[0].nc == 0 || ls.routes[1].nc == 0 {
			continue
		}
		before := lsState(ls)
		old := stateCost(in, before, w)
		m := ls.nMoves
		ls.swapStar(ls.routes[0], ls.routes[1])
		checkLinks(t, ls)
		after := lsState(ls)
		nw := stateCost(in, after, w)
		if ls.nMoves == m {
			if !equalStates(before, after) {
				t.Fatalf("trial %d: SWAP* changed routes without counting a move", trial)
			}
			continue
		}
		improved++
		if nw > old-1e-9 {
			t.Fatalf("trial %d: SWAP* did not improve: %v -> %v", trial, old, nw)
		}
		// Only routes 0 and 1 change, and by one exchange or relocation.
		for i := 2; i < len(before); i++ {
			if !slices.Equal(before[i], after[i]) {
				t.Fatalf("trial %d: SWAP* touched route %d", trial, i)
			}
		}
		if d := len(after[0]) - len(before[0]); d < -1 || d > 1 {
			t.Fatalf("trial %d: route sizes changed by %d", trial, d)
		}
	}
	if improved < 10 {
		t.Errorf("SWAP* improved only %d of 200 random pairs", improved)
	}
}
