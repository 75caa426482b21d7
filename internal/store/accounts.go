package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// ---- users ----

const userCols = `id, name, display_name, email, role, disabled, password_hash, created_at, updated_at`

func scanUser(r rowScanner) (civic.User, error) {
	var u civic.User
	err := r.Scan(&u.ID, &u.Name, &u.DisplayName, &u.Email, &u.Role, &u.Disabled, &u.PasswordHash,
		scanTime{&u.CreatedAt}, scanTime{&u.UpdatedAt})
	return u, err
}

// newID returns a random identifier with a prefix, for rows the caller did
// not name.
func newID(prefix string) string {
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand panics on failure)
	return prefix + hex.EncodeToString(b[:])
}

// CreateUser stores a new user; an empty ID is generated. Errors: Invalid,
// Conflict (the name or id is taken).
func (s *Store) CreateUser(ctx context.Context, u *civic.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if u.ID == "" {
		u.ID = newID("u_")
	}
	now := s.stamp()
	err := s.inTx(ctx, errCtx{op: "create user"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			u.ID, u.Name, u.DisplayName, u.Email, string(u.Role), u.Disabled, u.PasswordHash, s.ts(now), s.ts(now))
		return err
	})
	if err != nil {
		return err
	}
	u.CreatedAt, u.UpdatedAt = now, now
	return nil
}

// UpdateUser replaces a user's fields. An empty PasswordHash keeps the
// stored one (a user decoded from JSON never carries it) and is filled in.
// When the user is disabled, or was, every session of theirs is deleted
// in the same transaction: a deactivated account is logged out everywhere
// at once, and enabling it again does not bring its old sessions back.
// Errors: Invalid, NotFound, Conflict (the new name is taken).
func (s *Store) UpdateUser(ctx context.Context, u *civic.User) error {
	if err := u.Validate(); err != nil {
		return err
	}
	now := s.stamp()
	var created time.Time
	var hash string
	err := s.inTx(ctx, errCtx{op: "update user"}, func(tx *sql.Tx) error {
		var was bool
		err := tx.QueryRowContext(ctx, `SELECT disabled FROM users WHERE id = $1`, u.ID).Scan(&was)
		if err == sql.ErrNoRows {
			return notFound("user", u.ID)
		}
		if err != nil {
			return err
		}
		if was || u.Disabled {
			if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, u.ID); err != nil {
				return err
			}
		}
		err = tx.QueryRowContext(ctx, `UPDATE users SET name = $2, display_name = $3, email = $4, role = $5,
			disabled = $6, password_hash = CASE WHEN $7 = '' THEN password_hash ELSE $7 END, updated_at = $8
			WHERE id = $1 RETURNING created_at, password_hash`,
			u.ID, u.Name, u.DisplayName, u.Email, string(u.Role), u.Disabled, u.PasswordHash, s.ts(now)).Scan(scanTime{&created}, &hash)
		if err == sql.ErrNoRows {
			return notFound("user", u.ID)
		}
		return err
	})
	if err != nil {
		return err
	}
	u.CreatedAt, u.UpdatedAt, u.PasswordHash = created, now, hash
	return nil
}

// User returns a user by id. Errors: NotFound.
func (s *Store) User(ctx context.Context, id string) (civic.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return u, notFound("user", id)
	}
	return u, s.fail(errCtx{op: "get user"}, err)
}

// UserByName returns a user by login name. Errors: NotFound.
func (s *Store) UserByName(ctx context.Context, name string) (civic.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE name = $1`, name))
	if err == sql.ErrNoRows {
		return u, notFound("user", name)
	}
	return u, s.fail(errCtx{op: "get user by name"}, err)
}

// ListUsers returns every user ordered by name.
func (s *Store) ListUsers(ctx context.Context) ([]civic.User, error) {
	return list(ctx, s, "list users", `SELECT `+userCols+` FROM users ORDER BY name`, scanUser)
}

// UserIssuers returns, by user id, the OpenID Connect issuer each user
// who signs in through single sign-on is linked to.
func (s *Store) UserIssuers(ctx context.Context) (map[string]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT user_id, issuer FROM user_identities ORDER BY user_id, issuer`)
	if err != nil {
		return nil, s.fail(errCtx{op: "list user identities"}, err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var id, issuer string
		if err := rows.Scan(&id, &issuer); err != nil {
			return nil, s.fail(errCtx{op: "list user identities"}, err)
		}
		if _, ok := out[id]; !ok {
			out[id] = issuer
		}
	}
	return out, s.fail(errCtx{op: "list user identities"}, rows.Err())
}

// CountUsers returns the number of users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM users`).Scan(&n)
	return n, s.fail(errCtx{op: "count users"}, err)
}

// UserByIdentity returns the user linked to an OpenID Connect identity
// (the provider's issuer and subject). Errors: NotFound.
func (s *Store) UserByIdentity(ctx context.Context, issuer, subject string) (civic.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+prefixed("u.", userCols)+`
		FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.issuer = $1 AND i.subject = $2`, issuer, subject))
	if err == sql.ErrNoRows {
		return u, notFound("user of identity", subject)
	}
	return u, s.fail(errCtx{op: "get user by identity"}, err)
}

// CreateUserWithIdentity stores a new user (as CreateUser) linked to an
// OpenID Connect identity, both or neither. Errors: Invalid, Conflict (the
// name is taken, or the identity is already linked).
func (s *Store) CreateUserWithIdentity(ctx context.Context, u *civic.User, issuer, subject string) error {
	if err := u.Validate(); err != nil {
		return err
	}
	if issuer == "" || subject == "" {
		return civic.FieldError("subject", "an identity needs an issuer and a subject")
	}
	if u.ID == "" {
		u.ID = newID("u_")
	}
	now := s.stamp()
	err := s.inTx(ctx, errCtx{op: "create user with identity"}, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			u.ID, u.Name, u.DisplayName, u.Email, string(u.Role), u.Disabled, u.PasswordHash, s.ts(now), s.ts(now)); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO user_identities (issuer, subject, user_id, created_at) VALUES ($1, $2, $3, $4)`,
			issuer, subject, u.ID, s.ts(now))
		return err
	})
	if err != nil {
		return err
	}
	u.CreatedAt, u.UpdatedAt = now, now
	return nil
}

// prefixed qualifies each of a comma-separated column list with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// ---- API keys ----

const keyCols = `id, name, scopes, hash, created_by, created_at, last_used_at, revoked_at`

func scanKey(r rowScanner) (civic.APIKey, error) {
	var k civic.APIKey
	var scopes string
	err := r.Scan(&k.ID, &k.Name, &scopes, &k.Hash, &k.CreatedBy, scanTime{&k.CreatedAt},
		scanTimePtr{&k.LastUsedAt}, scanTimePtr{&k.RevokedAt})
	k.Scopes = []civic.Scope{}
	for _, sc := range strings.Fields(scopes) {
		k.Scopes = append(k.Scopes, civic.Scope(sc))
	}
	return k, err
}

// CreateAPIKey stores a new key; CreatedAt is set when zero. Errors:
// Invalid, Conflict.
func (s *Store) CreateAPIKey(ctx context.Context, k *civic.APIKey) error {
	if err := k.Validate(); err != nil {
		return err
	}
	if k.Hash == "" {
		return civic.FieldError("hash", "is required")
	}
	if k.CreatedAt.IsZero() {
		k.CreatedAt = s.stamp()
	}
	k.CreatedAt = k.CreatedAt.UTC().Truncate(time.Millisecond)
	scopes := make([]string, len(k.Scopes))
	for i, sc := range k.Scopes {
		scopes[i] = string(sc)
	}
	return s.inTx(ctx, errCtx{op: "create API key"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO api_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			k.ID, k.Name, strings.Join(scopes, " "), k.Hash, k.CreatedBy, s.ts(k.CreatedAt),
			s.tsPtr(k.LastUsedAt), s.tsPtr(k.RevokedAt))
		return err
	})
}

// APIKey returns a key, revoked or not. Errors: NotFound.
func (s *Store) APIKey(ctx context.Context, id string) (civic.APIKey, error) {
	k, err := scanKey(s.rdb.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return k, notFound("API key", id)
	}
	return k, s.fail(errCtx{op: "get API key"}, err)
}

// ListAPIKeys returns every key, revoked ones included, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context) ([]civic.APIKey, error) {
	return list(ctx, s, "list API keys", `SELECT `+keyCols+` FROM api_keys ORDER BY created_at, id`, scanKey)
}

// RevokeAPIKey marks a key revoked at at; revoking again keeps the first
// time. The OnChange hook, and on PostgreSQL every node's Events
// (OnForget), hear of it when it commits. Errors: NotFound.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.change(ctx, errCtx{op: "revoke API key"}, func(tx *sql.Tx, note func(Forget)) error {
		note(Forget{Kind: ForgetKey, ID: id})
		return execOne(ctx, tx, "API key", id, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`,
			id, s.ts(at))
	})
}

// TouchAPIKey records that a key was used at at. Errors: NotFound.
func (s *Store) TouchAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.inTx(ctx, errCtx{op: "touch API key"}, func(tx *sql.Tx) error {
		return execOne(ctx, tx, "API key", id, `UPDATE api_keys SET last_used_at = $2 WHERE id = $1`, id, s.ts(at))
	})
}

// ---- sessions ----

const sessionCols = `token_hash, user_id, csrf_token, created_at, expires_at`

// CreateSession stores a session; CreatedAt is set when zero. Errors:
// Invalid (no token hash, user or expiry, or user_id naming a missing
// user), Conflict.
func (s *Store) CreateSession(ctx context.Context, ss *civic.Session) error {
	switch {
	case ss.TokenHash == "":
		return civic.FieldError("token_hash", "is required")
	case ss.UserID == "":
		return civic.FieldError("user_id", "is required")
	case ss.ExpiresAt.IsZero():
		return civic.FieldError("expires_at", "is required")
	}
	if ss.CreatedAt.IsZero() {
		ss.CreatedAt = s.stamp()
	}
	ss.CreatedAt = ss.CreatedAt.UTC().Truncate(time.Millisecond)
	ss.ExpiresAt = ss.ExpiresAt.UTC().Truncate(time.Millisecond)
	return s.inTx(ctx, errCtx{op: "create session", fkField: "user_id"}, func(tx *sql.Tx) error {
		if err := mustRef(ctx, tx, "user_id", "users", ss.UserID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5)`,
			ss.TokenHash, ss.UserID, ss.CSRFToken, s.ts(ss.CreatedAt), s.ts(ss.ExpiresAt))
		return err
	})
}

// Session returns the session with tokenHash unless it has expired by the
// store's clock. Errors: NotFound (unknown or expired).
func (s *Store) Session(ctx context.Context, tokenHash string) (civic.Session, error) {
	var ss civic.Session
	err := s.rdb.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE token_hash = $1 AND expires_at > $2`,
		tokenHash, s.ts(s.stamp())).Scan(&ss.TokenHash, &ss.UserID, &ss.CSRFToken, scanTime{&ss.CreatedAt}, scanTime{&ss.ExpiresAt})
	if err == sql.ErrNoRows {
		return ss, civic.Errorf(civic.NotFound, "session not found or expired")
	}
	return ss, s.fail(errCtx{op: "get session"}, err)
}

// DeleteSession removes a session (logout). Deleting an unknown session is
// not an error.
func (s *Store) DeleteSession(ctx context.Context, tokenHash string) error {
	return s.inTx(ctx, errCtx{op: "delete session"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash = $1`, tokenHash)
		return err
	})
}

// TouchSession sets the expiry of the session with tokenHash (an idle
// deadline moving forward). Touching an unknown session is not an error:
// it may have just been deleted.
func (s *Store) TouchSession(ctx context.Context, tokenHash string, expiresAt time.Time) error {
	return s.inTx(ctx, errCtx{op: "touch session"}, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET expires_at = $2 WHERE token_hash = $1`,
			tokenHash, s.ts(expiresAt.UTC().Truncate(time.Millisecond)))
		return err
	})
}

// DeleteUserSessions ends every session of the user with id userID (a
// password change) and returns how many there were.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	var n int64
	err := s.inTx(ctx, errCtx{op: "delete user sessions"}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// DeleteExpiredSessions removes the sessions expired at now and returns how
// many there were.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, errCtx{op: "delete expired sessions"}, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, s.ts(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}

// ---- audit ----

const auditCols = `id, time, actor, action, target, detail, remote`

// AppendAudit appends an entry and sets its ID; a zero Time is set to now.
// Errors: Invalid (no actor or action).
func (s *Store) AppendAudit(ctx context.Context, e *civic.AuditEntry) error {
	if strings.TrimSpace(e.Actor) == "" {
		return civic.FieldError("actor", "is required")
	}
	if strings.TrimSpace(e.Action) == "" {
		return civic.FieldError("action", "is required")
	}
	if e.Time.IsZero() {
		e.Time = s.stamp()
	}
	e.Time = e.Time.UTC().Truncate(time.Millisecond)
	return s.inTx(ctx, errCtx{op: "append audit"}, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO audit_log (time, actor, action, target, detail, remote)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
			s.ts(e.Time), e.Actor, e.Action, e.Target, e.Detail, e.Remote).Scan(&e.ID)
	})
}

// DefaultAuditLimit is how many entries ListAudit returns when the filter
// sets no limit.
const DefaultAuditLimit = 100

// ListAudit returns the entries f selects, newest first, at most f.Limit
// (DefaultAuditLimit when zero). Errors: Invalid (a negative limit).
func (s *Store) ListAudit(ctx context.Context, f civic.AuditFilter) ([]civic.AuditEntry, error) {
	if f.Limit < 0 {
		return nil, civic.FieldError("limit", "must not be negative")
	}
	limit := f.Limit
	if limit == 0 {
		limit = DefaultAuditLimit
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if f.Actor != "" {
		where = append(where, "actor = "+arg(f.Actor))
	}
	if f.Action != "" {
		where = append(where, "action = "+arg(f.Action))
	}
	if !f.Since.IsZero() {
		where = append(where, "time >= "+arg(s.ts(f.Since)))
	}
	q := `SELECT ` + auditCols + ` FROM audit_log`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY time DESC, id DESC LIMIT " + arg(int64(limit))
	return list(ctx, s, "list audit", q, func(r rowScanner) (civic.AuditEntry, error) {
		var e civic.AuditEntry
		err := r.Scan(&e.ID, scanTime{&e.Time}, &e.Actor, &e.Action, &e.Target, &e.Detail, &e.Remote)
		return e, err
	}, args...)
}
