package store_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
)

func TestUsers(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		u := &civic.User{Name: "ana", DisplayName: "Ana", Email: "ana@city.example", Role: civic.RoleAdmin, PasswordHash: "$argon2id$x"}
		must(t, "CreateUser", s.CreateUser(ctx, u))
		if u.ID == "" {
			t.Fatal("CreateUser left the ID empty")
		}
		got, err := s.User(ctx, u.ID)
		must(t, "User", err)
		if !reflect.DeepEqual(got, *u) {
			t.Errorf("User() = %+v,\nwant %+v", got, *u)
		}
		byName, err := s.UserByName(ctx, "ana")
		must(t, "UserByName", err)
		if byName.ID != u.ID {
			t.Errorf("UserByName id = %q, want %q", byName.ID, u.ID)
		}
		wantKind(t, "duplicate name", s.CreateUser(ctx, &civic.User{Name: "ana", Role: civic.RoleCrew}), civic.Conflict)
		wantKind(t, "bad role", s.CreateUser(ctx, &civic.User{Name: "bo", Role: "king"}), civic.Invalid, "role")
		must(t, "CreateUser ben", s.CreateUser(ctx, &civic.User{ID: "u-ben", Name: "ben", Role: civic.RoleCrew}))

		clk.Advance(time.Hour)
		u.Disabled, u.Role, u.PasswordHash = true, civic.RoleAnalyst, ""
		must(t, "UpdateUser", s.UpdateUser(ctx, u))
		got, _ = s.User(ctx, u.ID)
		if !got.Disabled || got.Role != civic.RoleAnalyst || !got.UpdatedAt.Equal(clk.Now()) || got.PasswordHash != "$argon2id$x" {
			t.Errorf("after UpdateUser: %+v", got)
		}
		if u.PasswordHash != "$argon2id$x" {
			t.Errorf("UpdateUser did not fill in the kept password hash: %q", u.PasswordHash)
		}
		u.PasswordHash = "$argon2id$y"
		must(t, "UpdateUser password", s.UpdateUser(ctx, u))
		if got, _ = s.User(ctx, u.ID); got.PasswordHash != "$argon2id$y" {
			t.Errorf("password hash = %q, want the new one", got.PasswordHash)
		}
		u.Name = "ben"
		wantKind(t, "rename to a taken name", s.UpdateUser(ctx, u), civic.Conflict)
		wantKind(t, "update missing", s.UpdateUser(ctx, &civic.User{ID: "u-x", Name: "x", Role: civic.RoleCrew}), civic.NotFound)
		_, err = s.UserByName(ctx, "nobody")
		wantKind(t, "missing by name", err, civic.NotFound)

		n, err := s.CountUsers(ctx)
		must(t, "CountUsers", err)
		list, err := s.ListUsers(ctx)
		must(t, "ListUsers", err)
		if n != 2 || len(list) != 2 || list[0].Name != "ana" || list[1].Name != "ben" {
			t.Errorf("CountUsers = %d, ListUsers = %+v", n, list)
		}
	})
}

func TestAPIKeys(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		k := &civic.APIKey{ID: "k1", Name: "gateway", Scopes: []civic.Scope{civic.ScopeIngest, civic.ScopeRead}, Hash: "h1", CreatedBy: "ana"}
		must(t, "CreateAPIKey", s.CreateAPIKey(ctx, k))
		got, err := s.APIKey(ctx, "k1")
		must(t, "APIKey", err)
		if !reflect.DeepEqual(got, *k) {
			t.Errorf("APIKey() = %+v,\nwant %+v", got, *k)
		}
		wantKind(t, "duplicate", s.CreateAPIKey(ctx, &civic.APIKey{ID: "k1", Scopes: []civic.Scope{civic.ScopeRead}, Hash: "h"}), civic.Conflict)
		wantKind(t, "no scopes", s.CreateAPIKey(ctx, &civic.APIKey{ID: "k2", Hash: "h"}), civic.Invalid, "scopes")

		used := clk.Now().Add(time.Minute)
		must(t, "TouchAPIKey", s.TouchAPIKey(ctx, "k1", used))
		revoked := clk.Now().Add(time.Hour)
		must(t, "RevokeAPIKey", s.RevokeAPIKey(ctx, "k1", revoked))
		must(t, "RevokeAPIKey again", s.RevokeAPIKey(ctx, "k1", revoked.Add(time.Hour)))
		got, _ = s.APIKey(ctx, "k1")
		if got.LastUsedAt == nil || !got.LastUsedAt.Equal(used) || got.RevokedAt == nil || !got.RevokedAt.Equal(revoked) {
			t.Errorf("after touch and revoke: last used %v, revoked %v; want %v, %v", got.LastUsedAt, got.RevokedAt, used, revoked)
		}
		wantKind(t, "revoke missing", s.RevokeAPIKey(ctx, "k9", revoked), civic.NotFound)
		wantKind(t, "touch missing", s.TouchAPIKey(ctx, "k9", used), civic.NotFound)
		_, err = s.APIKey(ctx, "k9")
		wantKind(t, "get missing", err, civic.NotFound)
		list, err := s.ListAPIKeys(ctx)
		must(t, "ListAPIKeys", err)
		if len(list) != 1 || list[0].RevokedAt == nil {
			t.Errorf("ListAPIKeys = %+v", list)
		}
	})
}

func TestSessions(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		u := &civic.User{Name: "ana", Role: civic.RoleAdmin}
		must(t, "CreateUser", s.CreateUser(ctx, u))
		short := &civic.Session{TokenHash: "t-short", UserID: u.ID, CSRFToken: "c1", ExpiresAt: clk.Now().Add(time.Hour)}
		long := &civic.Session{TokenHash: "t-long", UserID: u.ID, CSRFToken: "c2", ExpiresAt: clk.Now().Add(24 * time.Hour)}
		must(t, "CreateSession", s.CreateSession(ctx, short))
		must(t, "CreateSession", s.CreateSession(ctx, long))
		wantKind(t, "duplicate", s.CreateSession(ctx, short), civic.Conflict)
		wantKind(t, "unknown user", s.CreateSession(ctx, &civic.Session{TokenHash: "t3", UserID: "nobody", ExpiresAt: clk.Now().Add(time.Hour)}), civic.Invalid, "user_id")

		got, err := s.Session(ctx, "t-short")
		must(t, "Session", err)
		if !reflect.DeepEqual(got, *short) {
			t.Errorf("Session() = %+v,\nwant %+v", got, *short)
		}
		clk.Advance(time.Hour) // expiry is exclusive: now == ExpiresAt is expired
		_, err = s.Session(ctx, "t-short")
		wantKind(t, "expired session", err, civic.NotFound)
		if _, err := s.Session(ctx, "t-long"); err != nil {
			t.Errorf("long session: %v", err)
		}
		n, err := s.DeleteExpiredSessions(ctx, clk.Now())
		must(t, "DeleteExpiredSessions", err)
		if n != 1 {
			t.Errorf("DeleteExpiredSessions = %d, want 1", n)
		}
		must(t, "DeleteSession", s.DeleteSession(ctx, "t-long"))
		_, err = s.Session(ctx, "t-long")
		wantKind(t, "deleted session", err, civic.NotFound)
		must(t, "DeleteSession unknown", s.DeleteSession(ctx, "t-long"))
	})
}

func TestAudit(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		for i := range 105 {
			actor := "ana"
			if i%2 == 1 {
				actor = "ben"
			}
			e := &civic.AuditEntry{Actor: actor, Action: "bin.create", Target: fmt.Sprintf("bin/B-%03d", i), Remote: "10.0.0.1"}
			if i%10 == 0 {
				e.Action = "key.revoke"
			}
			must(t, "AppendAudit", s.AppendAudit(ctx, e))
			if e.ID == 0 || !e.Time.Equal(clk.Now()) {
				t.Fatalf("AppendAudit set id %d, time %v", e.ID, e.Time)
			}
			clk.Advance(time.Second)
		}
		wantKind(t, "no actor", s.AppendAudit(ctx, &civic.AuditEntry{Action: "x"}), civic.Invalid, "actor")

		all, err := s.ListAudit(ctx, civic.AuditFilter{})
		must(t, "ListAudit", err)
		if len(all) != 100 || all[0].Target != "bin/B-104" || all[99].Target != "bin/B-005" {
			t.Fatalf("default list: %d entries, first %q, last %q", len(all), all[0].Target, all[len(all)-1].Target)
		}
		since := all[0].Time.Add(-4 * time.Second)
		tests := []struct {
			name string
			f    civic.AuditFilter
			want []string
		}{
			{"limit", civic.AuditFilter{Limit: 2}, []string{"bin/B-104", "bin/B-103"}},
			{"actor", civic.AuditFilter{Actor: "ben", Limit: 2}, []string{"bin/B-103", "bin/B-101"}},
			{"action", civic.AuditFilter{Action: "key.revoke", Limit: 3}, []string{"bin/B-100", "bin/B-090", "bin/B-080"}},
			{"since", civic.AuditFilter{Since: since}, []string{"bin/B-104", "bin/B-103", "bin/B-102", "bin/B-101", "bin/B-100"}},
			{"all filters", civic.AuditFilter{Actor: "ana", Action: "key.revoke", Since: since}, []string{"bin/B-100"}},
		}
		for _, tt := range tests {
			got, err := s.ListAudit(ctx, tt.f)
			must(t, tt.name, err)
			var targets []string
			for _, e := range got {
				targets = append(targets, e.Target)
			}
			if !reflect.DeepEqual(targets, tt.want) {
				t.Errorf("%s: got %v, want %v", tt.name, targets, tt.want)
			}
		}
	})
}

// TestUserIdentities: a user made for an OpenID Connect identity is found
// by (issuer, subject) and by nothing else; a second link of the same
// identity, or a taken name, fails whole (no user without its link).
func TestUserIdentities(t *testing.T) {
	forEachEngine(t, func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		const iss = "https://id.city.example"
		u := &civic.User{Name: "ana", Email: "ana@city.example", Role: civic.RoleSupervisor}
		must(t, "CreateUserWithIdentity", s.CreateUserWithIdentity(ctx, u, iss, "sub-1"))
		got, err := s.UserByIdentity(ctx, iss, "sub-1")
		must(t, "UserByIdentity", err)
		if got.ID != u.ID || got.Name != "ana" || got.Role != civic.RoleSupervisor || !got.CreatedAt.Equal(clk.Now()) {
			t.Errorf("UserByIdentity = %+v, want %+v", got, *u)
		}
		for _, q := range [][2]string{{iss, "sub-2"}, {"https://other.example", "sub-1"}, {iss + "/", "sub-1"}} {
			_, err := s.UserByIdentity(ctx, q[0], q[1])
			wantKind(t, "identity "+q[0]+" "+q[1], err, civic.NotFound)
		}
		wantKind(t, "identity linked twice", s.CreateUserWithIdentity(ctx, &civic.User{Name: "ana2", Role: civic.RoleCrew}, iss, "sub-1"), civic.Conflict)
		wantKind(t, "name taken", s.CreateUserWithIdentity(ctx, &civic.User{Name: "ana", Role: civic.RoleCrew}, iss, "sub-3"), civic.Conflict)
		wantKind(t, "no subject", s.CreateUserWithIdentity(ctx, &civic.User{Name: "bo", Role: civic.RoleCrew}, iss, ""), civic.Invalid, "subject")
		for _, name := range []string{"ana2", "bo"} {
			_, err := s.UserByName(ctx, name)
			wantKind(t, "user left by a failed link: "+name, err, civic.NotFound)
		}
		if _, err := s.UserByIdentity(ctx, iss, "sub-3"); !civic.IsKind(err, civic.NotFound) {
			t.Errorf("identity of a failed create: %v, want NotFound", err)
		}
		local := &civic.User{Name: "cy", Role: civic.RoleCrew}
		must(t, "CreateUser", s.CreateUser(ctx, local))
		issuers, err := s.UserIssuers(ctx)
		must(t, "UserIssuers", err)
		if len(issuers) != 1 || issuers[u.ID] != iss {
			t.Errorf("UserIssuers = %v, want only %s: %s", issuers, u.ID, iss)
		}
	})
}
