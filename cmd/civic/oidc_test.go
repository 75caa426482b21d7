package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// testIssuer is a small OpenID Connect provider for TestOIDCLogin:
// discovery, JWKS, an authorize endpoint that signs in whoever the test
// says (no form) and redirects back with a code, and a token endpoint that
// checks the client secret, the redirect URI and the PKCE verifier and
// issues an RS256 ID token. fault bends the next ID tokens the way an
// attacker or a broken provider would.
type testIssuer struct {
	srv      *httptest.Server
	key      *rsa.PrivateKey
	otherKey *rsa.PrivateKey // not in the JWKS
	clientID string
	secret   string

	mu    sync.Mutex
	who   testPerson
	fault string // "", "nonce", "audience", "expired", "signature", "issuer"
	codes map[string]issuedCode
}

type testPerson struct {
	Sub, Username, Email string
	Groups               []string
}

type issuedCode struct {
	person                        testPerson
	challenge, nonce, redirectURI string
}

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	gen := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	is := &testIssuer{key: gen(), otherKey: gen(), clientID: "civic-test", secret: "s3cret-client", codes: map[string]issuedCode{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		b := is.srv.URL
		json.NewEncoder(w).Encode(map[string]any{
			"issuer": b, "authorization_endpoint": b + "/authorize", "token_endpoint": b + "/token", "jwks_uri": b + "/jwks",
			"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		})
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &is.key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("response_type") != "code" || q.Get("client_id") != is.clientID || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("nonce") == "" || !strings.Contains(q.Get("scope"), "openid") {
			http.Error(w, "bad authorization request: "+r.URL.RawQuery, http.StatusBadRequest)
			return
		}
		code := rand.Text()
		is.mu.Lock()
		is.codes[code] = issuedCode{person: is.who, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirectURI: q.Get("redirect_uri")}
		is.mu.Unlock()
		back, _ := url.Parse(q.Get("redirect_uri"))
		v := url.Values{"code": {code}, "state": {q.Get("state")}}
		back.RawQuery = v.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		id, secret, ok := r.BasicAuth()
		if !ok {
			id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
		}
		is.mu.Lock()
		c, found := is.codes[r.PostForm.Get("code")]
		delete(is.codes, r.PostForm.Get("code")) // one use
		fault := is.fault
		is.mu.Unlock()
		sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
		switch {
		case id != is.clientID || secret != is.secret:
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_client"})
			return
		case !found || r.PostForm.Get("grant_type") != "authorization_code" || r.PostForm.Get("redirect_uri") != c.redirectURI ||
			base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
			w.WriteHeader(http.StatusBadRequest)
			json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant"})
			return
		}
		now := time.Now()
		claims := map[string]any{
			"iss": is.srv.URL, "sub": c.person.Sub, "aud": is.clientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
			"nonce": c.nonce, "preferred_username": c.person.Username, "email": c.person.Email, "name": "Person " + c.person.Username,
			"groups": c.person.Groups,
		}
		key := is.key
		switch fault {
		case "nonce":
			claims["nonce"] = "a-nonce-of-another-login"
		case "audience":
			claims["aud"] = "another-client"
		case "expired":
			claims["iat"], claims["exp"] = now.Add(-2*time.Hour).Unix(), now.Add(-time.Hour).Unix()
		case "signature":
			key = is.otherKey
		case "issuer":
			claims["iss"] = "https://impostor.example"
		}
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key, KeyID: "k1"}}, (&jose.SignerOptions{}).WithType("JWT"))
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		payload, _ := json.Marshal(claims)
		obj, err := signer.Sign(payload)
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		raw, _ := obj.CompactSerialize()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"access_token": rand.Text(), "token_type": "Bearer", "expires_in": 300, "id_token": raw})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	return is
}

func (is *testIssuer) set(who testPerson, fault string) {
	is.mu.Lock()
	defer is.mu.Unlock()
	is.who, is.fault = who, fault
}

// browser is a cookie-keeping client that follows redirects, as a
// person's browser would.
func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	return res, string(b)
}

// whoAmI is the caller's /api/v1/me: name and role, or the status.
func whoAmI(t *testing.T, c *http.Client, base string) (name, role string, status int) {
	t.Helper()
	res, body := get(t, c, base+"/api/v1/me")
	var me struct{ Name, Role, UserID string }
	json.Unmarshal([]byte(body), &me)
	return me.Name, me.Role, res.StatusCode
}

// TestOIDCLogin signs people in through a local OpenID Connect provider,
// over real HTTP, through civic serve: the login page offers the
// provider; the first login makes a user with the role its group maps to
// and a civic session; a changed group changes the role at the next
// login; a user whose groups map to no role, a callback whose state is
// not the browser's, and ID tokens with another nonce, audience, issuer,
// signing key or an expiry in the past are all refused with a page saying
// so and no session; a provider account named like a local user does not
// become that user; disabling the user ends their session and refuses
// their next login; a user made by single sign-on cannot log in with a
// password.
func TestOIDCLogin(t *testing.T) {
	is := newTestIssuer(t)
	data := t.TempDir()
	m := keyLine.FindStringSubmatch(civicCmd(t, "key", "add", "--scope", "admin", "--name", "oidc", "--data", data))
	if m == nil {
		t.Fatal("civic key add printed no key")
	}
	key := m[1]
	secretFile := filepath.Join(t.TempDir(), "client-secret")
	if err := os.WriteFile(secretFile, []byte(is.secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The redirect URL is derived from --base-url, so the port is chosen
	// first.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	base := "http://" + addr
	srv := startServe(t, "--data", data, "--addr", addr, "--base-url", base,
		"--oidc-issuer", is.srv.URL, "--oidc-client-id", is.clientID, "--oidc-client-secret-file", secretFile,
		"--oidc-name", "City ID", "--oidc-roles", "civic-admins=admin,civic-ops=supervisor,drivers=crew")
	if srv.base != base {
		t.Fatalf("serve listens on %s, want %s", srv.base, base)
	}

	if _, body := get(t, browser(t), base+"/login"); !strings.Contains(body, "Sign in with City ID") || !strings.Contains(body, `href="/login/oidc"`) {
		t.Errorf("the login page does not offer single sign-on:\n%.2000s", body)
	}

	// login runs the whole flow in browser c, starting at /login/oidc.
	login := func(c *http.Client, who testPerson, fault string) (*http.Response, string) {
		t.Helper()
		is.set(who, fault)
		return get(t, c, base+"/login/oidc?next=/fleet")
	}
	alice := testPerson{Sub: "0001", Username: "alice", Email: "alice@city.example", Groups: []string{"staff", "civic-ops"}}

	// First login: a supervisor, sent on to the page asked for.
	a := browser(t)
	res, body := login(a, alice, "")
	if res.StatusCode != http.StatusOK || res.Request.URL.Path != "/fleet" {
		t.Fatalf("alice's login ended at %s with %d:\n%.1500s\nlogs:\n%s", res.Request.URL, res.StatusCode, body, srv.logs)
	}
	name, role, _ := whoAmI(t, a, base)
	if name != "alice" || role != "supervisor" {
		t.Errorf("after login alice is %q with role %q, want alice, supervisor", name, role)
	}
	for _, c := range a.Jar.Cookies(&url.URL{Scheme: "http", Host: addr, Path: "/login/oidc"}) {
		if c.Name == "civic_oidc" {
			t.Errorf("the flow cookie outlived the login: %v", c)
		}
	}

	// Her group changes at the provider: the next login makes her admin,
	// the same user.
	alice.Groups = []string{"civic-admins"}
	a2 := browser(t)
	if res, body := login(a2, alice, ""); res.StatusCode != http.StatusOK {
		t.Fatalf("alice's second login: %d\n%.1500s", res.StatusCode, body)
	}
	if name, role, _ := whoAmI(t, a2, base); name != "alice" || role != "admin" {
		t.Errorf("after the second login alice is %q with role %q, want alice, admin", name, role)
	}
	var userList struct {
		Items []struct{ ID, Name, Role string }
	}
	call(t, "GET", base+"/api/v1/users", key, nil, &userList)
	users := userList.Items
	n := 0
	for _, u := range users {
		if strings.HasPrefix(u.Name, "alice") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d users for alice after two logins, want 1: %+v", n, users)
	}

	// Refusals: each shows the login page with why, and opens no session.
	for _, tc := range []struct {
		name, fault string
		who         testPerson
		status      int
		says        string
	}{
		{"no mapped group", "", testPerson{Sub: "0002", Username: "bob", Groups: []string{"visitors"}}, http.StatusForbidden, "is not in any group that has a civic role"},
		{"no groups at all", "", testPerson{Sub: "0003", Username: "eve"}, http.StatusForbidden, "is not in any group that has a civic role"},
		{"wrong nonce", "nonce", alice, http.StatusUnauthorized, "could not be verified"},
		{"wrong audience", "audience", alice, http.StatusUnauthorized, "could not be verified"},
		{"expired token", "expired", alice, http.StatusUnauthorized, "could not be verified"},
		{"unknown signing key", "signature", alice, http.StatusUnauthorized, "could not be verified"},
		{"another issuer", "issuer", alice, http.StatusUnauthorized, "could not be verified"},
	} {
		c := browser(t)
		res, body := login(c, tc.who, tc.fault)
		if res.StatusCode != tc.status || res.Request.URL.Path != "/login/oidc/callback" || !strings.Contains(body, tc.says) {
			t.Errorf("%s: %s answered %d, want %d saying %q:\n%.1500s", tc.name, res.Request.URL.Path, res.StatusCode, tc.status, tc.says, body)
		}
		if _, _, status := whoAmI(t, c, base); status != http.StatusUnauthorized {
			t.Errorf("%s: /api/v1/me answers %d after the refused login, want 401", tc.name, status)
		}
	}
	if !strings.Contains(srv.logs.String(), "nonce") {
		t.Errorf("the log does not say why the wrong-nonce login was refused:\n%s", srv.logs)
	}

	// A callback whose state is not this browser's: the provider's code
	// reaches civic through another browser, or the state was changed.
	is.set(alice, "")
	c := browser(t)
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Path == "/login/oidc/callback" {
			return http.ErrUseLastResponse
		}
		return nil
	}
	res, _ = get(t, c, base+"/login/oidc")
	cb, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil || cb.Path != "/login/oidc/callback" {
		t.Fatalf("the provider answered %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	good := cb.Query()
	c.CheckRedirect = nil
	for _, tc := range []struct {
		name   string
		client *http.Client
		query  url.Values
	}{
		{"changed state", c, url.Values{"code": {good.Get("code")}, "state": {"not-" + good.Get("state")}}},
		{"no state", c, url.Values{"code": {good.Get("code")}}},
		{"another browser", browser(t), good},
	} {
		res, body := get(t, tc.client, base+"/login/oidc/callback?"+tc.query.Encode())
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "was not started here") {
			t.Errorf("%s: callback answered %d, want 400 saying the sign-in was not started here:\n%.1500s", tc.name, res.StatusCode, body)
		}
		if _, _, status := whoAmI(t, tc.client, base); status != http.StatusUnauthorized {
			t.Errorf("%s: /api/v1/me answers %d, want 401", tc.name, status)
		}
	}
	// The provider's error (the person cancelled) is shown as text.
	res, body = get(t, browser(t), base+"/login/oidc/callback?error=access_denied&error_description=%3Cb%3Ecancelled%3C%2Fb%3E")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "access_denied") || strings.Contains(body, "<b>cancelled") {
		t.Errorf("provider error: %d\n%.1500s", res.StatusCode, body)
	}

	// A provider account named like a local user gets a name of its own
	// and its mapped role, never the local user's account.
	if code := call(t, "POST", base+"/api/v1/users", key, map[string]any{"name": "carol", "role": "admin", "password": "carol's long local password 1"}, nil); code != http.StatusCreated {
		t.Fatalf("create local user carol: %d", code)
	}
	cc := browser(t)
	if res, body := login(cc, testPerson{Sub: "0004", Username: "carol", Groups: []string{"drivers"}}, ""); res.StatusCode != http.StatusOK {
		t.Fatalf("provider carol's login: %d\n%.1500s", res.StatusCode, body)
	}
	if name, role, _ := whoAmI(t, cc, base); name == "carol" || !strings.HasPrefix(name, "carol-") || role != "crew" {
		t.Errorf("provider carol signed in as %q with role %q, want a carol-... crew user", name, role)
	}

	// A user made by single sign-on has no password to log in with: 401,
	// not an error.
	res, err = http.Post(base+"/api/v1/session", "application/json", strings.NewReader(`{"name":"alice","password":"any password at all"}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("password login of the single sign-on user alice: %d, want 401", res.StatusCode)
	}

	// Disabling alice ends her sessions at once and refuses her next login.
	var aliceID string
	for _, u := range users {
		if u.Name == "alice" {
			aliceID = u.ID
		}
	}
	if code := call(t, "PATCH", base+"/api/v1/users/"+aliceID, key, map[string]any{"disabled": true}, nil); code != http.StatusOK {
		t.Fatalf("disable alice: %d", code)
	}
	for i, b := range []*http.Client{a, a2} {
		if _, _, status := whoAmI(t, b, base); status != http.StatusUnauthorized {
			t.Errorf("alice's session %d after she was disabled: /api/v1/me %d, want 401", i+1, status)
		}
	}
	res, body = login(browser(t), alice, "")
	if res.StatusCode != http.StatusForbidden || !strings.Contains(body, "disabled") {
		t.Errorf("disabled alice's login: %d, want 403 saying the account is disabled:\n%.1500s", res.StatusCode, body)
	}

	// The audit log has the logins.
	var audit struct {
		Items []struct{ Actor, Action, Detail string }
	}
	call(t, "GET", base+"/api/v1/audit?action=session.login", key, nil, &audit)
	logins := 0
	for _, e := range audit.Items {
		if e.Action == "session.login" && strings.HasPrefix(e.Detail, "oidc") {
			logins++
		}
	}
	if logins != 3 {
		t.Errorf("%d single sign-on logins in the audit log, want 3 (alice twice, carol): %+v", logins, audit)
	}
}
