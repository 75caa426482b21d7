package web

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/civic-city/civic/internal/civic"
)

// listLimit is how many bins the side list shows; the map shows them all.
const listLimit = 100

// mapFilter is the map's filter form. The same fields filter the markers in
// the browser and the side list on the server, so the list works without
// JavaScript.
type mapFilter struct {
	Stream string
	Zone   string
	Min    int // fill percent, inclusive
	Max    int
	Alerts bool
}

func parseMapFilter(q url.Values) mapFilter {
	f := mapFilter{Stream: q.Get("stream"), Zone: q.Get("zone"), Min: 0, Max: 100, Alerts: q.Get("alerts") != ""}
	if !civic.Stream(f.Stream).Valid() {
		f.Stream = ""
	}
	if v, err := strconv.Atoi(q.Get("min")); err == nil && v >= 0 && v <= 100 {
		f.Min = v
	}
	if v, err := strconv.Atoi(q.Get("max")); err == nil && v >= 0 && v <= 100 {
		f.Max = v
	}
	if f.Max < f.Min {
		f.Min, f.Max = f.Max, f.Min
	}
	return f
}

// query is the filter as a URL query (for links that keep it).
func (f mapFilter) query() string {
	v := url.Values{}
	if f.Stream != "" {
		v.Set("stream", f.Stream)
	}
	if f.Zone != "" {
		v.Set("zone", f.Zone)
	}
	if f.Min != 0 {
		v.Set("min", strconv.Itoa(f.Min))
	}
	if f.Max != 100 {
		v.Set("max", strconv.Itoa(f.Max))
	}
	if f.Alerts {
		v.Set("alerts", "1")
	}
	return v.Encode()
}

// matches mirrors the filter in static/map.js. A bin with unknown fill
// passes only an unrestricted fill range.
func (f mapFilter) matches(e *binEntry, nowUnix int64) bool {
	if f.Stream != "" && string(e.bin.Stream) != f.Stream {
		return false
	}
	if f.Zone != "" && e.bin.ZoneID != f.Zone {
		return false
	}
	p := e.fillPct()
	if p < 0 {
		if f.Min > 0 || f.Max < 100 {
			return false
		}
	} else if p < f.Min || p > f.Max {
		return false
	}
	if f.Alerts && e.flags() == 0 && !offline(e, nowUnix) {
		return false
	}
	return true
}

func offline(e *binEntry, nowUnix int64) bool {
	return !e.hasSt || nowUnix-e.st.Time.Unix() > int64(offlineAfter.Seconds())
}

// listRow is a bin in the side list.
type listRow struct {
	ID, Name, Address, Stream, Zone string
	Fill                            int // percent, -1 unknown
	Level                           int
	Alerts                          []string
	Seen                            string
}

// mapData is the map page's model.
type mapData struct {
	Filter             mapFilter
	Query              string
	Streams            []civic.Stream
	Zones              []zoneInfo
	Rows               []listRow
	Matched, Total     int
	TileURL, TileAttr  string
	BinsURL, ZonesURL  string
	EventsURL, ListURL string
	PlanURL            string // today's planned bins, when planning is on
}

func (u *UI) mapModel(r *http.Request) (mapData, error) {
	entries, zones, err := u.cache.entries(r.Context())
	if err != nil {
		return mapData{}, err
	}
	f := parseMapFilter(r.URL.Query())
	now := u.now()
	nowUnix := now.Unix()
	var matched []*binEntry
	for _, e := range entries {
		if f.matches(e, nowUnix) {
			matched = append(matched, e)
		}
	}
	// Most urgent first: fullest, then alerts, then id for a stable order.
	slices.SortFunc(matched, func(a, b *binEntry) int {
		if c := cmp.Compare(b.fillPct(), a.fillPct()); c != 0 {
			return c
		}
		if c := cmp.Compare(b.flags(), a.flags()); c != 0 {
			return c
		}
		return cmp.Compare(a.bin.ID, b.bin.ID)
	})
	d := mapData{
		Filter: f, Query: f.query(), Streams: civic.Streams, Zones: zones,
		Matched: len(matched), Total: len(entries),
		TileURL: u.cfg.TileURL, TileAttr: u.cfg.TileAttribution,
		BinsURL: "/map/bins.json", ZonesURL: "/map/zones.geojson", EventsURL: "/events", ListURL: "/map/list",
	}
	if u.deps.Plans != nil {
		d.PlanURL = "/map/plan.json"
	}
	zoneName := map[string]string{}
	for _, z := range zones {
		zoneName[z.ID] = z.Name
	}
	for _, e := range matched[:min(len(matched), listLimit)] {
		p := e.fillPct()
		row := listRow{ID: e.bin.ID, Name: e.bin.Name, Address: e.bin.Address, Stream: streamLabel(e.bin.Stream),
			Zone: cmp.Or(zoneName[e.bin.ZoneID], e.bin.ZoneID), Fill: p, Level: level(p), Alerts: alertLabels(e, nowUnix)}
		if e.hasSt {
			row.Seen = ago(now, e.st.Time)
		} else {
			row.Seen = "never"
		}
		d.Rows = append(d.Rows, row)
	}
	return d, nil
}

func alertLabels(e *binEntry, nowUnix int64) []string {
	var out []string
	f := e.flags()
	for _, x := range []struct {
		bit   int
		label string
	}{{flagFull, "full"}, {flagFire, "fire"}, {flagDoorOpen, "door open"}, {flagTilted, "tilted"}, {flagLowBattery, "low battery"}} {
		if f&x.bit != 0 {
			out = append(out, x.label)
		}
	}
	if offline(e, nowUnix) {
		out = append(out, "offline")
	}
	return out
}

func streamLabel(s civic.Stream) string { return s.Label() }

func (u *UI) mapPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	d, err := u.mapModel(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "map", "", pageData{Title: "Operations map", Active: "/", Principal: p, Data: d})
}

// mapList renders the side list alone, for htmx.
func (u *UI) mapList(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	d, err := u.mapModel(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	block := "binlist"
	if r.Header.Get("HX-Request") == "" {
		block = ""
	}
	u.render(w, r, http.StatusOK, "map", block, pageData{Title: "Operations map", Active: "/", Principal: p, Data: d})
}

// binsJSON serves the pre-encoded snapshot: no query, no encoding per
// request. Rows are [id, lat, lon, fill %|null, stream, zone, status, flags,
// last reading Unix s].
func (u *UI) binsJSON(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	s, err := u.cache.current(r.Context())
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "private, no-cache")
	h.Set("ETag", s.etag)
	if r.Header.Get("If-None-Match") == s.etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	serveBody(w, r, s.body, s.gz)
}

func (u *UI) zonesJSON(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	b, err := u.cache.zonesBody(r.Context())
	if err != nil {
		u.dataError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.Header().Set("Cache-Control", "private, no-cache")
	w.Write(b)
}

// planBin is a bin's place in today's plan, for the map's outline.
type planBin struct {
	Route  int              `json:"route"`
	Status civic.StopStatus `json:"status"`
}

// planJSON lists the bins in today's plan (a draft too: supervisors look
// at the map while they plan) so the map can outline them.
func (u *UI) planJSON(w http.ResponseWriter, r *http.Request, _ civic.Principal) {
	out := struct {
		Date   string             `json:"date"`
		PlanID string             `json:"plan_id,omitempty"`
		Status civic.PlanStatus   `json:"status,omitempty"`
		Bins   map[string]planBin `json:"bins"`
	}{Date: u.today(), Bins: map[string]planBin{}}
	if u.deps.Plans != nil {
		pl, err := u.deps.Plans.PlanForDate(r.Context(), out.Date)
		switch {
		case err == nil:
			out.PlanID, out.Status = pl.ID, pl.Status
			for _, rt := range pl.Routes {
				for _, s := range rt.Stops {
					if s.Kind == civic.StopBin {
						out.Bins[s.BinID] = planBin{Route: rt.Seq, Status: s.Status}
					}
				}
			}
		case civic.IsKind(err, civic.NotFound):
		default:
			u.dataError(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "private, no-cache")
	json.NewEncoder(w).Encode(out)
}
