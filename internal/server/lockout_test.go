package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/server"
)

// TestLoginLockout goes through POST /api/v1/session: after five failures
// an existing and an unknown name answer alike (503, the same message),
// even to the right password, whatever address the next try comes from.
func TestLoginLockout(t *testing.T) {
	f := newFixture(t, server.Config{LoginRate: rate.Inf, AnonymousRate: rate.Inf})
	post := func(addr, name, pw string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(fmt.Sprintf(`{"name":%q,"password":%q}`, name, pw)))
		r.Header.Set("Content-Type", "application/json")
		r.RemoteAddr = addr + ":4000"
		rec := httptest.NewRecorder()
		f.h.ServeHTTP(rec, r)
		return rec
	}
	var answers []string
	for _, name := range []string{"admin1", "ghost"} {
		for i := range 5 {
			if rec := post(fmt.Sprintf("198.51.100.%d", i+1), name, "not the password"); rec.Code != http.StatusUnauthorized {
				t.Fatalf("%s failure %d: %d", name, i, rec.Code)
			}
		}
		rec := post("203.0.113.5", name, "password for admin")
		code, msg, _ := errorOf(t, rec)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(msg, "try again in 15 minutes") {
			t.Fatalf("%s locked: %d %s %q", name, rec.Code, code, msg)
		}
		answers = append(answers, rec.Body.String())
	}
	if answers[0] != answers[1] {
		t.Errorf("an existing and an unknown name are told apart when locked:\n%s\n%s", answers[0], answers[1])
	}
}
