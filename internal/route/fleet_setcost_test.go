package route

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// sameProfile reports the first way the timing profiles a and b recorded
// differ ("" when they agree): cost, timing, break, unloads and trips.
// The states after the unloads count only where a route unloads: elsewhere
// the scheduler leaves whatever it held.
func sameProfile(a, b *froute) string {
	switch {
	case a.cost != b.cost || a.end != b.end || a.wait != b.wait:
		return fmt.Sprintf("cost, end, wait %v %v %v against %v %v %v", a.cost, a.end, a.wait, b.cost, b.end, b.wait)
	case !slices.Equal(a.dep, b.dep) || !slices.Equal(a.slack, b.slack) || !slices.Equal(a.wsuf, b.wsuf):
		return "departures, slack or waiting after"
	case a.brkB != b.brkB || a.lastChk != b.lastChk || a.lastDem != b.lastDem:
		return "break or last load"
	case a.sc.valid != b.sc.valid || !slices.Equal(a.sc.pre, b.sc.pre) || !slices.Equal(a.sc.unl, b.sc.unl):
		return "loads or unloads"
	case a.sc.valid && (!slices.Equal(a.sc.g, b.sc.g) || !slices.Equal(a.sc.pred, b.sc.pred)):
		return "the unloads' shortest path"
	case !slices.Equal(a.room, b.room) || !slices.Equal(a.split, b.split):
		return "room in the trips"
	}
	for j, u := range a.sc.unl {
		if u && (a.sc.uT[j] != b.sc.uT[j] || a.sc.uWait[j] != b.sc.uWait[j] || a.sc.uDist[j] != b.sc.uDist[j] ||
			a.sc.uBrk[j] != b.sc.uBrk[j] || a.sc.uFac[j] != b.sc.uFac[j]) {
			return fmt.Sprintf("the state after the unload at %d", j)
		}
	}
	return ""
}

// TestSetCostFrom checks setCostFrom, which reuses a route's unload
// shortest path up to the position its visits changed from, against
// setCost, which times the route from nothing: after removing a visit, a
// split string (visits less a run in their middle) or inserting one, on routes of small trucks (several trips a route)
// and of large ones (one), both must find the same feasibility and record
// the same profile.
func TestSetCostFrom(t *testing.T) {
	for _, big := range []bool{false, true} {
		p := GenerateFleet(3, FleetGen{Mandatory: 300, Optional: 60, Vehicles: 6})
		if big {
			for i := range p.Vehicles {
				p.Vehicles[i].Capacity *= 20
			}
		}
		m := newFleetModel(p)
		s := newFleetSearch(m, 1)
		s.initial(nil)
		rng := rand.New(rand.NewPCG(7, 11))
		var cur, got, want froute
		var scratch legs
		checked, infeasible := 0, 0
		check := func(what string, k, from int) {
			t.Helper()
			got.copyFrom(&cur)
			got.legs.copyFrom(&scratch)
			want.copyFrom(&got)
			okGot, okWant := got.setCostFrom(k, s.sch, from), want.setCost(k, s.sch)
			if okGot != okWant {
				t.Fatalf("big %v, route %d, %s at %d: feasible %v, timed from nothing %v", big, k, what, from, okGot, okWant)
			}
			if !okGot {
				infeasible++
				return
			}
			if d := sameProfile(&got, &want); d != "" {
				t.Fatalf("big %v, route %d, %s at %d: %s", big, k, what, from, d)
			}
			checked++
		}
		for range 3000 {
			k := rng.IntN(len(s.cur.routes))
			if len(s.cur.routes[k].seq) < 2 {
				continue
			}
			cur.copyFrom(&s.cur.routes[k])
			n := len(cur.seq)
			i := rng.IntN(n)
			c := cur.seq[i]
			drop := make([]bool, n)
			drop[i] = true
			m.filter(k, &cur.legs, drop, &scratch)
			check("removal", k, i)
			// A split string, as removeString takes them: visits first to
			// first+w less a run kept in the middle.
			if n >= 5 {
				first := rng.IntN(n - 4)
				w := 3 + rng.IntN(min(n-first, 8)-2)
				keepAt := first + 1 + rng.IntN(w-2)
				keep := 1 + rng.IntN(first+w-1-keepAt)
				split := make([]bool, n)
				for j := first; j < first+w; j++ {
					split[j] = j < keepAt || j >= keepAt+keep
				}
				m.filter(k, &cur.legs, split, &scratch)
				check("split removal", k, first)
			}
			m.filter(k, &cur.legs, drop, &scratch)
			// Put c back somewhere else in the shorter route, timed afresh.
			cur.legs.copyFrom(&scratch)
			if !cur.setCost(k, s.sch) {
				continue
			}
			j := rng.IntN(n)
			prev, next := int32(-1), int32(-1)
			if j > 0 {
				prev = cur.seq[j-1]
			}
			if j < n-1 {
				next = cur.seq[j]
			}
			d1, t1 := m.arc(k, prev, c)
			d2, t2 := m.arc(k, c, next)
			m.withInsert(k, &cur.legs, j, c, d1, t1, d2, t2, &scratch)
			check("insertion", k, j)
		}
		if checked < 3000 {
			t.Errorf("big %v: %d changes compared (%d infeasible), want at least 3,000", big, checked, infeasible)
		}
		t.Logf("big %v: %d changes compared, %d infeasible on both", big, checked, infeasible)
	}
}
