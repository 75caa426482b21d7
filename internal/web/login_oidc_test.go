package web

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// fakeSSO records what the pages pass it; the real flow is tested end to
// end in cmd/civic (TestOIDCLogin).
type fakeSSO struct {
	beginErr  error
	finishErr error
	got       [3]string // flow, state, code of the last Finish
}

func (f *fakeSSO) Name() string { return "City <ID>" }
func (f *fakeSSO) Begin(context.Context) (string, string, error) {
	return "https://id.example/authorize?state=S1", "S1.N1.V1", f.beginErr
}
func (f *fakeSSO) Finish(_ context.Context, flow, state, code string) (string, time.Time, error) {
	f.got = [3]string{flow, state, code}
	if f.finishErr != nil {
		return "", time.Time{}, f.finishErr
	}
	return "session-token", time.Now().Add(time.Hour), nil
}

// TestSingleSignOnPages: the login page offers the provider (its name
// escaped); /login/oidc sends the browser to the provider with the flow
// in an HttpOnly cookie limited to /login/oidc; the callback hands flow,
// state and code to Finish, sets the session cookie and returns to the
// page asked for (a same-site one only), ending the flow; each kind of
// failure gives the login page with its status and no session; without
// single sign-on both routes are 404 and the page offers nothing.
func TestSingleSignOnPages(t *testing.T) {
	st := storetest.Open(t, store.EngineSQLite, store.Options{})
	sso := &fakeSSO{}
	ui := New(Config{SecureCookies: true}, Deps{Store: st, SSO: sso})
	t.Cleanup(func() { ui.Close(context.Background()) })
	srv := httptest.NewServer(ui.Handler())
	t.Cleanup(srv.Close)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, cookies ...*http.Cookie) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		res, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		return res, string(b)
	}
	cookie := func(res *http.Response, name string) *http.Cookie {
		for _, c := range res.Cookies() {
			if c.Name == name {
				return c
			}
		}
		return nil
	}

	if _, body := get("/login"); !strings.Contains(body, "Sign in with City &lt;ID&gt;") {
		t.Errorf("the login page does not offer the provider:\n%s", body)
	}

	res, _ := get("/login/oidc?next=" + url.QueryEscape("/plans?day=1"))
	flow := cookie(res, ssoCookie)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "https://id.example/authorize?state=S1" {
		t.Fatalf("/login/oidc: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	if flow == nil || !flow.HttpOnly || !flow.Secure || flow.Path != "/login/oidc" || flow.MaxAge <= 0 || flow.MaxAge > 600 || !strings.HasPrefix(flow.Value, "S1.N1.V1|") {
		t.Fatalf("flow cookie %+v", flow)
	}

	res, _ = get("/login/oidc/callback?state=S1&code=C1", flow)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/plans?day=1" {
		t.Errorf("callback: %d to %q, want 303 to /plans?day=1", res.StatusCode, res.Header.Get("Location"))
	}
	if sso.got != [3]string{"S1.N1.V1", "S1", "C1"} {
		t.Errorf("Finish got %q", sso.got)
	}
	if s := cookie(res, DefaultSessionCookie); s == nil || s.Value != "session-token" || !s.HttpOnly || !s.Secure || s.Path != "/" {
		t.Errorf("session cookie %+v", s)
	}
	if c := cookie(res, ssoCookie); c == nil || c.MaxAge >= 0 {
		t.Errorf("the callback did not end the flow: %+v", c)
	}

	// next is kept on this site.
	res, _ = get("/login/oidc?next=" + url.QueryEscape("//evil.example/"))
	res, _ = get("/login/oidc/callback?state=S1&code=C1", cookie(res, ssoCookie))
	if res.Header.Get("Location") != "/" {
		t.Errorf("off-site next: callback goes to %q, want /", res.Header.Get("Location"))
	}

	for _, tc := range []struct {
		err    error
		status int
		says   string
	}{
		{civic.Errorf(civic.Invalid, "this sign-in was not started here"), 400, "not started here"},
		{civic.Errorf(civic.Unauthorized, "could not be verified"), 401, "could not be verified"},
		{civic.Errorf(civic.Forbidden, "no civic role"), 403, "You cannot sign in to civic: no civic role"},
		{civic.Errorf(civic.Unavailable, "provider down"), 503, "provider down"},
		{errors.New("boom with a secret inside"), 500, "Signing in failed"},
	} {
		sso.finishErr = tc.err
		res, body := get("/login/oidc/callback?state=S1&code=C1", flow)
		if res.StatusCode != tc.status || !strings.Contains(body, tc.says) || cookie(res, DefaultSessionCookie) != nil {
			t.Errorf("Finish failing with %v: %d, want %d saying %q, no session:\n%s", tc.err, res.StatusCode, tc.status, tc.says, body)
		}
		if strings.Contains(body, "secret inside") {
			t.Errorf("an internal error reached the page:\n%s", body)
		}
	}
	sso.finishErr = nil
	res, body := get("/login/oidc/callback?error=access_denied&error_description="+url.QueryEscape("<script>x</script>"), flow)
	if res.StatusCode != 401 || !strings.Contains(body, "access_denied") || strings.Contains(body, "<script>x") {
		t.Errorf("provider error: %d\n%s", res.StatusCode, body)
	}
	sso.beginErr = civic.Errorf(civic.Unavailable, "the sign-in provider cannot be reached")
	if res, body := get("/login/oidc"); res.StatusCode != 503 || !strings.Contains(body, "cannot be reached") || cookie(res, ssoCookie) != nil {
		t.Errorf("provider down at Begin: %d\n%s", res.StatusCode, body)
	}

	off := New(Config{}, Deps{Store: st})
	t.Cleanup(func() { off.Close(context.Background()) })
	offSrv := httptest.NewServer(off.Handler())
	t.Cleanup(offSrv.Close)
	for _, p := range []string{"/login/oidc", "/login/oidc/callback?state=S1&code=C1"} {
		res, err := noFollow.Get(offSrv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("without single sign-on %s: %d, want 404", p, res.StatusCode)
		}
	}
	res, err := noFollow.Get(offSrv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `name="password"`) || strings.Contains(string(b), "Sign in with") {
		t.Errorf("the login page offers single sign-on that is not configured")
	}
}
