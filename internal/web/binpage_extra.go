package web

import (
	"context"
	"fmt"
	"html/template"
	"net/http"
	"net/url"

	"github.com/civic-city/civic/internal/civic"
)

// What the bin page shows beyond the bin's own state: its collections, its
// alert history, how to get there, and how its devices are doing.

// binHistorySize bounds the collections and alerts the bin page lists.
const binHistorySize = 20

// binExtra is the bin page's model of those.
type binExtra struct {
	Collections []civic.Collection
	Alerts      []alertRow
	MoreAlerts  bool
	// Nav are links that open the bin's place in a navigation app.
	Nav []navLink
	// Health is each of the bin's devices' health, by the definition the
	// fleet page and the alert rules share.
	Health []deviceHealthRow
	// Requests are the newest 311 requests about the bin, nil without a
	// service desk; Queue links them to the staff queue (for those who
	// may work it) instead of their public pages.
	Requests []civic.ServiceRequest
	Desk     bool
	Queue    bool
}

type navLink struct {
	Label string
	URL   template.URL
}

type deviceHealthRow struct {
	civic.DeviceHealth
	Label, Class string
}

// directions returns links to the bin's place: a geo: URI (the phone's own
// map app), OpenStreetMap and Google Maps directions.
func directions(b civic.Bin) []navLink {
	ll := fmt.Sprintf("%.6f,%.6f", b.Lat, b.Lon)
	return []navLink{
		{"Open in a map app", geoURI(b.Lat, b.Lon, b.Name)},
		{"Directions (OpenStreetMap)", template.URL("https://www.openstreetmap.org/directions?route=" + url.QueryEscape(";"+ll) + "#map=18/" + fmt.Sprintf("%.6f/%.6f", b.Lat, b.Lon))},
		{"Directions (Google Maps)", template.URL("https://www.google.com/maps/dir/?api=1&destination=" + url.QueryEscape(ll))},
	}
}

// healthClass is the badge class of a health status.
func healthClass(s civic.HealthStatus) string {
	switch s {
	case civic.HealthOK:
		return "h-ok"
	case civic.HealthLowBattery, civic.HealthDecodeErrors, civic.HealthSensorFault:
		return "h-low"
	case civic.HealthInactive:
		return ""
	}
	return "h-offline"
}

// binExtras fills d.Extra. Parts whose store is missing stay empty;
// failures are logged and leave their part empty rather than the page.
func (u *UI) binExtras(r *http.Request, d *binData) {
	ctx := r.Context()
	b := d.View.Bin
	now := u.now()
	d.Extra.Nav = directions(b)
	var collections interface {
		ListCollections(ctx context.Context, f civic.CollectionFilter) ([]civic.Collection, error)
	}
	if u.deps.Plans != nil {
		collections = u.deps.Plans
	} else if cs, ok := u.deps.Store.(civic.PlanStore); ok {
		collections = cs
	}
	if collections != nil {
		cs, err := collections.ListCollections(ctx, civic.CollectionFilter{BinID: b.ID, Limit: binHistorySize})
		if err != nil {
			u.log.ErrorContext(ctx, "bin page: collections", "bin", b.ID, "err", err)
		}
		d.Extra.Collections = cs
	}
	rules := civic.DefaultAlertRules()
	var open []civic.Alert
	if st := u.deps.Alerts; st != nil {
		if rs, err := st.AlertRules(ctx); err == nil {
			rules = rs
		}
		as, err := st.ListAlerts(ctx, civic.AlertFilter{BinID: b.ID, Limit: binHistorySize + 1, Sort: civic.AlertSortNewest})
		if err != nil {
			u.log.ErrorContext(ctx, "bin page: alerts", "bin", b.ID, "err", err)
		}
		if len(as) > binHistorySize {
			as, d.Extra.MoreAlerts = as[:binHistorySize], true
		}
		for _, a := range as {
			d.Extra.Alerts = append(d.Extra.Alerts, alertRow{Alert: a, OpenedAgo: ago(now, a.OpenedAt), Class: severityClass(a.Severity)})
			if a.Status != civic.AlertResolved {
				open = append(open, a)
			}
		}
	}
	hs, ok := u.deps.Store.(civic.DeviceHealthStore)
	if !ok {
		return
	}
	for _, dv := range d.Devices {
		h, err := hs.DeviceHealthOf(ctx, dv.ID, now)
		if err != nil {
			u.log.ErrorContext(ctx, "bin page: device health", "device", dv.ID, "err", err)
			continue
		}
		h.AssessLimits(now, rules.For(&b).HealthLimits())
		h.NoteAlerts(open)
		d.Extra.Health = append(d.Extra.Health, deviceHealthRow{DeviceHealth: h, Label: healthLabel(h.Status), Class: healthClass(h.Status)})
	}
}
