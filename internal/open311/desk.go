// Package open311 is civic's 311 service: the services catalogue, the
// submission of service requests (validation, duplicate detection, spam
// holds, rate limits, SLA due times), the staff workflow (Desk), and the
// Open311 GeoReport v2 API over it in JSON and XML (Handler).
package open311

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/civic"
)

// Options configure a Desk. Store is required.
type Options struct {
	Store civic.ServiceRequestStore
	// BinExists, if set, checks a request's service_object_id when its
	// service_object_type is "bin".
	BinExists func(ctx context.Context, id string) (bool, error)
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// DuplicateRadiusM and DuplicateLookback say what counts as the same
	// problem: an open request of the same service within the radius,
	// made within the lookback. 50 m and 7 days by default.
	DuplicateRadiusM  float64
	DuplicateLookback time.Duration
	// AnonymousRate and AnonymousBurst limit submissions per anonymous
	// source (client address); 1 per minute, burst 5 by default.
	AnonymousRate  rate.Limit
	AnonymousBurst int
	// KeyRate and KeyBurst limit submissions per Open311 client key;
	// 10/s, burst 50 by default.
	KeyRate  rate.Limit
	KeyBurst int
	// OnChange, if set, is told of every committed status change with
	// its note (the reporter's e-mail, live pages).
	OnChange func(ctx context.Context, r civic.ServiceRequest, n civic.RequestNote)
	Logger   *slog.Logger
}

// Desk implements civic.ServiceDesk over a store.
type Desk struct {
	o      Options
	mu     sync.Mutex
	limits map[string]*rate.Limiter
	// gen counts the changes made through this desk; GeoReport answers
	// cached under an older generation are stale.
	gen atomic.Uint64
}

// Generation is a number that changes whenever a request or service is
// changed through the desk.
func (d *Desk) Generation() uint64 { return d.gen.Load() }

var _ civic.ServiceDesk = (*Desk)(nil)

// NewDesk returns a desk.
func NewDesk(o Options) *Desk {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.DuplicateRadiusM <= 0 {
		o.DuplicateRadiusM = 50
	}
	if o.DuplicateLookback <= 0 {
		o.DuplicateLookback = 7 * 24 * time.Hour
	}
	if o.AnonymousRate <= 0 {
		o.AnonymousRate, o.AnonymousBurst = rate.Every(time.Minute), 5
	}
	if o.KeyRate <= 0 {
		o.KeyRate, o.KeyBurst = 10, 50
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return &Desk{o: o, limits: map[string]*rate.Limiter{}}
}

// maxLimiters bounds the limiter table; past it the table starts afresh
// (a flood of addresses then costs each one a fresh burst, no memory).
const maxLimiters = 50_000

func (d *Desk) allow(source string) bool {
	if source == "" {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	l := d.limits[source]
	if l == nil {
		if len(d.limits) >= maxLimiters {
			d.limits = map[string]*rate.Limiter{}
		}
		r, b := d.o.AnonymousRate, d.o.AnonymousBurst
		if strings.HasPrefix(source, "key:") {
			r, b = d.o.KeyRate, d.o.KeyBurst
		}
		l = rate.NewLimiter(r, b)
		d.limits[source] = l
	}
	return l.AllowN(d.o.Now(), 1)
}

// Services implements civic.ServiceDesk.
func (d *Desk) Services(ctx context.Context, all bool) ([]civic.Service, error) {
	return d.o.Store.ListServices(ctx, all)
}

// Service implements civic.ServiceDesk. Errors: NotFound.
func (d *Desk) Service(ctx context.Context, code string) (civic.Service, error) {
	return d.o.Store.Service(ctx, code)
}

// SaveService implements civic.ServiceDesk: admins manage the catalogue.
func (d *Desk) SaveService(ctx context.Context, p civic.Principal, s *civic.Service, create bool) error {
	if err := p.Require(civic.PermManageAccess); err != nil {
		return err
	}
	if s.Attributes == nil {
		s.Attributes = []civic.ServiceAttribute{}
	}
	defer d.gen.Add(1)
	if create {
		return d.o.Store.CreateService(ctx, s)
	}
	return d.o.Store.UpdateService(ctx, s)
}

// Seed creates the default services that are missing (by code). It
// leaves services that exist alone, so an admin's changes survive.
func (d *Desk) Seed(ctx context.Context) error {
	have, err := d.o.Store.ListServices(ctx, true)
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, s := range have {
		known[s.Code] = true
	}
	for _, s := range DefaultServices() {
		if known[s.Code] {
			continue
		}
		if err := d.o.Store.CreateService(ctx, &s); err != nil && !civic.IsKind(err, civic.Conflict) {
			return fmt.Errorf("seed service %s: %w", s.Code, err)
		}
	}
	return nil
}

// newToken returns a random token for GET tokens/{token}.
func newToken() string {
	var b [15]byte
	rand.Read(b[:])
	return strings.ToLower(base32.StdEncoding.EncodeToString(b[:]))
}

// Submit implements civic.ServiceDesk: it checks the rate limit of the
// source, validates the request against its service (attributes, the
// bin it is about), looks for duplicates, holds spam-looking reports for
// moderation, sets the SLA due time, and stores the request with its
// first note and photos. Errors: Unavailable (rate limited), Invalid
// naming the field, NotFound ("service_code": no such active service).
func (d *Desk) Submit(ctx context.Context, sub civic.Submission) (civic.SubmitResult, error) {
	var res civic.SubmitResult
	r := sub.Request
	if strings.TrimSpace(r.ServiceCode) == "" {
		return res, civic.FieldError("service_code", "is required")
	}
	svc, err := d.o.Store.Service(ctx, r.ServiceCode)
	if civic.IsKind(err, civic.NotFound) || (err == nil && !svc.Active) {
		return res, &civic.Error{Kind: civic.NotFound, Field: "service_code", Message: fmt.Sprintf("service_code %q is not a service", r.ServiceCode)}
	}
	if err != nil {
		return res, err
	}
	r.Description = strings.TrimSpace(strings.ReplaceAll(r.Description, "\r\n", "\n"))
	if err := r.Validate(); err != nil {
		return res, err
	}
	if r.Attributes, err = svc.CheckAttributes(sub.Attributes); err != nil {
		return res, err
	}
	if err := checkMedia(sub.Media); err != nil {
		return res, err
	}
	if r.ObjectType == "bin" || (r.ObjectType == "" && r.ObjectID != "") {
		r.ObjectType = "bin"
		if r.ObjectID == "" {
			return res, civic.FieldError("service_object_id", "is required with service_object_type")
		}
		if d.o.BinExists != nil {
			ok, err := d.o.BinExists(ctx, r.ObjectID)
			if err != nil {
				return res, err
			}
			if !ok {
				return res, civic.FieldError("service_object_id", "bin %q does not exist", r.ObjectID)
			}
		}
	}
	if !d.allow(sub.Source) {
		return res, civic.Errorf(civic.Unavailable, "too many reports from this sender; try again in a few minutes")
	}
	now := d.o.Now().UTC()
	r.RequestedAt, r.UpdatedAt = now, now
	r.Status = civic.StatusSubmitted
	r.Department = svc.Department
	r.AssignedTo, r.CloseReason, r.ClosedAt, r.DuplicateOf, r.StatusNotes = "", "", nil, "", ""
	r.Moderation, r.ModerationReason = civic.ModVisible, ""
	if svc.SLAHours > 0 {
		due := now.Add(time.Duration(svc.SLAHours * float64(time.Hour)))
		r.ExpectedAt = &due
	} else {
		r.ExpectedAt = nil
	}
	if why := spamReason(r.Description, sub.Attributes); why != "" {
		r.Moderation, r.ModerationReason = civic.ModHeld, why
	}
	dups, err := d.Duplicates(ctx, r)
	if err != nil {
		return res, err
	}
	res.Duplicates = dups
	if len(dups) > 0 && !sub.Force {
		res.Request = r
		return res, nil
	}
	r.Token = newToken()
	author := sub.Author
	if author == "" {
		author = "anonymous"
	}
	first := civic.RequestNote{Author: author, Type: "submitted", Status: civic.StatusSubmitted, Public: true, Text: "Report received."}
	if err := d.o.Store.CreateServiceRequest(ctx, &r, &first, sub.Media); err != nil {
		return res, err
	}
	d.gen.Add(1)
	res.Request = r
	switch {
	case r.Moderation == civic.ModHeld:
		res.Notice = "Your report was received and will be published once a moderator has checked it."
	case len(dups) > 0:
		res.Notice = fmt.Sprintf("Possibly the same problem as request %s, reported earlier.", dups[0].ID)
	case r.ExpectedAt != nil:
		res.Notice = fmt.Sprintf("%s requests are usually handled within %s.", svc.Name, humanHours(svc.SLAHours))
	}
	return res, nil
}

func humanHours(h float64) string {
	if h >= 48 && h == float64(int(h/24))*24 {
		return fmt.Sprintf("%d days", int(h/24))
	}
	if h == float64(int(h)) {
		return fmt.Sprintf("%d hours", int(h))
	}
	return fmt.Sprintf("%.1f hours", h)
}

// Duplicates implements civic.ServiceDesk: open, public requests of the
// same service within the radius and lookback; for a request about a
// bin, also those about the same bin wherever they were placed.
func (d *Desk) Duplicates(ctx context.Context, r civic.ServiceRequest) ([]civic.ServiceRequest, error) {
	open := []civic.RequestStatus{civic.StatusSubmitted, civic.StatusAcknowledged, civic.StatusAssigned, civic.StatusInProgress}
	since := d.o.Now().Add(-d.o.DuplicateLookback)
	var out []civic.ServiceRequest
	seen := map[string]bool{r.ID: true}
	add := func(f civic.ServiceRequestFilter) error {
		f.ServiceCodes, f.Statuses, f.RequestedFrom, f.PublicOnly, f.Limit = []string{r.ServiceCode}, open, since, true, 20
		rs, err := d.o.Store.ListServiceRequests(ctx, f)
		for _, x := range rs {
			if !seen[x.ID] && x.DuplicateOf == "" {
				seen[x.ID] = true
				out = append(out, x)
			}
		}
		return err
	}
	if r.ObjectType != "" && r.ObjectID != "" {
		if err := add(civic.ServiceRequestFilter{ObjectType: r.ObjectType, ObjectID: r.ObjectID}); err != nil {
			return nil, err
		}
	}
	if r.Lat != nil && r.Long != nil {
		if err := add(civic.ServiceRequestFilter{Near: true, Lat: *r.Lat, Long: *r.Long, RadiusM: d.o.DuplicateRadiusM}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Request implements civic.ServiceDesk. Errors: NotFound.
func (d *Desk) Request(ctx context.Context, id string) (civic.ServiceRequest, error) {
	return d.o.Store.ServiceRequest(ctx, id)
}

// Requests implements civic.ServiceDesk.
func (d *Desk) Requests(ctx context.Context, f civic.ServiceRequestFilter) ([]civic.ServiceRequest, error) {
	return d.o.Store.ListServiceRequests(ctx, f)
}

// CountRequests implements civic.ServiceDesk.
func (d *Desk) CountRequests(ctx context.Context, f civic.ServiceRequestFilter) (int, error) {
	return d.o.Store.CountServiceRequests(ctx, f)
}

// Notes implements civic.ServiceDesk.
func (d *Desk) Notes(ctx context.Context, id string, publicOnly bool) ([]civic.RequestNote, error) {
	return d.o.Store.RequestNotes(ctx, id, publicOnly)
}

// Media implements civic.ServiceDesk.
func (d *Desk) Media(ctx context.Context, id string, index int) (civic.RequestMedia, error) {
	return d.o.Store.RequestMedia(ctx, id, index)
}

// Photo limits.
const (
	MaxMediaFiles = 3
	MaxMediaBytes = 5 << 20
)

// checkMedia checks the photos' count, sizes and types. The type is
// sniffed from the bytes, never taken from the sender.
func checkMedia(ms []civic.RequestMedia) error {
	if len(ms) > MaxMediaFiles {
		return civic.FieldError("media", "at most %d files", MaxMediaFiles)
	}
	for i := range ms {
		if len(ms[i].Data) == 0 {
			return civic.FieldError(fmt.Sprintf("media[%d]", i), "is empty")
		}
		if len(ms[i].Data) > MaxMediaBytes {
			return civic.FieldError(fmt.Sprintf("media[%d]", i), "is larger than %d MiB", MaxMediaBytes>>20)
		}
		ct := sniffImage(ms[i].Data)
		if ct == "" {
			return civic.FieldError(fmt.Sprintf("media[%d]", i), "must be a JPEG, PNG, GIF or WebP image")
		}
		ms[i].ContentType = ct
	}
	return nil
}

func sniffImage(b []byte) string {
	switch {
	case len(b) > 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return "image/jpeg"
	case len(b) > 8 && string(b[:8]) == "\x89PNG\r\n\x1a\n":
		return "image/png"
	case len(b) > 6 && (string(b[:6]) == "GIF87a" || string(b[:6]) == "GIF89a"):
		return "image/gif"
	case len(b) > 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

var (
	linkRE = regexp.MustCompile(`(?i)https?://|www\.`)
	tagRE  = regexp.MustCompile(`<\s*/?\s*[a-zA-Z][^>]*>`)
	spamRE = regexp.MustCompile(`(?i)\b(viagra|cialis|casino|crypto ?currency|bitcoin|forex|payday loan|escort|porn|seo services|buy followers)\b`)
)

// spamReason says why a report looks like spam, or "" if it does not:
// links, markup, advertising words or a long run of one character.
func spamReason(desc string, attrs map[string][]string) string {
	text := desc
	for _, vs := range attrs {
		text += "\n" + strings.Join(vs, "\n")
	}
	switch {
	case len(linkRE.FindAllStringIndex(text, 3)) >= 2:
		return "several links"
	case tagRE.MatchString(text):
		return "HTML markup"
	case spamRE.MatchString(text):
		return "advertising words"
	case longRun(text, 20):
		return "a long run of one character"
	}
	return ""
}

// longRun reports whether s repeats one character n times in a row.
func longRun(s string, n int) bool {
	var last rune
	run := 0
	for _, c := range s {
		if c == last {
			run++
			if run >= n {
				return true
			}
		} else {
			last, run = c, 1
		}
	}
	return false
}
