package auth

import (
	"context"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

// TestSessionEnds runs on the real store of both engines: sessions end when
// idle, at their absolute expiry however busy, when the password changes,
// and when the user is disabled; enabling the user again does not bring
// them back.
func TestSessionEnds(t *testing.T) {
	storetest.Engines(t, func(t *testing.T, engine string) {
		ctx := context.Background()
		clk := storetest.NewClock(time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
		st := storetest.Open(t, engine, store.Options{Now: clk.Now})
		s := New(st, Options{Now: clk.Now, Params: TestParams, IdleTimeout: time.Hour, SessionTTL: 5 * time.Hour})
		u, err := s.CreateUser(ctx, "ana", civic.RoleSupervisor, "correct horse battery")
		if err != nil {
			t.Fatal(err)
		}
		login := func() string {
			t.Helper()
			tok, _, _, err := s.Login(ctx, "ana", "correct horse battery")
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		valid := func(tok string) bool {
			t.Helper()
			_, err := s.SessionPrincipal(ctx, tok)
			if err != nil && !civic.IsKind(err, civic.Unauthorized) {
				t.Fatal(err)
			}
			return err == nil
		}

		t.Run("idle", func(t *testing.T) {
			tok := login()
			clk.Advance(50 * time.Minute)
			if !valid(tok) {
				t.Fatal("ended after 50 idle minutes of 60")
			}
			clk.Advance(50 * time.Minute) // 100 min since login, 50 since use
			if !valid(tok) {
				t.Fatal("ended 50 minutes after its last use: the idle deadline did not move")
			}
			clk.Advance(61 * time.Minute)
			if valid(tok) {
				t.Fatal("still valid after 61 idle minutes")
			}
		})
		t.Run("absolute", func(t *testing.T) {
			tok := login()
			for range 9 { // used every 30 minutes: 4.5 h
				clk.Advance(30 * time.Minute)
				if !valid(tok) {
					t.Fatal("a busy session ended before its 5 h")
				}
			}
			clk.Advance(31 * time.Minute)
			if valid(tok) {
				t.Fatal("a busy session outlived its absolute 5 h")
			}
		})
		t.Run("password change", func(t *testing.T) {
			a, b := login(), login()
			if err := s.SetPassword(ctx, u.ID, "a brand new passphrase"); err != nil {
				t.Fatal(err)
			}
			if valid(a) || valid(b) {
				t.Fatal("sessions survived a password change")
			}
			if err := s.SetPassword(ctx, u.ID, "correct horse battery"); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("disable and enable", func(t *testing.T) {
			tok := login()
			cur, err := st.User(ctx, u.ID)
			if err != nil {
				t.Fatal(err)
			}
			cur.Disabled = true
			if err := st.UpdateUser(ctx, &cur); err != nil {
				t.Fatal(err)
			}
			if valid(tok) {
				t.Fatal("session of a disabled user is valid")
			}
			cur.Disabled = false
			if err := st.UpdateUser(ctx, &cur); err != nil {
				t.Fatal(err)
			}
			if valid(tok) {
				t.Fatal("enabling the user again revived the old session")
			}
			if !valid(login()) {
				t.Fatal("the enabled user cannot log in again")
			}
		})
	})
}
