package route

import (
	"fmt"
	"math"
)

// checkSolution is the independent checker: it recomputes the cost of s
// from p's matrices and verifies every constraint, without using the
// solver's own evaluation code.
func checkSolution(p *Problem, s *Solution) error {
	n := p.N
	seen := make([]int, n)
	tm := p.Time
	if tm == nil {
		tm = p.Dist
	}
	total := 0.0
	routes := 0
	for ri, r := range s.Routes {
		if len(r) == 0 {
			continue
		}
		routes++
		load := 0
		dist := 0.0
		prev := 0
		t := 0.0
		if p.Ready != nil {
			t = p.Ready[0]
		}
		begin := t
		for _, c := range r {
			if c <= 0 || c >= n {
				return fmt.Errorf("route %d: customer %d out of range", ri+1, c)
			}
			seen[c]++
			load += p.Demand[c]
			dist += p.Dist[prev*n+c]
			t += tm[prev*n+c]
			if p.Ready != nil {
				if t < p.Ready[c] {
					t = p.Ready[c]
				}
				if t > p.Due[c]+1e-6 {
					return fmt.Errorf("route %d: customer %d served at %v after due %v", ri+1, c, t, p.Due[c])
				}
			}
			if p.Service != nil {
				t += p.Service[c]
			}
			prev = c
		}
		dist += p.Dist[prev*n]
		t += tm[prev*n]
		if p.Ready != nil && t > p.Due[0]+1e-6 {
			return fmt.Errorf("route %d: back at depot at %v after %v", ri+1, t, p.Due[0])
		}
		if load > p.Capacity {
			return fmt.Errorf("route %d: load %d > capacity %d", ri+1, load, p.Capacity)
		}
		if p.MaxDuration > 0 && p.Ready == nil && t-begin > p.MaxDuration+1e-6 {
			return fmt.Errorf("route %d: duration %v > %v", ri+1, t-begin, p.MaxDuration)
		}
		total += dist
	}
	for c := 1; c < n; c++ {
		if seen[c] != 1 {
			return fmt.Errorf("customer %d served %d times", c, seen[c])
		}
	}
	if p.Vehicles > 0 && routes > p.Vehicles {
		return fmt.Errorf("%d routes > %d vehicles", routes, p.Vehicles)
	}
	if math.Abs(total-s.Cost) > 1e-6*math.Max(1, total) {
		return fmt.Errorf("stated cost %v, recomputed %v", s.Cost, total)
	}
	return nil
}
