package route

// SWAP* (Vidal 2022): exchange a customer u of one route with a customer v
// of another, each re-inserted at its best position in the other route rather
// than in the other's place. Only route pairs whose polar sectors overlap are
// tried. The three best insertion positions of every customer in every route
// are cached and refreshed when the route changes.

// swapStarWanted reports whether the local search of an individual with
// the given number of routes tries SWAP*. It does not under time windows
// with long routes (longRoutes customers or more on average, the long
// horizons): routes then sweep wide angles, nearly every pair of them
// overlaps, and preprocessing a pair, with a time-warp merge per position,
// costs the product of their lengths. At 60 s on 1,000-customer
// Gehring-Homberger instances it took a third of the time; the searches
// without it ran twice as many iterations and ended with a mean gap of
// 3.46% against 4.06% on R2_10_3, R2_10_6, RC2_10_4 and RC2_10_7. With
// short routes it stays: without it R1_10_2 and RC1_10_2 ended about 0.55%
// higher.
func swapStarWanted(in *instance, routes int) bool {
	return !in.longRoutesTW(routes)
}

func (ls *localSearch) swapStarLoop(loop int) {
	rs := ls.routes[:ls.nR]
	for _, ru := range rs {
		last := ru.lastSwapStar
		ru.lastSwapStar = ls.nMoves
		if ru.nc == 0 {
			continue
		}
		for _, rv := range rs {
			if rv.nc == 0 || ru.idx >= rv.idx {
				continue
			}
			if loop > 0 && max(ru.lastModified, rv.lastModified) <= last {
				continue
			}
			if overlap(ru.sec, rv.sec) {
				ls.swapStar(ru, rv)
			}
		}
	}
}

// preprocess computes the removal gains of ra's customers and refreshes
// their best insertions into rb.
//
// With time windows the gains and costs include the change of time-warp
// penalty, each computed alone by segment concatenation (Vidal et al.
// 2013), so that the estimate ranks moves the windows allow first; the
// chosen move is still confirmed exactly.
func (ls *localSearch) preprocess(ra, rb *lsRoute) {
	n := ls.n
	in := ls.in
	for u := ra.depot.next; !u.depot; u = u.next {
		u.delRemoval = ls.d(u.prev, u.next) - ls.d(u.prev, u) - ls.d(u, u.next)
		if in.timed {
			u.exWithout = in.excess2(&u.prev.fw, &u.next.bw)
			u.delRemoval += ls.w.time*u.exWithout - ra.timePen
		}
		e := &ls.ins[rb.idx*n+int(u.c)]
		if rb.lastModified <= e.when {
			continue
		}
		e.reset(ls.nMoves)
		if in.timed {
			for t := &rb.depot; ; t = t.next {
				nx := t.next
				// An insertion never lessens the time excess, so positions
				// whose distance alone misses the top three need no merge.
				if c := ls.d(t, u) + ls.d(u, nx) - ls.d(t, nx); c < e.cost[2] {
					ex := in.excessInsert(&t.fw, u.c, &nx.bw)
					e.add(c+ls.w.time*ex-rb.timePen, t)
				}
				if nx.depot {
					break
				}
			}
			continue
		}
		if !in.symmetric {
			for t := &rb.depot; ; t = t.next {
				e.add(ls.d(t, u)+ls.d(u, t.next)-ls.d(t, t.next), t)
				if t.next.depot {
					break
				}
			}
			continue
		}
		// Symmetric distances: one lookup per position, in u's row.
		row := ls.dist[int(u.c)*n : (int(u.c)+1)*n]
		dPrev := row[0]
		for t := &rb.depot; ; t = t.next {
			nx := t.next
			dNext := row[nx.c]
			e.add(dPrev+dNext-(nx.cumDist-t.cumDist), t)
			if nx.depot {
				break
			}
			dPrev = dNext
		}
	}
}

// bestInsertWithout is the cheapest insertion of u into v's route once v is
// removed, and where.
func (ls *localSearch) bestInsertWithout(u, v *lsNode) (float64, *lsNode) {
	e := &ls.ins[v.r.idx*ls.n+int(u.c)]
	var at *lsNode
	cost := farAway
	for k := 0; k < 3; k++ {
		if e.at[k] == nil {
			break
		}
		if e.at[k] != v && e.at[k].next != v {
			at, cost = e.at[k], e.cost[k]
			break
		}
	}
	// In v's place (with time windows, relative to v's route without v,
	// whose time-warp change v.delRemoval already counts).
	c := ls.d(v.prev, u) + ls.d(u, v.next) - ls.d(v.prev, v.next)
	// The insertion adds no less time excess than v's route without v
	// has, so the merge is needed only when the distance alone may win.
	if in := ls.in; in.timed && (at == nil || c < cost) {
		c += ls.w.time * (in.excessInsert(&v.prev.fw, u.c, &v.next.bw) - v.exWithout)
	}
	if at == nil || c < cost {
		at, cost = v.prev, c
	}
	return cost, at
}

func (ls *localSearch) swapStar(ru, rv *lsRoute) {
	ls.preprocess(ru, rv)
	ls.preprocess(rv, ru)
	in := ls.in
	best := 0.0
	var bu, bv, atU, atV *lsNode // move bu after atU (in rv), bv after atV (in ru)
	for u := ru.depot.next; !u.depot; u = u.next {
		for v := rv.depot.next; !v.depot; v = v.next {
			dl := in.demand[v.c] - in.demand[u.c]
			penU := ls.loadPen(ru.load+dl) - ru.loadPen
			penV := ls.loadPen(rv.load-dl) - rv.loadPen
			if penU+u.delRemoval+penV+v.delRemoval > 0 {
				continue
			}
			cu, pu := ls.bestInsertWithout(u, v)
			cv, pv := ls.bestInsertWithout(v, u)
			if c := penU + u.delRemoval + cv + penV + v.delRemoval + cu; c < best {
				best, bu, bv, atU, atV = c, u, v, pu, pv
			}
		}
	}
	// Plain relocations come for free with the cached insertions.
	for u := ru.depot.next; !u.depot; u = u.next {
		e := &ls.ins[rv.idx*ls.n+int(u.c)]
		dem := in.demand[u.c]
		c := u.delRemoval + e.cost[0] + ls.loadPen(ru.load-dem) - ru.loadPen + ls.loadPen(rv.load+dem) - rv.loadPen
		if c < best {
			best, bu, bv, atU, atV = c, u, nil, e.at[0], nil
		}
	}
	for v := rv.depot.next; !v.depot; v = v.next {
		e := &ls.ins[ru.idx*ls.n+int(v.c)]
		dem := in.demand[v.c]
		c := v.delRemoval + e.cost[0] + ls.loadPen(rv.load-dem) - rv.loadPen + ls.loadPen(ru.load+dem) - ru.loadPen
		if c < best {
			best, bu, bv, atU, atV = c, nil, v, nil, e.at[0]
		}
	}
	if best > -eps {
		return
	}
	// The estimate ignores time penalties: confirm with an exact evaluation.
	if in.timed || in.hasDur {
		old := ru.dist + ru.penalty + rv.dist + rv.penalty
		sU := ls.seqReplace(ru, bu, bv, atV, &ls.seq)
		sV := ls.seqReplace(rv, bv, bu, atU, &ls.seq2)
		if ls.seqCost(sU)+ls.seqCost(sV) > old-eps {
			return
		}
	}
	if bu != nil {
		insertAfter(bu, atU)
	}
	if bv != nil {
		insertAfter(bv, atV)
	}
	ls.nMoves++
	ls.done = false
	ls.update(ru)
	ls.update(rv)
}

// seqReplace lists r's customers with out removed and ins inserted after at.
func (ls *localSearch) seqReplace(r *lsRoute, out, ins, at *lsNode, buf *[]int32) []int32 {
	s := (*buf)[:0]
	if ins != nil && at == &r.depot {
		s = append(s, ins.c)
	}
	for w := r.depot.next; !w.depot; w = w.next {
		if w != out {
			s = append(s, w.c)
		}
		if ins != nil && w == at {
			s = append(s, ins.c)
		}
	}
	*buf = s
	return s
}

// seqCost is the penalised cost of a route visiting s.
func (ls *localSearch) seqCost(s []int32) float64 {
	d, load, ex := ls.in.routeMeasure(s)
	return d + ls.loadPen(load) + ls.w.time*ex
}
