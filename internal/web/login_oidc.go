package web

import (
	"context"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// SingleSignOn is an OpenID Connect provider the login page offers
// (auth.OIDC behind an adapter in cmd/civic).
type SingleSignOn interface {
	// Name is the provider as the login page names it.
	Name() string
	// Begin returns the provider's authorization URL and the flow, a
	// secret cookie-safe string the browser must bring back to Finish.
	Begin(ctx context.Context) (authURL, flow string, err error)
	// Finish completes the login at the callback and returns a session
	// token and its expiry. Errors: Invalid (state), Unauthorized (code or
	// token refused), Forbidden (no role, account disabled), Unavailable.
	Finish(ctx context.Context, flow, state, code string) (token string, expires time.Time, err error)
}

// ssoCookie carries the flow and the page to return to from /login/oidc
// to its callback; only these two paths receive it, and it lasts as long
// as a person may take at the provider.
const (
	ssoCookie     = "civic_oidc"
	ssoCookiePath = "/login/oidc"
	ssoCookieLife = 10 * time.Minute
)

func (u *UI) ssoName() string {
	if u.deps.SSO == nil {
		return ""
	}
	return u.deps.SSO.Name()
}

// ssoBegin sends the browser to the provider, keeping the flow in a
// cookie. SameSite=Lax: the provider's redirect back is a top-level GET,
// which carries it.
func (u *UI) ssoBegin(w http.ResponseWriter, r *http.Request) {
	if u.deps.SSO == nil {
		u.fail(w, r, civic.Errorf(civic.NotFound, "Single sign-on is not configured on this server."))
		return
	}
	next := safeNext(r.URL.Query().Get("next"))
	authURL, flow, err := u.deps.SSO.Begin(r.Context())
	if err != nil {
		u.ssoFailed(w, r, next, err)
		return
	}
	u.setSSOCookie(w, flow+"|"+base64.RawURLEncoding.EncodeToString([]byte(next)), int(ssoCookieLife/time.Second))
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, authURL, http.StatusSeeOther)
}

// ssoCallback finishes the login the provider sends back, always ending
// the flow (a flow serves one attempt).
func (u *UI) ssoCallback(w http.ResponseWriter, r *http.Request) {
	if u.deps.SSO == nil {
		u.fail(w, r, civic.Errorf(civic.NotFound, "Single sign-on is not configured on this server."))
		return
	}
	u.setSSOCookie(w, "", -1)
	var flow string
	next := "/"
	if c, err := r.Cookie(ssoCookie); err == nil {
		f, n, _ := strings.Cut(c.Value, "|")
		flow = f
		if b, err := base64.RawURLEncoding.DecodeString(n); err == nil {
			next = safeNext(string(b))
		}
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		// The provider refused or the person cancelled; its words are
		// shown as text, never as markup.
		msg := "the sign-in provider did not sign you in (" + clip(e, 100)
		if d := q.Get("error_description"); d != "" {
			msg += ": " + clip(d, 200)
		}
		u.ssoFailed(w, r, next, civic.Errorf(civic.Unauthorized, "%s)", msg))
		return
	}
	token, expires, err := u.deps.SSO.Finish(r.Context(), flow, q.Get("state"), q.Get("code"))
	if err != nil {
		u.ssoFailed(w, r, next, err)
		return
	}
	u.startSession(w, r, token, expires, next)
}

func (u *UI) setSSOCookie(w http.ResponseWriter, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name:     ssoCookie,
		Value:    value,
		Path:     ssoCookiePath,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   u.cfg.SecureCookies,
		SameSite: http.SameSiteLaxMode,
	})
}

// ssoFailed shows the login page with why single sign-on did not let the
// person in, with the status of the error's kind.
func (u *UI) ssoFailed(w http.ResponseWriter, r *http.Request, next string, err error) {
	status := http.StatusInternalServerError
	msg := "Signing in failed. Try again later."
	switch civic.KindOf(err) {
	case civic.Invalid:
		status, msg = http.StatusBadRequest, "Single sign-on failed: "+civic.MessageOf(err)+"."
	case civic.Unauthorized:
		status, msg = http.StatusUnauthorized, "Single sign-on failed: "+civic.MessageOf(err)+"."
		u.log.Warn("web: single sign-on refused", "err", err)
	case civic.Forbidden:
		status, msg = http.StatusForbidden, "You cannot sign in to civic: "+civic.MessageOf(err)+"."
		u.log.Warn("web: single sign-on refused", "err", err)
	case civic.Unavailable:
		status, msg = http.StatusServiceUnavailable, "Single sign-on is unavailable: "+civic.MessageOf(err)+"."
		u.log.Warn("web: single sign-on unavailable", "err", err)
	default:
		u.log.Error("web: single sign-on failed", "err", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	u.render(w, r, status, "login", "", pageData{Title: "Sign in", Data: loginData{Next: next, Error: msg, SSO: u.ssoName()}})
}

// clip keeps the first n characters of a provider's message, printable
// ones only.
func clip(s string, n int) string {
	var b strings.Builder
	for _, r := range s {
		if n == 0 {
			b.WriteString("…")
			break
		}
		if r < ' ' || r == 0x7f {
			r = ' '
		}
		b.WriteRune(r)
		n--
	}
	return b.String()
}
