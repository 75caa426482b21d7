package auth

import (
	"context"
	"encoding/hex"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// errBadCredentials is the one answer to a failed login, whether the name is
// unknown, the password wrong or the account disabled: telling them apart
// would help whoever is guessing.
var errBadCredentials = civic.Errorf(civic.Unauthorized, "invalid name or password")

// CreateUser creates a user with a password. See AddUser.
func (s *Service) CreateUser(ctx context.Context, name string, role civic.Role, password string) (civic.User, error) {
	u := civic.User{Name: name, Role: role}
	if err := s.AddUser(ctx, &u, password); err != nil {
		return civic.User{}, err
	}
	return u, nil
}

// AddUser stores u with a hash of password; u.ID is generated when empty and
// u.PasswordHash is set. It fails with Invalid (field "name", "role",
// "email" or "password") for bad input and Conflict if the name is taken.
func (s *Service) AddUser(ctx context.Context, u *civic.User, password string) error {
	u.Name = strings.TrimSpace(u.Name)
	if err := u.Validate(); err != nil {
		return err
	}
	if err := CheckPassword(password); err != nil {
		return err
	}
	if u.ID == "" {
		b, err := s.random(8)
		if err != nil {
			return err
		}
		u.ID = "u-" + hex.EncodeToString(b)
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	u.PasswordHash = h
	u.Disabled = false
	now := s.now()
	u.CreatedAt, u.UpdatedAt = now, now
	return s.accounts.CreateUser(ctx, u)
}

// SetPassword replaces the password of the user with id userID and ends
// all of the user's sessions. It fails with Invalid (field "password") or
// NotFound.
func (s *Service) SetPassword(ctx context.Context, userID, password string) error {
	if err := CheckPassword(password); err != nil {
		return err
	}
	u, err := s.accounts.User(ctx, userID)
	if err != nil {
		return err
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return err
	}
	u.PasswordHash = h
	u.UpdatedAt = s.now()
	if err := s.accounts.UpdateUser(ctx, &u); err != nil {
		return err
	}
	// A new password ends every login made with the old one: whoever
	// learnt it is logged out too.
	_, err = s.accounts.DeleteUserSessions(ctx, u.ID)
	return err
}

// hash hashes a password with the service's parameters and a fresh salt.
func (s *Service) hash(ctx context.Context, password string) (string, error) {
	salt, err := s.random(int(s.opts.Params.SaltLen))
	if err != nil {
		return "", err
	}
	release, err := s.acquireHash(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password, salt, s.opts.Params), nil
}

// dummy returns a hash to verify against when the user does not exist, so
// that a login for an unknown name costs as much as one with a wrong
// password.
func (s *Service) dummy() string {
	s.dummyOnce.Do(func() {
		salt := make([]byte, s.opts.Params.SaltLen)
		if b, err := s.random(len(salt)); err == nil {
			salt = b
		}
		s.dummyHash = HashPassword("not a password of anyone", salt, s.opts.Params)
	})
	return s.dummyHash
}

// Login checks a name and password and opens a session. It returns the
// session token for the cookie (shown once, only its hash is stored), the
// session and the user. Every kind of bad credentials fails with the same
// Unauthorized error; a slow hash is computed even for unknown names. A
// name or client address (civic.ClientAddrFrom) with too many recent
// failures fails with Unavailable and a lockout message, the same whether
// the account exists or not (see throttle.go).
func (s *Service) Login(ctx context.Context, name, password string) (string, civic.Session, civic.User, error) {
	addr := civic.ClientAddrFrom(ctx)
	if err := s.throttle.check(name, addr, s.now()); err != nil {
		return "", civic.Session{}, civic.User{}, err
	}
	token, sess, u, err := s.login(ctx, name, password)
	switch {
	case err == nil:
		s.throttle.succeed(name)
	case civic.IsKind(err, civic.Unauthorized):
		s.throttle.fail(name, addr, s.now())
	}
	return token, sess, u, err
}

func (s *Service) login(ctx context.Context, name, password string) (string, civic.Session, civic.User, error) {
	u, err := s.accounts.UserByName(ctx, strings.TrimSpace(name))
	found := err == nil
	if err != nil && !civic.IsKind(err, civic.NotFound) {
		return "", civic.Session{}, civic.User{}, err
	}
	if len(password) > MaxPasswordLen {
		return "", civic.Session{}, civic.User{}, errBadCredentials
	}
	// A user made by single sign-on has no password: verify against the
	// dummy, as for an unknown name, and refuse the same way.
	hash := s.dummy()
	if found && u.PasswordHash != "" {
		hash = u.PasswordHash
	}
	release, err := s.acquireHash(ctx)
	if err != nil {
		return "", civic.Session{}, civic.User{}, err
	}
	ok, verr := VerifyPassword(hash, password)
	release()
	if verr != nil {
		return "", civic.Session{}, civic.User{}, civic.Wrap(civic.Internal, verr, "")
	}
	if !found || !ok || u.Disabled || u.PasswordHash == "" {
		return "", civic.Session{}, civic.User{}, errBadCredentials
	}
	s.upgradeHash(ctx, &u, password)
	token, sess, err := s.openSession(ctx, u)
	if err != nil {
		return "", civic.Session{}, civic.User{}, err
	}
	return token, sess, u, nil
}

// openSession opens a session of u, however they proved who they are
// (password or single sign-on): the same token, expiry and revocation.
func (s *Service) openSession(ctx context.Context, u civic.User) (string, civic.Session, error) {
	tok, err := s.random(32)
	if err != nil {
		return "", civic.Session{}, err
	}
	csrf, err := s.random(16)
	if err != nil {
		return "", civic.Session{}, err
	}
	token := b64url.EncodeToString(tok)
	now := s.now()
	sess := civic.Session{
		TokenHash: HashSecret(token),
		UserID:    u.ID,
		CSRFToken: hex.EncodeToString(csrf),
		CreatedAt: now,
		ExpiresAt: now.Add(s.opts.IdleTimeout),
	}
	if err := s.accounts.CreateSession(ctx, &sess); err != nil {
		return "", civic.Session{}, err
	}
	return token, sess, nil
}

// upgradeHash rehashes the password with the current parameters when the
// stored hash used others. Failure is harmless: the old hash still works.
func (s *Service) upgradeHash(ctx context.Context, u *civic.User, password string) {
	p, _, _, err := parseHash(u.PasswordHash)
	cur := s.opts.Params
	if err != nil || (p.Memory == cur.Memory && p.Time == cur.Time && p.Threads == cur.Threads) {
		return
	}
	h, err := s.hash(ctx, password)
	if err != nil {
		return
	}
	c := *u
	c.PasswordHash = h
	if s.accounts.UpdateUser(ctx, &c) == nil {
		*u = c
	}
}

// errNoSession is the answer for an unknown, expired or disabled session.
var errNoSession = civic.Errorf(civic.Unauthorized, "session expired or unknown, log in again")

// SessionPrincipal returns the user behind a session token and moves the
// session's idle deadline. It fails with Unauthorized when the session is
// unknown, idle for longer than Options.IdleTimeout or older than
// Options.SessionTTL, or the user is disabled.
func (s *Service) SessionPrincipal(ctx context.Context, token string) (civic.Principal, error) {
	if token == "" || len(token) > 128 {
		return civic.Principal{}, errNoSession
	}
	sess, err := s.accounts.Session(ctx, HashSecret(token))
	if civic.IsKind(err, civic.NotFound) {
		return civic.Principal{}, errNoSession
	}
	if err != nil {
		return civic.Principal{}, err
	}
	now := s.now()
	end := s.SessionEnd(sess)
	if !now.Before(sess.ExpiresAt) || !now.Before(end) {
		return civic.Principal{}, errNoSession
	}
	u, err := s.accounts.User(ctx, sess.UserID)
	if civic.IsKind(err, civic.NotFound) {
		return civic.Principal{}, errNoSession
	}
	if err != nil {
		return civic.Principal{}, err
	}
	if u.Disabled {
		return civic.Principal{}, errNoSession
	}
	// In use: move the idle deadline, at most once a minute.
	next := now.Add(s.opts.IdleTimeout)
	if next.After(end) {
		next = end
	}
	if next.Sub(sess.ExpiresAt) >= time.Minute {
		// A failed write only means the session may end a little early.
		_ = s.accounts.TouchSession(ctx, sess.TokenHash, next)
	}
	return civic.Principal{UserID: u.ID, Name: u.Name, Role: u.Role}, nil
}

// Logout ends the session of token. Ending an unknown session is not an
// error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	err := s.accounts.DeleteSession(ctx, HashSecret(token))
	if civic.IsKind(err, civic.NotFound) {
		return nil
	}
	return err
}

// DeleteExpiredSessions removes the sessions past their expiry and returns
// how many it removed. Expired sessions are already refused; this only
// keeps the table small, so run it now and then (hourly, say).
func (s *Service) DeleteExpiredSessions(ctx context.Context) (int, error) {
	return s.accounts.DeleteExpiredSessions(ctx, s.now())
}
