package server

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// Alerts, subscriptions and alert rules. Reading alerts and rules needs
// PermRead; acknowledging, resolving and changing the rules PermOperate
// (supervisors); subscriptions send city data to outside addresses with
// their own secrets, so they need PermManageAccess (admins). The handlers
// are routed only when the server has an AlertStore (alertRoutes).

// alertRoutes are the routes of alerts, subscriptions and alert rules.
// Without an AlertStore every one of them answers 503, so a client learns
// the feature is off rather than that the endpoint does not exist.
func (s *Server) alertRoutes() []route {
	rs := []route{
		{"GET /api/v1/alerts", s.api(s.handleListAlerts)},
		{"GET /api/v1/alerts/{id}", s.api(s.handleGetAlert)},
		{"POST /api/v1/alerts/ack", s.api(s.handleAckAlerts)},
		{"POST /api/v1/alerts/{id}/ack", s.api(s.handleAckAlert)},
		{"POST /api/v1/alerts/{id}/resolve", s.api(s.handleResolveAlert)},
		{"GET /api/v1/subscriptions", s.api(s.handleListSubscriptions)},
		{"POST /api/v1/subscriptions", s.api(s.handleCreateSubscription)},
		{"GET /api/v1/subscriptions/{id}", s.api(s.handleGetSubscription)},
		{"DELETE /api/v1/subscriptions/{id}", s.api(s.handleDeleteSubscription)},
		{"GET /api/v1/alert-rules", s.api(s.handleGetAlertRules)},
		{"PUT /api/v1/alert-rules", s.api(s.handlePutAlertRules)},
	}
	if s.alerts == nil {
		off := s.api(func(http.ResponseWriter, *http.Request) error {
			return civic.Errorf(civic.Unavailable, "alerts are not enabled on this server")
		})
		for i := range rs {
			rs[i].handler = off
		}
	}
	return rs
}

// handleListAlerts returns alerts filtered by status (open, acknowledged,
// resolved, unresolved or all), bin and rule, sorted by severity then age
// (sort=severity, the default) or newest first (sort=newest); limit
// defaults to 100, at most 1000, and offset pages on. next_offset is set
// when more alerts match.
func (s *Server) handleListAlerts(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	st := s.alerts
	q := r.URL.Query()
	f := civic.AlertFilter{BinID: q.Get("bin"), Rule: civic.RuleKind(q.Get("rule"))}
	switch v := q.Get("status"); v {
	case "", "all":
	case "unresolved":
		f.Unresolved = true
	default:
		f.Status = civic.AlertStatus(v)
		if !f.Status.Valid() {
			return civic.FieldError("status", "must be one of open, acknowledged, resolved, unresolved, all")
		}
	}
	if f.Rule != "" && !f.Rule.Valid() {
		return civic.FieldError("rule", "is not a known rule")
	}
	var err error
	if f.Limit, err = intParam(q.Get("limit"), "limit", 100, 1, 1000); err != nil {
		return err
	}
	if f.Offset, err = intParam(q.Get("offset"), "offset", 0, 0, 1<<30); err != nil {
		return err
	}
	f.Sort = civic.AlertSort(q.Get("sort"))
	if f.Sort == "" {
		f.Sort = civic.AlertSortSeverity
	}
	if !f.Sort.Valid() {
		return civic.FieldError("sort", "must be severity or newest")
	}
	limit := f.Limit
	f.Limit++ // one more tells whether there is a next page
	items, err := st.ListAlerts(r.Context(), f)
	if err != nil {
		return err
	}
	page := alertPage{Items: items}
	if len(items) > limit {
		page.Items = items[:limit]
		next := f.Offset + limit
		page.NextOffset = &next
	}
	if page.Items == nil {
		page.Items = []civic.Alert{}
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// alertPage is a page of GET /api/v1/alerts.
type alertPage struct {
	Items      []civic.Alert `json:"items"`
	NextOffset *int          `json:"next_offset,omitempty"` // the offset of the next page, when there is one
}

// ackBody is the body of POST /api/v1/alerts/ack.
type ackBody struct {
	IDs []string `json:"ids"`
}

// ackResult is the answer to POST /api/v1/alerts/ack: the alerts as they
// are now, and the ids that could not be acknowledged with why.
type ackResult struct {
	Items  []civic.Alert `json:"items"`
	Failed []ackFailure  `json:"failed"`
}

type ackFailure struct {
	ID    string `json:"id"`
	Error string `json:"error"`
}

// maxBulkAck bounds the alerts one bulk acknowledgement names.
const maxBulkAck = 500

// handleAckAlerts acknowledges several alerts at once, as the caller. An
// unknown or resolved alert does not stop the others: it is listed under
// failed.
func (s *Server) handleAckAlerts(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermOperate)
	if err != nil {
		return err
	}
	var body ackBody
	if err := decodeJSON(r, &body); err != nil {
		return err
	}
	if len(body.IDs) == 0 || len(body.IDs) > maxBulkAck {
		return civic.FieldError("ids", "must list 1 to %d alert ids", maxBulkAck)
	}
	out := ackResult{Items: []civic.Alert{}, Failed: []ackFailure{}}
	for _, id := range body.IDs {
		a, err := s.alerts.AckAlert(r.Context(), id, actor(p), s.now())
		switch {
		case err == nil:
			out.Items = append(out.Items, a)
			s.audit(r, "alert.ack", "alert/"+id, "bulk")
		case civic.IsKind(err, civic.NotFound), civic.IsKind(err, civic.Conflict), civic.IsKind(err, civic.Invalid):
			out.Failed = append(out.Failed, ackFailure{ID: id, Error: civic.MessageOf(err)})
		default:
			return err
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) handleGetAlert(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	st := s.alerts
	a, err := st.Alert(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// handleAckAlert acknowledges an alert as the caller. Acknowledging twice
// keeps the first; a resolved alert is a Conflict.
func (s *Server) handleAckAlert(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermOperate)
	if err != nil {
		return err
	}
	st := s.alerts
	id := r.PathValue("id")
	a, err := st.AckAlert(r.Context(), id, actor(p), s.now())
	if err != nil {
		return err
	}
	s.audit(r, "alert.ack", "alert/"+id, "")
	writeJSON(w, http.StatusOK, a)
	return nil
}

// resolveBody is the body of POST /api/v1/alerts/{id}/resolve.
type resolveBody struct {
	Note string `json:"note"`
}

// handleResolveAlert resolves an alert by hand with an optional note; an
// empty body means no note.
func (s *Server) handleResolveAlert(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermOperate)
	if err != nil {
		return err
	}
	st := s.alerts
	var body resolveBody
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonError(err)
	}
	if len(bytes.TrimSpace(raw)) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if err := decodeJSON(r, &body); err != nil {
			return err
		}
	}
	id := r.PathValue("id")
	a, err := st.ResolveAlert(r.Context(), id, actor(p), strings.TrimSpace(body.Note), s.now())
	if err != nil {
		return err
	}
	s.audit(r, "alert.resolve", "alert/"+id, a.Note)
	writeJSON(w, http.StatusOK, a)
	return nil
}

// hideSecret is a subscription as lists show it: the secret is shown only
// when the subscription is created.
func hideSecret(sub civic.Subscription) civic.Subscription {
	sub.Secret = ""
	return sub
}

func (s *Server) handleListSubscriptions(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermManageAccess); err != nil {
		return err
	}
	st := s.alerts
	subs, err := st.ListSubscriptions(r.Context())
	if err != nil {
		return err
	}
	items := make([]civic.Subscription, len(subs))
	for i, sub := range subs {
		items[i] = hideSecret(sub)
	}
	writeJSON(w, http.StatusOK, list[civic.Subscription]{Items: items})
	return nil
}

func (s *Server) handleGetSubscription(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermManageAccess); err != nil {
		return err
	}
	st := s.alerts
	sub, err := st.Subscription(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, hideSecret(sub))
	return nil
}

// handleCreateSubscription stores a subscription. The id and, for
// webhooks, the secret are generated when left out; the answer is the only
// place the secret is shown.
func (s *Server) handleCreateSubscription(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermManageAccess)
	if err != nil {
		return err
	}
	st := s.alerts
	var sub civic.Subscription
	if err := decodeJSON(r, &sub); err != nil {
		return err
	}
	if sub.Kind == civic.SubWebhook {
		if err := s.checkWebhookTarget(r.Context(), sub.URL); err != nil {
			return err
		}
	}
	if sub.ID == "" {
		sub.ID = "sub_" + randomHex(8)
	}
	if sub.Kind == civic.SubWebhook && sub.Secret == "" {
		sub.Secret = randomHex(32)
	}
	sub.CreatedBy = actor(p)
	if err := st.CreateSubscription(r.Context(), &sub); err != nil {
		return err
	}
	s.audit(r, "subscription.create", "subscription/"+sub.ID, string(sub.Kind))
	w.Header().Set("Location", r.URL.Path+"/"+sub.ID)
	writeJSON(w, http.StatusCreated, sub)
	return nil
}

func (s *Server) handleDeleteSubscription(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermManageAccess); err != nil {
		return err
	}
	st := s.alerts
	id := r.PathValue("id")
	if err := st.DeleteSubscription(r.Context(), id); err != nil {
		return err
	}
	s.audit(r, "subscription.delete", "subscription/"+id, "")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) handleGetAlertRules(w http.ResponseWriter, r *http.Request) error {
	if _, err := require(r, civic.PermRead); err != nil {
		return err
	}
	st := s.alerts
	rules, err := st.AlertRules(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rules)
	return nil
}

// handlePutAlertRules replaces the rule configuration: defaults and
// overrides; zero fields inherit. The alert engine applies it at its next
// refresh.
func (s *Server) handlePutAlertRules(w http.ResponseWriter, r *http.Request) error {
	p, err := require(r, civic.PermOperate)
	if err != nil {
		return err
	}
	st := s.alerts
	var rules civic.AlertRules
	if err := decodeJSON(r, &rules); err != nil {
		return err
	}
	rules.UpdatedBy = actor(p)
	if err := st.SetAlertRules(r.Context(), &rules); err != nil {
		return err
	}
	s.audit(r, "alert_rules.update", "alert-rules", "")
	stored, err := st.AlertRules(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, stored)
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}
