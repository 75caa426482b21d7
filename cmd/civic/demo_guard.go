package main

import (
	"context"

	"github.com/civic-city/civic/internal/civic"
)

// checkDemoData refuses --demo on a store that holds a city's real data:
// the demo adds users whose passwords are printed at every start and
// published in the README. It lets the demo run on an empty store, on the
// demo's own store (all its users exist already: starting it again adds
// nothing), and anywhere with --demo-anyway.
func checkDemoData(ctx context.Context, a *app, c *config) error {
	if c.DemoAnyway {
		return nil
	}
	bins, err := a.store.ListBins(ctx, civic.BinFilter{Limit: 1})
	if err != nil {
		return err
	}
	users, err := a.store.CountUsers(ctx)
	if err != nil {
		return err
	}
	if len(bins) == 0 && users == 0 {
		return nil
	}
	missing := 0
	for _, u := range demoUsers {
		if _, err := a.store.UserByName(ctx, u.name); civic.IsKind(err, civic.NotFound) {
			missing++
		} else if err != nil {
			return err
		}
	}
	if missing == 0 {
		return nil
	}
	return usageErrorf("--demo: %s already holds data (%d users, bins: %t) that is not the demo's; the demo would add "+
		"users with published passwords to it. Use an empty --data folder, or add --demo-anyway if that is what you want",
		redactURL(c.DB), users, len(bins) > 0)
}
