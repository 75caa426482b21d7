package web

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The alerts page: unresolved alerts by default, the most severe and then
// the longest waiting first, grouped by bin; filters by status, rule and
// bin; pages of alertPageSize; acknowledge (one or many) and resolve
// buttons for those who may operate. It refreshes itself when PublishAlert
// reports a change over /alerts/events.

// alertPageSize is how many alerts one page lists.
const alertPageSize = 50

// alertStatuses are the status filter's choices; "unresolved" (open or
// acknowledged) is the default.
var alertStatuses = []string{"unresolved", "open", "acknowledged", "resolved", "all"}

// alertRow is an alert as the table shows it.
type alertRow struct {
	civic.Alert
	BinName   string
	OpenedAgo string
	FIWARE    string // the WasteContainer status it implies
	Class     string // CSS class of the severity badge
	// Repeats counts the further resolved alerts of the same bin and rule
	// on this page that the row stands for (the newest is shown).
	Repeats int
}

// alertGroup is the alerts of one bin on the page, in page order.
type alertGroup struct {
	BinID, BinName string
	Rows           []alertRow
	Count          int // alerts the group stands for, repeats included
}

// groupAlerts groups rows by bin, the groups in the order of their first
// (most urgent) row, and folds repeated resolved alerts of one bin and
// rule into the first of them.
func groupAlerts(rows []alertRow) []alertGroup {
	var groups []alertGroup
	at := map[string]int{}
	for _, r := range rows {
		i, ok := at[r.BinID]
		if !ok {
			i = len(groups)
			at[r.BinID] = i
			groups = append(groups, alertGroup{BinID: r.BinID, BinName: r.BinName})
		}
		g := &groups[i]
		g.Count++
		if r.Status == civic.AlertResolved {
			if j := slices.IndexFunc(g.Rows, func(x alertRow) bool { return x.Status == civic.AlertResolved && x.Rule == r.Rule }); j >= 0 {
				g.Rows[j].Repeats++
				continue
			}
		}
		g.Rows = append(g.Rows, r)
	}
	return groups
}

// alertsData is the alerts page's model.
type alertsData struct {
	Enabled           bool
	Rows              []alertRow
	Groups            []alertGroup
	Status, Rule, Bin string
	Sort              string
	Sorts             []string
	pager             // the page's rows among those the filter selects
	civic.AlertCounts // every unresolved alert, whatever the filter
	Location          *time.Location
	Statuses          []string
	Rules             []civic.RuleKind
	CanOperate        bool
	Back              string // the page's query, for the actions to return to
	EventsURL         string
}

func severityClass(s civic.Severity) string {
	switch s {
	case civic.SeverityCritical:
		return "h-offline"
	case civic.SeverityWarning:
		return "h-low"
	}
	return "h-ok"
}

func (u *UI) alertsPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	d := alertsData{Statuses: alertStatuses, Rules: civic.RuleKinds, EventsURL: "/alerts/events", CanOperate: p.Can(civic.PermOperate),
		Sorts: []string{string(civic.AlertSortSeverity), string(civic.AlertSortNewest)}, Location: u.cfg.Location}
	st := u.deps.Alerts
	if st == nil {
		u.render(w, r, http.StatusOK, "alerts", "", pageData{Title: "Alerts", Active: "/alerts", Principal: p, Data: d})
		return
	}
	d.Enabled = true
	q := r.URL.Query()
	d.Status, d.Rule, d.Bin, d.Sort = q.Get("status"), q.Get("rule"), q.Get("bin"), q.Get("sort")
	if d.Status == "" || !slices.Contains(alertStatuses, d.Status) {
		d.Status = "unresolved"
	}
	if !slices.Contains(d.Sorts, d.Sort) {
		d.Sort = string(civic.AlertSortSeverity)
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(0, min(offset, 1<<30))
	f := civic.AlertFilter{BinID: d.Bin, Limit: alertPageSize + 1, Offset: offset, Sort: civic.AlertSort(d.Sort)}
	switch d.Status {
	case "unresolved":
		f.Unresolved = true
	case "all":
	default:
		f.Status = civic.AlertStatus(d.Status)
	}
	if civic.RuleKind(d.Rule).Valid() {
		f.Rule = civic.RuleKind(d.Rule)
	} else {
		d.Rule = ""
	}
	back := url.Values{}
	for k, v := range map[string]string{"status": d.Status, "rule": d.Rule, "bin": d.Bin, "sort": d.Sort} {
		if v != "" {
			back.Set(k, v)
		}
	}
	pageURL := func(off int) string {
		v := maps.Clone(back)
		if off > 0 {
			v.Set("offset", strconv.Itoa(off))
		}
		return "/alerts?" + v.Encode()
	}
	alerts, err := st.ListAlerts(r.Context(), f)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	more := len(alerts) > alertPageSize
	if more {
		alerts = alerts[:alertPageSize]
	}
	if d.pager, err = paginate(offset, len(alerts), alertPageSize, more,
		func() (int, error) { return st.CountAlerts(r.Context(), f) }, pageURL); err != nil {
		u.fail(w, r, err)
		return
	}
	if offset > 0 {
		back.Set("offset", strconv.Itoa(offset))
	}
	d.Back = back.Encode()
	if d.AlertCounts, err = st.UnresolvedAlertCounts(r.Context()); err != nil {
		u.fail(w, r, err)
		return
	}
	if err := u.cache.ensure(r.Context()); err != nil {
		u.fail(w, r, err)
		return
	}
	now := u.now()
	d.Rows = make([]alertRow, 0, len(alerts))
	for _, a := range alerts {
		row := alertRow{Alert: a, OpenedAgo: ago(now, a.OpenedAt), Class: severityClass(a.Severity)}
		if a.Status != civic.AlertResolved {
			row.FIWARE = a.Rule.FIWAREStatus()
		}
		if e := u.cache.entry(a.BinID); e != nil {
			row.BinName = e.bin.Name
		}
		d.Rows = append(d.Rows, row)
	}
	d.Groups = groupAlerts(d.Rows)
	u.render(w, r, http.StatusOK, "alerts", "", pageData{Title: "Alerts", Active: "/alerts", Principal: p, Data: d})
}

// alertAction serves the acknowledge (ev EventAcknowledged) and resolve
// (EventResolved, with the form's note) buttons: it changes the alert as
// the caller and returns to the alerts page. An alert someone else resolved
// meanwhile is not an error: the page shows it resolved.
func (u *UI) alertAction(ev civic.AlertEvent) func(http.ResponseWriter, *http.Request, civic.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p civic.Principal) {
		if err := p.Require(civic.PermOperate); err != nil {
			u.fail(w, r, err)
			return
		}
		st := u.deps.Alerts
		if st == nil {
			u.fail(w, r, civic.Errorf(civic.Unavailable, "Alerts are not enabled on this server."))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		if err := r.ParseForm(); err != nil {
			u.fail(w, r, civic.Errorf(civic.Invalid, "The form could not be read."))
			return
		}
		who := p.Name
		if p.KeyID != "" {
			who = "key:" + p.KeyID
		}
		var (
			a   civic.Alert
			err error
		)
		id := r.PathValue("id")
		if ev == civic.EventAcknowledged {
			a, err = st.AckAlert(r.Context(), id, who, u.now())
		} else {
			a, err = st.ResolveAlert(r.Context(), id, who, r.PostFormValue("note"), u.now())
		}
		switch {
		case err == nil:
			u.PublishAlert(a, ev)
		case civic.IsKind(err, civic.Conflict):
		default:
			u.fail(w, r, err)
			return
		}
		target := "/alerts"
		if back, err := url.ParseQuery(r.PostFormValue("back")); err == nil && len(back) > 0 {
			target += "?" + back.Encode()
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
	}
}

// alertEvent is the data of an "alert" Server-Sent Event.
type alertEvent struct {
	Event    civic.AlertEvent  `json:"event"`
	ID       string            `json:"id"`
	BinID    string            `json:"bin_id"`
	Rule     civic.RuleKind    `json:"rule"`
	Severity civic.Severity    `json:"severity"`
	Status   civic.AlertStatus `json:"status"`
}

// PublishAlert tells the browsers on the alerts page that alert a changed
// (ev), so they refresh. It never blocks: it is meant for the alert
// engine's OnChange hook, and the page's own buttons call it too.
func (u *UI) PublishAlert(a civic.Alert, ev civic.AlertEvent) {
	b, err := json.Marshal(alertEvent{Event: ev, ID: a.ID, BinID: a.BinID, Rule: a.Rule, Severity: a.Severity, Status: a.Status})
	if err != nil {
		return
	}
	u.alertHub.broadcast(b)
}

// alertEvents streams alert changes as Server-Sent Events:
//
//	event: hello  data: {}                               once, on connect
//	event: alert  data: {"event","id","bin_id","rule","severity","status"}
func (u *UI) alertEvents(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	c, ok := u.joinLive(w, u.alertHub, p)
	if !ok {
		return
	}
	defer u.alertHub.leave(c)
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 2000\nevent: hello\ndata: {}\n\n")); err != nil || rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case msg := <-c.ch:
			if _, err := w.Write(append(append([]byte("event: alert\ndata: "), msg...), "\n\n"...)); err != nil {
				return
			}
		case <-tick.C:
			if _, err := w.Write([]byte(": ping " + strconv.FormatInt(u.now().Unix(), 10) + "\n\n")); err != nil {
				return
			}
		case <-c.kick:
			return
		case <-r.Context().Done():
			return
		}
		if rc.Flush() != nil {
			return
		}
	}
}

// maxBulkAck bounds the alerts one bulk acknowledgement names.
const maxBulkAck = 500

// alertBulkAck serves the "Acknowledge selected" button: it acknowledges
// every alert named by the form's id fields as the caller and returns to
// the alerts page. Alerts resolved meanwhile are skipped; a latched alert
// whose condition cleared is closed by the acknowledgement.
func (u *UI) alertBulkAck(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	if err := p.Require(civic.PermOperate); err != nil {
		u.fail(w, r, err)
		return
	}
	st := u.deps.Alerts
	if st == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "Alerts are not enabled on this server."))
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, civic.Errorf(civic.Invalid, "The form could not be read."))
		return
	}
	ids := r.PostForm["id"]
	if len(ids) > maxBulkAck {
		u.fail(w, r, civic.FieldError("id", "at most %d alerts at once", maxBulkAck))
		return
	}
	who := p.Name
	if p.KeyID != "" {
		who = "key:" + p.KeyID
	}
	for _, id := range ids {
		a, err := st.AckAlert(r.Context(), id, who, u.now())
		switch {
		case err == nil:
			u.PublishAlert(a, civic.EventAcknowledged)
		case civic.IsKind(err, civic.Conflict), civic.IsKind(err, civic.NotFound):
		default:
			u.fail(w, r, err)
			return
		}
	}
	target := "/alerts"
	if back, err := url.ParseQuery(r.PostFormValue("back")); err == nil && len(back) > 0 {
		target += "?" + back.Encode()
	}
	http.Redirect(w, r, target, http.StatusSeeOther)
}
