package civic

import (
	"context"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ---- 311: the services catalogue and service requests ----
//
// A Service is an entry of the 311 catalogue (Open311's service type); a
// ServiceRequest is one resident's report against it. The GeoReport v2
// names (service_code, status open/closed) are derived from these types by
// internal/open311; the staff workflow uses the finer RequestStatus.

// AttributeType is the datatype of a service attribute, as GeoReport v2
// names it.
type AttributeType string

// The attribute datatypes of GeoReport v2.
const (
	AttrString   AttributeType = "string"          // one line, <input>
	AttrNumber   AttributeType = "number"          // a number, <input>
	AttrDatetime AttributeType = "datetime"        // an ISO 8601 date and time
	AttrText     AttributeType = "text"            // several lines, <textarea>
	AttrSingle   AttributeType = "singlevaluelist" // one of Values, <select>
	AttrMulti    AttributeType = "multivaluelist"  // several of Values, <select multiple>
)

// maxAttrValues caps the values of a list attribute.
const maxAttrValues = 50

// Valid reports whether t is a GeoReport v2 datatype.
func (t AttributeType) Valid() bool {
	switch t {
	case AttrString, AttrNumber, AttrDatetime, AttrText, AttrSingle, AttrMulti:
		return true
	}
	return false
}

// AttributeValue is one choice of a list attribute.
type AttributeValue struct {
	Key  string `json:"key"`
	Name string `json:"name"`
}

// ServiceAttribute is one extra field of a service's request form.
type ServiceAttribute struct {
	Code string `json:"code"`
	// Variable is false for an attribute that only informs the reporter
	// (its Description is shown, no input is taken).
	Variable            bool             `json:"variable"`
	Datatype            AttributeType    `json:"datatype"`
	Required            bool             `json:"required"`
	DatatypeDescription string           `json:"datatype_description,omitempty"`
	Order               int              `json:"order"`
	Description         string           `json:"description"`
	Values              []AttributeValue `json:"values,omitempty"`
}

// Service is an entry of the 311 catalogue.
type Service struct {
	Code        string   `json:"code"`
	Name        string   `json:"name"`
	Description string   `json:"description,omitempty"`
	Group       string   `json:"group,omitempty"`
	Keywords    []string `json:"keywords,omitempty"`
	// Department is who handles the requests, e.g. "sanitation"; new
	// requests are assigned to it.
	Department string `json:"department,omitempty"`
	// SLAHours is how long the city promises to take, from submission to
	// closing; 0 means no promise.
	SLAHours   float64            `json:"sla_hours"`
	Attributes []ServiceAttribute `json:"attributes"`
	// WasteLink marks services about a bin's waste (overflowing, missed
	// collection): a report filed near a bin is linked to it, an open
	// request makes the bin must-go in the next plan and a collection of
	// the bin closes it.
	WasteLink bool `json:"waste_link"`
	// BinLink marks other services about a bin (a damaged bin): a report
	// filed near a bin is linked to it, for the bin's page and the
	// request's, and changes nothing in the plans. WasteLink implies it.
	BinLink bool `json:"bin_link"`
	// Active services are offered to reporters; inactive ones keep their
	// old requests.
	Active    bool      `json:"active"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Validate checks s, its attributes and their values.
func (s *Service) Validate() error {
	if err := ValidateID("code", s.Code); err != nil {
		return err
	}
	if len(s.Code) > 64 {
		return FieldError("code", "must be at most 64 characters")
	}
	if strings.TrimSpace(s.Name) == "" || len(s.Name) > 200 {
		return FieldError("name", "is required, at most 200 characters")
	}
	if len(s.Description) > 2000 {
		return FieldError("description", "must be at most 2000 characters")
	}
	if len(s.Group) > 100 || len(s.Department) > 100 {
		return FieldError("group", "group and department must be at most 100 characters")
	}
	for i, k := range s.Keywords {
		if strings.TrimSpace(k) == "" || strings.Contains(k, ",") || len(k) > 50 {
			return FieldError("keywords["+strconv.Itoa(i)+"]", "must be a word or phrase without commas, at most 50 characters")
		}
	}
	if !(s.SLAHours >= 0 && s.SLAHours <= 24*365) {
		return FieldError("sla_hours", "must be between 0 and 8760")
	}
	if len(s.Attributes) > 30 {
		return FieldError("attributes", "at most 30 attributes")
	}
	codes := map[string]bool{}
	orders := map[int]bool{}
	for i, a := range s.Attributes {
		f := "attributes[" + strconv.Itoa(i) + "]"
		if err := ValidateID(f+".code", a.Code); err != nil {
			return err
		}
		if codes[a.Code] {
			return FieldError(f+".code", "%q appears twice", a.Code)
		}
		codes[a.Code] = true
		if !a.Datatype.Valid() {
			return FieldError(f+".datatype", "must be one of string, number, datetime, text, singlevaluelist, multivaluelist")
		}
		if a.Order < 1 || orders[a.Order] {
			return FieldError(f+".order", "must be a positive integer, unique within the service")
		}
		orders[a.Order] = true
		if a.Required && !a.Variable {
			return FieldError(f+".required", "an attribute that takes no input cannot be required")
		}
		if len(a.Description) > 1000 || len(a.DatatypeDescription) > 500 {
			return FieldError(f+".description", "must be at most 1000 characters")
		}
		list := a.Datatype == AttrSingle || a.Datatype == AttrMulti
		if list && len(a.Values) == 0 {
			return FieldError(f+".values", "a list attribute needs values")
		}
		if !list && len(a.Values) > 0 {
			return FieldError(f+".values", "only list attributes have values")
		}
		if len(a.Values) > maxAttrValues {
			return FieldError(f+".values", "at most %d values", maxAttrValues)
		}
		keys := map[string]bool{}
		for j, v := range a.Values {
			vf := f + ".values[" + strconv.Itoa(j) + "]"
			if v.Key == "" || len(v.Key) > 100 || keys[v.Key] {
				return FieldError(vf+".key", "is required, unique, at most 100 characters")
			}
			keys[v.Key] = true
			if strings.TrimSpace(v.Name) == "" || len(v.Name) > 200 {
				return FieldError(vf+".name", "is required, at most 200 characters")
			}
		}
	}
	return nil
}

// Metadata reports whether the service has attributes, GeoReport's
// "metadata": clients must then fetch its definition.
func (s *Service) Metadata() bool { return len(s.Attributes) > 0 }

// SortedAttributes returns the attributes in their display order.
func (s *Service) SortedAttributes() []ServiceAttribute {
	out := slices.Clone(s.Attributes)
	slices.SortFunc(out, func(a, b ServiceAttribute) int { return a.Order - b.Order })
	return out
}

// MaxAttributeLen caps one attribute value.
const MaxAttributeLen = 4000

// CheckAttributes validates submitted attribute values against the
// service: required attributes are present, list values are known keys,
// numbers and datetimes parse, single-valued attributes have one value.
// Unknown codes are rejected. It returns the values cleaned (trimmed,
// empty ones dropped). Errors name the field "attribute[CODE]".
func (s *Service) CheckAttributes(in map[string][]string) (map[string][]string, error) {
	byCode := map[string]ServiceAttribute{}
	for _, a := range s.Attributes {
		byCode[a.Code] = a
	}
	codes := make([]string, 0, len(in))
	for c := range in {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	out := map[string][]string{}
	for _, c := range codes {
		f := "attribute[" + c + "]"
		a, ok := byCode[c]
		if !ok || !a.Variable {
			return nil, FieldError(f, "is not an attribute of service %s", s.Code)
		}
		var vals []string
		for _, v := range in[c] {
			if a.Datatype != AttrText {
				v = strings.TrimSpace(v)
			}
			if v == "" {
				continue
			}
			if !utf8.ValidString(v) || len(v) > MaxAttributeLen {
				return nil, FieldError(f, "must be UTF-8 text of at most %d bytes", MaxAttributeLen)
			}
			vals = append(vals, v)
		}
		if len(vals) == 0 {
			continue
		}
		if a.Datatype != AttrMulti && len(vals) > 1 {
			return nil, FieldError(f, "takes one value")
		}
		switch a.Datatype {
		case AttrString:
			if strings.ContainsAny(vals[0], "\r\n") {
				return nil, FieldError(f, "must be one line")
			}
		case AttrNumber:
			n, err := strconv.ParseFloat(vals[0], 64)
			if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
				return nil, FieldError(f, "must be a number")
			}
		case AttrDatetime:
			if _, err := ParseW3CTime(vals[0]); err != nil {
				return nil, FieldError(f, "must be a date and time with a time zone, e.g. 2026-03-10T08:15:30Z")
			}
		case AttrSingle, AttrMulti:
			if len(vals) > maxAttrValues {
				return nil, FieldError(f, "too many values")
			}
			seen := map[string]bool{}
			for _, v := range vals {
				if !slices.ContainsFunc(a.Values, func(x AttributeValue) bool { return x.Key == v }) {
					return nil, FieldError(f, "%q is not one of its values", v)
				}
				if seen[v] {
					return nil, FieldError(f, "%q is given twice", v)
				}
				seen[v] = true
			}
		}
		out[c] = vals
	}
	for _, a := range s.Attributes {
		if a.Required && len(out[a.Code]) == 0 {
			return nil, FieldError("attribute["+a.Code+"]", "is required")
		}
	}
	return out, nil
}

// ParseW3CTime parses the W3C date and time profile GeoReport uses: a
// date, a time to the second (fractions allowed) and a time zone, which
// is required ("Z" or ±hh:mm).
func ParseW3CTime(s string) (time.Time, error) {
	if len(s) < 20 || len(s) > 35 || s[10] != 'T' {
		return time.Time{}, FieldError("", "not a W3C date and time")
	}
	return time.Parse(time.RFC3339Nano, s)
}

// RequestStatus is a service request's place in the staff workflow.
type RequestStatus string

// The workflow statuses, in order. Open311 calls every one but closed
// "open".
const (
	StatusSubmitted    RequestStatus = "submitted"
	StatusAcknowledged RequestStatus = "acknowledged"
	StatusAssigned     RequestStatus = "assigned"
	StatusInProgress   RequestStatus = "in_progress"
	StatusClosed       RequestStatus = "closed"
)

// RequestStatuses lists the statuses in workflow order.
var RequestStatuses = []RequestStatus{StatusSubmitted, StatusAcknowledged, StatusAssigned, StatusInProgress, StatusClosed}

// Valid reports whether s is a known status.
func (s RequestStatus) Valid() bool { return slices.Contains(RequestStatuses, s) }

// Rank is s's position in the workflow.
func (s RequestStatus) Rank() int { return slices.Index(RequestStatuses, s) }

// Open reports whether s is any status but closed.
func (s RequestStatus) Open() bool { return s != StatusClosed }

// CloseReason says why a request was closed.
type CloseReason string

// The close reasons.
const (
	CloseFixed          CloseReason = "fixed"
	CloseDuplicate      CloseReason = "duplicate"
	CloseNotResponsible CloseReason = "not_city_responsibility"
	CloseNoAction       CloseReason = "no_further_action"
)

// Valid reports whether r is a known close reason.
func (r CloseReason) Valid() bool {
	switch r {
	case CloseFixed, CloseDuplicate, CloseNotResponsible, CloseNoAction:
		return true
	}
	return false
}

// Label is the reason as residents read it.
func (r CloseReason) Label() string {
	switch r {
	case CloseFixed:
		return "Fixed"
	case CloseDuplicate:
		return "Duplicate of an earlier report"
	case CloseNotResponsible:
		return "Not the city's responsibility"
	case CloseNoAction:
		return "No further action"
	}
	return ""
}

// Moderation is whether a request's text and photos are shown publicly.
type Moderation string

// The moderation states.
const (
	ModVisible Moderation = ""       // shown
	ModHeld    Moderation = "held"   // looks like spam: waits for a moderator
	ModHidden  Moderation = "hidden" // hidden by a moderator, with a reason
)

// Contact is how to reach a reporter. It is never shown publicly.
type Contact struct {
	Email     string `json:"email,omitempty"`
	Phone     string `json:"phone,omitempty"`
	FirstName string `json:"first_name,omitempty"`
	LastName  string `json:"last_name,omitempty"`
	DeviceID  string `json:"device_id,omitempty"`
	AccountID string `json:"account_id,omitempty"`
}

// ServiceRequest is a resident's report.
type ServiceRequest struct {
	// ID is assigned by the store: a decimal number, as a string.
	ID string `json:"id"`
	// Token is handed out on submission; GET tokens/{token} finds the id.
	Token       string        `json:"-"`
	ServiceCode string        `json:"service_code"`
	ServiceName string        `json:"service_name,omitempty"` // read from the catalogue
	Status      RequestStatus `json:"status"`
	CloseReason CloseReason   `json:"close_reason,omitempty"`
	Description string        `json:"description,omitempty"`
	Lat         *float64      `json:"lat,omitempty"`
	Long        *float64      `json:"long,omitempty"`
	Address     string        `json:"address,omitempty"`
	AddressID   string        `json:"address_id,omitempty"`
	Zipcode     string        `json:"zipcode,omitempty"`
	MediaURL    string        `json:"media_url,omitempty"`
	// Attributes are the values of the service's attributes by code.
	Attributes map[string][]string `json:"attributes,omitempty"`
	// ObjectType and ObjectID name what the request is about, e.g. a bin
	// ("bin", "B-0042").
	ObjectType string  `json:"service_object_type,omitempty"`
	ObjectID   string  `json:"service_object_id,omitempty"`
	Contact    Contact `json:"contact"`
	// Department, AssignedTo: who works on it ("crew:C1", "user:ann", or
	// any name staff use).
	Department string `json:"department,omitempty"`
	AssignedTo string `json:"assigned_to,omitempty"`
	// StatusNotes is the latest public note, GeoReport's status_notes.
	StatusNotes      string     `json:"status_notes,omitempty"`
	Moderation       Moderation `json:"moderation,omitempty"`
	ModerationReason string     `json:"moderation_reason,omitempty"`
	DuplicateOf      string     `json:"duplicate_of,omitempty"`
	Channel          string     `json:"channel,omitempty"` // web, open311, staff
	MediaCount       int        `json:"media_count"`
	RequestedAt      time.Time  `json:"requested_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
	// ExpectedAt is the SLA due time; nil for services without an SLA.
	ExpectedAt *time.Time `json:"expected_at,omitempty"`
	ClosedAt   *time.Time `json:"closed_at,omitempty"`
}

// MaxDescription is GeoReport's limit on a request's description.
const MaxDescription = 4000

// Validate checks the reporter's input of r.
func (r *ServiceRequest) Validate() error {
	if r.ServiceCode == "" {
		return FieldError("service_code", "is required")
	}
	if (r.Lat == nil) != (r.Long == nil) {
		return FieldError("long", "lat and long must be given together")
	}
	if r.Lat != nil {
		if err := ValidateLatLon(*r.Lat, *r.Long); err != nil {
			return err
		}
	}
	if r.Lat == nil && strings.TrimSpace(r.Address) == "" && r.AddressID == "" && r.ObjectID == "" {
		return FieldError("lat", "a location is required: lat and long, address_string or address_id")
	}
	if utf8.RuneCountInString(r.Description) > MaxDescription || !utf8.ValidString(r.Description) {
		return FieldError("description", "must be UTF-8 text of at most %d characters", MaxDescription)
	}
	for f, v := range map[string]string{"address_string": r.Address, "address_id": r.AddressID, "zipcode": r.Zipcode,
		"email": r.Contact.Email, "phone": r.Contact.Phone, "first_name": r.Contact.FirstName, "last_name": r.Contact.LastName,
		"device_id": r.Contact.DeviceID, "account_id": r.Contact.AccountID, "service_object_type": r.ObjectType,
		"service_object_id": r.ObjectID} {
		if len(v) > 250 || !utf8.ValidString(v) || strings.ContainsAny(v, "\r\n\x00") {
			return FieldError(f, "must be one line of at most 250 characters")
		}
	}
	if len(r.MediaURL) > 1000 {
		return FieldError("media_url", "must be at most 1000 characters")
	}
	if r.MediaURL != "" && !strings.HasPrefix(r.MediaURL, "https://") && !strings.HasPrefix(r.MediaURL, "http://") && !strings.HasPrefix(r.MediaURL, "/") {
		return FieldError("media_url", "must be an http or https URL")
	}
	if e := r.Contact.Email; e != "" && (!strings.Contains(e, "@") || strings.ContainsAny(e, " <>")) {
		return FieldError("email", "is not an e-mail address")
	}
	return nil
}

// Public reports whether anyone may see the request's text: not held for
// moderation nor hidden.
func (r *ServiceRequest) Public() bool { return r.Moderation == ModVisible }

// Overdue reports whether r is open past its SLA due time at now.
func (r *ServiceRequest) Overdue(now time.Time) bool {
	return r.Status.Open() && r.ExpectedAt != nil && now.After(*r.ExpectedAt)
}

// RequestNote is one entry of a request's history: a status change, an
// assignment or a comment. Internal notes (Public false) are for staff.
type RequestNote struct {
	ID        int64         `json:"id"`
	RequestID string        `json:"request_id"`
	Time      time.Time     `json:"time"`
	Author    string        `json:"author"`
	Type      string        `json:"type"` // submitted, acknowledged, assigned, in_progress, closed, reopened, note, merged, moderated
	Status    RequestStatus `json:"status"`
	Public    bool          `json:"public"`
	Text      string        `json:"text"`
}

// RequestMedia is a photo uploaded with a request.
type RequestMedia struct {
	ID          int64  `json:"id"`
	RequestID   string `json:"request_id"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"-"`
}

// ServiceRequestFilter selects service requests, newest first. Empty
// fields do not filter.
type ServiceRequestFilter struct {
	IDs          []string
	ServiceCodes []string
	Statuses     []RequestStatus
	// RequestedFrom/To bound requested_at, [From, To]; UpdatedAfter and
	// UpdatedBefore bound updated_at, exclusive.
	RequestedFrom, RequestedTo  time.Time
	UpdatedAfter, UpdatedBefore time.Time
	ObjectType, ObjectID        string
	// PublicOnly leaves out requests held or hidden by moderation;
	// Moderation, if set (held or hidden), keeps only requests in that
	// moderation state.
	PublicOnly bool
	Moderation Moderation
	// NotHidden leaves out the requests a moderator hid, as the KPI
	// report does.
	NotHidden bool
	// Zone keeps the requests in that zone, as the KPI report places
	// them: the zone of the bin a request is about, else the first zone
	// (by id) whose boundary contains its location. Errors: Invalid
	// ("zone") when there is no such zone.
	Zone string
	// Zones, when not nil, are every zone ordered by id (as
	// AssetStore.ListZones returns them), for Zone to use instead of
	// reading them again: a page that lists the zones beside the
	// requests reads them once.
	Zones      []Zone
	Department string
	AssignedTo string
	// OverdueAt selects open requests whose due time is before it.
	OverdueAt time.Time
	// Near selects requests within RadiusM metres of (Lat, Long).
	Near          bool
	Lat, Long     float64
	RadiusM       float64
	Limit, Offset int
}

// BinRequest is an open request about a bin that makes it must-go.
type BinRequest struct {
	BinID       string    `json:"bin_id"`
	RequestID   string    `json:"request_id"`
	ServiceName string    `json:"service_name"`
	Description string    `json:"description"`
	RequestedAt time.Time `json:"requested_at"`
}

// ServiceRequestStore keeps the 311 catalogue and service requests.
// Errors: Invalid naming the field, NotFound, Conflict (a service code
// that exists).
type ServiceRequestStore interface {
	CreateService(ctx context.Context, s *Service) error
	UpdateService(ctx context.Context, s *Service) error
	Service(ctx context.Context, code string) (Service, error)
	// ListServices returns the catalogue ordered by group and name;
	// inactive services only when all is true.
	ListServices(ctx context.Context, all bool) ([]Service, error)

	// CreateServiceRequest stores r with its first note and media in one
	// transaction and sets r.ID, r.RequestedAt and r.UpdatedAt (from
	// r.RequestedAt when set). The service must exist: Invalid
	// "service_code" otherwise.
	CreateServiceRequest(ctx context.Context, r *ServiceRequest, first *RequestNote, media []RequestMedia) error
	ServiceRequest(ctx context.Context, id string) (ServiceRequest, error)
	ServiceRequestByToken(ctx context.Context, token string) (ServiceRequest, error)
	ListServiceRequests(ctx context.Context, f ServiceRequestFilter) ([]ServiceRequest, error)
	CountServiceRequests(ctx context.Context, f ServiceRequestFilter) (int, error)
	// UpdateServiceRequest writes the workflow fields of r (status, close
	// reason, assignment, moderation, duplicate_of, status notes,
	// expected and closed times) and appends note, in one transaction; it
	// sets r.UpdatedAt. It fails with Conflict when the stored UpdatedAt
	// differs from r.UpdatedAt (someone changed it meanwhile).
	UpdateServiceRequest(ctx context.Context, r *ServiceRequest, note *RequestNote) error
	RequestNotes(ctx context.Context, id string, publicOnly bool) ([]RequestNote, error)
	// RequestMedia returns the request's index-th photo, from 1.
	RequestMedia(ctx context.Context, requestID string, index int) (RequestMedia, error)
	// OpenBinRequests lists the open, visible requests of waste-linked
	// services about bins.
	OpenBinRequests(ctx context.Context) ([]BinRequest, error)
}

// Submission is a report as a reporter sends it, before validation.
type Submission struct {
	Request ServiceRequest
	// Attributes are the raw attribute values by code.
	Attributes map[string][]string
	Media      []RequestMedia
	// Source identifies the sender for rate limits: "ip:ADDR" for
	// anonymous reporters, "key:ID" for Open311 clients.
	Source string
	// Author names the reporter in the history ("anonymous", a key name).
	Author string
	// Force submits even when duplicates are found (the reporter saw them).
	Force bool
}

// SubmitResult is what a submission produced.
type SubmitResult struct {
	// Request is the stored request; its ID is empty when Duplicates were
	// found and the submission was not forced.
	Request ServiceRequest
	// Duplicates are open requests for the same service nearby, newest
	// first.
	Duplicates []ServiceRequest
	// Notice is shown to the reporter (GeoReport service_notice).
	Notice string
}

// RequestAction is one staff action on a service request.
type RequestAction struct {
	// Action is one of acknowledge, assign, start, close, reopen, note,
	// merge, hide, approve.
	Action string `json:"action"`
	// Department and AssignedTo, for assign.
	Department string `json:"department,omitempty"`
	AssignedTo string `json:"assigned_to,omitempty"`
	// Reason, for close.
	Reason CloseReason `json:"reason,omitempty"`
	// Text is the note; Public makes it visible to everyone (it becomes
	// the request's status notes). Required for note and hide (the
	// moderation reason).
	Text   string `json:"text,omitempty"`
	Public bool   `json:"public,omitempty"`
	// Into is the request a duplicate is merged into, for merge.
	Into string `json:"into,omitempty"`
}

// ServiceDesk is the 311 service: the catalogue, submissions with
// duplicate detection and spam holds, and the staff workflow. The
// GeoReport API, the JSON API and the pages all go through it.
type ServiceDesk interface {
	Services(ctx context.Context, all bool) ([]Service, error)
	Service(ctx context.Context, code string) (Service, error)
	// SaveService creates (create true) or replaces a service; it needs
	// PermManageAccess (admins).
	SaveService(ctx context.Context, p Principal, s *Service, create bool) error
	Submit(ctx context.Context, sub Submission) (SubmitResult, error)
	Request(ctx context.Context, id string) (ServiceRequest, error)
	Requests(ctx context.Context, f ServiceRequestFilter) ([]ServiceRequest, error)
	// CountRequests counts the requests Requests would list without
	// f's Limit and Offset.
	CountRequests(ctx context.Context, f ServiceRequestFilter) (int, error)
	Notes(ctx context.Context, id string, publicOnly bool) ([]RequestNote, error)
	// Media returns the request's index-th photo, from 1.
	Media(ctx context.Context, id string, index int) (RequestMedia, error)
	// Duplicates lists open requests of the same service near r.
	Duplicates(ctx context.Context, r ServiceRequest) ([]ServiceRequest, error)
	// Act applies a staff action; it needs PermOperate. Errors: Invalid
	// (a transition the workflow does not allow, a missing reason),
	// NotFound, Conflict.
	Act(ctx context.Context, p Principal, id string, a RequestAction) (ServiceRequest, error)
}
