package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/store"
)

// app is the part of civic every store-using command needs: the opened
// store, the account service and the clock.
type app struct {
	store *store.Store
	auth  *auth.Service
	now   func() time.Time
	log   *slog.Logger
	lock  *dataLock // shared: civic restore waits for every holder
}

// openApp opens the configured store (running migrations) and builds the
// services on top of it.
func openApp(ctx context.Context, c *config) (*app, error) {
	if err := c.finish(); err != nil {
		return nil, err
	}
	log := slog.New(slog.DiscardHandler)
	return openAppWith(ctx, c, log)
}

func openAppWith(ctx context.Context, c *config, log *slog.Logger) (*app, error) {
	now := func() time.Time { return time.Now().UTC() }
	lock, err := lockData(c.DB, false)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, c.DB, store.Options{Now: now, Logger: log})
	if err != nil {
		lock.release()
		return nil, fmt.Errorf("open %s: %w", redactURL(c.DB), redactErr(err, c.DB))
	}
	return &app{
		store: st,
		auth:  auth.New(st, auth.Options{Now: now, IdleTimeout: c.SessionIdle, SessionTTL: c.SessionMax}),
		now:   now,
		log:   log,
		lock:  lock,
	}, nil
}

func (a *app) close() {
	if err := a.store.Close(); err != nil {
		a.log.Error("closing the store", "err", err)
	}
	a.lock.release()
}
