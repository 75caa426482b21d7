package web

import (
	"cmp"
	"encoding/csv"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// fleetPageSize is how many devices one page of the fleet table shows.
const fleetPageSize = 100

// fleetRow is a device with what its latest reading says about it.
type fleetRow struct {
	Device   civic.Device
	BinName  string
	Seen     time.Time
	SeenAgo  string
	Battery  *float64
	RSSI     *float64
	Health   string // ok, offline, decode errors, low battery, never seen, inactive
	Problem  bool
	Interval time.Duration
	// Stats is the device's health from the store, when it keeps it
	// (civic.DeviceHealthStore): uplink rate, decode failures, trend.
	Stats *civic.DeviceHealth
}

// fleetColumn is a sortable column of the fleet table.
type fleetColumn struct {
	Key, Label string
	less       func(a, b *fleetRow) int
}

var fleetColumns = []fleetColumn{
	{"id", "Device", func(a, b *fleetRow) int { return cmp.Compare(a.Device.ID, b.Device.ID) }},
	{"bin", "Bin", func(a, b *fleetRow) int { return cmp.Compare(a.Device.BinID, b.Device.BinID) }},
	{"kind", "Kind", func(a, b *fleetRow) int { return cmp.Compare(a.Device.Kind, b.Device.Kind) }},
	{"health", "Health", func(a, b *fleetRow) int { return cmp.Compare(a.Health, b.Health) }},
	{"seen", "Last seen", func(a, b *fleetRow) int { return a.Seen.Compare(b.Seen) }},
	{"battery", "Battery", func(a, b *fleetRow) int { return cmpPtr(a.Battery, b.Battery) }},
	{"signal", "Signal", func(a, b *fleetRow) int { return cmpPtr(a.RSSI, b.RSSI) }},
}

// cmpPtr orders unknown values first, so they stand out when sorting up.
func cmpPtr(a, b *float64) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	return cmp.Compare(*a, *b)
}

// fleetRows joins devices with the latest state of their bins. The state
// belongs to a device when it names it, or names none. When the store keeps
// device health, last seen, battery and signal come from it instead.
func (u *UI) fleetRows(r *http.Request) ([]fleetRow, error) {
	devs, err := u.deps.Store.ListDevices(r.Context())
	if err != nil {
		return nil, err
	}
	if err := u.cache.ensure(r.Context()); err != nil {
		return nil, err
	}
	now := u.now()
	stats := map[string]*civic.DeviceHealth{}
	if hs, ok := u.deps.Store.(civic.DeviceHealthStore); ok {
		list, err := hs.RecentDeviceHealth(r.Context(), now, civic.DashboardHealthAge)
		if err != nil {
			return nil, err
		}
		for i := range list {
			stats[list[i].Device] = &list[i]
		}
	}
	// One definition of health: the thresholds of the alert rules of each
	// device's bin, and the sensor faults those rules found.
	rules := civic.DefaultAlertRules()
	var faults map[string][]civic.Alert
	if st := u.deps.Alerts; st != nil {
		if rules, err = st.AlertRules(r.Context()); err != nil {
			return nil, err
		}
		open, err := st.ListAlerts(r.Context(), civic.AlertFilter{Unresolved: true, Rule: civic.RuleSensorFault, Limit: 1 << 20})
		if err != nil {
			return nil, err
		}
		faults = map[string][]civic.Alert{}
		for _, a := range open {
			faults[a.BinID] = append(faults[a.BinID], a)
		}
	}
	rows := make([]fleetRow, 0, len(devs))
	for _, d := range devs {
		row := fleetRow{Device: d, Interval: time.Duration(cmp.Or(d.ExpectedInterval, civic.DefaultExpectedInterval)) * time.Second}
		if d.BinID != "" {
			if e := u.cache.entry(d.BinID); e != nil {
				row.BinName = e.bin.Name
				if e.hasSt && (e.st.Device == "" || e.st.Device == d.ID) {
					row.Seen, row.Battery, row.RSSI = e.st.Time, e.st.Battery, e.st.RSSI
				}
			}
		}
		if h := stats[d.ID]; h != nil {
			row.Stats, row.Seen, row.Battery, row.RSSI = h, time.Time{}, h.Battery, h.RSSI
			if t := h.LastHeard(); t != nil {
				row.Seen = *t
			}
		}
		row.SeenAgo = ago(now, row.Seen)
		h := civic.DeviceHealth{Device: d.ID, BinID: d.BinID, DeviceStatus: d.Status, ExpectedInterval: d.ExpectedInterval,
			RegisteredAt: d.CreatedAt, Battery: row.Battery}
		if row.Stats != nil {
			h = *row.Stats
		} else if !row.Seen.IsZero() {
			h.LastSeen = &row.Seen
		}
		bin := civic.Bin{ID: d.BinID}
		if e := u.cache.entry(d.BinID); e != nil {
			bin = e.bin
		}
		h.AssessLimits(now, rules.For(&bin).HealthLimits())
		h.NoteAlerts(faults[d.BinID])
		row.Health, row.Problem = healthLabel(h.Status), h.Status != civic.HealthOK && h.Status != civic.HealthInactive
		if h.Status == civic.HealthInactive {
			row.Health = string(d.Status)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// healthLabel is how the pages write a health status.
func healthLabel(s civic.HealthStatus) string { return strings.ReplaceAll(string(s), "_", " ") }

// fleetData is the fleet page's model.
type fleetData struct {
	Rows                      []fleetRow
	Columns                   []fleetColumn
	Sort, Dir, Q              string
	Problems                  bool
	Total, Matched            int
	Offline, LowBattery, Good int
	Page, Pages               int
	PrevURL, NextURL, CSVURL  string
	SortURL                   map[string]string
}

func (u *UI) fleetPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	rows, err := u.fleetRows(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	q := r.URL.Query()
	d := fleetData{Columns: fleetColumns, Sort: q.Get("sort"), Dir: q.Get("dir"), Q: strings.TrimSpace(q.Get("q")),
		Problems: q.Get("problems") != "", Total: len(rows), SortURL: map[string]string{}}
	for _, row := range rows {
		switch row.Health {
		case "ok":
			d.Good++
		case "low battery":
			d.LowBattery++
		case "offline", "never seen":
			d.Offline++
		}
	}
	rows = filterFleet(rows, d.Q, d.Problems)
	d.Sort, d.Dir = sortFleet(rows, d.Sort, d.Dir)
	d.Matched = len(rows)
	d.Pages = max(1, (len(rows)+fleetPageSize-1)/fleetPageSize)
	d.Page, _ = strconv.Atoi(q.Get("page"))
	d.Page = min(max(d.Page, 1), d.Pages)
	lo := (d.Page - 1) * fleetPageSize
	d.Rows = rows[lo:min(lo+fleetPageSize, len(rows))]

	link := func(sort, dir string, page int) string {
		v := url.Values{}
		v.Set("sort", sort)
		v.Set("dir", dir)
		if d.Q != "" {
			v.Set("q", d.Q)
		}
		if d.Problems {
			v.Set("problems", "1")
		}
		if page > 1 {
			v.Set("page", strconv.Itoa(page))
		}
		return "/fleet?" + v.Encode()
	}
	for _, c := range fleetColumns {
		dir := "asc"
		if c.Key == d.Sort && d.Dir == "asc" {
			dir = "desc"
		}
		d.SortURL[c.Key] = link(c.Key, dir, 1)
	}
	if d.Page > 1 {
		d.PrevURL = link(d.Sort, d.Dir, d.Page-1)
	}
	if d.Page < d.Pages {
		d.NextURL = link(d.Sort, d.Dir, d.Page+1)
	}
	d.CSVURL = "/fleet.csv?" + strings.TrimPrefix(link(d.Sort, d.Dir, 1), "/fleet?")
	u.render(w, r, http.StatusOK, "fleet", "", pageData{Title: "Fleet", Active: "/fleet", Principal: p, Data: d})
}

func filterFleet(rows []fleetRow, q string, problems bool) []fleetRow {
	if q == "" && !problems {
		return rows
	}
	q = strings.ToLower(q)
	out := rows[:0:0]
	for _, r := range rows {
		if problems && !r.Problem {
			continue
		}
		if q != "" && !strings.Contains(strings.ToLower(r.Device.ID), q) && !strings.Contains(strings.ToLower(r.Device.BinID), q) &&
			!strings.Contains(strings.ToLower(r.BinName), q) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// sortFleet sorts rows in place by the named column and returns the sort
// actually applied.
func sortFleet(rows []fleetRow, key, dir string) (string, string) {
	col := fleetColumns[0]
	for _, c := range fleetColumns {
		if c.Key == key {
			col = c
		}
	}
	if dir != "desc" {
		dir = "asc"
	}
	slices.SortStableFunc(rows, func(a, b fleetRow) int {
		c := col.less(&a, &b)
		if c == 0 {
			c = cmp.Compare(a.Device.ID, b.Device.ID)
		}
		if dir == "desc" {
			c = -c
		}
		return c
	})
	return col.Key, dir
}

// fleetCSV writes every device (filtered and sorted like the page, not
// paged) as CSV.
func (u *UI) fleetCSV(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	rows, err := u.fleetRows(r)
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	q := r.URL.Query()
	rows = filterFleet(rows, strings.TrimSpace(q.Get("q")), q.Get("problems") != "")
	sortFleet(rows, q.Get("sort"), q.Get("dir"))
	h := w.Header()
	h.Set("Content-Type", "text/csv; charset=utf-8")
	h.Set("Content-Disposition", `attachment; filename="civic-fleet-`+u.now().UTC().Format("20060102-1504")+`.csv"`)
	h.Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	cw.Write([]string{"device", "kind", "bin", "bin_name", "status", "health", "last_seen", "battery", "rssi_dbm",
		"dev_eui", "fill_scale", "firmware", "expected_interval_s", "uplinks_24h", "uplink_rate_per_h", "decode_failures",
		"battery_trend_per_day"})
	for _, row := range rows {
		d := row.Device
		seen := ""
		if !row.Seen.IsZero() {
			seen = row.Seen.In(u.cfg.Location).Format(time.RFC3339)
		}
		var uplinks, rate, failures, trend string
		if h := row.Stats; h != nil {
			uplinks, rate = strconv.Itoa(h.Uplinks24h), strconv.FormatFloat(h.UplinkRatePerH, 'f', 2, 64)
			failures, trend = strconv.FormatInt(h.DecodeFailures, 10), fnum(h.BatteryTrendPerDay, 4)
		}
		cw.Write([]string{cell(d.ID), cell(d.Kind), cell(d.BinID), cell(row.BinName), string(d.Status), row.Health, seen,
			fnum(row.Battery, 2), fnum(row.RSSI, 1), cell(d.DevEUI), string(d.FillScale), cell(d.Firmware),
			strconv.Itoa(d.ExpectedInterval), uplinks, rate, failures, trend})
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		u.log.Error("web: writing fleet CSV", "err", err)
	}
}

// cell defuses text a spreadsheet would run as a formula.
func cell(s string) string { return civic.SpreadsheetSafe(s) }

func fnum(v *float64, prec int) string {
	if v == nil {
		return ""
	}
	return strconv.FormatFloat(*v, 'f', prec, 64)
}
