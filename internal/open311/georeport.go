package open311

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// Prefix is where the GeoReport v2 API is served.
const Prefix = "/open311/v2/"

// The GeoReport limits.
const (
	// DefaultLimit is the spec's "first 1000 requests", also the largest
	// page_size.
	DefaultLimit = 1000
	// MaxSpan is the longest start_date..end_date range, the spec's 90
	// days; it is also the default range.
	MaxSpan = 90 * 24 * time.Hour
	// maxFormBytes caps a urlencoded POST; multipart adds the photos.
	maxFormBytes   = 64 << 10
	maxUploadBytes = MaxMediaFiles*MaxMediaBytes + maxFormBytes
)

// HandlerOptions configure the GeoReport handler. Desk is required.
type HandlerOptions struct {
	Desk *Desk
	// Keys resolves an api_key to its principal; POST requests need a key
	// with the open311 scope (or a logged-in user allowed to submit).
	Keys func(ctx context.Context, secret string) (civic.Principal, error)
	// ClientIP is the caller's address for rate limits; RemoteAddr's host
	// by default.
	ClientIP func(r *http.Request) string
	// Jurisdiction is this endpoint's jurisdiction_id; a request naming
	// another one gets 404. Requests may leave it out (one jurisdiction).
	// Empty accepts any.
	Jurisdiction string
	// BaseURL is civic's public URL (scheme://host), for the discovery
	// document and media URLs; taken from the request when empty.
	BaseURL string
	// Contact and KeyService are the discovery document's fields.
	Contact, KeyService string
	// Location is the time zone dates are written in; UTC by default.
	Location *time.Location
	// Now is the clock of the default date range; time.Now by default.
	Now func() time.Time
	// CacheTTL is how long a GET requests answer may be reused while
	// nothing changes through the desk (answerCache); 2 s by default,
	// negative turns the cache off.
	CacheTTL time.Duration
	Logger   *slog.Logger
}

// Handler serves GeoReport v2 under Prefix.
type Handler struct {
	o     HandlerOptions
	cache *answerCache
}

// NewHandler returns the GeoReport v2 handler.
func NewHandler(o HandlerOptions) *Handler {
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.ClientIP == nil {
		o.ClientIP = func(r *http.Request) string {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				return r.RemoteAddr
			}
			return host
		}
	}
	if o.Contact == "" {
		o.Contact = "The city's 311 service"
	}
	if o.KeyService == "" {
		o.KeyService = "Ask the city's technology office for an API key with the open311 scope (civic key add --scope open311)."
	}
	h := &Handler{o: o}
	if o.CacheTTL == 0 {
		o.CacheTTL = 2 * time.Second
	}
	if o.CacheTTL > 0 {
		h.cache = &answerCache{ttl: o.CacheTTL, m: map[string]cachedAnswer{}}
	}
	return h
}

// geoError is a GeoReport error: an HTTP status and a description.
type geoError struct {
	status int
	msg    string
}

func (e *geoError) Error() string { return e.msg }

func errStatus(status int, format string, args ...any) error {
	return &geoError{status, fmt.Sprintf(format, args...)}
}

// ServeHTTP routes by the path after Prefix; the format is the suffix.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, Prefix)
	if rest == r.URL.Path {
		h.fail(w, r, "json", errStatus(http.StatusNotFound, "not an Open311 path"))
		return
	}
	// Photos have no format suffix: requests/{id}/media/{n}.
	if parts := strings.Split(rest, "/"); len(parts) == 4 && parts[0] == "requests" && parts[2] == "media" {
		h.serveMedia(w, r, parts[1], parts[3])
		return
	}
	base, format := rest, ""
	if i := strings.LastIndexByte(rest, '.'); i >= 0 && !strings.Contains(rest[i:], "/") {
		base, format = rest[:i], rest[i+1:]
	}
	if format != "json" && format != "xml" {
		h.fail(w, r, "json", errStatus(http.StatusNotFound, "unknown resource or format %q: paths end in .json or .xml", format))
		return
	}
	var err error
	method := func(m string) bool {
		if r.Method == m || (m == http.MethodGet && r.Method == http.MethodHead) {
			return true
		}
		w.Header().Set("Allow", m)
		err = errStatus(http.StatusMethodNotAllowed, "%s is not allowed here; use %s", r.Method, m)
		return false
	}
	dir, name, sub := strings.Cut(base, "/")
	switch {
	case base == "discovery":
		if method(http.MethodGet) {
			err = h.discovery(w, r, format)
		}
	case base == "services":
		if method(http.MethodGet) {
			err = h.services(w, r, format)
		}
	case dir == "services" && sub && name != "" && !strings.Contains(name, "/"):
		if method(http.MethodGet) {
			err = h.definition(w, r, format, name)
		}
	case base == "requests":
		switch r.Method {
		case http.MethodPost:
			err = h.post(w, r, format)
		default:
			if method(http.MethodGet) {
				err = h.list(w, r, format)
			}
		}
	case dir == "requests" && sub && name != "" && !strings.Contains(name, "/"):
		if method(http.MethodGet) {
			err = h.one(w, r, format, name)
		}
	case dir == "tokens" && sub && name != "" && !strings.Contains(name, "/"):
		if method(http.MethodGet) {
			err = h.token(w, r, format, name)
		}
	default:
		err = errStatus(http.StatusNotFound, "no such Open311 resource")
	}
	if err != nil {
		h.fail(w, r, format, err)
	}
}

// fail writes err as GeoReport errors. Civic errors map by kind: 404 for
// NotFound, 403 for bad keys, 429/503 for limits, 400 for the rest.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, format string, err error) {
	status, msg := http.StatusBadRequest, ""
	var ge *geoError
	if errors.As(err, &ge) {
		status, msg = ge.status, ge.msg
	} else {
		switch civic.KindOf(err) {
		case civic.NotFound:
			status = http.StatusNotFound
		case civic.Unauthorized, civic.Forbidden:
			status = http.StatusForbidden
		case civic.Unavailable:
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", "60")
		case civic.TooLarge:
			status = http.StatusRequestEntityTooLarge
		case civic.Internal:
			status = http.StatusInternalServerError
			h.o.Logger.ErrorContext(r.Context(), "open311", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		msg = civic.MessageOf(err)
		if f := civic.FieldOf(err); f != "" {
			msg = f + ": " + msg
		}
	}
	e := errorDoc{Code: status, Description: msg}
	write(w, format, status, errorsDoc{Errors: []errorDoc{e}}, []errorDoc{e})
}

// checkJurisdiction answers 404 for a jurisdiction_id that is not ours.
func (h *Handler) checkJurisdiction(v url.Values) error {
	if j := strings.TrimSpace(v.Get("jurisdiction_id")); j != "" && h.o.Jurisdiction != "" && j != h.o.Jurisdiction {
		return errStatus(http.StatusNotFound, "jurisdiction_id %q not found", j)
	}
	return nil
}

func (h *Handler) baseURL(r *http.Request) string {
	if h.o.BaseURL != "" {
		return strings.TrimSuffix(h.o.BaseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *Handler) discovery(w http.ResponseWriter, r *http.Request, f string) error {
	svcs, err := h.o.Desk.Services(r.Context(), false)
	if err != nil {
		return err
	}
	var last time.Time
	for _, s := range svcs {
		if s.UpdatedAt.After(last) {
			last = s.UpdatedAt
		}
	}
	cs := last.In(h.o.Location).Format("2006-01-02 15:04")
	doc := discoveryDoc{Changeset: cs, Contact: h.o.Contact, KeyService: h.o.KeyService,
		Endpoints: []discoveryEndpoint{{Specification: "http://wiki.open311.org/GeoReport_v2",
			URL: h.baseURL(r) + strings.TrimSuffix(Prefix, "/"), Changeset: cs, Type: "production",
			Formats: []string{"text/xml", "application/json"}}}}
	write(w, f, http.StatusOK, doc, doc)
	return nil
}

func (h *Handler) services(w http.ResponseWriter, r *http.Request, f string) error {
	if err := h.checkJurisdiction(r.URL.Query()); err != nil {
		return err
	}
	svcs, err := h.o.Desk.Services(r.Context(), false)
	if err != nil {
		return err
	}
	docs := make([]serviceDoc, len(svcs))
	for i, s := range svcs {
		docs[i] = toServiceDoc(s)
	}
	write(w, f, http.StatusOK, servicesDoc{Services: docs}, docs)
	return nil
}

func (h *Handler) definition(w http.ResponseWriter, r *http.Request, f, code string) error {
	if err := h.checkJurisdiction(r.URL.Query()); err != nil {
		return err
	}
	s, err := h.o.Desk.Service(r.Context(), code)
	if err == nil && !s.Active {
		err = civic.Errorf(civic.NotFound, "service %q not found", code)
	}
	if err != nil {
		return err
	}
	d := toDefinitionDoc(s)
	write(w, f, http.StatusOK, d, d)
	return nil
}

// post is POST requests: form-urlencoded, or multipart with media[].
func (h *Handler) post(w http.ResponseWriter, r *http.Request, f string) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	limit := int64(maxFormBytes)
	if ct == "multipart/form-data" {
		limit = maxUploadBytes
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	var media []civic.RequestMedia
	switch ct {
	case "application/x-www-form-urlencoded":
		if err := r.ParseForm(); err != nil {
			return tooLargeOr(err, "the form cannot be read")
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			return tooLargeOr(err, "the multipart form cannot be read")
		}
		defer r.MultipartForm.RemoveAll()
		files := r.MultipartForm.File["media[]"]
		files = append(files, r.MultipartForm.File["media"]...)
		if len(files) > MaxMediaFiles {
			return civic.FieldError("media", "at most %d files", MaxMediaFiles)
		}
		for i, fh := range files {
			if fh.Size > MaxMediaBytes {
				return civic.FieldError(fmt.Sprintf("media[%d]", i), "is larger than %d MiB", MaxMediaBytes>>20)
			}
			fl, err := fh.Open()
			if err != nil {
				return civic.FieldError(fmt.Sprintf("media[%d]", i), "cannot be read")
			}
			data, err := io.ReadAll(io.LimitReader(fl, MaxMediaBytes+1))
			fl.Close()
			if err != nil {
				return civic.FieldError(fmt.Sprintf("media[%d]", i), "cannot be read")
			}
			media = append(media, civic.RequestMedia{Data: data})
		}
	default:
		return civic.FieldError("Content-Type", "must be application/x-www-form-urlencoded or multipart/form-data")
	}
	form := r.PostForm
	// The API key is checked before anything else is looked at.
	p := civic.PrincipalFrom(r.Context())
	key := form.Get("api_key")
	if key == "" {
		key = r.URL.Query().Get("api_key")
	}
	if key != "" && h.o.Keys != nil {
		kp, err := h.o.Keys(r.Context(), key)
		if err != nil {
			return errStatus(http.StatusForbidden, "Invalid api_key received -- can't proceed with create_request.")
		}
		p = kp
	}
	if !p.Can(civic.PermOpen311) {
		if key == "" && p.IsAnonymous() {
			return errStatus(http.StatusForbidden, "api_key is required -- can't proceed with create_request.")
		}
		return errStatus(http.StatusForbidden, "api_key lacks the open311 scope -- can't proceed with create_request.")
	}
	if err := h.checkJurisdiction(form); err != nil {
		return err
	}
	sub, err := SubmissionFromForm(form)
	if err != nil {
		return err
	}
	sub.Media = media
	sub.Request.Channel = "open311"
	sub.Author = p.Name
	sub.Force = true // Open311 clients cannot answer "already reported"
	if p.KeyID != "" {
		sub.Source = "key:" + p.KeyID
	} else if p.UserID != "" {
		sub.Source = "user:" + p.UserID
	}
	res, err := h.o.Desk.Submit(r.Context(), sub)
	if err != nil {
		return err
	}
	doc := requestDoc{ServiceRequestID: res.Request.ID, ServiceNotice: strPtr(res.Notice), AccountID: strPtr(res.Request.Contact.AccountID)}
	write(w, f, http.StatusOK, requestsDoc{Requests: []requestDoc{doc}}, []requestDoc{doc})
	return nil
}

func tooLargeOr(err error, msg string) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return civic.Errorf(civic.TooLarge, "the request body is larger than %d bytes", mbe.Limit)
	}
	return civic.FieldError("body", "%s", msg)
}

// SubmissionFromForm reads a GeoReport POST form (also the web report
// form): location, description, contact, attributes, the object the
// request is about. Malformed numbers are an Invalid error naming the
// field; everything else is checked by Desk.Submit.
func SubmissionFromForm(form url.Values) (civic.Submission, error) {
	var sub civic.Submission
	get := func(k string) string { return strings.TrimSpace(form.Get(k)) }
	r := &sub.Request
	r.ServiceCode = get("service_code")
	if r.ServiceCode == "" {
		return sub, civic.FieldError("service_code", "is required")
	}
	latS, longS := get("lat"), get("long")
	if latS != "" || longS != "" {
		if latS == "" || longS == "" {
			return sub, civic.FieldError("long", "lat and long must be given together")
		}
		lat, err := strconv.ParseFloat(latS, 64)
		if err != nil {
			return sub, civic.FieldError("lat", "must be a number")
		}
		long, err := strconv.ParseFloat(longS, 64)
		if err != nil {
			return sub, civic.FieldError("long", "must be a number")
		}
		r.Lat, r.Long = &lat, &long
	}
	r.Address = get("address_string")
	r.AddressID = get("address_id")
	r.Zipcode = get("zipcode")
	r.Description = form.Get("description")
	r.MediaURL = get("media_url")
	r.ObjectType = get("service_object_type")
	r.ObjectID = get("service_object_id")
	r.Contact = civic.Contact{Email: get("email"), Phone: get("phone"), FirstName: get("first_name"),
		LastName: get("last_name"), DeviceID: get("device_id"), AccountID: get("account_id")}
	var err error
	if sub.Attributes, err = ParseAttributes(form); err != nil {
		return sub, err
	}
	return sub, nil
}

// listQuery reads GET requests' parameters into a filter.
func (h *Handler) listQuery(v url.Values) (civic.ServiceRequestFilter, bool, error) {
	f := civic.ServiceRequestFilter{PublicOnly: true}
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	ext := get("extensions") == "true"
	if err := h.checkJurisdiction(v); err != nil {
		return f, ext, err
	}
	if ids := splitList(get("service_request_id")); len(ids) > 0 {
		// It "overrides all other arguments".
		if len(ids) > DefaultLimit {
			return f, ext, civic.FieldError("service_request_id", "at most %d ids", DefaultLimit)
		}
		return civic.ServiceRequestFilter{IDs: ids, Limit: DefaultLimit}, ext, nil
	}
	f.ServiceCodes = splitList(get("service_code"))
	for _, s := range splitList(get("status")) {
		switch s {
		case "open":
			f.Statuses = append(f.Statuses, civic.StatusSubmitted, civic.StatusAcknowledged, civic.StatusAssigned, civic.StatusInProgress)
		case "closed":
			f.Statuses = append(f.Statuses, civic.StatusClosed)
		default:
			return f, ext, civic.FieldError("status", "must be open, closed or both, comma-separated")
		}
	}
	var err error
	parse := func(k string) (time.Time, error) {
		s := get(k)
		if s == "" {
			return time.Time{}, nil
		}
		t, err := civic.ParseW3CTime(s)
		if err != nil {
			return t, civic.FieldError(k, "must be a W3C date and time with a time zone, e.g. 2010-01-01T00:00:00Z")
		}
		return t, nil
	}
	var start, end time.Time
	if start, err = parse("start_date"); err != nil {
		return f, ext, err
	}
	if end, err = parse("end_date"); err != nil {
		return f, ext, err
	}
	if f.UpdatedAfter, err = parse("updated_after"); err != nil {
		return f, ext, err
	}
	if f.UpdatedBefore, err = parse("updated_before"); err != nil {
		return f, ext, err
	}
	switch {
	case !start.IsZero() && !end.IsZero():
		if end.Before(start) {
			return f, ext, civic.FieldError("end_date", "is before start_date")
		}
		if end.Sub(start) > MaxSpan {
			return f, ext, civic.FieldError("end_date", "the range may not span more than 90 days")
		}
	case !start.IsZero():
		end = start.Add(MaxSpan)
	case !end.IsZero():
		start = end.Add(-MaxSpan)
	case f.UpdatedAfter.IsZero() && f.UpdatedBefore.IsZero():
		// The spec's default: the most recent 90 days. Clients asking
		// for changes (updated_after/before) get them whatever their age.
		end = h.o.Now()
		start = end.Add(-MaxSpan)
	}
	f.RequestedFrom, f.RequestedTo = start, end
	f.ObjectType, f.ObjectID = get("service_object_type"), get("service_object_id")
	page, size := 1, DefaultLimit
	if s := get("page_size"); s != "" {
		if size, err = strconv.Atoi(s); err != nil || size < 1 || size > DefaultLimit {
			return f, ext, civic.FieldError("page_size", "must be a whole number from 1 to %d", DefaultLimit)
		}
	}
	if s := get("page"); s != "" {
		if page, err = strconv.Atoi(s); err != nil || page < 1 || page > 1_000_000 {
			return f, ext, civic.FieldError("page", "must be a whole number from 1")
		}
	}
	f.Limit, f.Offset = size, (page-1)*size
	return f, ext, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (h *Handler) list(w http.ResponseWriter, r *http.Request, f string) error {
	q, ext, err := h.listQuery(r.URL.Query())
	if err != nil {
		return err
	}
	return h.cached(w, r, func(w http.ResponseWriter) error {
		rs, err := h.o.Desk.Requests(r.Context(), q)
		if err != nil {
			return err
		}
		return h.writeRequests(w, r, f, rs, ext)
	})
}

func (h *Handler) one(w http.ResponseWriter, r *http.Request, f, id string) error {
	if err := h.checkJurisdiction(r.URL.Query()); err != nil {
		return err
	}
	req, err := h.o.Desk.Request(r.Context(), id)
	if err != nil {
		return err
	}
	return h.writeRequests(w, r, f, []civic.ServiceRequest{req}, r.URL.Query().Get("extensions") == "true")
}

func (h *Handler) token(w http.ResponseWriter, r *http.Request, f, tok string) error {
	if err := h.checkJurisdiction(r.URL.Query()); err != nil {
		return err
	}
	req, err := h.o.Desk.o.Store.ServiceRequestByToken(r.Context(), tok)
	if err != nil {
		return err
	}
	doc := requestDoc{ServiceRequestID: req.ID, Token: &tok}
	write(w, f, http.StatusOK, requestsDoc{Requests: []requestDoc{doc}}, []requestDoc{doc})
	return nil
}

func (h *Handler) writeRequests(w http.ResponseWriter, r *http.Request, f string, rs []civic.ServiceRequest, ext bool) error {
	base := h.baseURL(r)
	docs := make([]requestDoc, len(rs))
	var svcs map[string]civic.Service
	for i := range rs {
		docs[i] = h.requestDoc(&rs[i], base)
		if !ext {
			continue
		}
		if svcs == nil {
			all, err := h.o.Desk.Services(r.Context(), true)
			if err != nil {
				return err
			}
			svcs = map[string]civic.Service{}
			for _, s := range all {
				svcs[s.Code] = s
			}
		}
		if err := h.extend(r.Context(), &docs[i], &rs[i], svcs[rs[i].ServiceCode], base); err != nil {
			return err
		}
	}
	write(w, f, http.StatusOK, requestsDoc{Requests: docs}, docs)
	return nil
}

// requestDoc is a request as the public sees it: never the reporter's
// contact, and no text or photos of a request held or hidden by
// moderation.
func (h *Handler) requestDoc(r *civic.ServiceRequest, base string) requestDoc {
	loc := h.o.Location
	updated := w3c(r.UpdatedAt, loc)
	d := requestDoc{ServiceRequestID: r.ID, Status: "open", StatusNotes: strPtr(r.StatusNotes),
		ServiceName: strPtr(r.ServiceName), ServiceCode: r.ServiceCode, AgencyResponsible: strPtr(r.Department),
		RequestedDatetime: w3c(r.RequestedAt, loc), UpdatedDatetime: &updated, ExpectedDatetime: w3cPtr(r.ExpectedAt, loc),
		Address: strPtr(r.Address), AddressID: strPtr(r.AddressID), Zipcode: strPtr(r.Zipcode), Lat: r.Lat, Long: r.Long}
	if !r.Status.Open() {
		d.Status = "closed"
		if r.ClosedAt != nil {
			closed := w3c(*r.ClosedAt, loc)
			d.UpdatedDatetime = &closed
		}
	}
	if r.Public() {
		d.Description = strPtr(r.Description)
		switch {
		case r.MediaCount > 0:
			d.MediaURL = strPtr(mediaURL(base, r.ID, 1))
		case r.MediaURL != "":
			d.MediaURL = strPtr(r.MediaURL)
		}
	} else {
		msg := "This report is awaiting moderation."
		if r.Moderation == civic.ModHidden {
			msg = "This report was hidden by a moderator."
		}
		d.Description = &msg
	}
	return d
}

func mediaURL(base, id string, n int) string {
	return base + Prefix + "requests/" + id + "/media/" + strconv.Itoa(n)
}

// extend adds the extensions=true fields: the workflow status, the
// object the request is about, all photos, attribute values with their
// labels, and the public notes history.
func (h *Handler) extend(ctx context.Context, d *requestDoc, r *civic.ServiceRequest, svc civic.Service, base string) error {
	x := &extendedDoc{StatusDescription: string(r.Status), CloseReason: string(r.CloseReason),
		ServiceObjectType: r.ObjectType, ServiceObjectID: r.ObjectID, DuplicateOf: r.DuplicateOf, Channel: r.Channel}
	d.Extended = x
	if !r.Public() {
		return nil
	}
	for i := 1; i <= r.MediaCount; i++ {
		x.MediaURLs = append(x.MediaURLs, mediaURL(base, r.ID, i))
	}
	for _, a := range svc.SortedAttributes() {
		for _, v := range r.Attributes[a.Code] {
			name := v
			for _, av := range a.Values {
				if av.Key == v {
					name = av.Name
				}
			}
			d.Attributes = append(d.Attributes, attrValueDoc{Code: a.Code, Label: a.Description, Value: v, Name: name})
		}
	}
	notes, err := h.o.Desk.Notes(ctx, r.ID, true)
	if err != nil {
		return err
	}
	for _, n := range notes {
		d.Notes = append(d.Notes, noteDoc{Datetime: w3c(n.Time, h.o.Location), Description: n.Text, Type: n.Type})
	}
	if len(d.Attributes) > 0 {
		d.AttributesXML = &attrListXML{d.Attributes}
	}
	if len(d.Notes) > 0 {
		d.NotesXML = &noteListXML{d.Notes}
	}
	return nil
}

// serveMedia serves a request's photo, unless moderation keeps it back.
func (h *Handler) serveMedia(w http.ResponseWriter, r *http.Request, id, nS string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", http.MethodGet)
		h.fail(w, r, "json", errStatus(http.StatusMethodNotAllowed, "use GET"))
		return
	}
	n, err := strconv.Atoi(nS)
	if err != nil || n < 1 {
		h.fail(w, r, "json", errStatus(http.StatusNotFound, "no such photo"))
		return
	}
	req, err := h.o.Desk.Request(r.Context(), id)
	if err == nil && !req.Public() && !civic.PrincipalFrom(r.Context()).Can(civic.PermOperate) {
		err = civic.Errorf(civic.NotFound, "no such photo")
	}
	var m civic.RequestMedia
	if err == nil {
		m, err = h.o.Desk.Media(r.Context(), id, n)
	}
	if err != nil {
		h.fail(w, r, "json", err)
		return
	}
	w.Header().Set("Content-Type", m.ContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Write(m.Data)
}
