package route

import (
	"slices"
	"testing"
)

// consistent reports the first way x is not a plan of every visit exactly
// once with posR and posI in step, as a string ("" when it is).
func consistent(s *fleetSearch, x *fsol) string {
	seen := make([]int, len(s.m.vis))
	for k, r := range x.routes {
		for i, c := range r.seq {
			seen[c]++
			if x == &s.cand && (s.posR[c] != int32(k) || s.posI[c] != int32(i)) {
				return "position index out of step"
			}
		}
	}
	for _, c := range x.unassigned {
		seen[c]++
	}
	if i := slices.IndexFunc(seen, func(n int) bool { return n != 1 }); i >= 0 {
		return "a visit is not in the plan exactly once"
	}
	obj := 0.0
	for _, r := range x.routes {
		obj += r.cost
	}
	for _, c := range x.unassigned {
		obj += s.pen[c]
	}
	if d := obj - x.obj; d > 1e-6*(1+obj) || d < -1e-6*(1+obj) {
		return "objective out of step"
	}
	return ""
}

func usedRoutes(x *fsol) int {
	n := 0
	for _, r := range x.routes {
		if len(r.seq) > 0 {
			n++
		}
	}
	return n
}

// TestFleetElimination: an elimination empties the smallest route (one
// without pinned visits), bars its vehicle and ends either with every
// mandatory visit served on the other routes, that route still empty, or,
// when it runs out of iterations, back at the plan it started from.
func TestFleetElimination(t *testing.T) {
	won := 0
	for seed := range int64(4) {
		p := GenerateFleet(seed, FleetGen{Mandatory: 120, Optional: 30, Vehicles: 8})
		s := newFleetSearch(newFleetModel(p), seed)
		// A plan with routes to spare: one built by filling the open
		// routes first has none, and the visits of the route an
		// elimination empties then go to an idle truck.
		s.noFill = true
		s.initial(nil)
		s.temp = 1
		before := usedRoutes(&s.cur)
		s.startElimination()
		r := s.barred
		if r < 0 {
			t.Fatalf("seed %d: no route to eliminate among %d", seed, before)
		}
		if len(s.cand.routes[r].seq) != 0 || len(s.cur.routes[r].seq) != 0 {
			t.Fatalf("seed %d: route %d not emptied", seed, r)
		}
		for k, rt := range s.cur.routes {
			pinned := slices.ContainsFunc(s.saved.routes[k].seq, func(c int32) bool { return s.m.vis[c].veh >= 0 })
			if k != int(r) && !pinned && len(rt.seq) > 0 && len(rt.seq) < len(s.saved.routes[r].seq) {
				t.Errorf("seed %d: route %d has %d visits, fewer than the eliminated one's %d", seed, k, len(rt.seq), len(s.saved.routes[r].seq))
			}
		}
		for _, c := range s.saved.routes[r].seq {
			if !slices.Contains(s.cur.unassigned, c) {
				t.Fatalf("seed %d: visit %d of the eliminated route is not unassigned", seed, c)
			}
		}
		for n := 0; s.barred >= 0; n++ {
			if n > fleetElimIters {
				t.Fatalf("seed %d: elimination still running after %d iterations", seed, n)
			}
			s.iterate()
			if s.barred >= 0 && len(s.cur.routes[r].seq) != 0 {
				t.Fatalf("seed %d: the barred vehicle got a visit", seed)
			}
		}
		if msg := consistent(s, &s.cand); msg != "" {
			t.Fatalf("seed %d: %s", seed, msg)
		}
		if s.elimWon == 1 {
			won++
			if len(s.cur.routes[r].seq) != 0 {
				t.Errorf("seed %d: won, but route %d has visits", seed, r)
			}
			if usedRoutes(&s.cur) != before-1 {
				t.Errorf("seed %d: won with %d routes, started with %d", seed, usedRoutes(&s.cur), before)
			}
			sol := s.output(&s.cur)
			if !sol.Feasible {
				t.Errorf("seed %d: the plan after the elimination is not feasible", seed)
			}
			if err := checkFleet(p, &sol); err != nil {
				t.Errorf("seed %d: %v", seed, err)
			}
		}
	}
	if won == 0 {
		t.Error("no elimination succeeded on generous fleets")
	}
}

// TestFleetEliminationFails: an elimination that runs out of iterations
// (one of the route's visits is made to need its vehicle) leaves the
// search where it started.
func TestFleetEliminationFails(t *testing.T) {
	p := GenerateFleet(7, FleetGen{Mandatory: 120, Optional: 30, Vehicles: 8})
	s := newFleetSearch(newFleetModel(p), 7)
	s.initial(nil)
	s.temp = 1
	var start fsol
	start.copyFrom(&s.cur)
	s.startElimination()
	if s.barred < 0 {
		t.Fatal("no elimination started")
	}
	// One of its mandatory visits can now go only on the barred vehicle.
	c := slices.IndexFunc(s.cur.unassigned, func(c int32) bool { return !s.m.vis[c].optional })
	if c < 0 {
		t.Fatal("no mandatory visit on the eliminated route")
	}
	s.m.vis[s.cur.unassigned[c]].veh = s.barred
	for n := 0; s.barred >= 0; n++ {
		if n > fleetElimIters {
			t.Fatalf("elimination still running after %d iterations", n)
		}
		s.iterate()
	}
	if s.elimWon != 0 {
		t.Fatal("won without a visit only the barred vehicle may take")
	}
	if s.cur.obj != start.obj || s.cand.obj != start.obj {
		t.Errorf("objective %v (candidate %v) after a failed elimination, %v before", s.cur.obj, s.cand.obj, start.obj)
	}
	for k := range start.routes {
		if !slices.Equal(s.cur.routes[k].seq, start.routes[k].seq) || !slices.Equal(s.cand.routes[k].seq, start.routes[k].seq) {
			t.Fatalf("route %d changed by a failed elimination", k)
		}
	}
	if msg := consistent(s, &s.cand); msg != "" {
		t.Fatal(msg)
	}
}

// TestFleetFill: the first plan fills the routes already open before it
// opens another, so it uses fewer trucks than one that opens a truck
// wherever that is cheapest, and it is a feasible plan of every visit.
func TestFleetFill(t *testing.T) {
	fewer := 0
	for seed := range int64(4) {
		p := GenerateFleet(seed, FleetGen{Mandatory: 120, Optional: 30, Vehicles: 8})
		m := newFleetModel(p)
		filled, spread := newFleetSearch(m, seed), newFleetSearch(m, seed)
		spread.noFill = true
		filled.initial(nil)
		spread.initial(nil)
		if msg := consistent(filled, &filled.cand); msg != "" {
			t.Fatalf("seed %d: %s", seed, msg)
		}
		nf, ns := usedRoutes(&filled.cur), usedRoutes(&spread.cur)
		if nf > ns {
			t.Errorf("seed %d: filled plan uses %d routes, more than the %d of a spread one", seed, nf, ns)
		}
		if nf < ns {
			fewer++
		}
		if slices.ContainsFunc(filled.cur.unassigned, func(c int32) bool { return !m.vis[c].optional }) {
			t.Errorf("seed %d: the filled plan leaves a mandatory visit out", seed)
		}
		sol := filled.output(&filled.cur)
		if err := checkFleet(p, &sol); err != nil {
			t.Errorf("seed %d: %v", seed, err)
		}
	}
	if fewer == 0 {
		t.Error("filling never saved a truck")
	}
}
