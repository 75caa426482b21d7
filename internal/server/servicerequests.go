package server

import (
	"net/http"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// 311 for staff: the services catalogue (admins change it) and the
// service-request queue and workflow (supervisors). Residents and Open311
// clients use GeoReport v2 at /open311/v2/ (Deps.Open311) and the pages.
// Both go through the same civic.ServiceDesk.

// ClientIP returns the caller's address as the server's middleware saw
// it (honouring Config.TrustProxy), for handlers mounted behind it; the
// connection's address for requests that did not pass it.
func ClientIP(r *http.Request) string {
	if i := infoFrom(r.Context()); i != nil && i.clientIP != "" {
		return i.clientIP
	}
	return (&Server{}).clientIP(r)
}

// open311Routes are the 311 routes. Without a ServiceDesk every one of
// them answers 503.
func (s *Server) open311Routes() []route {
	rs := []route{
		{"GET /api/v1/services", s.api(s.handleListServices)},
		{"POST /api/v1/services", s.api(s.handleCreateService)},
		{"GET /api/v1/services/{code}", s.api(s.handleGetService)},
		{"PUT /api/v1/services/{code}", s.api(s.handlePutService)},
		{"GET /api/v1/service-requests", s.api(s.handleListServiceRequests)},
		{"GET /api/v1/service-requests/{id}", s.api(s.handleGetServiceRequest)},
		{"POST /api/v1/service-requests/{id}/actions", s.api(s.handleServiceRequestAction)},
		{"POST /api/v1/service-requests/actions", s.api(s.handleBulkServiceRequestAction)},
	}
	if s.desk == nil {
		off := s.api(func(http.ResponseWriter, *http.Request) error {
			return civic.Errorf(civic.Unavailable, "311 is not enabled on this server")
		})
		for i := range rs {
			rs[i].handler = off
		}
	}
	if s.open311 != nil {
		rs = append(rs, route{"/open311/v2/", s.open311})
	}
	return rs
}

// handleListServices returns the catalogue; all=true adds inactive
// services (staff only).
func (s *Server) handleListServices(w http.ResponseWriter, r *http.Request) error {
	all := r.URL.Query().Get("all") == "true"
	if all {
		if _, err := require(r, civic.PermRead); err != nil {
			return err
		}
	}
	svcs, err := s.desk.Services(r.Context(), all)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": svcs})
	return nil
}

func (s *Server) handleGetService(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.desk.Service(r.Context(), r.PathValue("code"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, svc)
	return nil
}

func (s *Server) handleCreateService(w http.ResponseWriter, r *http.Request) error {
	return s.saveService(w, r, "", true)
}

func (s *Server) handlePutService(w http.ResponseWriter, r *http.Request) error {
	return s.saveService(w, r, r.PathValue("code"), false)
}

func (s *Server) saveService(w http.ResponseWriter, r *http.Request, code string, create bool) error {
	p, err := require(r, civic.PermManageAccess)
	if err != nil {
		return err
	}
	var svc civic.Service
	if err := decodeJSON(r, &svc); err != nil {
		return err
	}
	if !create {
		if svc.Code != "" && svc.Code != code {
			return civic.FieldError("code", "does not match the URL")
		}
		svc.Code = code
	}
	if err := s.desk.SaveService(r.Context(), p, &svc, create); err != nil {
		return err
	}
	status, action := http.StatusOK, "service.update"
	if create {
		status, action = http.StatusCreated, "service.create"
		w.Header().Set("Location", r.URL.Path+"/"+svc.Code)
	}
	s.audit(r, action, "service/"+svc.Code, "")
	writeJSON(w, status, svc)
	return nil
}

// serviceRequestDetail is one request as staff see it: with the
// reporter's contact, every note and the possible duplicates.
type serviceRequestDetail struct {
	civic.ServiceRequest
	Overdue    bool                   `json:"overdue"`
	Notes      []civic.RequestNote    `json:"notes"`
	Duplicates []civic.ServiceRequest `json:"duplicates"`
}

// staffView is a request in the queue: overdue computed at the server's
// clock.
type staffView struct {
	civic.ServiceRequest
	Overdue bool `json:"overdue"`
}

// handleListServiceRequests is the staff queue: newest first, filtered
// by status (a workflow status, or open), service, department,
// assigned_to, bin, overdue=true, moderation=held.
func (s *Server) handleListServiceRequests(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermOperate); err != nil {
		return err
	}
	q := r.URL.Query()
	f := civic.ServiceRequestFilter{Department: q.Get("department"), AssignedTo: q.Get("assigned_to"), Zone: q.Get("zone")}
	switch m := civic.Moderation(q.Get("moderation")); m {
	case civic.ModVisible:
	case civic.ModHeld, civic.ModHidden:
		f.Moderation = m
	default:
		return civic.FieldError("moderation", "must be held or hidden")
	}
	if v := q.Get("service"); v != "" {
		f.ServiceCodes = strings.Split(v, ",")
	}
	if v := q.Get("bin"); v != "" {
		f.ObjectType, f.ObjectID = "bin", v
	}
	for _, v := range strings.Split(q.Get("status"), ",") {
		switch st := civic.RequestStatus(v); {
		case v == "":
		case v == "open":
			f.Statuses = append(f.Statuses, civic.StatusSubmitted, civic.StatusAcknowledged, civic.StatusAssigned, civic.StatusInProgress)
		case st.Valid():
			f.Statuses = append(f.Statuses, st)
		default:
			return civic.FieldError("status", "must be open or one of submitted, acknowledged, assigned, in_progress, closed")
		}
	}
	switch q.Get("overdue") {
	case "", "false":
	case "true":
		f.OverdueAt = s.now()
	default:
		return civic.FieldError("overdue", "must be true or false")
	}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), "limit", 100, 1, 1000); err != nil {
		return err
	}
	if f.Offset, err = intParam(q.Get("offset"), "offset", 0, 0, 1_000_000); err != nil {
		return err
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	rs, err := s.desk.Requests(r.Context(), f)
	if err != nil {
		return err
	}
	page := requestPage{Items: make([]staffView, 0, min(len(rs), limit))}
	if len(rs) > limit {
		rs = rs[:limit]
		next := f.Offset + limit
		page.NextOffset = &next
	}
	now := s.now()
	for i := range rs {
		page.Items = append(page.Items, staffView{rs[i], rs[i].Overdue(now)})
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// requestPage is a page of GET /api/v1/service-requests.
type requestPage struct {
	Items      []staffView `json:"items"`
	NextOffset *int        `json:"next_offset,omitempty"` // the offset of the next page, when there is one
}

func (s *Server) handleGetServiceRequest(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermOperate); err != nil {
		return err
	}
	req, err := s.desk.Request(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	notes, err := s.desk.Notes(r.Context(), req.ID, false)
	if err != nil {
		return err
	}
	var dups []civic.ServiceRequest
	if req.Status.Open() {
		if dups, err = s.desk.Duplicates(r.Context(), req); err != nil {
			return err
		}
	}
	if dups == nil {
		dups = []civic.ServiceRequest{}
	}
	writeJSON(w, http.StatusOK, serviceRequestDetail{req, req.Overdue(s.now()), notes, dups})
	return nil
}

func (s *Server) handleServiceRequestAction(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermOperate)
	if err != nil {
		return err
	}
	var a civic.RequestAction
	if err := decodeJSON(r, &a); err != nil {
		return err
	}
	req, err := s.desk.Act(r.Context(), p, r.PathValue("id"), a)
	if err != nil {
		return err
	}
	s.audit(r, "service_request."+a.Action, "service-request/"+req.ID, string(req.Status))
	writeJSON(w, http.StatusOK, staffView{req, req.Overdue(s.now())})
	return nil
}

// bulkResult is the outcome of a bulk action on one request.
type bulkResult struct {
	ID     string       `json:"id"`
	OK     bool         `json:"ok"`
	Status string       `json:"status,omitempty"`
	Error  *errorDetail `json:"error,omitempty"`
}

// handleBulkServiceRequestAction applies one action to several requests,
// each on its own: the answer says which succeeded and why others did
// not.
func (s *Server) handleBulkServiceRequestAction(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermOperate)
	if err != nil {
		return err
	}
	var body struct {
		IDs    []string            `json:"ids"`
		Action civic.RequestAction `json:"action"`
	}
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if len(body.IDs) == 0 || len(body.IDs) > 500 {
		return civic.FieldError("ids", "give 1 to 500 request ids")
	}
	out := make([]bulkResult, 0, len(body.IDs))
	for _, id := range body.IDs {
		req, err := s.desk.Act(r.Context(), p, id, body.Action)
		if err != nil {
			status, d := s.describe(err)
			if status == http.StatusInternalServerError {
				s.log.ErrorContext(r.Context(), "internal error", "err", err, "method", r.Method, "path", r.URL.Path, "request", id)
			}
			out = append(out, bulkResult{ID: id, Error: &d})
			continue
		}
		s.audit(r, "service_request."+body.Action.Action, "service-request/"+req.ID, string(req.Status))
		out = append(out, bulkResult{ID: id, OK: true, Status: string(req.Status)})
	}
	writeJSON(w, http.StatusOK, map[string]any{"results": out})
	return nil
}
