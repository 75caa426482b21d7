package web

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// 311 pages. Public, without signing in: report a problem (/report), its
// confirmation and status page (/requests/{id}), a map and list of open
// requests (/requests). Staff (operate permission): the queue with filters
// and bulk actions (/queue) and one request with its notes and actions
// (/queue/{id}). Reporters' contact details appear only on staff pages;
// everything a resident typed is escaped by html/template.

// maxReportBytes caps the report form: three photos and the fields.
const maxReportBytes = 3*(5<<20) + 64<<10

// nearBinM is how close a waste-linked report must be to a bin to be
// linked to it when the reporter did not pick one.
const nearBinM = 30

// problemData is the report form's model.
type problemData struct {
	Services   []civic.Service
	Service    *civic.Service
	Attributes []civic.ServiceAttribute
	Values     url.Values
	Err        string
	ErrField   string
	Duplicates []civic.ServiceRequest
	Enabled    bool
}

// has reports whether the form had value v for attribute code.
func (d problemData) Has(code, v string) bool {
	return slices.Contains(d.Values["attribute["+code+"][]"], v) || d.Values.Get("attribute["+code+"]") == v
}

// Val is the form's value of field.
func (d problemData) Val(field string) string { return d.Values.Get(field) }

func (u *UI) publicPage(h func(http.ResponseWriter, *http.Request, civic.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := civic.PrincipalFrom(r.Context())
		if u.deps.ServiceDesk == nil {
			u.fail(w, r, civic.Errorf(civic.NotFound, "311 is not enabled on this server"))
			return
		}
		h(w, r, p)
	}
}

// needDesk answers 404 for the staff pages when 311 is off.
func (u *UI) needDesk(h func(http.ResponseWriter, *http.Request, civic.Principal)) func(http.ResponseWriter, *http.Request, civic.Principal) {
	return func(w http.ResponseWriter, r *http.Request, p civic.Principal) {
		if u.deps.ServiceDesk == nil {
			u.fail(w, r, civic.Errorf(civic.NotFound, "311 is not enabled on this server"))
			return
		}
		h(w, r, p)
	}
}

func (u *UI) reportForm(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	d := problemData{Values: r.URL.Query(), Enabled: true}
	u.renderReport(w, r, p, http.StatusOK, d)
}

func (u *UI) renderReport(w http.ResponseWriter, r *http.Request, p civic.Principal, status int, d problemData) {
	svcs, err := u.deps.ServiceDesk.Services(r.Context(), false)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Services = svcs
	code := d.Values.Get("service_code")
	for i := range svcs {
		if svcs[i].Code == code {
			d.Service = &svcs[i]
			d.Attributes = svcs[i].SortedAttributes()
		}
	}
	u.render(w, r, status, "report", "", pageData{Title: "Report a problem", Active: "/report", Principal: p, Data: d})
}

// submitReport takes the report form (multipart, with photos).
func (u *UI) submitReport(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	r.Body = http.MaxBytesReader(w, r.Body, maxReportBytes)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		var mbe *http.MaxBytesError
		msg := "the form could not be read"
		if errors.As(err, &mbe) {
			msg = "the photos are too large: at most three of 5 MB each"
		}
		u.renderReport(w, r, p, http.StatusBadRequest, problemData{Values: url.Values{}, Err: msg, Enabled: true})
		return
	}
	defer r.MultipartForm.RemoveAll()
	form := r.MultipartForm.Value
	values := url.Values(form)
	d := problemData{Values: values, Enabled: true}
	fail := func(err error) {
		d.Err, d.ErrField = civic.MessageOf(err), civic.FieldOf(err)
		if d.ErrField != "" {
			d.Err = d.ErrField + ": " + d.Err
		}
		status := http.StatusBadRequest
		if civic.KindOf(err) == civic.Unavailable {
			status = http.StatusTooManyRequests
		} else if civic.KindOf(err) == civic.Internal {
			u.fail(w, r, err)
			return
		}
		u.renderReport(w, r, p, status, d)
	}
	sub, err := submissionFromValues(values)
	if err != nil {
		fail(err)
		return
	}
	for i, fh := range r.MultipartForm.File["media[]"] {
		if i >= 3 {
			fail(civic.FieldError("media", "at most 3 photos"))
			return
		}
		if fh.Size == 0 {
			continue
		}
		f, err := fh.Open()
		if err != nil {
			fail(civic.FieldError("media", "a photo could not be read"))
			return
		}
		data, err := io.ReadAll(io.LimitReader(f, 5<<20+1))
		f.Close()
		if err != nil {
			fail(civic.FieldError("media", "a photo could not be read"))
			return
		}
		sub.Media = append(sub.Media, civic.RequestMedia{Data: data})
	}
	sub.Request.Channel = "web"
	sub.Author = "resident"
	if !p.IsAnonymous() {
		sub.Author = p.Name
	}
	sub.Source = "ip:" + u.clientIP(r)
	sub.Force = values.Get("force") == "1"
	// A report of a full bin or a missed collection near a bin is about
	// that bin (the planner makes it must-go, a collection closes it); so
	// is one of a damaged bin (BinLink), for the bin's page and the desk.
	if svc, err := u.deps.ServiceDesk.Service(r.Context(), sub.Request.ServiceCode); err == nil && (svc.WasteLink || svc.BinLink) &&
		sub.Request.ObjectID == "" && sub.Request.Lat != nil {
		if b, ok := u.nearestBin(r, *sub.Request.Lat, *sub.Request.Long); ok {
			sub.Request.ObjectType, sub.Request.ObjectID = "bin", b
		}
	}
	res, err := u.deps.ServiceDesk.Submit(r.Context(), sub)
	if err != nil {
		fail(err)
		return
	}
	if res.Request.ID == "" {
		// Already reported: show the reporter, who may still send theirs.
		d.Duplicates = res.Duplicates
		u.renderReport(w, r, p, http.StatusOK, d)
		return
	}
	http.Redirect(w, r, "/requests/"+res.Request.ID+"?new=1", http.StatusSeeOther)
}

// submissionFromValues reads the report form as GeoReport's POST does.
func submissionFromValues(v url.Values) (civic.Submission, error) {
	var sub civic.Submission
	r := &sub.Request
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	r.ServiceCode = get("service_code")
	if r.ServiceCode == "" {
		return sub, civic.FieldError("service_code", "choose what the problem is")
	}
	if lat, long := get("lat"), get("long"); lat != "" || long != "" {
		var la, lo float64
		if _, err := fmt.Sscan(lat, &la); err != nil {
			return sub, civic.FieldError("lat", "pick the place on the map or type an address")
		}
		if _, err := fmt.Sscan(long, &lo); err != nil {
			return sub, civic.FieldError("long", "pick the place on the map or type an address")
		}
		r.Lat, r.Long = &la, &lo
	}
	r.Address = get("address_string")
	r.Description = v.Get("description")
	r.ObjectID = get("service_object_id")
	if r.ObjectID != "" {
		r.ObjectType = "bin"
	}
	r.Contact = civic.Contact{Email: get("email"), Phone: get("phone"), FirstName: get("first_name"), LastName: get("last_name")}
	sub.Attributes = map[string][]string{}
	for k, vs := range v {
		code, ok := strings.CutPrefix(k, "attribute[")
		if !ok {
			continue
		}
		code = strings.TrimSuffix(strings.TrimSuffix(code, "[]"), "]")
		if code == "" || strings.ContainsAny(code, "[]") {
			return sub, civic.FieldError("attribute", "a malformed field")
		}
		sub.Attributes[code] = append(sub.Attributes[code], vs...)
	}
	return sub, nil
}

func (u *UI) clientIP(r *http.Request) string {
	if u.deps.ClientIP != nil {
		return u.deps.ClientIP(r)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// nearestBin is the bin within nearBinM of a point, from the map snapshot.
func (u *UI) nearestBin(r *http.Request, lat, long float64) (string, bool) {
	entries, _, err := u.cache.entries(r.Context())
	if err != nil {
		return "", false
	}
	best, bestD := "", math.Inf(1)
	for _, e := range entries {
		if d := civic.HaversineM(lat, long, e.bin.Lat, e.bin.Lon); d < bestD {
			best, bestD = e.bin.ID, d
		}
	}
	return best, bestD <= nearBinM
}

// requestView is a request as the public status page shows it.
type requestView struct {
	R       civic.ServiceRequest
	Notes   []civic.RequestNote
	New     bool
	Photos  []string
	Overdue bool
	Staff   bool
	Steps   []step
}

type step struct {
	Label      string
	Done, Here bool
}

func workflowSteps(s civic.RequestStatus) []step {
	labels := map[civic.RequestStatus]string{civic.StatusSubmitted: "Received", civic.StatusAcknowledged: "Seen",
		civic.StatusAssigned: "Assigned", civic.StatusInProgress: "In progress", civic.StatusClosed: "Closed"}
	var out []step
	for _, x := range civic.RequestStatuses {
		out = append(out, step{Label: labels[x], Done: x.Rank() <= s.Rank(), Here: x == s})
	}
	return out
}

func photoURLs(r civic.ServiceRequest) []string {
	var out []string
	for i := 1; i <= r.MediaCount; i++ {
		out = append(out, fmt.Sprintf("/open311/v2/requests/%s/media/%d", r.ID, i))
	}
	return out
}

// requestPage is the public status page of one request.
func (u *UI) requestPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	req, err := u.deps.ServiceDesk.Request(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	notes, err := u.deps.ServiceDesk.Notes(r.Context(), req.ID, true)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	v := requestView{R: req, Notes: notes, New: r.URL.Query().Get("new") == "1", Overdue: req.Overdue(u.now()),
		Staff: p.Can(civic.PermOperate), Steps: workflowSteps(req.Status)}
	// The public never sees who reported; nor held or hidden text.
	v.R.Contact = civic.Contact{}
	v.R.AssignedTo = ""
	if req.Public() {
		v.Photos = photoURLs(req)
	} else {
		v.R.Description, v.R.Attributes = "", nil
	}
	u.render(w, r, http.StatusOK, "request", "", pageData{Title: "Request " + req.ID, Active: "/requests", Principal: p, Data: v})
}

// mapRequest is an open request on the public map.
type mapRequest struct {
	ID      string  `json:"id"`
	Service string  `json:"service"`
	Status  string  `json:"status"`
	Lat     float64 `json:"lat"`
	Long    float64 `json:"long"`
}

type requestsData struct {
	Rows       []civic.ServiceRequest
	PointsJSON string
	pager      // the open requests, newest first
}

// requestsShown is how many open requests a page of the public map and
// list shows, newest first.
const requestsShown = 500

// requestsPage is the public map and list of open requests, a page at a
// time (?offset=N).
func (u *UI) requestsPage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	q := r.URL.Query()
	if id := strings.TrimSpace(q.Get("id")); id != "" {
		http.Redirect(w, r, "/requests/"+url.PathEscape(id), http.StatusSeeOther)
		return
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(0, min(offset, 1<<30))
	f := civic.ServiceRequestFilter{PublicOnly: true, Limit: requestsShown + 1, Offset: offset,
		Statuses: []civic.RequestStatus{civic.StatusSubmitted, civic.StatusAcknowledged, civic.StatusAssigned, civic.StatusInProgress}}
	rs, err := u.deps.ServiceDesk.Requests(r.Context(), f)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	more := len(rs) > requestsShown
	if more {
		rs = rs[:requestsShown]
	}
	d := requestsData{Rows: rs}
	d.pager, err = paginate(offset, len(rs), requestsShown, more, func() (int, error) {
		f.Limit, f.Offset = 0, 0
		return u.deps.ServiceDesk.CountRequests(r.Context(), f)
	}, func(off int) string {
		if off == 0 {
			return "/requests"
		}
		return "/requests?offset=" + strconv.Itoa(off)
	})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	points := []mapRequest{}
	for _, x := range rs {
		if x.Lat != nil {
			points = append(points, mapRequest{x.ID, x.ServiceName, string(x.Status), *x.Lat, *x.Long})
		}
	}
	b, _ := json.Marshal(points)
	d.PointsJSON = string(b)
	u.render(w, r, http.StatusOK, "requests", "", pageData{Title: "Open requests", Active: "/requests", Principal: p, Data: d})
}

// queueRow is a request in the staff queue.
type queueRow struct {
	civic.ServiceRequest
	Overdue bool
	Age     string
}

type queueData struct {
	Rows                            []queueRow
	Services                        []civic.Service
	Zones                           []civic.Zone
	Status, Service, Dept, Assigned string
	Zone                            string
	// NotHidden leaves out requests a moderator hid (the KPI page's
	// links ask for it: its figures leave them out).
	NotHidden bool
	// From and To bound the day a request came in, both included
	// (YYYY-MM-DD in the city's time zone; empty: no bound).
	From, To string
	Overdue  bool
	Statuses []string
	Back     string
	Msg      string
	Reasons  []civic.CloseReason
	pager
}

// queuePageSize is how many requests a page of the queue shows.
const queuePageSize = 200

var closeReasons = []civic.CloseReason{civic.CloseFixed, civic.CloseDuplicate, civic.CloseNotResponsible, civic.CloseNoAction}

func (u *UI) queuePage(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	q := r.URL.Query()
	d := queueData{Status: q.Get("status"), Service: q.Get("service"), Dept: q.Get("department"), Assigned: q.Get("assigned_to"),
		Zone: q.Get("zone"), NotHidden: q.Get("hidden") == "no", Overdue: q.Get("overdue") == "true", Back: r.URL.RawQuery, Msg: q.Get("msg"), Reasons: closeReasons,
		Statuses: []string{"open", "submitted", "acknowledged", "assigned", "in_progress", "closed", "held", "all"}}
	if d.Status == "" {
		d.Status = "open"
	}
	offset, _ := strconv.Atoi(q.Get("offset"))
	offset = max(0, min(offset, 1<<30))
	f := civic.ServiceRequestFilter{Department: d.Dept, AssignedTo: d.Assigned, Zone: d.Zone, NotHidden: d.NotHidden,
		Limit: queuePageSize + 1, Offset: offset}
	switch st := civic.RequestStatus(d.Status); {
	case d.Status == "open":
		f.Statuses = []civic.RequestStatus{civic.StatusSubmitted, civic.StatusAcknowledged, civic.StatusAssigned, civic.StatusInProgress}
	case d.Status == "all":
	case st.Valid():
		f.Statuses = []civic.RequestStatus{st}
	case d.Status == "held":
		f.Moderation = civic.ModHeld
	default:
		d.Status = "open"
	}
	if d.Service != "" {
		f.ServiceCodes = []string{d.Service}
	}
	d.From, d.To = strings.TrimSpace(q.Get("from")), strings.TrimSpace(q.Get("to"))
	var err error
	if f.RequestedFrom, f.RequestedTo, err = u.receivedBetween(d.From, d.To); err != nil {
		u.fail(w, r, err)
		return
	}
	now := u.now()
	if d.Overdue {
		f.OverdueAt = now
	}
	// The zones, read once: the form lists them, and the zone filter of
	// the page and of its count needs them.
	if d.Zones, err = u.deps.Store.ListZones(r.Context()); err != nil {
		u.fail(w, r, err)
		return
	}
	f.Zones = d.Zones
	rs, err := u.deps.ServiceDesk.Requests(r.Context(), f)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if d.Services, err = u.deps.ServiceDesk.Services(r.Context(), true); err != nil {
		u.fail(w, r, err)
		return
	}
	more := len(rs) > queuePageSize
	if more {
		rs = rs[:queuePageSize]
	}
	for _, x := range rs {
		d.Rows = append(d.Rows, queueRow{x, x.Overdue(now), ago(now, x.RequestedAt)})
	}
	d.pager, err = paginate(offset, len(rs), queuePageSize, more, func() (int, error) {
		return u.deps.ServiceDesk.CountRequests(r.Context(), f)
	}, func(off int) string {
		v, _ := url.ParseQuery(r.URL.RawQuery)
		v.Del("msg")
		v.Del("offset")
		if off > 0 {
			v.Set("offset", strconv.Itoa(off))
		}
		return "/queue?" + v.Encode()
	})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "queue", "", pageData{Title: "311 queue", Active: "/queue", Principal: p, Data: d})
}

// receivedBetween turns the queue's from and to days (YYYY-MM-DD in the
// city's time zone, either empty for no bound) into the instants that
// bound requested_at, both included: from's midnight, and the last
// microsecond of to. The KPI report counts a request in its period the
// same way, so that its link to a service's requests opens the same ones.
func (u *UI) receivedBetween(from, to string) (start, end time.Time, err error) {
	if from != "" {
		if start, err = civic.ParseDay("from", from, u.cfg.Location); err != nil {
			return start, end, err
		}
	}
	if to != "" {
		day, err := civic.ParseDay("to", to, u.cfg.Location)
		if err != nil {
			return start, end, err
		}
		end = day.AddDate(0, 0, 1).Add(-time.Microsecond)
		if !start.IsZero() && start.After(day) {
			return start, end, civic.FieldError("from", "must not be after to (%s)", to)
		}
	}
	return start, end, nil
}

type queueItemData struct {
	R          civic.ServiceRequest
	Notes      []civic.RequestNote
	Duplicates []civic.ServiceRequest
	Photos     []string
	Overdue    bool
	Reasons    []civic.CloseReason
	Msg        string
	// Plan is where the request's bin stands in today's plan, while the
	// request is open; nil without a bin or a plan.
	Plan *binPlanView
	// Answers are the reporter's answers to the service's questions.
	Answers []answer
}

// answer is a reporter's answer to one of a service's questions, in the
// words the form used.
type answer struct {
	Question string
	Values   []string
}

// answers words a request's attribute values as its service's form asked
// them, in the form's order: the question, and each chosen value's name.
// Values of attributes the service no longer has keep their codes.
func answers(svc civic.Service, given map[string][]string) []answer {
	var out []answer
	seen := map[string]bool{}
	attrs := slices.Clone(svc.Attributes)
	slices.SortStableFunc(attrs, func(a, b civic.ServiceAttribute) int { return cmp.Compare(a.Order, b.Order) })
	for _, a := range attrs {
		vs, ok := given[a.Code]
		if !ok {
			continue
		}
		seen[a.Code] = true
		q := a.Description
		if q == "" {
			q = a.Code
		}
		an := answer{Question: q}
		for _, v := range vs {
			name := v
			for _, av := range a.Values {
				if av.Key == v {
					name = av.Name
					break
				}
			}
			an.Values = append(an.Values, name)
		}
		out = append(out, an)
	}
	rest := slices.Sorted(maps.Keys(given))
	for _, k := range rest {
		if !seen[k] {
			out = append(out, answer{Question: k, Values: given[k]})
		}
	}
	return out
}

func (u *UI) queueItem(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	req, err := u.deps.ServiceDesk.Request(r.Context(), r.PathValue("id"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := queueItemData{R: req, Photos: photoURLs(req), Overdue: req.Overdue(u.now()), Reasons: closeReasons, Msg: r.URL.Query().Get("msg")}
	svc, err := u.deps.ServiceDesk.Service(r.Context(), req.ServiceCode)
	if err != nil && !civic.IsKind(err, civic.NotFound) {
		u.fail(w, r, err)
		return
	}
	d.Answers = answers(svc, req.Attributes)
	if d.Notes, err = u.deps.ServiceDesk.Notes(r.Context(), req.ID, false); err != nil {
		u.fail(w, r, err)
		return
	}
	if req.Status.Open() {
		if d.Duplicates, err = u.deps.ServiceDesk.Duplicates(r.Context(), req); err != nil {
			u.fail(w, r, err)
			return
		}
		if req.ObjectID != "" && !p.CrewOnly() {
			d.Plan = u.binPlan(r.Context(), req.ObjectID)
		}
	}
	u.render(w, r, http.StatusOK, "queueitem", "", pageData{Title: "Request " + req.ID, Active: "/queue", Principal: p, Data: d})
}

func actionFromForm(r *http.Request) civic.RequestAction {
	return civic.RequestAction{Action: r.PostFormValue("action"), Department: r.PostFormValue("department"),
		AssignedTo: r.PostFormValue("assigned_to"), Reason: civic.CloseReason(r.PostFormValue("reason")),
		Text: r.PostFormValue("text"), Public: r.PostFormValue("public") == "1", Into: r.PostFormValue("into")}
}

// queueAct applies one action to one request and returns to its page.
func (u *UI) queueAct(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, civic.FieldError("form", "cannot be read"))
		return
	}
	id := r.PathValue("id")
	msg := "Done."
	if _, err := u.deps.ServiceDesk.Act(r.Context(), p, id, actionFromForm(r)); err != nil {
		if k := civic.KindOf(err); k == civic.Internal || k == civic.Forbidden || k == civic.Unauthorized {
			u.fail(w, r, err)
			return
		}
		msg = civic.MessageOf(err)
		if f := civic.FieldOf(err); f != "" {
			msg = f + ": " + msg
		}
	}
	http.Redirect(w, r, "/queue/"+url.PathEscape(id)+"?msg="+url.QueryEscape(msg), http.StatusSeeOther)
}

// queueBulk applies one action to the checked requests of the queue.
func (u *UI) queueBulk(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	r.Body = http.MaxBytesReader(w, r.Body, 256<<10)
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, civic.FieldError("form", "cannot be read"))
		return
	}
	ids := r.PostForm["id"]
	a := actionFromForm(r)
	ok, failed := 0, []string{}
	for _, id := range ids {
		if _, err := u.deps.ServiceDesk.Act(r.Context(), p, id, a); err != nil {
			if civic.KindOf(err) == civic.Forbidden || civic.KindOf(err) == civic.Unauthorized {
				u.fail(w, r, err)
				return
			}
			failed = append(failed, id+" ("+civic.MessageOf(err)+")")
			continue
		}
		ok++
	}
	msg := fmt.Sprintf("%s: %d done", a.Action, ok)
	if len(failed) > 0 {
		msg += "; not done: " + strings.Join(failed, ", ")
	}
	back, _ := url.ParseQuery(r.PostFormValue("back"))
	back.Set("msg", msg)
	http.Redirect(w, r, "/queue?"+back.Encode(), http.StatusSeeOther)
}
