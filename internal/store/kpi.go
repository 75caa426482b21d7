package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// ---- leadership KPIs ----
//
// The counts are aggregated in SQL, by week and zone: collections and
// alerts by their time, stops by their plan's date. Weeks are local
// (Monday to Sunday in the query's Location), so the bucket of a row is a
// CASE over the weeks' first instants (or dates) computed here, which
// both engines evaluate alike; a report spans at most 53 weeks. The
// baseline (see civic.KPIQuery) needs only the active bins, grouped by
// zone, stream and first countable day, and the planner's settings. Bins
// are joined by id for their zone as it is now; a deleted bin's rows
// count under no zone.

var _ civic.KPIStore = (*Store)(nil)

// kpiKey is one week (index) of one zone.
type kpiKey struct {
	week int
	zone string
}

// kpiCell holds a week and zone's counts, with the fill sum the mean needs.
type kpiCell struct {
	f       civic.KPIFigures
	fillSum float64
	closeH  []float64 // hours to close of its closed requests, for the median
}

// add sums o's counts and lists into c.
func (c *kpiCell) add(o *kpiCell) {
	c.f.Add(o.f)
	c.fillSum += o.fillSum
	c.closeH = append(c.closeH, o.closeH...)
}

// finish derives c's shares, distances and median (see
// civic.KPIFigures.Finish).
func (c *kpiCell) finish(kmPerVisit *float64) {
	c.f.Finish(c.fillSum, kmPerVisit)
	c.f.CloseHoursMedian = civic.Median(c.closeH)
}

// kpiPeriod is a normalized query's calendar.
type kpiPeriod struct {
	days    []time.Time // local midnights
	weeks   []time.Time // each week's first day in the period
	weekOf  []int       // days[i]'s week index
	start   time.Time   // the first day's midnight
	end     time.Time   // the midnight after the last day
	from    string
	to      string
	dayFrom []string // weeks' first days, as dates
}

func newKPIPeriod(q civic.KPIQuery) kpiPeriod {
	p := kpiPeriod{days: q.Days(), from: q.From, to: q.To}
	for _, d := range p.days {
		if len(p.weeks) == 0 || !civic.WeekOf(d).Equal(civic.WeekOf(p.weeks[len(p.weeks)-1])) {
			p.weeks = append(p.weeks, d)
			p.dayFrom = append(p.dayFrom, d.Format(time.DateOnly))
		}
		p.weekOf = append(p.weekOf, len(p.weeks)-1)
	}
	p.start = p.days[0]
	p.end = p.days[len(p.days)-1].AddDate(0, 0, 1)
	return p
}

// bucket returns the SQL expression of the week index of col, whose
// values compare with bounds (the weeks' first instants or dates), and
// appends the bounds to args.
func bucket(col string, bounds []any, args *[]any) string {
	if len(bounds) == 1 {
		return "0"
	}
	var b strings.Builder
	b.WriteString("CASE")
	for i := len(bounds) - 1; i >= 1; i-- {
		*args = append(*args, bounds[i])
		fmt.Fprintf(&b, " WHEN %s >= $%d THEN %d", col, len(*args), i)
	}
	b.WriteString(" ELSE 0 END")
	return b.String()
}

// fillBuckets is the fill histogram's resolution: tenths.
const fillBuckets = 10

// KPIs implements civic.KPIStore. Errors: Invalid (a query that is not
// normalized, an unknown zone).
func (s *Store) KPIs(ctx context.Context, q civic.KPIQuery) (civic.KPIReport, error) {
	if q.Location == nil || q.From == "" || q.To == "" || q.Now.IsZero() {
		return civic.KPIReport{}, civic.Errorf(civic.Invalid, "the KPI query is not normalized")
	}
	check := q
	if err := check.Normalize(q.Now); err != nil || check.From != q.From || check.To != q.To {
		return civic.KPIReport{}, civic.Errorf(civic.Invalid, "the KPI query is not normalized")
	}
	op := errCtx{op: "kpis"}
	p := newKPIPeriod(q)
	rep := civic.KPIReport{From: q.From, To: q.To, Zone: q.Zone, Weeks: []civic.KPIWeek{}, Zones: []civic.KPIZone{},
		Fill: make([]civic.KPIFillBucket, fillBuckets)}
	for i := range rep.Fill {
		rep.Fill[i] = civic.KPIFillBucket{From: float64(i) / fillBuckets, To: float64(i+1) / fillBuckets}
	}

	zones, err := list(ctx, s, "kpis: zones", `SELECT id, name FROM zones ORDER BY id`, func(r rowScanner) ([2]string, error) {
		var z [2]string
		err := r.Scan(&z[0], &z[1])
		return z, err
	})
	if err != nil {
		return rep, err
	}
	zoneName := map[string]string{}
	for _, z := range zones {
		zoneName[z[0]] = z[1]
	}
	if _, ok := zoneName[q.Zone]; q.Zone != "" && !ok {
		return rep, civic.FieldError("zone", "%q is not a zone", q.Zone)
	}
	inZone := func(z string) bool { return q.Zone == "" || z == q.Zone }
	cells := map[kpiKey]*kpiCell{}
	cell := func(week int, zone string) *kpiCell {
		k := kpiKey{week, zone}
		c := cells[k]
		if c == nil {
			c = &kpiCell{}
			cells[k] = c
		}
		return c
	}
	instants := make([]any, len(p.weeks))
	dates := make([]any, len(p.weeks))
	for i, w := range p.weeks {
		instants[i], dates[i] = s.ts(w), p.dayFrom[i]
	}
	zoneCond := func(col string, args *[]any) string {
		if q.Zone == "" {
			return ""
		}
		*args = append(*args, q.Zone)
		return fmt.Sprintf(" AND COALESCE(%s, '') = $%d", col, len(*args))
	}

	// Collections made, how full the bins were, and overflow incidents:
	// collections that found the bin full to the top (civic.KPIFigures.Overflows).
	args := []any{s.ts(p.start), s.ts(p.end)}
	wk := bucket("c.time", instants, &args)
	zc := zoneCond("b.zone_id", &args)
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+wk+` AS wk, COALESCE(b.zone_id, '') AS zone, count(*),
		count(c.fill_before), COALESCE(sum(c.fill_before), 0), COALESCE(sum(CASE WHEN c.fill_before < 0.5 THEN 1 ELSE 0 END), 0),
		COALESCE(sum(CASE WHEN c.fill_before >= 1 THEN 1 ELSE 0 END), 0)
		FROM collections c LEFT JOIN bins b ON b.id = c.bin_id
		WHERE c.time >= $1 AND c.time < $2`+zc+` GROUP BY 1, 2`, args...)
	if err != nil {
		return rep, s.fail(op, err)
	}
	err = scanRows(rows, func(r rowScanner) error {
		var w, n, fillN, under, brim int
		var zone string
		var sum float64
		if err := r.Scan(&w, &zone, &n, &fillN, &sum, &under, &brim); err != nil {
			return err
		}
		c := cell(w, zone)
		c.f.Collections += n
		c.f.FillN += fillN
		c.f.FillUnderHalf += under
		c.f.Overflows += brim
		c.fillSum += sum
		return nil
	})
	if err != nil {
		return rep, s.fail(op, err)
	}

	// The fill histogram, over the whole period.
	args = []any{s.ts(p.start), s.ts(p.end)}
	var hist strings.Builder
	hist.WriteString("CASE")
	for i := fillBuckets - 1; i >= 1; i-- {
		fmt.Fprintf(&hist, " WHEN c.fill_before >= %s THEN %d", strconv.FormatFloat(float64(i)/fillBuckets, 'f', 1, 64), i)
	}
	hist.WriteString(" ELSE 0 END")
	zc = zoneCond("b.zone_id", &args)
	rows, err = s.rdb.QueryContext(ctx, `SELECT `+hist.String()+` AS k, count(*)
		FROM collections c LEFT JOIN bins b ON b.id = c.bin_id
		WHERE c.time >= $1 AND c.time < $2 AND c.fill_before IS NOT NULL`+zc+` GROUP BY 1`, args...)
	if err != nil {
		return rep, s.fail(op, err)
	}
	err = scanRows(rows, func(r rowScanner) error {
		var k, n int
		if err := r.Scan(&k, &n); err != nil {
			return err
		}
		if k >= 0 && k < fillBuckets {
			rep.Fill[k].N += n
		}
		return nil
	})
	if err != nil {
		return rep, s.fail(op, err)
	}

	// Planned versus actual, and the routes' distance: one row per week,
	// zone and route, so a route's distance can be shared among the zones
	// of its bin stops.
	late := fmt.Sprintf(`(julianday(s.done_at) - julianday(s.eta)) * 86400 > %d`, int(civic.LateAfter.Seconds()))
	if s.pg() {
		late = fmt.Sprintf(`extract(epoch FROM s.done_at - s.eta) > %d`, int(civic.LateAfter.Seconds()))
	}
	args = []any{p.from, p.to}
	wk = bucket("p.date", dates, &args)
	type routeRow struct {
		week                                      int
		zone, route                               string
		distance                                  float64
		done                                      bool
		stops, collected, skipped, pending, lateN int
	}
	routeRows, err := list(ctx, s, "kpis: stops", `SELECT `+wk+` AS wk, COALESCE(b.zone_id, '') AS zone, r.id, r.distance_m,
		r.status, count(*),
		COALESCE(sum(CASE WHEN s.status = 'collected' THEN 1 ELSE 0 END), 0),
		COALESCE(sum(CASE WHEN s.status = 'skipped' THEN 1 ELSE 0 END), 0),
		COALESCE(sum(CASE WHEN s.status = 'pending' THEN 1 ELSE 0 END), 0),
		COALESCE(sum(CASE WHEN s.status <> 'pending' AND s.done_at IS NOT NULL AND `+late+` THEN 1 ELSE 0 END), 0)
		FROM stops s JOIN routes r ON r.id = s.route_id JOIN plans p ON p.id = r.plan_id LEFT JOIN bins b ON b.id = s.bin_id
		WHERE s.kind = 'bin' AND p.status <> 'draft' AND p.date >= $1 AND p.date <= $2
		GROUP BY 1, 2, r.id, r.distance_m, r.status`, func(r rowScanner) (routeRow, error) {
		var x routeRow
		var status string
		err := r.Scan(&x.week, &x.zone, &x.route, &x.distance, &status, &x.stops, &x.collected, &x.skipped, &x.pending, &x.lateN)
		x.done = status == string(civic.RouteDone)
		return x, err
	}, args...)
	if err != nil {
		return rep, err
	}
	routeStops := map[string]int{}
	routeKm := map[string]float64{}
	for _, x := range routeRows {
		routeStops[x.route] += x.stops
		routeKm[x.route] = x.distance / 1000
	}
	for _, x := range routeRows {
		if !inZone(x.zone) {
			continue
		}
		c := cell(x.week, x.zone)
		c.f.StopsPlanned += x.stops
		c.f.StopsCollected += x.collected
		c.f.StopsSkipped += x.skipped
		c.f.StopsPending += x.pending
		c.f.StopsLate += x.lateN
		if x.done {
			c.f.KmRoutes += routeKm[x.route] * float64(x.stops) / float64(routeStops[x.route])
		}
	}

	// 311 requests and their service level, by the week they came in and
	// the zone of the bin they are about, or else of where they are; and
	// by service.
	type serviceCells struct {
		all   kpiCell
		weeks []kpiCell
	}
	services := map[[2]string]*serviceCells{}
	service := func(code, name string, week int) (all, wk *kpiCell) {
		k := [2]string{code, name}
		c := services[k]
		if c == nil {
			c = &serviceCells{weeks: make([]kpiCell, len(p.weeks))}
			services[k] = c
		}
		return &c.all, &c.weeks[week]
	}
	if err := s.kpiRequests(ctx, q, p, instants, cell, service); err != nil {
		return rep, err
	}
	rep.Services = make([]civic.KPIService, 0, len(services))
	for k, c := range services {
		c.all.finish(nil)
		sv := civic.KPIService{Code: k[0], Name: k[1], KPIServiceLevel: c.all.f.KPIServiceLevel,
			Weeks: make([]civic.KPIServiceWeek, len(c.weeks))}
		for i := range c.weeks {
			c.weeks[i].finish(nil)
			sv.Weeks[i] = civic.KPIServiceWeek{Week: civic.WeekOf(p.weeks[i]).Format(time.DateOnly), KPIServiceLevel: c.weeks[i].f.KPIServiceLevel}
		}
		rep.Services = append(rep.Services, sv)
	}
	slices.SortFunc(rep.Services, func(a, b civic.KPIService) int {
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.Code, b.Code))
	})

	// The assumption behind the distance saved: the plans' km per visit.
	as := &rep.Assumptions
	as.CO2KgPerKm, as.LateAfterMin = civic.CO2KgPerKm, civic.LateAfter.Minutes()
	var km float64
	var visits int
	for r, n := range routeStops {
		km += routeKm[r]
		visits += n
	}
	if visits > 0 {
		as.KmPerVisitScope = "period"
		if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM plans WHERE status <> 'draft' AND date >= $1 AND date <= $2
			AND EXISTS (SELECT 1 FROM routes r JOIN stops s ON s.route_id = r.id WHERE r.plan_id = plans.id AND s.kind = 'bin')`,
			p.from, p.to).Scan(&as.KmPerVisitPlans); err != nil {
			return rep, s.fail(op, err)
		}
	} else {
		err := s.rdb.QueryRowContext(ctx, `SELECT count(DISTINCT r.plan_id), COALESCE(sum(r.distance_m), 0) / 1000,
			COALESCE(sum(r.bins), 0) FROM (SELECT r.plan_id, r.distance_m,
				(SELECT count(*) FROM stops s WHERE s.route_id = r.id AND s.kind = 'bin') AS bins
				FROM routes r JOIN plans p ON p.id = r.plan_id WHERE p.status <> 'draft') r WHERE r.bins > 0`).
			Scan(&as.KmPerVisitPlans, &km, &visits)
		if err != nil {
			return rep, s.fail(op, err)
		}
		if visits > 0 {
			as.KmPerVisitScope = "all"
		}
	}
	var kmPerVisit *float64
	if visits > 0 {
		v := km / float64(visits)
		kmPerVisit = &v
		as.KmPerVisit = kmPerVisit
	}

	// The baseline: the fixed schedule over the active bins, from the day
	// civic's records begin.
	var first *time.Time
	if err := s.rdb.QueryRowContext(ctx, `SELECT min(time) FROM collections`).Scan(scanTimePtr{&first}); err != nil {
		return rep, s.fail(op, err)
	}
	settings, err := s.PlanSettings(ctx)
	if err != nil {
		return rep, err
	}
	as.Schedule = map[civic.Stream]string{}
	for _, st := range civic.Streams {
		var names []string
		for _, d := range settings.Policy("", st).ServiceDays {
			names = append(names, d.String()[:3])
		}
		as.Schedule[st] = strings.Join(names, " ")
	}
	if first != nil {
		recordsFrom := civic.DayOf(*first, q.Location)
		as.RecordsFrom = recordsFrom.Format(time.DateOnly)
		args = []any{string(civic.StatusActive)}
		zc = zoneCond("b.zone_id", &args)
		type binGroup struct {
			zone   string
			stream civic.Stream
			from   time.Time
		}
		type binRow struct {
			zone, stream, installed string
			created                 time.Time
			collected               *time.Time // the first collection
		}
		bins, err := list(ctx, s, "kpis: bins", `SELECT COALESCE(b.zone_id, ''), b.stream, b.installed_on, b.created_at, c.first
			FROM bins b LEFT JOIN (SELECT bin_id, min(time) AS first FROM collections GROUP BY bin_id) c ON c.bin_id = b.id
			WHERE b.status = $1`+zc, func(r rowScanner) (binRow, error) {
			var b binRow
			err := r.Scan(&b.zone, &b.stream, &b.installed, scanTime{&b.created}, scanTimePtr{&b.collected})
			return b, err
		}, args...)
		if err != nil {
			return rep, err
		}
		groups := map[binGroup]int{}
		for _, b := range bins {
			// Installed, or else registered (or first collected, when
			// history was imported).
			from := civic.DayOf(b.created, q.Location)
			if b.collected != nil && b.collected.Before(b.created) {
				from = civic.DayOf(*b.collected, q.Location)
			}
			if t, err := time.ParseInLocation(time.DateOnly, b.installed, q.Location); err == nil {
				from = t
			}
			from = latest(from, recordsFrom, p.start)
			if from.Before(p.end) {
				groups[binGroup{b.zone, civic.Stream(b.stream), from}]++
			}
		}
		for g, n := range groups {
			for i, d := range p.days {
				if !d.Before(g.from) && settings.OnFixedSchedule(g.zone, g.stream, d.Weekday()) {
					cell(p.weekOf[i], g.zone).f.Baseline += n
				}
			}
		}
	}

	// Sum up by week, by zone and in all.
	weekDays := make([]int, len(p.weeks))
	for _, w := range p.weekOf {
		weekDays[w]++
	}
	weeks := make([]kpiCell, len(p.weeks))
	byZone := map[string]*kpiCell{}
	var total kpiCell
	for k, c := range cells {
		weeks[k.week].add(c)
		z := byZone[k.zone]
		if z == nil {
			z = &kpiCell{}
			byZone[k.zone] = z
		}
		z.add(c)
		total.add(c)
	}
	for i, w := range weeks {
		w.f.Days = weekDays[i]
		w.finish(kmPerVisit)
		rep.Weeks = append(rep.Weeks, civic.KPIWeek{Week: civic.WeekOf(p.weeks[i]).Format(time.DateOnly), KPIFigures: w.f})
	}
	ids := []string{}
	for _, z := range zones {
		if inZone(z[0]) {
			ids = append(ids, z[0])
		}
	}
	if _, ok := byZone[""]; ok && q.Zone == "" {
		ids = append(ids, "")
	}
	for _, id := range ids {
		z := byZone[id]
		if z == nil {
			z = &kpiCell{}
		}
		z.f.Days = len(p.days)
		z.finish(kmPerVisit)
		rep.Zones = append(rep.Zones, civic.KPIZone{ZoneID: id, Name: zoneName[id], KPIFigures: z.f})
	}
	total.f.Days = len(p.days)
	total.finish(kmPerVisit)
	rep.Total = total.f

	// The sensors' health as of now.
	health, err := s.RecentDeviceHealth(ctx, q.Now, civic.DashboardHealthAge)
	if err != nil {
		return rep, err
	}
	var binZone map[string]string
	if q.Zone != "" {
		type bz struct{ id, zone string }
		all, err := list(ctx, s, "kpis: bin zones", `SELECT id, COALESCE(zone_id, '') FROM bins`, func(r rowScanner) (bz, error) {
			var b bz
			err := r.Scan(&b.id, &b.zone)
			return b, err
		})
		if err != nil {
			return rep, err
		}
		binZone = make(map[string]string, len(all))
		for _, b := range all {
			binZone[b.id] = b.zone
		}
	}
	for _, h := range health {
		if q.Zone == "" || binZone[h.BinID] == q.Zone {
			rep.Fleet.Count(h.Status)
		}
	}
	return rep, nil
}

// kpiRequests adds the 311 figures (see civic.KPIFigures) of the requests
// received in p to their cells: a request's zone is its bin's when it is
// about one, else the first zone containing its location. It adds them
// to their service's cell too (service: by code and name).
func (s *Store) kpiRequests(ctx context.Context, q civic.KPIQuery, p kpiPeriod, instants []any,
	cell func(week int, zone string) *kpiCell, service func(code, name string, week int) (all, wk *kpiCell)) error {
	zones, err := s.ListZones(ctx)
	if err != nil {
		return err
	}
	args := []any{s.ts(p.start), s.ts(p.end), string(civic.ModHidden), s.ts(q.Now)}
	wk := bucket("r.requested_at", instants, &args)
	type reqRow struct {
		week      int
		binZone   *string
		lat, lon  *float64
		class     string
		requested time.Time
		closed    *time.Time
		code      string
		name      string
	}
	reqs, err := list(ctx, s, "kpis: requests", `SELECT `+wk+` AS wk, b.zone_id, r.lat, r.long,
		CASE WHEN r.duplicate_of <> '' OR r.close_reason = 'duplicate' THEN 'duplicate'
			WHEN r.expected_at IS NULL THEN 'none'
			WHEN r.status = 'closed' AND r.closed_at <= r.expected_at THEN 'met'
			WHEN r.status = 'closed' OR r.expected_at < $4 THEN 'missed'
			ELSE 'open' END,
		r.requested_at, CASE WHEN r.status = 'closed' THEN r.closed_at END, r.service_code, COALESCE(sv.name, r.service_code)
		FROM service_requests r LEFT JOIN bins b ON r.object_type = 'bin' AND b.id = r.object_id
		LEFT JOIN services sv ON sv.code = r.service_code
		WHERE r.requested_at >= $1 AND r.requested_at < $2 AND r.moderation <> $3`,
		func(r rowScanner) (reqRow, error) {
			var x reqRow
			err := r.Scan(&x.week, &x.binZone, &x.lat, &x.lon, &x.class, scanTime{&x.requested}, scanTimePtr{&x.closed},
				&x.code, &x.name)
			return x, err
		}, args...)
	if err != nil {
		return err
	}
	for _, x := range reqs {
		zone := ""
		switch {
		case x.binZone != nil:
			zone = *x.binZone
		case x.lat != nil && x.lon != nil:
			zone = zoneFor(zones, *x.lon, *x.lat)
		}
		if q.Zone != "" && zone != q.Zone {
			continue
		}
		all, wk := service(x.code, x.name, x.week)
		for _, c := range []*kpiCell{cell(x.week, zone), all, wk} {
			if x.closed != nil && x.class != "duplicate" {
				c.closeH = append(c.closeH, x.closed.Sub(x.requested).Hours())
			}
			f := &c.f
			f.Requests++
			switch x.class {
			case "met":
				f.SLAMet++
			case "missed":
				f.SLAMissed++
			case "open":
				f.SLAOpen++
			}
		}
	}
	return nil
}

// latest returns the latest of ts.
func latest(ts ...time.Time) time.Time {
	return slices.MaxFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
}

// scanRows calls scan for every row and closes rows.
func scanRows(rows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close() error
}, scan func(rowScanner) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
