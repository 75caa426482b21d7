package route

import (
	"fmt"
	"math"
)

// checkFleet is the independent checker of FleetSolutions: it re-times
// every route from p's matrices and the stops' order, verifies every
// constraint and recomputes the totals, without using the solver's
// evaluation code.
func checkFleet(p *FleetProblem, s *FleetSolution) error {
	const eps = 1e-6
	near := func(a, b float64) bool { return math.Abs(a-b) <= eps*math.Max(1, math.Abs(b)) }
	if len(s.Routes) != len(p.Vehicles) {
		return fmt.Errorf("%d routes for %d vehicles", len(s.Routes), len(p.Vehicles))
	}
	dc, tc := p.DistCost, p.TimeCost
	if dc == 0 && tc == 0 {
		dc = 1
	}
	served := make([]int, len(p.Visits))
	var dist, dur, prize float64
	for k, r := range s.Routes {
		v := p.Vehicles[k]
		if len(r.Stops) == 0 {
			if r.Distance != 0 || r.Duration != 0 {
				return fmt.Errorf("vehicle %d: empty route with distance %v, duration %v", k, r.Distance, r.Duration)
			}
			continue
		}
		loc := v.Start
		t := v.ShiftStart
		load := 0.0
		rd := 0.0
		taken := false
		ended := false
		breakDue := func() bool { return v.BreakLength > 0 && !taken && t-v.ShiftStart >= v.BreakAfter }
		expectBreak := breakDue()
		for j, st := range r.Stops {
			where := fmt.Sprintf("vehicle %d stop %d (%v %d)", k, j, st.Kind, st.Index)
			if ended {
				return fmt.Errorf("%s: after the end", where)
			}
			if expectBreak != (st.Kind == StopBreak) {
				return fmt.Errorf("%s: break expected %v at %v", where, expectBreak, t)
			}
			if !near(st.LoadBefore, load) {
				return fmt.Errorf("%s: load before %v, want %v", where, st.LoadBefore, load)
			}
			node := loc
			switch st.Kind {
			case StopVisit:
				if st.Index < 0 || st.Index >= len(p.Visits) {
					return fmt.Errorf("%s: no such visit", where)
				}
				node = p.Visits[st.Index].Node
			case StopFacility:
				if st.Index < 0 || st.Index >= len(p.Facilities) {
					return fmt.Errorf("%s: no such facility", where)
				}
				node = p.Facilities[st.Index].Node
			case StopEnd:
				node = v.End
			case StopBreak:
			default:
				return fmt.Errorf("%s: unknown kind", where)
			}
			d := p.Dist[loc*p.N+node]
			arrive := t + p.Time[loc*p.N+node]
			if st.Kind == StopBreak {
				d, arrive = 0, t
			}
			if !near(st.Distance, d) {
				return fmt.Errorf("%s: distance %v, matrix says %v", where, st.Distance, d)
			}
			if !near(st.Arrive, arrive) {
				return fmt.Errorf("%s: arrives %v, matrix says %v", where, st.Arrive, arrive)
			}
			if st.Start < arrive-eps {
				return fmt.Errorf("%s: starts %v before arriving %v", where, st.Start, arrive)
			}
			rd += d
			loc = node
			switch st.Kind {
			case StopVisit:
				vis := p.Visits[st.Index]
				served[st.Index]++
				if vis.Vehicle > 0 && vis.Vehicle-1 != k {
					return fmt.Errorf("%s: pinned to vehicle %d", where, vis.Vehicle-1)
				}
				if st.Start < vis.Ready-eps || (vis.Due > 0 && st.Start > vis.Due+eps) {
					return fmt.Errorf("%s: starts %v outside [%v, %v]", where, st.Start, vis.Ready, vis.Due)
				}
				if !near(st.Depart, st.Start+vis.Service) {
					return fmt.Errorf("%s: departs %v, want %v", where, st.Depart, st.Start+vis.Service)
				}
				load += vis.Demand
				if load > v.Capacity+eps {
					return fmt.Errorf("%s: load %v over capacity %v", where, load, v.Capacity)
				}
				if vis.Optional {
					prize += vis.Prize
				}
			case StopFacility:
				f := p.Facilities[st.Index]
				allowed := v.Facilities == nil
				for _, a := range v.Facilities {
					allowed = allowed || a == st.Index
				}
				if !allowed {
					return fmt.Errorf("%s: facility not allowed for this vehicle", where)
				}
				if st.Start < f.Open-eps || st.Start > f.Close+eps {
					return fmt.Errorf("%s: unloads at %v outside [%v, %v]", where, st.Start, f.Open, f.Close)
				}
				if !near(st.Depart, st.Start+f.Unload) {
					return fmt.Errorf("%s: departs %v, want %v", where, st.Depart, st.Start+f.Unload)
				}
				load = 0
			case StopBreak:
				if !near(st.Depart, st.Start+v.BreakLength) {
					return fmt.Errorf("%s: break ends %v, want %v", where, st.Depart, st.Start+v.BreakLength)
				}
				taken = true
			case StopEnd:
				if load > eps {
					return fmt.Errorf("%s: truck back with %v litres", where, load)
				}
				if st.Arrive > v.ShiftEnd+eps {
					return fmt.Errorf("%s: back at %v after the shift end %v", where, st.Arrive, v.ShiftEnd)
				}
				ended = true
			}
			if !near(st.LoadAfter, load) {
				return fmt.Errorf("%s: load after %v, want %v", where, st.LoadAfter, load)
			}
			t = st.Depart
			if st.Kind == StopEnd {
				t = st.Arrive
			}
			expectBreak = st.Kind != StopEnd && breakDue()
		}
		if !ended {
			return fmt.Errorf("vehicle %d: route does not end at its depot", k)
		}
		if !near(r.Distance, rd) || !near(r.Duration, t-v.ShiftStart) {
			return fmt.Errorf("vehicle %d: stated distance %v duration %v, recomputed %v %v", k, r.Distance, r.Duration, rd, t-v.ShiftStart)
		}
		dist += rd
		dur += t - v.ShiftStart
	}
	unvisited := make(map[int]bool, len(s.Unvisited))
	for _, u := range s.Unvisited {
		unvisited[u] = true
	}
	for i, vis := range p.Visits {
		switch {
		case served[i] > 1:
			return fmt.Errorf("visit %d served %d times", i, served[i])
		case served[i] == 0 && !vis.Optional:
			return fmt.Errorf("mandatory visit %d not served", i)
		case (served[i] == 0) != unvisited[i]:
			return fmt.Errorf("visit %d: served %d times, listed unvisited %v", i, served[i], unvisited[i])
		}
	}
	if len(unvisited) != len(s.Unvisited) {
		return fmt.Errorf("unvisited list has duplicates")
	}
	obj := dc*dist + tc*dur - prize
	if !near(s.Distance, dist) || !near(s.Duration, dur) || !near(s.Prize, prize) || !near(s.Objective, obj) {
		return fmt.Errorf("stated distance %v duration %v prize %v objective %v, recomputed %v %v %v %v",
			s.Distance, s.Duration, s.Prize, s.Objective, dist, dur, prize, obj)
	}
	if !s.Feasible {
		return fmt.Errorf("the checker finds the plan feasible, the solver says not")
	}
	return nil
}
