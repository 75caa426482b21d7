package route

import (
	"math"
	"math/rand/v2"
)

// FleetGen sizes a generated collection day (see GenerateFleet).
type FleetGen struct {
	// Mandatory and Optional are the numbers of bins that must be emptied
	// today and of bins that could be (nearly full, with a prize).
	Mandatory, Optional int
	// Vehicles is the fleet size; 0 means 30.
	Vehicles int
}

// GenerateFleet builds a city-like collection day, the same for the same
// seed: bins clustered in neighbourhoods over 15 x 15 km, 2 or 3 depots on
// the city's edge, 2 facilities outside it (some trucks may use only one),
// road distances 1.3 times the straight line, driven at 30 km/h
// for the first 3 km of a leg and 50 km/h beyond, plus 20 s a leg,
// trucks of 8,000 to 20,000 litres on a 06:00-14:00 shift with a 30-minute
// break after 4 hours, bins of 120 to 3,000 litres, about 10% of them with a
// time window and 1% of the mandatory ones pinned to a truck. Costs are
// 1 per km and 36 per hour; prizes range from 0.5 to 4. It is what the
// benchmark and the tests solve.
func GenerateFleet(seed int64, g FleetGen) *FleetProblem {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	const side = 15000.0
	nveh := g.Vehicles
	if nveh <= 0 {
		nveh = 30
	}
	depots := [][2]float64{{1500, 7000}, {13500, 8500}, {7000, 1000}}[:2+rng.IntN(2)]
	facilities := [][2]float64{{-1000, 10000}, {16500, 3500}}
	nvis := g.Mandatory + g.Optional
	var x, y []float64
	for _, d := range depots {
		x, y = append(x, d[0]), append(y, d[1])
	}
	for _, f := range facilities {
		x, y = append(x, f[0]), append(y, f[1])
	}
	type centre struct{ x, y, sd float64 }
	centres := make([]centre, 40)
	for i := range centres {
		centres[i] = centre{1000 + rng.Float64()*(side-2000), 1000 + rng.Float64()*(side-2000), 300 + rng.Float64()*700}
	}
	for range nvis {
		var px, py float64
		if rng.IntN(10) == 0 { // scattered houses
			px, py = rng.Float64()*side, rng.Float64()*side
		} else {
			c := centres[rng.IntN(len(centres))]
			px = math.Min(side, math.Max(0, c.x+rng.NormFloat64()*c.sd))
			py = math.Min(side, math.Max(0, c.y+rng.NormFloat64()*c.sd))
		}
		x, y = append(x, px), append(y, py)
	}
	n := len(x)
	p := &FleetProblem{N: n, X: x, Y: y, Dist: make([]float64, n*n), Time: make([]float64, n*n),
		DistCost: 0.001, TimeCost: 0.01}
	for i := range n {
		for j := range n {
			if i == j {
				continue
			}
			d := 1.3 * math.Hypot(x[i]-x[j], y[i]-y[j])
			p.Dist[i*n+j] = math.Round(d)
			// 30 km/h in town; beyond 3 km, arterial roads at 50 km/h.
			p.Time[i*n+j] = math.Round(20 + min(d, 3000)/8.33 + max(d-3000, 0)/13.9)
		}
	}
	nd := len(depots)
	for i := range facilities {
		f := Facility{Node: nd + i, Open: 5 * 3600, Close: 15 * 3600, Unload: 600}
		if i == 1 {
			f.Close = 13*3600 + 1800
		}
		p.Facilities = append(p.Facilities, f)
	}
	caps := []float64{8000, 12000, 16000, 20000}
	for k := range nveh {
		d := k % nd
		v := Vehicle{Start: d, End: d, Capacity: caps[rng.IntN(len(caps))], ShiftStart: 6 * 3600, ShiftEnd: 14 * 3600,
			BreakAfter: 4 * 3600, BreakLength: 1800}
		if rng.IntN(5) == 0 {
			// Only the facility nearer its depot.
			f := 0
			if math.Hypot(x[d]-facilities[1][0], y[d]-facilities[1][1]) < math.Hypot(x[d]-facilities[0][0], y[d]-facilities[0][1]) {
				f = 1
			}
			v.Facilities = []int{f}
		}
		p.Vehicles = append(p.Vehicles, v)
	}
	for i := range nvis {
		var size float64
		switch r := rng.IntN(10); {
		case r < 6:
			size = []float64{120, 240, 360}[rng.IntN(3)]
		case r < 9:
			size = []float64{660, 770, 1100}[rng.IntN(3)]
		default:
			size = 2000 + float64(rng.IntN(3))*500
		}
		v := Visit{Node: nd + len(facilities) + i, Service: math.Round(30 + size/50)}
		if i < g.Mandatory {
			v.Demand = math.Round(size * (0.7 + 0.3*rng.Float64()))
			if rng.IntN(100) == 0 {
				v.Vehicle = 1 + rng.IntN(nveh)
			}
		} else {
			v.Optional = true
			v.Demand = math.Round(size * (0.4 + 0.3*rng.Float64()))
			v.Prize = math.Round((0.5+3.5*rng.Float64())*100) / 100
		}
		if rng.IntN(10) == 0 {
			v.Ready = float64(6+rng.IntN(5)) * 3600
			v.Due = min(v.Ready+float64(2+rng.IntN(2))*3600, 13*3600)
		}
		p.Visits = append(p.Visits, v)
	}
	return p
}
