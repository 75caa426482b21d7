package web

import (
	"context"
	"log/slog"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/civic"
)

// adminDeps wires the admin pages' hooks to the fixture's real auth
// service and a real notifier, and adds the admin user "admin1"; nil when
// on is false.
func (f *fixture) adminDeps(on bool) *Admin {
	if !on {
		return nil
	}
	if _, err := f.auth.CreateUser(context.Background(), "admin1", civic.RoleAdmin, testPassword); err != nil {
		f.t.Fatalf("CreateUser admin1: %v", err)
	}
	n := alert.NewNotifier(alert.NotifierOptions{Store: f.st, Logger: slog.New(slog.DiscardHandler), AllowInternal: true}) // the test webhook listens on loopback
	return &Admin{
		AddUser:      f.auth.AddUser,
		SetPassword:  f.auth.SetPassword,
		CreateAPIKey: f.auth.CreateAPIKey,
		RevokeAPIKey: f.auth.RevokeAPIKey,
		SendTest:     n.SendTest,
	}
}
