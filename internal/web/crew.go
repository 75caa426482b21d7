package web

import (
	"cmp"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The crew view: today's route on a phone. The next stop is big, with
// the way there, and two buttons: Collected (with an optional fill
// estimate and photo) and Skipped (with a reason). static/crew.js sends
// reports to the API with an id made on the phone and queues them in
// localStorage while the phone is offline; without JavaScript the same
// forms post to /crew/stops/{id}, which calls the planner directly.

// skipReasons are the choices a crew has for leaving a bin, in the order
// the form lists them.
var skipReasons = []struct {
	Value civic.SkipReason
	Label string
}{{civic.SkipBlocked, "Blocked"}, {civic.SkipNotFound, "Not found"}, {civic.SkipDamaged, "Damaged"}, {civic.SkipNotFull, "Not full"}}

// crewRoute is one of today's routes for the crew.
type crewRoute struct {
	routeView
	Next      *stopView  // the first pending bin stop
	Remaining []stopView // pending bin stops, Next first
	Done      []stopView // reported bin stops
	MapJSON   string     // [[lat, lon, label, kind, status, stop id], ...] for the small map
}

// crewData is the crew page's model.
type crewData struct {
	Date        string
	Crews       []civic.Crew // the crews a supervisor may pick from
	CrewID      string
	CrewName    string
	Member      bool // the caller is in the crew shown
	Routes      []crewRoute
	SkipReasons any
	ClientID    string // for the forms without JavaScript: a resend is applied once
	APIURL      string // the report endpoint, {id} for the stop
	PageURL     string // the fallback form's endpoint, {id} for the stop
	Notice      string
	TileURL     string
	TileAttr    string
	CanPick     bool
	// PlanStatus is the status of the day's plan when it is locked or
	// further along and gives the crews shown no route: nothing to collect
	// that day (empty when the day has no such plan yet).
	PlanStatus civic.PlanStatus
	// Loaded is when the page was made, on the city's clock: a copy the
	// phone shows offline says how old it is.
	Loaded string
}

// myCrews are the crews the principal is a member of.
func myCrews(crews []civic.Crew, p civic.Principal) []civic.Crew {
	var out []civic.Crew
	for _, c := range crews {
		if p.Name != "" && slices.Contains(c.Members, p.Name) {
			out = append(out, c)
		}
	}
	return out
}

func newClientID() string {
	var b [12]byte
	rand.Read(b[:])
	return "web-" + hex.EncodeToString(b[:])
}

// crewRoutes finds the routes of date the page shows: those of the crews
// the caller belongs to or, for a supervisor, of the crew picked.
func (u *UI) crewRoutes(r *http.Request, p civic.Principal, date string) (crewData, error) {
	d := crewData{Date: date, SkipReasons: skipReasons, APIURL: "/api/v1/stops/{id}/report", PageURL: "/crew/stops/{id}",
		TileURL: u.cfg.TileURL, TileAttr: u.cfg.TileAttribution, CanPick: p.Can(civic.PermOperate)}
	crews, err := u.deps.Store.ListCrews(r.Context())
	if err != nil {
		return d, err
	}
	slices.SortFunc(crews, func(a, b civic.Crew) int { return cmp.Compare(a.Name, b.Name) })
	mine := myCrews(crews, p)
	var chosen []civic.Crew
	if pick := r.URL.Query().Get("crew"); pick != "" && d.CanPick {
		for _, c := range crews {
			if c.ID == pick {
				chosen = []civic.Crew{c}
			}
		}
	} else {
		chosen = mine
	}
	if d.CanPick {
		d.Crews = crews
	}
	n, err := u.assetNames(r)
	if err != nil {
		return d, err
	}
	var names []string
	for _, c := range chosen {
		names = append(names, c.Name)
		if slices.Contains(c.Members, p.Name) {
			d.Member = true
		}
		if len(chosen) == 1 {
			d.CrewID = c.ID
		}
		routes, err := u.crewDay(r, date, c)
		if err != nil {
			return d, err
		}
		for _, rv := range u.routeViews(civic.Plan{Routes: routes}, n, false) {
			d.Routes = append(d.Routes, crewRouteOf(rv))
		}
	}
	d.CrewName = strings.Join(names, ", ")
	if len(chosen) > 0 && len(d.Routes) == 0 {
		pl, err := u.deps.Plans.PlanForDate(r.Context(), date)
		switch {
		case err == nil && pl.Status != civic.PlanDraft:
			d.PlanStatus = pl.Status
		case err != nil && !civic.IsKind(err, civic.NotFound):
			return d, err
		}
	}
	return d, nil
}

// crewDay returns the routes of date worked by crew c: those assigned to
// it and, when a route names no crew, those of the crew's truck.
func (u *UI) crewDay(r *http.Request, date string, c civic.Crew) ([]civic.Route, error) {
	all, err := u.deps.Plans.RoutesFor(r.Context(), date, "")
	if err != nil {
		return nil, err
	}
	var out []civic.Route
	for _, rt := range all {
		if rt.CrewID == c.ID || (rt.CrewID == "" && c.TruckID != "" && rt.TruckID == c.TruckID) {
			out = append(out, rt)
		}
	}
	slices.SortFunc(out, func(a, b civic.Route) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

func crewRouteOf(rv routeView) crewRoute {
	cr := crewRoute{routeView: rv}
	var pts [][]any
	for _, s := range rv.Stops {
		pts = append(pts, []any{round6(s.Lat), round6(s.Lon), s.Label, s.Kind, s.Status, s.ID})
		if s.Kind != civic.StopBin {
			continue
		}
		if s.Status == civic.StopPending || s.Status == "" {
			cr.Remaining = append(cr.Remaining, s)
		} else {
			cr.Done = append(cr.Done, s)
		}
	}
	if len(cr.Remaining) > 0 {
		cr.Next = &cr.Remaining[0]
	}
	b, _ := json.Marshal(pts)
	cr.MapJSON = string(b)
	return cr
}

// crewWorker serves the crew view's service worker (static/crew-sw.js) at
// the site's root, where it may control /crew: a worker controls pages at
// or below its own URL only. It holds no data; anyone may fetch it.
func (u *UI) crewWorker(w http.ResponseWriter, r *http.Request) {
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/static/crew-sw.js"
	u.static.ServeHTTP(w, r2)
}

func (u *UI) crewPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := p.Require(civic.PermWorkRoute); err != nil {
		u.fail(w, r, err)
		return
	}
	if err := u.plansEnabled(); err != nil {
		u.fail(w, r, err)
		return
	}
	date := u.today()
	if v := r.URL.Query().Get("date"); validDate(v) {
		date = v
	}
	d, err := u.crewRoutes(r, p, date)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.ClientID = newClientID()
	d.Loaded = u.now().In(u.cfg.Location).Format("Mon 15:04")
	switch q := r.URL.Query(); q.Get("done") {
	case "collected":
		d.Notice = "Collected: " + q.Get("name")
	case "skipped":
		d.Notice = "Skipped: " + q.Get("name")
	case "again":
		d.Notice = "That report was already sent."
	}
	u.render(w, r, http.StatusOK, "crew", "", pageData{Title: "My route", Active: "/crew", Principal: p, Data: d})
}

// crewReport takes a stop report from the crew page's form: the page's
// fallback when the API cannot be reached from JavaScript or there is no
// JavaScript. It answers JSON to a caller that accepts it, or goes back
// to the crew page.
func (u *UI) crewReport(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	wantJSON := strings.Contains(r.Header.Get("Accept"), "application/json")
	fail := func(err error) {
		if wantJSON {
			u.dataError(w, r, err)
		} else {
			u.fail(w, r, err)
		}
	}
	if err := p.Require(civic.PermWorkRoute); err != nil {
		fail(err)
		return
	}
	if err := u.plannerEnabled(); err != nil {
		fail(err)
		return
	}
	// A crew reports the stops of its own routes today; a supervisor any.
	// Checked before the form: who may not report learns nothing more.
	stop, err := u.crewStop(r, p, r.PathValue("id"))
	if err != nil {
		fail(err)
		return
	}
	rep, err := readStopReport(w, r, u.now())
	if err != nil {
		fail(err)
		return
	}
	rep.StopID = r.PathValue("id")
	rep.By = who(p)
	if err := rep.Validate(); err != nil {
		fail(err)
		return
	}
	got, applied, err := u.deps.Planner.Report(r.Context(), rep)
	if err != nil {
		fail(err)
		return
	}
	if applied && got.Status == civic.StopCollected && stop.BinID != "" {
		u.refreshBin(r, stop.BinID)
	}
	if wantJSON {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{"stop": got, "applied": applied})
		return
	}
	q := url.Values{"done": {string(got.Status)}, "name": {firstNonEmpty(stop.Name, stop.BinID)}}
	if !applied {
		q.Set("done", "again")
	}
	if c := r.URL.Query().Get("crew"); c != "" {
		q.Set("crew", c)
	}
	http.Redirect(w, r, "/crew?"+q.Encode(), http.StatusSeeOther)
}

// crewStop finds stopID among today's routes the caller may report on.
func (u *UI) crewStop(r *http.Request, p civic.Principal, stopID string) (civic.Stop, error) {
	ctx := r.Context()
	crews, err := u.deps.Store.ListCrews(ctx)
	if err != nil {
		return civic.Stop{}, err
	}
	if p.Can(civic.PermOperate) {
		crews = []civic.Crew{{}} // every route
	} else {
		crews = myCrews(crews, p)
	}
	// Yesterday too: a report queued on a phone before midnight arrives
	// after it.
	now := u.now().In(u.cfg.Location)
	for _, date := range []string{now.Format(time.DateOnly), now.AddDate(0, 0, -1).Format(time.DateOnly)} {
		for _, c := range crews {
			var routes []civic.Route
			if c.ID == "" {
				routes, err = u.deps.Plans.RoutesFor(ctx, date, "")
			} else {
				routes, err = u.crewDay(r, date, c)
			}
			if err != nil {
				return civic.Stop{}, err
			}
			for _, rt := range routes {
				for _, s := range rt.Stops {
					if s.ID == stopID {
						return s, nil
					}
				}
			}
		}
	}
	return civic.Stop{}, civic.Errorf(civic.NotFound, "Stop %s is not on a route of yours today.", stopID)
}

// readStopReport decodes the crew form: urlencoded or multipart with a
// photo. The fill is fill_seen (0..1, from the script) or fill_pct
// (percent) when the form's fill_set box is ticked.
func readStopReport(w http.ResponseWriter, r *http.Request, now time.Time) (*civic.StopReport, error) {
	r.Body = http.MaxBytesReader(w, r.Body, civic.MaxPhotoBytes+64<<10)
	var err error
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		err = r.ParseMultipartForm(1 << 20)
	} else {
		err = r.ParseForm()
	}
	if err != nil {
		return nil, civic.Errorf(civic.Invalid, "The report could not be read (a photo may be at most %d MB).", civic.MaxPhotoBytes>>20)
	}
	rep := &civic.StopReport{ClientID: r.PostFormValue("client_id"), Status: civic.StopStatus(r.PostFormValue("status")),
		SkipReason: civic.SkipReason(r.PostFormValue("skip_reason")), Note: r.PostFormValue("note"), At: now}
	if rep.Status == civic.StopCollected {
		rep.SkipReason = ""
	}
	if v := r.PostFormValue("fill_seen"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, civic.FieldError("fill_seen", "must be a number between 0 and 1")
		}
		rep.FillSeen = &f
	} else if r.PostFormValue("fill_set") != "" {
		pct, err := strconv.ParseFloat(r.PostFormValue("fill_pct"), 64)
		if err != nil {
			return nil, civic.FieldError("fill_pct", "must be a percentage")
		}
		f := pct / 100
		rep.FillSeen = &f
	}
	// The phone's clock says when the crew acted, within reason: not in
	// the future, not more than a day back.
	if v := r.PostFormValue("at"); v != "" {
		if t, err := time.Parse(time.RFC3339, v); err == nil && !t.After(now) && now.Sub(t) < 24*time.Hour {
			rep.At = t
		}
	}
	if r.MultipartForm != nil {
		if fh := r.MultipartForm.File["photo"]; len(fh) > 0 && fh[0].Size > 0 {
			f, err := fh[0].Open()
			if err != nil {
				return nil, civic.Errorf(civic.Invalid, "The photo could not be read.")
			}
			defer f.Close()
			b, err := io.ReadAll(io.LimitReader(f, civic.MaxPhotoBytes+1))
			if err != nil {
				return nil, civic.Errorf(civic.Invalid, "The photo could not be read.")
			}
			rep.Photo, rep.PhotoType = b, http.DetectContentType(b)
		}
	}
	return rep, nil
}

// refreshBin moves the map's snapshot of a collected bin forward, so the
// operations map shows it empty at once.
func (u *UI) refreshBin(r *http.Request, binID string) { u.RefreshBins(r.Context(), binID) }

// stopDistance is how far a stop is from the previous one, as a crew reads
// it.
func stopDistance(m float64) string {
	if m < 1000 {
		return fmt.Sprintf("%.0f m", m)
	}
	return fmt.Sprintf("%.1f km", m/1000)
}
