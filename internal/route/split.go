package route

// splitter cuts a giant tour into routes optimally (Prins 2004), with the
// linear-time algorithm of Vidal (2016) when only capacity is penalised and
// the fleet is unlimited, and a Bellman recursion otherwise. Its buffers are
// reused across calls.
type splitter struct {
	in      *instance
	sumLoad []int
	sumDist []float64
	pot     []float64
	pred    []int
	queue   []int
	// limited-fleet layers, allocated on first use
	potK  [][]float64
	predK [][]int
}

func newSplitter(in *instance) *splitter {
	m := in.nc + 1
	return &splitter{
		in:      in,
		sumLoad: make([]int, m),
		sumDist: make([]float64, m+1),
		pot:     make([]float64, m),
		pred:    make([]int, m),
		queue:   make([]int, m),
	}
}

// split fills routes from tour (customers) and returns them. The returned
// slices alias buf's backing storage when it is large enough.
func (s *splitter) split(tour []int32, w penalties, routes [][]int32) [][]int32 {
	in := s.in
	nc := len(tour)
	s.prefix(tour)
	if in.timed || in.hasDur {
		s.bellman(tour, w, nc)
	} else {
		s.linear(tour, w, nc)
	}
	k := 0
	for j := nc; j > 0; j = s.pred[j] {
		k++
	}
	if in.vehicles > 0 && k > in.vehicles {
		return s.limited(tour, w, routes)
	}
	return s.extract(tour, s.pred, k, routes)
}

func (s *splitter) prefix(tour []int32) {
	in := s.in
	s.sumLoad[0], s.sumDist[0], s.sumDist[1] = 0, 0, 0
	for i := 1; i <= len(tour); i++ {
		s.sumLoad[i] = s.sumLoad[i-1] + in.demand[tour[i-1]]
		if i >= 2 {
			s.sumDist[i] = s.sumDist[i-1] + in.d(tour[i-2], tour[i-1])
		}
	}
}

func (s *splitter) extract(tour []int32, pred []int, k int, routes [][]int32) [][]int32 {
	for cap(routes) < k {
		routes = append(routes[:cap(routes)], nil)
	}
	routes = routes[:k]
	j := len(tour)
	for r := k - 1; r >= 0; r-- {
		i := pred[j]
		routes[r] = append(routes[r][:0], tour[i:j]...)
		j = i
	}
	return routes
}

// cost of the route tour[i:j] (customers i+1..j, 1-based) with only the
// capacity penalised.
func (s *splitter) cost(tour []int32, w penalties, i, j int) float64 {
	in := s.in
	c := s.sumDist[j] - s.sumDist[i+1] + in.d(0, tour[i]) + in.d(tour[j-1], 0)
	if l := s.sumLoad[j] - s.sumLoad[i] - in.capacity; l > 0 {
		c += w.load * float64(l)
	}
	return c
}

// linear is Vidal's O(n) split for an unlimited fleet with a linear penalty
// on excess load.
func (s *splitter) linear(tour []int32, w penalties, nc int) {
	in := s.in
	pot, pred, q := s.pot, s.pred, s.queue
	d0 := func(i int) float64 { return in.d(0, tour[i]) } // depot to the (i+1)-th customer
	// dominates: i (< j) is a better predecessor than j for every later node.
	dominates := func(i, j int) bool {
		return pot[j]+d0(j) > pot[i]+d0(i)+s.sumDist[j+1]-s.sumDist[i+1]+w.load*float64(s.sumLoad[j]-s.sumLoad[i])
	}
	// dominatesRight: j (> i) is a better predecessor than i for every later node.
	dominatesRight := func(i, j int) bool {
		return pot[j]+d0(j) < pot[i]+d0(i)+s.sumDist[j+1]-s.sumDist[i+1]+eps
	}
	pot[0] = 0
	front, back := 0, 0
	q[0] = 0
	for i := 1; i <= nc; i++ {
		pot[i] = pot[q[front]] + s.cost(tour, w, q[front], i)
		pred[i] = q[front]
		if i < nc {
			if !dominates(q[back], i) {
				for back >= front && dominatesRight(q[back], i) {
					back--
				}
				back++
				q[back] = i
			}
			for back > front && pot[q[front]]+s.cost(tour, w, q[front], i+1) > pot[q[front+1]]+s.cost(tour, w, q[front+1], i+1)-eps {
				front++
			}
		}
	}
}

// routeCost is the penalised cost of tour[i:j] with every constraint, built
// incrementally by the caller; see bellman.
func (s *splitter) bellman(tour []int32, w penalties, nc int) {
	in := s.in
	pot, pred := s.pot, s.pred
	pot[0] = 0
	for j := 1; j <= nc; j++ {
		pot[j] = farAway
	}
	limit := in.capacity + in.capacity/2
	for i := 0; i < nc; i++ {
		if pot[i] >= farAway {
			continue
		}
		s.scan(tour, w, i, nc, limit, func(j int, c float64) {
			if v := pot[i] + c; v < pot[j] {
				pot[j], pred[j] = v, i
			}
		})
	}
}

// scan calls visit(j, cost) for the routes tour[i:j], j = i+1.., while the
// load stays within limit (the first route is always offered).
func (s *splitter) scan(tour []int32, w penalties, i, nc, limit int, visit func(j int, c float64)) {
	in := s.in
	load, dist, svc := 0, 0.0, 0.0
	var seg tseg
	if in.timed {
		seg = in.nodeSeg(0)
	}
	for j := i + 1; j <= nc; j++ {
		c := tour[j-1]
		load += in.demand[c]
		if j > i+1 && load > limit {
			break
		}
		svc += in.service[c]
		if j == i+1 {
			dist += in.d(0, c)
		} else {
			dist += in.d(tour[j-2], c)
		}
		cost := dist + in.d(c, 0)
		if load > in.capacity {
			cost += w.load * float64(load-in.capacity)
		}
		if in.timed {
			seg = in.merge(seg, in.nodeSeg(c))
			cost += w.time * in.timeExcess(in.merge(seg, in.nodeSeg(0)))
		} else {
			cost += w.time * in.simpleTimeExcess(dist+in.d(c, 0), svc)
		}
		visit(j, cost)
	}
}

// limited splits into at most in.vehicles routes with a layered Bellman
// recursion; without a route-load bound it always succeeds.
func (s *splitter) limited(tour []int32, w penalties, routes [][]int32) [][]int32 {
	in := s.in
	nc := len(tour)
	K := min(in.vehicles, nc)
	if len(s.potK) < K+1 {
		s.potK = make([][]float64, K+1)
		s.predK = make([][]int, K+1)
		for k := range s.potK {
			s.potK[k] = make([]float64, nc+1)
			s.predK[k] = make([]int, nc+1)
		}
	}
	for _, limit := range []int{in.capacity + in.capacity/2, in.totalDemand + 1} {
		for k := 0; k <= K; k++ {
			for j := 0; j <= nc; j++ {
				s.potK[k][j] = farAway
			}
		}
		s.potK[0][0] = 0
		for k := 0; k < K; k++ {
			cur, next, pr := s.potK[k], s.potK[k+1], s.predK[k+1]
			for i := k; i < nc; i++ {
				if cur[i] >= farAway {
					continue
				}
				s.scan(tour, w, i, nc, limit, func(j int, c float64) {
					if v := cur[i] + c; v < next[j] {
						next[j], pr[j] = v, i
					}
				})
			}
		}
		best, bestK := farAway, -1
		for k := 1; k <= K; k++ {
			if s.potK[k][nc] < best {
				best, bestK = s.potK[k][nc], k
			}
		}
		if bestK < 0 {
			continue
		}
		// Walk the layers back into s.pred so extract can read them.
		j := nc
		for k := bestK; k > 0; k-- {
			i := s.predK[k][j]
			s.pred[j] = i
			j = i
		}
		return s.extract(tour, s.pred, bestK, routes)
	}
	// Unreachable: with no load bound one route per layer always works.
	return s.extract(tour, s.pred, 0, routes)
}
