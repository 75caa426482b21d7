package main

import (
	"flag"
	"log/slog"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/opendata"
	"github.com/civic-city/civic/internal/store"
)

// openDataFlags registers the open data portal's configuration: who
// publishes the data, whom to ask, the licence, and how precisely
// locations are published.
func openDataFlags(fs *flag.FlagSet, c *config, getenv func(string) string) {
	fs.StringVar(&c.DataPublisher, "data-publisher", envOr(getenv, "CIVIC_DATA_PUBLISHER", "civic"), "organisation that publishes the open data, e.g. 'City of Springfield' (env CIVIC_DATA_PUBLISHER)")
	fs.StringVar(&c.DataContact, "data-contact", getenv("CIVIC_DATA_CONTACT"), "open data contact name (default: the publisher; env CIVIC_DATA_CONTACT)")
	fs.StringVar(&c.DataEmail, "data-email", getenv("CIVIC_DATA_EMAIL"), "open data contact e-mail address (env CIVIC_DATA_EMAIL)")
	fs.StringVar(&c.DataLicense, "data-license", envOr(getenv, "CIVIC_DATA_LICENSE", opendata.DefaultLicense), "URL of the open data licence (env CIVIC_DATA_LICENSE)")
	fs.StringVar(&c.DataPrecision, "data-location-decimals", getenv("CIVIC_DATA_LOCATION_DECIMALS"), "round a dataset's published locations, e.g. bins=4 (4 decimals, about 10 m); comma-separated (env CIVIC_DATA_LOCATION_DECIMALS)")
}

// parseDecimals reads --data-location-decimals: dataset=decimals, ...
func parseDecimals(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, v, ok := strings.Cut(part, "=")
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if !ok || err != nil || n < 1 || n > 12 {
			return nil, usageErrorf("--data-location-decimals: %q is not dataset=decimals (1 to 12)", part)
		}
		out[strings.TrimSpace(name)] = n
	}
	return out, nil
}

// newPortal builds the open data portal over the store.
func newPortal(c *config, st *store.Store, log *slog.Logger) (*opendata.Portal, error) {
	decimals, err := parseDecimals(c.DataPrecision)
	if err != nil {
		return nil, err
	}
	p, err := opendata.New(opendata.Config{
		Publisher: c.DataPublisher, ContactName: c.DataContact, ContactEmail: c.DataEmail, License: c.DataLicense,
		BaseURL: c.BaseURL, LocationDecimals: decimals,
	}, opendata.Deps{Data: st, Bins: st, Logger: log})
	if err != nil {
		return nil, usageErrorf("open data: %v", strings.TrimPrefix(err.Error(), "opendata: "))
	}
	return p, nil
}
