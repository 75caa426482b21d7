package web

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// The alert rules screen (PermOperate) and the notification subscriptions
// screen (PermManageAccess).

// ruleThreshold is a threshold the rules screen edits, named as in
// civic.RuleSettings' JSON.
type ruleThreshold struct {
	Name, Label string
	Int         bool
}

var ruleThresholds = []ruleThreshold{
	{Name: "full_fill", Label: "Full at fill (0–1; empty: each bin's own threshold)"},
	{Name: "overflow_hours", Label: "Overflow predicted within (hours)"},
	{Name: "fire_temp_c", Label: "Fire at temperature (°C)"},
	{Name: "tilt_deg", Label: "Tilted at (degrees)"},
	{Name: "door_open_minutes", Label: "Door open for (minutes)"},
	{Name: "low_battery", Label: "Low battery at (0–1; also the fleet page's limit)"},
	{Name: "offline_intervals", Label: "Offline after (expected intervals; also the fleet page's limit)"},
	{Name: "stuck_hours", Label: "Stuck sensor after (hours)"},
	{Name: "stuck_readings", Label: "Stuck sensor after (readings, 3–30)", Int: true},
	{Name: "jump_fill", Label: "Impossible fill jump (0–1 within 30 min)"},
	{Name: "zero_glitches", Label: "Lost echoes (lone zero readings)", Int: true},
}

// ruleScopeRow is the defaults or one override as the rules screen lists
// it.
type ruleScopeRow struct {
	Scope, Target string
	Raising       []civic.RuleKind // the rules that raise alerts for it
	Inherits      bool             // the override leaves the choice of rules to the wider scope
	Set           []string         // the thresholds it sets, "name=value"
}

// ruleFormField is a threshold with its value in the form.
type ruleFormField struct {
	ruleThreshold
	Value string
}

// rulesData is the rules screen's model.
type rulesData struct {
	Rows   []ruleScopeRow
	Rules  []civic.RuleKind
	Quiet  []civic.RuleKind
	Scopes []string
	// The form: the scope being edited.
	Scope, Target string
	SetRules      bool
	Raise         map[civic.RuleKind]bool
	Fields        []ruleFormField
	Flash, Error  string
	UpdatedBy     string
	UpdatedAt     string
}

// raising lists the rules s lets raise alerts.
func raising(s civic.RuleSettings) []civic.RuleKind {
	var out []civic.RuleKind
	for _, k := range civic.RuleKinds {
		if s.Enabled(k) {
			out = append(out, k)
		}
	}
	return out
}

// thresholdsSet lists the thresholds s sets, as "name=value".
func thresholdsSet(s civic.RuleSettings) ([]string, map[string]any) {
	b, _ := json.Marshal(s)
	var m map[string]any
	json.Unmarshal(b, &m)
	var out []string
	for _, t := range ruleThresholds {
		if v, ok := m[t.Name]; ok {
			out = append(out, t.Name+"="+recordCell(v))
		}
	}
	return out, m
}

func (u *UI) adminRules(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	q := r.URL.Query()
	u.renderRules(w, r, p, http.StatusOK, q.Get("scope"), q.Get("target"), q.Get("done"), "", nil)
}

// renderRules shows the rules with the form for scope ("defaults",
// "stream", "zone" or "bin") and target; posted, if set, refills the form
// after an error.
func (u *UI) renderRules(w http.ResponseWriter, r *http.Request, p civic.Principal, status int, scope, target, flash, msg string, posted url.Values) {
	st := u.deps.Alerts
	if st == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "Alerts are not enabled on this server."))
		return
	}
	rules, err := st.AlertRules(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := rulesData{Rules: civic.RuleKinds, Quiet: civic.QuietRules, Scopes: []string{"defaults", "stream", "zone", "bin"},
		Flash: flash, Error: msg, UpdatedBy: rules.UpdatedBy, Raise: map[civic.RuleKind]bool{}}
	if !rules.UpdatedAt.IsZero() {
		d.UpdatedAt = whenIn(rules.UpdatedAt, u.cfg.Location)
	}
	defaults := civic.DefaultRuleSettings()
	def := rules.Defaults
	if def.Disabled == nil {
		def.Disabled = defaults.Disabled
	}
	set, _ := thresholdsSet(rules.Defaults)
	d.Rows = append(d.Rows, ruleScopeRow{Scope: "defaults", Raising: raising(def), Set: set})
	for _, o := range rules.Overrides {
		set, _ := thresholdsSet(o.Settings)
		row := ruleScopeRow{Scope: string(o.Scope), Target: o.Target, Set: set, Inherits: o.Settings.Disabled == nil}
		if !row.Inherits {
			row.Raising = raising(o.Settings)
		}
		d.Rows = append(d.Rows, row)
	}
	if !slices.Contains(d.Scopes, scope) {
		scope = "defaults"
	}
	d.Scope, d.Target = scope, strings.TrimSpace(target)
	// The form starts from what the scope sets now.
	cur, found := rules.Defaults, scope == "defaults"
	for _, o := range rules.Overrides {
		if string(o.Scope) == scope && o.Target == d.Target {
			cur, found = o.Settings, true
		}
	}
	if !found {
		cur = civic.RuleSettings{}
	}
	_, vals := thresholdsSet(cur)
	effective := def
	if cur.Disabled != nil {
		effective.Disabled = cur.Disabled
	}
	d.SetRules = scope == "defaults" || cur.Disabled != nil
	for _, k := range civic.RuleKinds {
		d.Raise[k] = effective.Enabled(k)
	}
	for _, t := range ruleThresholds {
		v := ""
		if x, ok := vals[t.Name]; ok {
			v = recordCell(x)
		}
		if posted != nil {
			v = posted.Get(t.Name)
		}
		d.Fields = append(d.Fields, ruleFormField{ruleThreshold: t, Value: v})
	}
	if posted != nil {
		d.SetRules = scope == "defaults" || posted.Get("set_rules") != ""
		for _, k := range civic.RuleKinds {
			d.Raise[k] = slices.Contains(posted["raise"], string(k))
		}
	}
	u.render(w, r, status, "adminrules", "", pageData{Title: "Alert rules", Active: "/admin", Principal: p, Data: d})
}

// adminRulesSave stores the defaults or one override from the form.
func (u *UI) adminRulesSave(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	st := u.deps.Alerts
	if st == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "Alerts are not enabled on this server."))
		return
	}
	if err := readForm(w, r); err != nil {
		u.fail(w, r, err)
		return
	}
	f := r.PostForm
	scope, target := f.Get("scope"), strings.TrimSpace(f.Get("target"))
	show := func(status int, msg string) { u.renderRules(w, r, p, status, scope, target, "", msg, f) }
	m := map[string]any{}
	for _, t := range ruleThresholds {
		s := strings.TrimSpace(f.Get(t.Name))
		if s == "" {
			continue
		}
		v, err := strconv.ParseFloat(strings.ReplaceAll(s, ",", "."), 64)
		if err != nil || (t.Int && v != float64(int(v))) {
			show(http.StatusBadRequest, t.Name+": must be a number")
			return
		}
		m[t.Name] = v
	}
	var settings civic.RuleSettings
	b, _ := json.Marshal(m)
	if err := json.Unmarshal(b, &settings); err != nil {
		show(http.StatusBadRequest, "The thresholds could not be read.")
		return
	}
	if scope == "defaults" || f.Get("set_rules") != "" {
		settings.Disabled = []civic.RuleKind{}
		for _, k := range civic.RuleKinds {
			if !slices.Contains(f["raise"], string(k)) {
				settings.Disabled = append(settings.Disabled, k)
			}
		}
	}
	rules, err := st.AlertRules(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if scope == "defaults" {
		rules.Defaults = settings
	} else {
		o := civic.RuleOverride{Scope: civic.RuleScope(scope), Target: target, Settings: settings}
		i := slices.IndexFunc(rules.Overrides, func(x civic.RuleOverride) bool { return x.Scope == o.Scope && x.Target == target })
		if i >= 0 {
			rules.Overrides[i] = o
		} else {
			rules.Overrides = append(rules.Overrides, o)
		}
	}
	rules.UpdatedBy = actorOf(p)
	if err := st.SetAlertRules(r.Context(), &rules); err != nil {
		u.changeFailed(w, r, err, show)
		return
	}
	u.audit(r, p, "alert_rules.update", "alert-rules", scope+" "+target)
	v := url.Values{"scope": {scope}, "target": {target}, "done": {"saved " + strings.TrimSpace(scope+" "+target)}}
	http.Redirect(w, r, "/admin/rules?"+v.Encode(), http.StatusSeeOther)
}

// adminRulesDelete removes one override.
func (u *UI) adminRulesDelete(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	st := u.deps.Alerts
	if st == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "Alerts are not enabled on this server."))
		return
	}
	if err := readForm(w, r); err != nil {
		u.fail(w, r, err)
		return
	}
	scope, target := r.PostFormValue("scope"), r.PostFormValue("target")
	rules, err := st.AlertRules(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	rules.Overrides = slices.DeleteFunc(rules.Overrides, func(o civic.RuleOverride) bool { return string(o.Scope) == scope && o.Target == target })
	rules.UpdatedBy = actorOf(p)
	if err := st.SetAlertRules(r.Context(), &rules); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "alert_rules.update", "alert-rules", "removed "+scope+" "+target)
	http.Redirect(w, r, "/admin/rules?done="+url.QueryEscape("removed "+scope+" "+target), http.StatusSeeOther)
}

// subscriptionsData is the subscriptions screen's model.
type subscriptionsData struct {
	Subs       []civic.Subscription
	Rules      []civic.RuleKind
	Severities []civic.Severity
	Events     []civic.AlertEvent
	Flash      string
	Error      string
	CanTest    bool
	// New and Secret: the webhook subscription just made, whose secret is
	// shown this once.
	New    *civic.Subscription
	Secret string
}

func (u *UI) adminSubscriptions(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	u.renderSubscriptions(w, r, p, http.StatusOK, subscriptionsData{Flash: r.URL.Query().Get("done")})
}

func (u *UI) renderSubscriptions(w http.ResponseWriter, r *http.Request, p civic.Principal, status int, d subscriptionsData) {
	st := u.deps.Alerts
	if st == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "Alerts are not enabled on this server."))
		return
	}
	subs, err := st.ListSubscriptions(r.Context())
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d.Subs = subs
	d.Rules = civic.RuleKinds
	d.Severities = []civic.Severity{civic.SeverityInfo, civic.SeverityWarning, civic.SeverityCritical}
	d.Events = []civic.AlertEvent{civic.EventOpened, civic.EventAcknowledged, civic.EventResolved}
	d.CanTest = u.deps.Admin != nil && u.deps.Admin.SendTest != nil
	u.render(w, r, status, "adminsubs", "", pageData{Title: "Notifications", Active: "/admin", Principal: p, Data: d})
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

func (u *UI) adminSubscriptionCreate(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	st := u.deps.Alerts
	if st == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "Alerts are not enabled on this server."))
		return
	}
	if err := readForm(w, r); err != nil {
		u.fail(w, r, err)
		return
	}
	f := r.PostForm
	sub := civic.Subscription{ID: "sub_" + randomHex(8), Name: strings.TrimSpace(f.Get("name")), Kind: civic.SubscriptionKind(f.Get("kind")),
		MinSeverity: civic.Severity(f.Get("min_severity")), CreatedBy: actorOf(p)}
	switch sub.Kind {
	case civic.SubWebhook:
		sub.URL = strings.TrimSpace(f.Get("target"))
		sub.Secret = randomHex(32)
	case civic.SubEmail:
		sub.Email = strings.TrimSpace(f.Get("target"))
	}
	for _, k := range f["rule"] {
		sub.Rules = append(sub.Rules, civic.RuleKind(k))
	}
	for _, e := range f["event"] {
		sub.Events = append(sub.Events, civic.AlertEvent(e))
	}
	for _, z := range strings.Split(f.Get("zones"), ",") {
		if z = strings.TrimSpace(z); z != "" {
			sub.Zones = append(sub.Zones, z)
		}
	}
	if s := strings.TrimSpace(f.Get("digest_minutes")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			u.renderSubscriptions(w, r, p, http.StatusBadRequest, subscriptionsData{Error: "digest_minutes: must be a whole number of minutes"})
			return
		}
		sub.DigestMinutes = n
	}
	if err := st.CreateSubscription(r.Context(), &sub); err != nil {
		if sub.Kind == civic.SubWebhook && civic.FieldOf(err) == "url" || sub.Kind == civic.SubEmail && civic.FieldOf(err) == "email" {
			err = civic.FieldError("target", "%s", civic.MessageOf(err))
		}
		u.changeFailed(w, r, err, func(status int, msg string) {
			u.renderSubscriptions(w, r, p, status, subscriptionsData{Error: msg})
		})
		return
	}
	u.audit(r, p, "subscription.create", "subscription/"+sub.ID, string(sub.Kind))
	d := subscriptionsData{Flash: "created " + sub.ID}
	if sub.Kind == civic.SubWebhook {
		d.New, d.Secret = &sub, sub.Secret
	}
	u.renderSubscriptions(w, r, p, http.StatusCreated, d)
}

func (u *UI) adminSubscriptionDelete(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	st := u.deps.Alerts
	if st == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "Alerts are not enabled on this server."))
		return
	}
	id := r.PathValue("id")
	if err := st.DeleteSubscription(r.Context(), id); err != nil {
		u.fail(w, r, err)
		return
	}
	u.audit(r, p, "subscription.delete", "subscription/"+id, "admin page")
	http.Redirect(w, r, "/admin/subscriptions?done="+url.QueryEscape("deleted "+id), http.StatusSeeOther)
}

// adminSubscriptionTest sends a test notification at once and says how it
// went.
func (u *UI) adminSubscriptionTest(w http.ResponseWriter, r *http.Request, p civic.Principal) {
	st := u.deps.Alerts
	if st == nil || u.deps.Admin == nil || u.deps.Admin.SendTest == nil {
		u.fail(w, r, civic.Errorf(civic.Unavailable, "Test notifications are not enabled on this server."))
		return
	}
	id := r.PathValue("id")
	sub, err := st.Subscription(r.Context(), id)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	d := subscriptionsData{Flash: "test sent to " + cmpOr(sub.URL, sub.Email)}
	if err := u.deps.Admin.SendTest(r.Context(), sub); err != nil {
		d = subscriptionsData{Error: "The test to " + cmpOr(sub.URL, sub.Email) + " failed: " + err.Error()}
	}
	u.audit(r, p, "subscription.test", "subscription/"+id, d.Error)
	u.renderSubscriptions(w, r, p, http.StatusOK, d)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
