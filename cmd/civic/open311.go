package main

import (
	"context"
	"log/slog"
	"net/url"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/open311"
	"github.com/civic-city/civic/internal/server"
)

// open311Parts builds the 311 desk over the store, seeds the default
// services a new city lacks, and builds the GeoReport v2 handler and the
// mailer that tells reporters of status changes (through mail). The
// demo city gets some requests of its residents. The jurisdiction_id is
// the host of --base-url (any when it is unset).
func open311Parts(ctx context.Context, a *app, c *config, loc *time.Location, clock func() time.Time, log *slog.Logger,
	mail func(ctx context.Context, to, subject, body string) error) (*open311.Desk, *open311.Handler, *open311.Mailer, error) {
	mailer := open311.NewMailer(mail, c.BaseURL, log)
	desk := open311.NewDesk(open311.Options{
		Store: a.store, Now: clock, Logger: log, OnChange: mailer.StatusChanged,
		BinExists: func(ctx context.Context, id string) (bool, error) {
			_, err := a.store.Bin(ctx, id)
			if civic.IsKind(err, civic.NotFound) {
				return false, nil
			}
			return err == nil, err
		},
	})
	if err := desk.Seed(ctx); err != nil {
		return nil, nil, nil, err
	}
	if c.Demo {
		views, err := a.store.ListBins(ctx, civic.BinFilter{})
		if err != nil {
			return nil, nil, nil, err
		}
		bins := make([]civic.Bin, len(views))
		for i := range views {
			bins[i] = views[i].Bin
		}
		if err := open311.SeedDemo(ctx, desk, bins, clock(), uint64(c.Seed)); err != nil {
			return nil, nil, nil, err
		}
	}
	var jurisdiction string
	if u, err := url.Parse(c.BaseURL); err == nil {
		jurisdiction = u.Hostname()
	}
	geo := open311.NewHandler(open311.HandlerOptions{
		Desk: desk, Keys: a.auth.KeyPrincipal, ClientIP: server.ClientIP, Jurisdiction: jurisdiction,
		BaseURL: c.BaseURL, Location: loc, Now: clock, Logger: log,
	})
	return desk, geo, mailer, nil
}

// requestsCollected closes the open 311 requests about a bin a crew has
// just emptied (overflowing, missed collection), with a public note.
func (n *node) requestsCollected(binID string) {
	if k, err := n.desk.BinCollected(context.Background(), binID); err != nil {
		n.log.Error("closing 311 requests of a collected bin", "bin", binID, "err", err)
	} else if k > 0 {
		n.log.Info("closed 311 requests of a collected bin", "bin", binID, "requests", k)
	}
}
