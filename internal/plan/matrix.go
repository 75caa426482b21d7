package plan

import (
	"context"
	"encoding/binary"
	"math"
	"sync"
)

// LatLon is a WGS 84 position in degrees.
type LatLon struct{ Lat, Lon float64 }

// Matrix computes travel distances and times between points.
type Matrix interface {
	// Table returns the len(points)² distances in metres and driving times
	// in seconds, flat and row-major: from i to j at i*len(points)+j. An
	// error means the table could not be computed as a whole; a matrix
	// never returns partial tables.
	Table(ctx context.Context, points []LatLon) (dist, time []float64, err error)
	// Name says where the figures come from ("haversine", "osrm"), for
	// the plan's statistics.
	Name() string
}

// earthRadiusM is the mean Earth radius (IUGG), in metres.
const earthRadiusM = 6371008.8

// Haversine estimates road distances as great-circle distances times a
// circuity factor (roads are not straight; 1.3-1.4 is typical of city
// grids), and driving time as distance over a constant speed. It needs no
// server and is the default.
type Haversine struct {
	Circuity float64 // ≤ 0 means 1
	SpeedKmh float64 // ≤ 0 means 25
}

// Name returns "haversine".
func (Haversine) Name() string { return "haversine" }

// Table computes the table. The great-circle distance is taken from the
// chord between the points' unit vectors (d = 2R·asin(chord/2)), which is
// the haversine formula rearranged so that each pair costs one square root
// and one arcsine; the matrix is symmetric, so each pair is computed once,
// and the rows are shared between two goroutines.
func (h Haversine) Table(ctx context.Context, points []LatLon) (dist, tm []float64, err error) {
	n := len(points)
	circ, speed := h.Circuity, h.SpeedKmh
	if !(circ > 0) {
		circ = 1
	}
	if !(speed > 0) {
		speed = 25
	}
	secPerM := 3.6 / speed
	xyz := make([]float64, 3*n)
	for i, p := range points {
		la, lo := p.Lat*math.Pi/180, p.Lon*math.Pi/180
		c := math.Cos(la)
		xyz[3*i], xyz[3*i+1], xyz[3*i+2] = c*math.Cos(lo), c*math.Sin(lo), math.Sin(la)
	}
	dist = make([]float64, n*n)
	tm = make([]float64, n*n)
	scale := 2 * earthRadiusM * circ
	// Row i computes n-i-1 pairs; the two workers take rows alternately
	// from both ends so they get about the same number of pairs.
	row := func(i int) {
		xi, yi, zi := xyz[3*i], xyz[3*i+1], xyz[3*i+2]
		for j := i + 1; j < n; j++ {
			dx, dy, dz := xi-xyz[3*j], yi-xyz[3*j+1], zi-xyz[3*j+2]
			half := math.Sqrt(dx*dx+dy*dy+dz*dz) / 2
			if half > 1 {
				half = 1
			}
			d := scale * math.Asin(half)
			t := d * secPerM
			dist[i*n+j], dist[j*n+i] = d, d
			tm[i*n+j], tm[j*n+i] = t, t
		}
	}
	const workers = 2
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for k := w; k < n; k += workers {
				if k%64 == 0 && ctx.Err() != nil {
					return
				}
				// Pair short rows with long ones: k-th row from the
				// top for even k, from the bottom for odd.
				i := k / 2
				if k%2 == 1 {
					i = n - 1 - k/2
				}
				row(i)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	return dist, tm, nil
}

// Memo computes each table once: a later call with the same points (in the
// same order) returns the first answer. One Memo serves one plan and its
// re-optimisations; it is safe for concurrent use. Tables are shared, so
// callers must not modify them.
type Memo struct {
	Matrix Matrix
	mu     sync.Mutex
	tables map[string]memoTable
}

type memoTable struct{ dist, time []float64 }

// Name returns the wrapped matrix's name.
func (m *Memo) Name() string { return m.Matrix.Name() }

// Table returns the memoised table for points, computing it on first use.
// Errors are not memoised.
func (m *Memo) Table(ctx context.Context, points []LatLon) ([]float64, []float64, error) {
	key := pointsKey(points)
	m.mu.Lock()
	t, ok := m.tables[key]
	m.mu.Unlock()
	if ok {
		return t.dist, t.time, nil
	}
	d, tm, err := m.Matrix.Table(ctx, points)
	if err != nil {
		return nil, nil, err
	}
	m.mu.Lock()
	if m.tables == nil {
		m.tables = map[string]memoTable{}
	}
	m.tables[key] = memoTable{d, tm}
	m.mu.Unlock()
	return d, tm, nil
}

// pointsKey is the exact bits of the coordinates: two lists share a table
// only when they are the same points in the same order.
func pointsKey(points []LatLon) string {
	b := make([]byte, 0, 16*len(points))
	for _, p := range points {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Lat))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(p.Lon))
	}
	return string(b)
}
