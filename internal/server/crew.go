package server

import (
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// The crew's side of a plan: their routes for a day, the reports they send
// about stops (with an optional photo), and the photos.

// maxReportBytes caps a stop report's body: a photo and the form fields.
const maxReportBytes = civic.MaxPhotoBytes + 64<<10

// handleMyRoutes returns the routes of the caller's crews (the crews whose
// members include the caller's user name) for ?date= (today in the city's
// time zone by default), with their stops; drafts are not shown. Callers
// who may operate plans can ask for any crew with ?crew=.
func (s *Server) handleMyRoutes(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermWorkRoute)
	if err != nil {
		return err
	}
	ps, err := s.planStore()
	if err != nil {
		return err
	}
	q := r.URL.Query()
	date := q.Get("date")
	if date == "" {
		date = s.now().In(s.loc).Format(time.DateOnly)
	} else if err := checkDate("date", date); err != nil {
		return err
	}
	mine, err := s.crewsOf(r.Context(), p)
	if err != nil {
		return err
	}
	crews := mine
	if c := q.Get("crew"); c != "" {
		if !slices.Contains(mine, c) && !p.Can(civic.PermOperate) {
			return civic.Errorf(civic.Forbidden, "you are not a member of crew %q", c)
		}
		if _, err := s.store.Crew(r.Context(), c); err != nil {
			if civic.IsKind(err, civic.NotFound) {
				return civic.FieldError("crew", "no crew %q", c)
			}
			return err
		}
		crews = []string{c}
	}
	routes := []civic.Route{}
	for _, c := range crews {
		rs, err := ps.RoutesFor(r.Context(), date, c)
		if err != nil {
			return err
		}
		routes = append(routes, rs...)
	}
	slices.SortFunc(routes, func(a, b civic.Route) int { return a.Seq - b.Seq })
	writeJSON(w, http.StatusOK, list[civic.Route]{Items: routes})
	return nil
}

// crewsOf returns the ids of the crews p is a member of.
func (s *Server) crewsOf(ctx context.Context, p civic.Principal) ([]string, error) {
	if p.UserID == "" {
		return nil, nil // an API key belongs to no crew
	}
	all, err := s.store.ListCrews(ctx)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, c := range all {
		if slices.Contains(c.Members, p.Name) {
			ids = append(ids, c.ID)
		}
	}
	return ids, nil
}

// stopReport is the answer to a stop report: the stop as it now stands,
// and whether this report changed it (false for a resend of a report
// applied before).
type stopReport struct {
	civic.Stop
	Applied bool `json:"applied"`
}

// handleReportStop applies a crew's report about a stop: a JSON
// civic.StopReport, or a multipart form with the same fields and an
// optional photo part (JPEG or PNG, at most civic.MaxPhotoBytes). The
// report's client_id makes it idempotent: the first time answers 201 with
// applied true, a resend 200 with the stop unchanged and applied false.
// Crew members may report only stops of their crews' routes; callers who
// may operate plans, any stop.
func (s *Server) handleReportStop(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermWorkRoute)
	if err != nil {
		return err
	}
	pl, err := s.planService()
	if err != nil {
		return err
	}
	// Who may not report this stop learns nothing from the body's errors.
	if err := s.checkCrewStop(r.Context(), p, r.PathValue("id")); err != nil {
		return err
	}
	var rep civic.StopReport
	if isMultipart(r) {
		err = readReportForm(r, &rep)
	} else {
		err = decodeJSON(r, &rep)
	}
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if rep.StopID == "" {
		rep.StopID = id
	} else if rep.StopID != id {
		return civic.FieldError("stop_id", "must match the id in the URL (%s)", id)
	}
	if rep.ClientID == "" {
		return civic.FieldError("client_id", "is required: a unique id the phone makes for each report")
	}
	if err := rep.Validate(); err != nil {
		return err
	}
	rep.By = actor(p)
	stop, applied, err := pl.Report(r.Context(), &rep)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if applied {
		status = http.StatusCreated
		s.audit(r, "stop.report", "stop/"+stop.ID, string(rep.Status))
	}
	writeJSON(w, status, stopReport{Stop: stop, Applied: applied})
	return nil
}

// checkCrewStop checks that p may report stop id: a member of the crew of
// the stop's route, or someone who may operate plans.
func (s *Server) checkCrewStop(ctx context.Context, p civic.Principal, id string) error {
	rt, err := s.stopRoute(ctx, id)
	if err != nil {
		return err
	}
	if p.Can(civic.PermOperate) {
		return nil
	}
	mine, err := s.crewsOf(ctx, p)
	if err != nil {
		return err
	}
	if rt.CrewID == "" || !slices.Contains(mine, rt.CrewID) {
		return civic.Errorf(civic.Forbidden, "stop %s is on a route of another crew", id)
	}
	return nil
}

// stopRoute returns the route of stop id; NotFound when there is none.
func (s *Server) stopRoute(ctx context.Context, id string) (civic.Route, error) {
	rt, err := s.plans.RouteOfStop(ctx, id)
	if civic.IsKind(err, civic.NotFound) {
		return civic.Route{}, civic.Errorf(civic.NotFound, "no stop %q", id)
	}
	return rt, err
}

func isMultipart(r *http.Request) bool {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return mt == "multipart/form-data"
}

// readReportForm reads a multipart stop report: the fields of
// civic.StopReport by their JSON names, and a photo part.
func readReportForm(r *http.Request, rep *civic.StopReport) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return civic.FieldError("", "malformed multipart body: %v", err)
	}
	seen := map[string]bool{}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return bodyError("", err)
		}
		name := part.FormName()
		if seen[name] {
			return civic.FieldError(name, "is given twice")
		}
		seen[name] = true
		if name == "photo" {
			if err := readPhoto(part, rep); err != nil {
				return err
			}
			continue
		}
		b, err := io.ReadAll(io.LimitReader(part, 4<<10))
		if err != nil {
			return bodyError(name, err)
		}
		if err := civic.CheckText(name, string(b), 0); err != nil {
			return err
		}
		if err := setReportField(rep, name, string(b)); err != nil {
			return err
		}
	}
	return nil
}

// readPhoto reads the photo part; its type is sniffed from its bytes, not
// taken from the part's header.
func readPhoto(part *multipart.Part, rep *civic.StopReport) error {
	b, err := io.ReadAll(io.LimitReader(part, civic.MaxPhotoBytes+1))
	if err != nil {
		return bodyError("photo", err)
	}
	if len(b) > civic.MaxPhotoBytes {
		return &civic.Error{Kind: civic.TooLarge, Field: "photo", Message: "the photo exceeds " + strconv.Itoa(civic.MaxPhotoBytes) + " bytes"}
	}
	if len(b) == 0 {
		return civic.FieldError("photo", "is empty")
	}
	switch ct := http.DetectContentType(b); ct {
	case "image/jpeg", "image/png":
		rep.Photo, rep.PhotoType = b, ct
	default:
		return civic.FieldError("photo", "must be a JPEG or PNG image")
	}
	return nil
}

// bodyError names field in a failure to read the body, which is too large
// or cut short.
func bodyError(field string, err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		if field == "" {
			field = "photo" // the only part that can be large
		}
		return &civic.Error{Kind: civic.TooLarge, Field: field, Message: "the request body exceeds " + strconv.FormatInt(mbe.Limit, 10) + " bytes", Err: err}
	}
	return civic.FieldError(field, "malformed multipart body: %v", err)
}

func setReportField(rep *civic.StopReport, name, v string) error {
	switch name {
	case "client_id":
		rep.ClientID = v
	case "stop_id":
		rep.StopID = v
	case "status":
		rep.Status = civic.StopStatus(v)
	case "skip_reason":
		rep.SkipReason = civic.SkipReason(v)
	case "note":
		rep.Note = v
	case "fill_seen":
		if v == "" {
			return nil
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return civic.FieldError(name, "must be a number")
		}
		rep.FillSeen = &f
	case "at":
		if v == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			return civic.FieldError(name, "must be an RFC 3339 time")
		}
		rep.At = t
	default:
		return civic.FieldError(name, "unknown field")
	}
	return nil
}

// handleStopPhoto serves the latest photo of a stop.
func (s *Server) handleStopPhoto(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermRead)
	if err != nil {
		return err
	}
	if p.CrewOnly() {
		if err := s.checkCrewStop(r.Context(), p, r.PathValue("id")); err != nil {
			return err
		}
	}
	ps, err := s.planStore()
	if err != nil {
		return err
	}
	b, ct, err := ps.StopPhoto(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Header().Set("Cache-Control", "private, max-age=300")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	return nil
}
