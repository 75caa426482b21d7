package auth

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/storetest"
)

// memAccounts is an in-memory civic.AccountStore, enough to test the
// service's logic; the SQL store has its own conformance tests.
type memAccounts struct {
	mu       sync.Mutex
	users    map[string]civic.User
	keys     map[string]civic.APIKey
	sessions map[string]civic.Session
	idents   map[[2]string]string // issuer, subject -> user id
	keyReads int
	touches  int
}

func newMem() *memAccounts {
	return &memAccounts{users: map[string]civic.User{}, keys: map[string]civic.APIKey{}, sessions: map[string]civic.Session{}, idents: map[[2]string]string{}}
}

func (m *memAccounts) CreateUser(_ context.Context, u *civic.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.users {
		if x.Name == u.Name {
			return civic.Errorf(civic.Conflict, "user %s exists", u.Name)
		}
	}
	m.users[u.ID] = *u
	return nil
}
func (m *memAccounts) UpdateUser(_ context.Context, u *civic.User) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[u.ID]; !ok {
		return civic.Errorf(civic.NotFound, "no user")
	}
	m.users[u.ID] = *u
	return nil
}
func (m *memAccounts) User(_ context.Context, id string) (civic.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return u, civic.Errorf(civic.NotFound, "no user")
	}
	return u, nil
}
func (m *memAccounts) UserByName(_ context.Context, name string) (civic.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, u := range m.users {
		if u.Name == name {
			return u, nil
		}
	}
	return civic.User{}, civic.Errorf(civic.NotFound, "no user")
}
func (m *memAccounts) UserByIdentity(_ context.Context, issuer, subject string) (civic.User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id, ok := m.idents[[2]string{issuer, subject}]; ok {
		return m.users[id], nil
	}
	return civic.User{}, civic.Errorf(civic.NotFound, "no user")
}
func (m *memAccounts) CreateUserWithIdentity(ctx context.Context, u *civic.User, issuer, subject string) error {
	m.mu.Lock()
	_, linked := m.idents[[2]string{issuer, subject}]
	m.mu.Unlock()
	if linked {
		return civic.Errorf(civic.Conflict, "identity linked")
	}
	if err := m.CreateUser(ctx, u); err != nil {
		return err
	}
	m.mu.Lock()
	m.idents[[2]string{issuer, subject}] = u.ID
	m.mu.Unlock()
	return nil
}
func (m *memAccounts) ListUsers(context.Context) ([]civic.User, error) { return nil, nil }
func (m *memAccounts) UserIssuers(context.Context) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, id := range m.idents {
		out[id] = k[0]
	}
	return out, nil
}
func (m *memAccounts) CountUsers(context.Context) (int, error) { return len(m.users), nil }
func (m *memAccounts) CreateAPIKey(_ context.Context, k *civic.APIKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keys[k.ID] = *k
	return nil
}
func (m *memAccounts) APIKey(_ context.Context, id string) (civic.APIKey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.keyReads++
	k, ok := m.keys[id]
	if !ok {
		return k, civic.Errorf(civic.NotFound, "no key")
	}
	return k, nil
}
func (m *memAccounts) ListAPIKeys(context.Context) ([]civic.APIKey, error) { return nil, nil }
func (m *memAccounts) RevokeAPIKey(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k, ok := m.keys[id]
	if !ok {
		return civic.Errorf(civic.NotFound, "no key")
	}
	k.RevokedAt = &at
	m.keys[id] = k
	return nil
}
func (m *memAccounts) TouchAPIKey(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.touches++
	return nil
}
func (m *memAccounts) CreateSession(_ context.Context, s *civic.Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[s.TokenHash] = *s
	return nil
}
func (m *memAccounts) Session(_ context.Context, h string) (civic.Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[h]
	if !ok {
		return s, civic.Errorf(civic.NotFound, "no session")
	}
	return s, nil
}
func (m *memAccounts) DeleteSession(_ context.Context, h string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.sessions, h)
	return nil
}
func (m *memAccounts) DeleteExpiredSessions(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for h, s := range m.sessions {
		if !now.Before(s.ExpiresAt) {
			delete(m.sessions, h)
			n++
		}
	}
	return n, nil
}

func (m *memAccounts) TouchSession(_ context.Context, h string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.sessions[h]; ok {
		s.ExpiresAt = at
		m.sessions[h] = s
	}
	return nil
}

func (m *memAccounts) DeleteUserSessions(_ context.Context, id string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for h, s := range m.sessions {
		if s.UserID == id {
			delete(m.sessions, h)
			n++
		}
	}
	return n, nil
}

// clock is a settable time source.
type clock = storetest.Clock

func newService(t testing.TB) (*Service, *memAccounts, *clock) {
	t.Helper()
	m := newMem()
	c := storetest.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	return New(m, Options{Now: c.Now, Params: TestParams}), m, c
}

func TestPasswordHash(t *testing.T) {
	h := HashPassword("correct horse battery", []byte("0123456789abcdef"), TestParams)
	if !regexp.MustCompile(`^\$argon2id\$v=19\$m=64,t=1,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$`).MatchString(h) {
		t.Fatalf("hash %q is not in PHC format", h)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}, {"", false}} {
		got, err := VerifyPassword(h, tc.pw)
		if err != nil || got != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tc.pw, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "plain"} {
		if _, err := VerifyPassword(bad, "x"); err == nil {
			t.Errorf("VerifyPassword(%q) accepted a malformed hash", bad)
		}
	}
	// Default parameters are the production ones: 64 MiB, t=1, p=2.
	if DefaultParams.Memory != 64*1024 || DefaultParams.Time != 1 || DefaultParams.Threads != 2 {
		t.Errorf("DefaultParams = %+v", DefaultParams)
	}
}

func TestCreateUserValidation(t *testing.T) {
	s, _, _ := newService(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, pw  string
		role      civic.Role
		wantField string
	}{
		{"ana", "short", civic.RoleAdmin, "password"},
		{"ana", "123456789", civic.RoleAdmin, "password"},
		{"", "long enough password", civic.RoleAdmin, "name"},
		{"ana", "long enough password", "boss", "role"},
	} {
		_, err := s.CreateUser(ctx, tc.name, tc.role, tc.pw)
		if !civic.IsKind(err, civic.Invalid) || civic.FieldOf(err) != tc.wantField {
			t.Errorf("CreateUser(%q, %q, %q) = %v; want invalid %s", tc.name, tc.role, tc.pw, err, tc.wantField)
		}
	}
	u, err := s.CreateUser(ctx, "ana", civic.RoleAdmin, "ten chars!")
	if err != nil {
		t.Fatal(err)
	}
	if u.ID == "" || !strings.HasPrefix(u.PasswordHash, "$argon2id$") {
		t.Errorf("user = %+v", u)
	}
	if _, err := s.CreateUser(ctx, "ana", civic.RoleCrew, "another password"); !civic.IsKind(err, civic.Conflict) {
		t.Errorf("duplicate name: %v; want conflict", err)
	}
}

func TestLoginAndSessions(t *testing.T) {
	s, m, c := newService(t)
	ctx := context.Background()
	u, err := s.CreateUser(ctx, "ana", civic.RoleSupervisor, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	_, _, _, errUnknown := s.Login(ctx, "bob", "correct horse battery")
	_, _, _, errWrong := s.Login(ctx, "ana", "wrong password!")
	if !civic.IsKind(errUnknown, civic.Unauthorized) || !civic.IsKind(errWrong, civic.Unauthorized) {
		t.Fatalf("bad logins: %v, %v; want unauthorized", errUnknown, errWrong)
	}
	if civic.MessageOf(errUnknown) != civic.MessageOf(errWrong) {
		t.Errorf("unknown user and wrong password differ: %q vs %q", civic.MessageOf(errUnknown), civic.MessageOf(errWrong))
	}

	token, sess, lu, err := s.Login(ctx, " ana ", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if lu.ID != u.ID || sess.UserID != u.ID || len(token) < 40 {
		t.Fatalf("login = %q, %+v, %+v", token, sess, lu)
	}
	if sess.TokenHash == token || strings.Contains(sess.TokenHash, token) || sess.TokenHash != HashSecret(token) {
		t.Errorf("session stores %q for token %q; want only its hash", sess.TokenHash, token)
	}
	if got := sess.ExpiresAt.Sub(sess.CreatedAt); got != 2*time.Hour {
		t.Errorf("a new session's idle deadline is %v away; want 2h", got)
	}
	if got := s.SessionEnd(sess).Sub(sess.CreatedAt); got != 12*time.Hour {
		t.Errorf("session lasts %v at most; want 12h", got)
	}
	p, err := s.SessionPrincipal(ctx, token)
	if err != nil || p.UserID != u.ID || p.Role != civic.RoleSupervisor || p.Name != "ana" {
		t.Fatalf("SessionPrincipal = %+v, %v", p, err)
	}
	if _, err := s.SessionPrincipal(ctx, token+"x"); !civic.IsKind(err, civic.Unauthorized) {
		t.Errorf("wrong token: %v; want unauthorized", err)
	}

	// A disabled user can neither use the session nor log in again.
	du := m.users[u.ID]
	du.Disabled = true
	m.users[u.ID] = du
	if _, err := s.SessionPrincipal(ctx, token); !civic.IsKind(err, civic.Unauthorized) {
		t.Errorf("disabled user session: %v; want unauthorized", err)
	}
	if _, _, _, err := s.Login(ctx, "ana", "correct horse battery"); civic.MessageOf(err) != civic.MessageOf(errWrong) {
		t.Errorf("disabled login: %v; want the bad-credentials error", err)
	}
	du.Disabled = false
	m.users[u.ID] = du

	// Expiry and logout.
	c.Advance(12*time.Hour + time.Second)
	if _, err := s.SessionPrincipal(ctx, token); !civic.IsKind(err, civic.Unauthorized) {
		t.Errorf("expired session: %v; want unauthorized", err)
	}
	token, _, _, err = s.Login(ctx, "ana", "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionPrincipal(ctx, token); !civic.IsKind(err, civic.Unauthorized) {
		t.Errorf("after logout: %v; want unauthorized", err)
	}
	if err := s.Logout(ctx, token); err != nil {
		t.Errorf("second logout: %v", err)
	}

	// Expired sessions are purged.
	c.Advance(13 * time.Hour)
	if n, err := s.DeleteExpiredSessions(ctx); err != nil || n != 1 {
		t.Errorf("DeleteExpiredSessions = %d, %v; want 1", n, err)
	}

	// SetPassword replaces the password.
	if err := s.SetPassword(ctx, u.ID, "short"); civic.FieldOf(err) != "password" {
		t.Errorf("SetPassword(short) = %v", err)
	}
	if err := s.SetPassword(ctx, u.ID, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.Login(ctx, "ana", "a brand new password"); err != nil {
		t.Errorf("login with new password: %v", err)
	}
}

func TestLoginUpgradesHash(t *testing.T) {
	m := newMem()
	old := New(m, Options{Params: Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}})
	u, err := old.CreateUser(context.Background(), "ana", civic.RoleAdmin, "correct horse battery")
	if err != nil {
		t.Fatal(err)
	}
	s := New(m, Options{Params: TestParams})
	if _, _, _, err := s.Login(context.Background(), "ana", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	if h := m.users[u.ID].PasswordHash; !strings.Contains(h, "m=64,") {
		t.Errorf("hash after login = %q; want rehashed with m=64", h)
	}
}

func TestAPIKeys(t *testing.T) {
	s, m, c := newService(t)
	ctx := context.Background()
	if _, _, err := s.CreateAPIKey(ctx, "", []civic.Scope{civic.ScopeIngest}, "ana"); civic.FieldOf(err) != "name" {
		t.Errorf("no name: %v", err)
	}
	if _, _, err := s.CreateAPIKey(ctx, "gw", []civic.Scope{"root"}, "ana"); civic.FieldOf(err) != "scopes" {
		t.Errorf("bad scope: %v", err)
	}
	if _, _, err := s.CreateAPIKey(ctx, "gw", nil, "ana"); civic.FieldOf(err) != "scopes" {
		t.Errorf("no scope: %v", err)
	}
	secret, k, err := s.CreateAPIKey(ctx, "gateway", []civic.Scope{civic.ScopeIngest, civic.ScopeRead, civic.ScopeIngest}, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^civic_[0-9a-f]{16}_[a-z2-7]{52}$`).MatchString(secret) || !strings.Contains(secret, k.ID) {
		t.Fatalf("secret %q for key %q", secret, k.ID)
	}
	if stored := m.keys[k.ID]; stored.Hash != HashSecret(secret) || strings.Contains(stored.Hash, secret) || len(stored.Scopes) != 2 {
		t.Fatalf("stored key = %+v", stored)
	}

	p, err := s.KeyPrincipal(ctx, secret)
	if err != nil || p.KeyID != k.ID || p.Name != "gateway" || !p.Can(civic.PermIngest) || p.Can(civic.PermWriteAssets) {
		t.Fatalf("KeyPrincipal = %+v, %v", p, err)
	}
	wrong := secret[:len(secret)-1] + "a"
	if wrong == secret {
		wrong = secret[:len(secret)-1] + "b"
	}
	for _, bad := range []string{wrong, "", "civic_", "civic_0123456789abcdef_x", "Bearer " + secret, strings.ToUpper(secret)} {
		if _, err := s.KeyPrincipal(ctx, bad); !civic.IsKind(err, civic.Unauthorized) {
			t.Errorf("KeyPrincipal(%q) = %v; want unauthorized", bad, err)
		}
	}

	// Cached: many calls, one store read, one touch a minute.
	reads, touches := m.keyReads, m.touches
	for range 100 {
		if _, err := s.KeyPrincipal(ctx, secret); err != nil {
			t.Fatal(err)
		}
	}
	if m.keyReads != reads || m.touches != touches {
		t.Errorf("100 cached calls: %d store reads, %d touches; want 0, 0", m.keyReads-reads, m.touches-touches)
	}
	if touches != 1 {
		t.Errorf("touches after first use = %d; want 1", touches)
	}
	c.Advance(61 * time.Second)
	if _, err := s.KeyPrincipal(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if m.touches != 2 {
		t.Errorf("touches after a minute = %d; want 2", m.touches)
	}

	// Revoked elsewhere: still trusted until the cache entry expires.
	if _, err := s.KeyPrincipal(ctx, secret); err != nil {
		t.Fatal(err)
	}
	_ = m.RevokeAPIKey(ctx, k.ID, c.Now())
	if _, err := s.KeyPrincipal(ctx, secret); err != nil {
		t.Errorf("revoked on another node, within cache TTL: %v", err)
	}
	c.Advance(11 * time.Second)
	if _, err := s.KeyPrincipal(ctx, secret); !civic.IsKind(err, civic.Unauthorized) {
		t.Errorf("revoked key after cache TTL: %v; want unauthorized", err)
	}

	// Revoked here: at once.
	secret2, k2, err := s.CreateAPIKey(ctx, "second", []civic.Scope{civic.ScopeRead}, "ana")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeyPrincipal(ctx, secret2); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeAPIKey(ctx, k2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.KeyPrincipal(ctx, secret2); !civic.IsKind(err, civic.Unauthorized) {
		t.Errorf("revoked key: %v; want unauthorized", err)
	}
	if err := s.RevokeAPIKey(ctx, "nope"); !civic.IsKind(err, civic.NotFound) {
		t.Errorf("revoke unknown: %v; want not found", err)
	}

	// Revoked elsewhere, and this node told so (ForgetKey): at once, by id
	// or with everything.
	for _, forget := range []func(id string){s.ForgetKey, func(string) { s.ForgetKey("") }} {
		secret3, k3, err := s.CreateAPIKey(ctx, "third", []civic.Scope{civic.ScopeRead}, "ana")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.KeyPrincipal(ctx, secret3); err != nil {
			t.Fatal(err)
		}
		_ = m.RevokeAPIKey(ctx, k3.ID, c.Now())
		if _, err := s.KeyPrincipal(ctx, secret3); err != nil {
			t.Fatalf("revoked elsewhere, not yet told: %v", err)
		}
		forget(k3.ID)
		if _, err := s.KeyPrincipal(ctx, secret3); !civic.IsKind(err, civic.Unauthorized) {
			t.Errorf("revoked elsewhere and forgotten: %v; want unauthorized", err)
		}
	}
}

func TestSecrets(t *testing.T) {
	s, _, _ := newService(t)
	sec, h, err := s.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	if len(sec) != 52 || h != HashSecret(sec) || len(h) != 64 {
		t.Fatalf("NewSecret = %q, %q", sec, h)
	}
	if !VerifySecret(h, sec) || VerifySecret(h, sec+"x") || VerifySecret("", sec) {
		t.Error("VerifySecret gives wrong answers")
	}
}

// FuzzParsers feeds stored hashes and presented secrets that civic does not
// control to the parsers: they must refuse, never panic.
func FuzzParsers(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA", "civic_0123456789abcdef_"+strings.Repeat("a", 52))
	f.Add("$argon2id$v=19$m=99999999,t=1,p=1$$", "civic__")
	s, _, _ := newService(f)
	f.Fuzz(func(t *testing.T, hash, secret string) {
		if p, _, _, err := parseHash(hash); err == nil && (p.Memory > 1<<16 || p.Time > 4) {
			return // well-formed but costly: not worth computing here
		}
		VerifyPassword(hash, secret)
		s.KeyPrincipal(context.Background(), secret)
		VerifySecret(hash, secret)
	})
}
