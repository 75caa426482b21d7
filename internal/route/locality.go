package route

import "slices"

// Renumbering customers along a space-filling curve puts customers that are
// close in the plane close in the distance matrix, so the local search's
// lookups of neighbouring pairs hit the same cache lines. It changes nothing
// but speed: Solve maps the routes back.

// localityThreshold is the size from which the matrix no longer fits in a
// core's cache and renumbering pays.
const localityThreshold = 300

// localityOrder returns perm with perm[new] = old for the customers of p
// sorted along a Hilbert curve (the depot stays 0), or nil when p has no
// coordinates or is small.
func localityOrder(p *Problem) []int {
	if p.X == nil || p.N-1 < localityThreshold {
		return nil
	}
	minX, maxX, minY, maxY := p.X[0], p.X[0], p.Y[0], p.Y[0]
	for i := 1; i < p.N; i++ {
		minX, maxX = min(minX, p.X[i]), max(maxX, p.X[i])
		minY, maxY = min(minY, p.Y[i]), max(maxY, p.Y[i])
	}
	span := max(maxX-minX, maxY-minY, 1e-9)
	const side = 1 << 16
	keys := make([]uint64, p.N)
	for i := 1; i < p.N; i++ {
		x := uint32((p.X[i] - minX) / span * (side - 1))
		y := uint32((p.Y[i] - minY) / span * (side - 1))
		keys[i] = hilbert(side, x, y)<<20 | uint64(i) // index breaks ties, keeps it deterministic
	}
	cs := keys[1:]
	slices.Sort(cs)
	perm := make([]int, p.N)
	for k, key := range cs {
		perm[k+1] = int(key & (1<<20 - 1))
	}
	return perm
}

// hilbert is the distance of (x, y) along the Hilbert curve filling an
// n×n grid (n a power of two).
func hilbert(n, x, y uint32) uint64 {
	var d uint64
	for s := n / 2; s > 0; s /= 2 {
		var rx, ry uint32
		if x&s != 0 {
			rx = 1
		}
		if y&s != 0 {
			ry = 1
		}
		d += uint64(s) * uint64(s) * uint64((3*rx)^ry)
		if ry == 0 {
			if rx == 1 {
				x = s - 1 - x
				y = s - 1 - y
			}
			x, y = y, x
		}
	}
	return d
}

// permute returns p with its nodes renumbered: node k of the result is node
// perm[k] of p.
func permute(p *Problem, perm []int) *Problem {
	n := p.N
	q := *p
	q.Demand = make([]int, n)
	for k, i := range perm {
		q.Demand[k] = p.Demand[i]
	}
	f := func(v []float64) []float64 {
		if v == nil {
			return nil
		}
		out := make([]float64, n)
		for k, i := range perm {
			out[k] = v[i]
		}
		return out
	}
	q.Service, q.Ready, q.Due, q.X, q.Y = f(p.Service), f(p.Ready), f(p.Due), f(p.X), f(p.Y)
	m := func(v []float64) []float64 {
		if v == nil {
			return nil
		}
		out := make([]float64, n*n)
		for a, i := range perm {
			row := v[i*n : (i+1)*n]
			for b, j := range perm {
				out[a*n+b] = row[j]
			}
		}
		return out
	}
	q.Dist, q.Time = m(p.Dist), m(p.Time)
	return &q
}
