package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/httperr"
)

// navItem is a link in the header, shown to the roles that use it.
type navItem struct {
	Path, Label string
	Roles       []civic.Role // nil: everyone who may read
}

// nav is the header navigation. Crews work from a phone on the street: they
// get their route and the map, and nothing to scroll past.
var nav = []navItem{
	{Path: "/crew", Label: "My route", Roles: []civic.Role{civic.RoleCrew}},
	{Path: "/", Label: "Map"},
	{Path: "/plans", Label: "Plans", Roles: []civic.Role{civic.RoleAdmin, civic.RoleSupervisor, civic.RoleAnalyst}},
	{Path: "/crew", Label: "Crews", Roles: []civic.Role{civic.RoleAdmin, civic.RoleSupervisor}},
	{Path: "/fleet", Label: "Fleet", Roles: []civic.Role{civic.RoleAdmin, civic.RoleSupervisor, civic.RoleAnalyst}},
	{Path: "/alerts", Label: "Alerts", Roles: []civic.Role{civic.RoleAdmin, civic.RoleSupervisor, civic.RoleAnalyst}},
	{Path: "/kpi", Label: "KPIs", Roles: []civic.Role{civic.RoleAdmin, civic.RoleSupervisor, civic.RoleAnalyst}},
	{Path: "/simulations", Label: "Simulations", Roles: []civic.Role{civic.RoleAdmin, civic.RoleSupervisor, civic.RoleAnalyst}},
	{Path: "/admin", Label: "Admin", Roles: []civic.Role{civic.RoleAdmin, civic.RoleSupervisor}},
	{Path: "/data", Label: "Open data", Roles: []civic.Role{civic.RoleAdmin, civic.RoleSupervisor, civic.RoleAnalyst}},
	{Path: "/queue", Label: "311", Roles: []civic.Role{civic.RoleAdmin, civic.RoleSupervisor}},
}

func navFor(p civic.Principal) []navItem {
	var out []navItem
	for _, n := range nav {
		if n.Roles == nil || containsRole(n.Roles, p.Role) {
			out = append(out, n)
		}
	}
	return out
}

func containsRole(rs []civic.Role, r civic.Role) bool {
	for _, x := range rs {
		if x == r {
			return true
		}
	}
	return false
}

// pageData is what every page template gets.
type pageData struct {
	Title     string
	Active    string // path of the nav item to highlight
	Principal civic.Principal
	Nav       []navItem
	Vendor    bool // the vendor assets are built
	// Tiles and TileAttribution are the map tile server and its credit,
	// on the page's body for scripts whose maps have no element of their
	// own to carry them (the 311 pages).
	Tiles, TileAttribution string
	// TZ is the city's time zone (an IANA name) for the charts' time
	// axes; empty: the browser's.
	TZ   string
	Data any
}

// parsePages parses each page template together with the layout.
// Times are shown in loc, the city's time zone.
func parsePages(a *staticFiles, loc *time.Location) map[string]*template.Template {
	funcs := template.FuncMap{
		"static": a.url,
		"pct":    pct,
		"pctInt": func(v int) string { return fmt.Sprintf("%d %%", v) },
		"num":    num,
		"when":   func(t time.Time) string { return whenIn(t, loc) },
		"ago":    ago,
		"level":  level,
		"mulf":   func(a, b float64) float64 { return a * b },
		"deref":  deref,
		"kmf":    func(v float64) string { return fmt.Sprintf("%.1f", v) },
		"fpct":   func(v float64) string { return fmt.Sprintf("%.0f %%", v*100) },
		"fixed1": func(v float64) string { return fmt.Sprintf("%.1f", v) },
		"dist":   stopDistance,
		"geo":    geoURI,
		"dur":    duration,
		"hours":  hoursText,
		"colour": routeColour,
		"rc":     func(seq int) int { return (max(seq, 1)-1)%len(routeColours) + 1 },
		"label":  streamLabel,
		"human":  func(v any) string { return strings.ReplaceAll(fmt.Sprint(v), "_", " ") },
		"rcOf": func(c string) int {
			for i, x := range routeColours {
				if x == c {
					return i + 1
				}
			}
			return 1
		},
		"circuity": func() float64 { return circuity },
		"add":      func(a, b int) int { return a + b },
		"dataTime": func(t time.Time) string { return dataTime(t, loc) },
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" {
			continue
		}
		t := template.Must(template.New(base).Funcs(funcs).ParseFS(files, "templates/layout.html", n))
		pages[strings.TrimSuffix(base, ".html")] = t
	}
	return pages
}

// render executes a page (or, with block set, one named template of it) into
// a buffer first, so a template error becomes a clean 500.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, page, block string, d pageData) {
	t, ok := u.pages[page]
	if !ok {
		u.fail(w, r, fmt.Errorf("web: no page %q", page))
		return
	}
	if block == "" {
		block = "layout"
	}
	d.Nav = navFor(d.Principal)
	d.Vendor = u.static.vendor
	d.Tiles, d.TileAttribution = u.cfg.TileURL, u.cfg.TileAttribution
	if loc := u.cfg.Location; loc != nil && loc != time.Local {
		d.TZ = loc.String()
	}
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, block, d); err != nil {
		u.fail(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	w.Write(b.Bytes())
}

// fail logs an unexpected error once and shows a plain error page.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	k := civic.KindOf(err)
	status := httperr.Status(k)
	if k == civic.Internal {
		u.log.Error("web: page failed", "path", r.URL.Path, "err", err)
	}
	msg := fieldMessage(err)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	// The page stands alone (no principal, no layout), yet it is a page
	// like the others for a screen reader: a language and a main landmark.
	text := template.HTMLEscapeString(http.StatusText(status))
	fmt.Fprintf(w, `<!doctype html><html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`+
		`<title>%d %s</title><link rel="stylesheet" href="%s"><main class="errorpage"><h1>%s</h1><p>%s</p><p><a href="/">Back to the map</a></p></main>`,
		status, text, u.static.url("app.css"), text, template.HTMLEscapeString(msg))
}

// fieldMessage is err's caller-safe message, led by the field it names
// unless the message already begins with it ("from: must be a date").
func fieldMessage(err error) string {
	msg := civic.MessageOf(err)
	if f := civic.FieldOf(err); f != "" && !strings.HasPrefix(msg, f) {
		msg = f + ": " + msg
	}
	return msg
}

func (u *UI) notFound(w http.ResponseWriter, r *http.Request) {
	u.fail(w, r, civic.Errorf(civic.NotFound, "There is no page at %s.", r.URL.Path))
}

// page guards a page handler: anonymous callers go to the login page,
// callers who may not read get 403.
func (u *UI) page(h func(http.ResponseWriter, *http.Request, civic.Principal)) http.HandlerFunc {
	return u.pageFor(civic.PermRead, h)
}

// reportPage guards a leadership report page (KPIs, simulations): as page,
// for callers with civic.PermReports.
func (u *UI) reportPage(h func(http.ResponseWriter, *http.Request, civic.Principal)) http.HandlerFunc {
	return u.pageFor(civic.PermReports, h)
}

func (u *UI) pageFor(perm civic.Permission, h func(http.ResponseWriter, *http.Request, civic.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := civic.PrincipalFrom(r.Context())
		if p.IsAnonymous() {
			target := "/login"
			if r.URL.Path != "/" || r.URL.RawQuery != "" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			if r.Header.Get("HX-Request") != "" {
				w.Header().Set("HX-Redirect", target)
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if err := p.Require(perm); err != nil {
			u.fail(w, r, err)
			return
		}
		h(w, r, p)
	}
}

// data guards a data endpoint (JSON, CSV, events): no redirects, a JSON
// error instead.
func (u *UI) data(h func(http.ResponseWriter, *http.Request, civic.Principal)) http.HandlerFunc {
	return u.dataFor(civic.PermRead, h)
}

// reportData is data for the leadership reports' downloads.
func (u *UI) reportData(h func(http.ResponseWriter, *http.Request, civic.Principal)) http.HandlerFunc {
	return u.dataFor(civic.PermReports, h)
}

func (u *UI) dataFor(perm civic.Permission, h func(http.ResponseWriter, *http.Request, civic.Principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		p := civic.PrincipalFrom(r.Context())
		if err := p.Require(perm); err != nil {
			u.dataError(w, r, err)
			return
		}
		h(w, r, p)
	}
}

// dataError writes err as the API does: {"error":{"code","message","field"}}.
func (u *UI) dataError(w http.ResponseWriter, r *http.Request, err error) {
	k := civic.KindOf(err)
	if k == civic.Internal {
		u.log.Error("web: request failed", "path", r.URL.Path, "err", err)
	}
	body := map[string]any{"error": map[string]string{"code": string(k), "message": civic.MessageOf(err), "field": civic.FieldOf(err)}}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(httperr.Status(k))
	json.NewEncoder(w).Encode(body)
}

// loginData is the login form's state.
type loginData struct {
	Name, Next, Error string
	// SSO names the single sign-on provider ("Sign in with SSO"), if any.
	SSO string
}

func (u *UI) loginPage(w http.ResponseWriter, r *http.Request) {
	next := safeNext(r.URL.Query().Get("next"))
	if !civic.PrincipalFrom(r.Context()).IsAnonymous() {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	u.render(w, r, http.StatusOK, "login", "", pageData{Title: "Sign in", Data: loginData{Next: next, SSO: u.ssoName()}})
}

func (u *UI) loginSubmit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		u.fail(w, r, civic.Errorf(civic.Invalid, "The form could not be read."))
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	next := safeNext(r.PostFormValue("next"))
	show := func(status int, msg string) {
		u.render(w, r, status, "login", "", pageData{Title: "Sign in", Data: loginData{Name: name, Next: next, Error: msg, SSO: u.ssoName()}})
	}
	if name == "" || password == "" {
		show(http.StatusBadRequest, "Enter your user name and password.")
		return
	}
	if u.deps.Login == nil {
		show(http.StatusServiceUnavailable, "Signing in is not available on this server.")
		return
	}
	token, expires, err := u.deps.Login(r.Context(), name, password)
	switch civic.KindOf(err) {
	case "":
	case civic.Unauthorized, civic.Invalid, civic.NotFound, civic.Forbidden:
		show(http.StatusUnauthorized, "Wrong user name or password.")
		return
	case civic.Unavailable:
		// Busy, or this name or address is locked for a while: the
		// message says which and for how long, never whether the
		// account exists.
		show(http.StatusServiceUnavailable, "Signing in is paused: "+civic.MessageOf(err)+".")
		return
	default:
		u.log.Error("web: login failed", "user", name, "err", err)
		show(http.StatusInternalServerError, "Signing in failed. Try again later.")
		return
	}
	u.startSession(w, r, token, expires, next)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(u.cfg.SessionCookie); err == nil && c.Value != "" && u.deps.Logout != nil {
		if err := u.deps.Logout(r.Context(), c.Value); err != nil && !civic.IsKind(err, civic.NotFound) {
			u.log.Error("web: logout", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name:     u.cfg.SessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		HttpOnly: true,
		Secure:   u.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// safeNext keeps a post-login redirect on this site. It accepts only a
// same-origin path: no control characters, spaces or backslashes anywhere
// (browsers drop tabs and newlines and read a backslash as "/", so a
// tab or a backslash after the first "/" gives "//evil", another host), and
// what remains must
// parse as a path with neither scheme nor host. Anything else, and the
// login page itself, becomes "/".
func safeNext(next string) string {
	for _, c := range next {
		if c <= ' ' || c == 0x7f || c == '\\' || (c >= 0x80 && c <= 0x9f) {
			return "/"
		}
	}
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/login") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return "/"
	}
	return next
}

// Template helpers.

// geoURI is an RFC 5870 geo: link that opens the phone's navigation app at
// a stop; built from numbers and an escaped name, so it is safe as a URL.
func geoURI(lat, lon float64, name string) template.URL {
	return template.URL(fmt.Sprintf("geo:%.6f,%.6f?q=%.6f,%.6f(%s)", lat, lon, lat, lon, url.QueryEscape(name)))
}

// deref reads a *bool or *float64 for comparisons in templates.
func deref(v any) any {
	switch x := v.(type) {
	case *bool:
		return x != nil && *x
	case *float64:
		if x == nil {
			return 0.0
		}
		return *x
	}
	return v
}

func pct(v *float64) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.0f %%", *v*100)
}

func num(v *float64, unit string) string {
	if v == nil {
		return "–"
	}
	return fmt.Sprintf("%.1f %s", *v, unit)
}

// whenIn is when in the time zone loc (UTC when nil), named by its
// abbreviation.
func whenIn(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "never"
	}
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02 15:04 MST")
}

// ago is a short relative time, as a crew reads it.
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d.Hours()))
	}
	return fmt.Sprintf("%d days ago", int(math.Floor(d.Hours()/24)))
}

// level is the fill class (0..4) the CSS colours and shapes by; -1 is
// unknown. The same thresholds are in static/map.js.
func level(fillPct int) int {
	switch {
	case fillPct < 0:
		return -1
	case fillPct < 50:
		return 0
	case fillPct < 75:
		return 1
	case fillPct < 90:
		return 2
	case fillPct < 100:
		return 3
	}
	return 4
}

// startSession gives the browser its session cookie (HttpOnly, SameSite
// Lax, Secure behind TLS) and sends it on to next: the end of a password
// login and of a single sign-on alike.
func (u *UI) startSession(w http.ResponseWriter, r *http.Request, token string, expires time.Time, next string) {
	http.SetCookie(w, &http.Cookie{
		Name:     u.cfg.SessionCookie,
		Value:    token,
		Path:     "/",
		Expires:  expires,
		HttpOnly: true,
		Secure:   u.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// pager numbers a page of rows and links its neighbours.
type pager struct {
	// First and Last number the rows shown (from 1) of Total; More
	// says there are rows after them; PrevURL and NextURL page through.
	First, Last, Total int
	More               bool
	PrevURL, NextURL   string
}

// paginate makes the pager of n rows shown from offset, size a page;
// more says rows follow them. count counts all the rows, called only when
// there is more than one page; link is the address of the page at an
// offset.
func paginate(offset, n, size int, more bool, count func() (int, error), link func(offset int) string) (pager, error) {
	pg := pager{Total: offset + n, More: more}
	if more || offset > 0 {
		var err error
		if pg.Total, err = count(); err != nil {
			return pg, err
		}
	}
	if n > 0 {
		pg.First, pg.Last = offset+1, offset+n
	}
	if offset > 0 {
		pg.PrevURL = link(max(0, offset-size))
	}
	if more {
		pg.NextURL = link(offset + size)
	}
	return pg, nil
}
