package opendata

import "github.com/civic-city/civic/internal/civic"

// Column types, short for the declarations below.
const (
	text    = civic.DataText
	number  = civic.DataNumber
	integer = civic.DataInteger
	boolean = civic.DataBoolean
	instant = civic.DataTime
	date    = civic.DataDate
)

func col(name string, t civic.DataType, description string) civic.DataColumn {
	return civic.DataColumn{Name: name, Type: t, Description: description}
}

// rounded is a number column published at decimals places.
func rounded(name string, decimals int, description string) civic.DataColumn {
	return civic.DataColumn{Name: name, Type: number, Description: description, Decimals: decimals}
}

// Datasets are the published datasets. Each is one declaration: what it
// is, its columns (the data dictionary), where its rows come from and how
// to tell it changed. Nothing personal is ever a column: no user, crew
// member or reporter, no device credential, no free-text note. The
// privacy test (TestPublishedDataHoldsNoSecrets) publishes every dataset
// and looks for them.
//
// To publish another dataset, append a declaration: a lower-case Name (its
// URL), Title, Description, Keywords, Frequency; Columns, each named as
// Source's SQL names it, with a type and a description (rounded(...) for
// a number published at fewer decimals: locations that could point at a
// person, say); Key, a unique key that is the default order; Lat and Lon
// when rows have a location (then GeoJSON too); Source.SQL (and
// Source.Postgres where the dialects differ: on SQLite time columns must
// come out in the store's text form, dates as YYYY-MM-DD) and
// Source.Version, queries of (newest time, count) that change when the
// rows do. Then give the fixture in fixture_test.go rows for it (and any
// personal data its tables hold, in secrets), and its row count in
// TestEveryDatasetInEveryFormat: every format, the query parameters, the
// catalogue and the privacy test then cover it. Operators may round its
// locations further with Config.LocationDecimals (civic serve
// --data-location-decimals NAME=N).
var Datasets = []Dataset{
	{
		Name:  "bins",
		Title: "Public waste bins",
		Description: "Every public waste bin and compacting station the city runs: where it is, what it takes, how large it is, " +
			"how full it is now (in bands) and when it was last emptied.",
		Keywords:  []string{"waste", "bins", "recycling", "street furniture", "smart city"},
		Frequency: "R/PT1H",
		Columns: []civic.DataColumn{
			col("id", text, "The bin's stable identifier, as in every other dataset."),
			col("name", text, "The bin's public name."),
			col("stream", text, "Waste stream: trash, recycling, paper, bottles_cans or compost."),
			col("capacity_l", number, "Capacity in litres."),
			col("compacting", boolean, "Whether the bin compacts its waste (a solar compactor)."),
			col("zone_id", text, "The collection zone the bin lies in, if any."),
			col("address", text, "Street address, if known."),
			rounded("lat", 6, "Latitude, WGS 84 degrees."),
			rounded("lon", 6, "Longitude, WGS 84 degrees."),
			col("status", text, "active, maintenance or retired."),
			col("fill_band", text, "How full the bin was at its last sensor reading: 0-25%, 25-50%, 50-75%, 75-90% or 90-100%; empty without a sensor."),
			col("fill_observed", instant, "When that reading was taken or the bin emptied, UTC."),
			col("last_emptied", instant, "When a crew last emptied the bin, UTC."),
		},
		Key: []string{"id"},
		Lat: "lat", Lon: "lon",
		Source: civic.DataSource{
			SQL: `SELECT b.id AS id, b.name AS name, b.stream AS stream, b.capacity_l AS capacity_l, b.compacting AS compacting,
				b.zone_id AS zone_id, b.address AS address, b.lat AS lat, b.lon AS lon, b.status AS status,
				` + fillBand + ` AS fill_band,
				CASE WHEN st.bin_id IS NULL THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ', st.time / 1000.0, 'unixepoch') END AS fill_observed,
				lc.last AS last_emptied
				FROM bins b LEFT JOIN bin_state st ON st.bin_id = b.id
				LEFT JOIN (SELECT bin_id, MAX(time) AS last FROM collections GROUP BY bin_id) lc ON lc.bin_id = b.id`,
			Postgres: `SELECT b.id AS id, b.name AS name, b.stream AS stream, b.capacity_l AS capacity_l, b.compacting AS compacting,
				b.zone_id AS zone_id, b.address AS address, b.lat AS lat, b.lon AS lon, b.status AS status,
				` + fillBand + ` AS fill_band,
				st.time AS fill_observed,
				lc.last AS last_emptied
				FROM bins b LEFT JOIN bin_state st ON st.bin_id = b.id
				LEFT JOIN (SELECT bin_id, MAX(time) AS last FROM collections GROUP BY bin_id) lc ON lc.bin_id = b.id`,
			Version: []string{
				`SELECT MAX(updated_at), COUNT(*) FROM bins`,
				`SELECT MAX(updated_at), COUNT(*) FROM bin_state`,
				`SELECT MAX(time), COUNT(*) FROM collections`,
			},
		},
	},
	{
		Name:  "daily_fill",
		Title: "Daily bin fill summary",
		Description: "For each bin with a fill sensor and each day (UTC) it reported: how many fill readings it sent and " +
			"the lowest, mean and highest fill, as fractions of its capacity (0 empty, 1 full).",
		Keywords:  []string{"waste", "bins", "sensors", "fill level", "smart city"},
		Frequency: "R/PT1H",
		Columns: []civic.DataColumn{
			col("day", date, "The day (UTC), YYYY-MM-DD."),
			col("bin_id", text, "The bin (see the bins dataset)."),
			col("stream", text, "The bin's waste stream."),
			col("zone_id", text, "The bin's collection zone, if any."),
			rounded("lat", 6, "The bin's latitude, WGS 84 degrees."),
			rounded("lon", 6, "The bin's longitude, WGS 84 degrees."),
			col("readings", integer, "Fill readings that day."),
			rounded("fill_min", 3, "Lowest fill that day, 0..1."),
			rounded("fill_mean", 3, "Mean of the day's fill readings, 0..1."),
			rounded("fill_max", 3, "Highest fill that day, 0..1."),
		},
		Key: []string{"day", "bin_id"},
		Lat: "lat", Lon: "lon",
		Source: civic.DataSource{
			SQL: `SELECT strftime('%Y-%m-%d', r.time / 1000, 'unixepoch') AS day, r.bin_id AS bin_id, b.stream AS stream,
				b.zone_id AS zone_id, b.lat AS lat, b.lon AS lon,
				COUNT(*) AS readings, MIN(r.fill) AS fill_min, AVG(r.fill) AS fill_mean, MAX(r.fill) AS fill_max
				FROM readings r JOIN bins b ON b.id = r.bin_id
				WHERE r.fill IS NOT NULL
				GROUP BY r.bin_id, strftime('%Y-%m-%d', r.time / 1000, 'unixepoch'), b.stream, b.zone_id, b.lat, b.lon`,
			Postgres: `SELECT to_char(r.time AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, r.bin_id AS bin_id, b.stream AS stream,
				b.zone_id AS zone_id, b.lat AS lat, b.lon AS lon,
				COUNT(*) AS readings, MIN(r.fill) AS fill_min, AVG(r.fill) AS fill_mean, MAX(r.fill) AS fill_max
				FROM readings r JOIN bins b ON b.id = r.bin_id
				WHERE r.fill IS NOT NULL
				GROUP BY r.bin_id, to_char(r.time AT TIME ZONE 'UTC', 'YYYY-MM-DD'), b.stream, b.zone_id, b.lat, b.lon`,
			// A reading that brings news moves its bin's state; counting
			// readings would scan them all on every request.
			Version: []string{
				`SELECT MAX(updated_at), COUNT(*) FROM bin_state`,
				`SELECT MAX(updated_at), COUNT(*) FROM bins`,
			},
		},
	},
	{
		Name:  "collections",
		Title: "Bin collection events",
		Description: "Every time a bin was emptied: when, by which truck and as part of which plan and route, and how full " +
			"the bin was (as the crew saw it, and as its sensor last knew it).",
		Keywords:  []string{"waste", "collection", "bins", "trucks", "WasteObserved"},
		Frequency: "R/PT1H",
		Columns: []civic.DataColumn{
			col("id", text, "The collection event's identifier."),
			col("bin_id", text, "The bin emptied (see the bins dataset)."),
			col("time", instant, "When the bin was emptied, UTC."),
			col("stream", text, "The bin's waste stream."),
			col("zone_id", text, "The bin's collection zone, if any."),
			rounded("lat", 6, "The bin's latitude, WGS 84 degrees."),
			rounded("lon", 6, "The bin's longitude, WGS 84 degrees."),
			col("plan_id", text, "The day's collection plan, if the collection was planned."),
			col("route_id", text, "The plan's route, if any."),
			col("truck_id", text, "The truck, if known."),
			rounded("fill_seen", 3, "Fill the crew saw on arrival, 0..1, if reported."),
			rounded("fill_before", 3, "Fill the bin's sensor last reported before the collection, 0..1."),
			col("source", text, "How the event was recorded: crew (a crew's report), api, import or demo."),
		},
		Key: []string{"time", "id"},
		Lat: "lat", Lon: "lon",
		Source: civic.DataSource{
			SQL: `SELECT c.id AS id, c.bin_id AS bin_id, c.time AS time, b.stream AS stream, b.zone_id AS zone_id,
				b.lat AS lat, b.lon AS lon, c.plan_id AS plan_id, c.route_id AS route_id, c.truck_id AS truck_id,
				c.fill_seen AS fill_seen, c.fill_before AS fill_before, c.source AS source
				FROM collections c LEFT JOIN bins b ON b.id = c.bin_id`,
			Version: []string{`SELECT MAX(time), COUNT(*) FROM collections`},
		},
	},
	{
		Name:  "alerts_summary",
		Title: "Bin alerts by day",
		Description: "Alerts the bins raised (fire, full, overflow predicted, tilt, lid open, offline sensor, low battery, sensor fault), " +
			"counted by the day (UTC) they opened, rule, severity and zone, with how many were resolved and how long that took.",
		Keywords:  []string{"waste", "bins", "alerts", "fire", "overflow"},
		Frequency: "R/PT1H",
		Columns: []civic.DataColumn{
			col("day", date, "The day (UTC) the alerts opened, YYYY-MM-DD."),
			col("rule", text, "The alert rule: fire, tilt, full, overflow_predicted, door_open, offline, low_battery or sensor_fault."),
			col("severity", text, "info, warning or critical."),
			col("zone_id", text, "The collection zone of the bins, if any."),
			col("opened", integer, "Alerts opened."),
			col("resolved", integer, "Of those, alerts resolved since."),
			rounded("mean_minutes_to_resolve", 1, "Mean minutes from opening to resolution of the resolved ones."),
		},
		Key: []string{"day", "rule", "severity", "zone_id"},
		Source: civic.DataSource{
			SQL: `SELECT substr(a.opened_at, 1, 10) AS day, a.rule AS rule, a.severity AS severity, b.zone_id AS zone_id,
				COUNT(*) AS opened, COUNT(a.resolved_at) AS resolved,
				AVG((julianday(a.resolved_at) - julianday(a.opened_at)) * 1440.0) AS mean_minutes_to_resolve
				FROM alerts a LEFT JOIN bins b ON b.id = a.bin_id
				GROUP BY substr(a.opened_at, 1, 10), a.rule, a.severity, b.zone_id`,
			Postgres: `SELECT to_char(a.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, a.rule AS rule, a.severity AS severity,
				b.zone_id AS zone_id, COUNT(*) AS opened, COUNT(a.resolved_at) AS resolved,
				AVG(EXTRACT(EPOCH FROM a.resolved_at - a.opened_at) / 60.0) AS mean_minutes_to_resolve
				FROM alerts a LEFT JOIN bins b ON b.id = a.bin_id
				GROUP BY to_char(a.opened_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), a.rule, a.severity, b.zone_id`,
			Version: []string{
				`SELECT MAX(last_seen_at), COUNT(*) FROM alerts`,
				`SELECT MAX(resolved_at), COUNT(resolved_at) FROM alerts`,
			},
		},
	},
	{
		Name:  "plans",
		Title: "Daily collection plan summaries",
		Description: "For each service day civic planned: how many routes and trucks, the planned kilometres and hours, and how many " +
			"bins were planned, collected and skipped.",
		Keywords:  []string{"waste", "collection", "routes", "planning", "fleet"},
		Frequency: "R/P1D",
		Columns: []civic.DataColumn{
			col("date", date, "The service day (the city's local date), YYYY-MM-DD."),
			col("status", text, "draft, locked, in_progress or done."),
			col("routes", integer, "Routes in the plan."),
			col("trucks", integer, "Distinct trucks used."),
			rounded("km", 1, "Planned driving distance, km."),
			rounded("hours", 2, "Planned route time, hours."),
			col("bins_planned", integer, "Bin stops planned."),
			col("bins_collected", integer, "Of those, bins the crews reported collected."),
			col("bins_skipped", integer, "Of those, bins the crews reported skipped."),
		},
		Key: []string{"date"},
		Source: civic.DataSource{
			SQL: `SELECT p.date AS date, p.status AS status,
				(SELECT COUNT(*) FROM routes r WHERE r.plan_id = p.id) AS routes,
				(SELECT COUNT(DISTINCT r.truck_id) FROM routes r WHERE r.plan_id = p.id) AS trucks,
				COALESCE((SELECT SUM(r.distance_m) FROM routes r WHERE r.plan_id = p.id), 0) / 1000.0 AS km,
				COALESCE((SELECT SUM(r.duration_s) FROM routes r WHERE r.plan_id = p.id), 0) / 3600.0 AS hours,
				(SELECT COUNT(*) FROM stops s JOIN routes r ON r.id = s.route_id WHERE r.plan_id = p.id AND s.kind = 'bin') AS bins_planned,
				(SELECT COUNT(*) FROM stops s JOIN routes r ON r.id = s.route_id
					WHERE r.plan_id = p.id AND s.kind = 'bin' AND s.status = 'collected') AS bins_collected,
				(SELECT COUNT(*) FROM stops s JOIN routes r ON r.id = s.route_id
					WHERE r.plan_id = p.id AND s.kind = 'bin' AND s.status = 'skipped') AS bins_skipped
				FROM plans p`,
			Version: []string{
				`SELECT MAX(updated_at), COUNT(*) FROM plans`,
				`SELECT MAX(done_at), COUNT(done_at) FROM stops`,
			},
		},
	},
	{
		Name:  "requests_311",
		Title: "311 service requests",
		Description: "Problems residents and staff reported to the city (overflowing or damaged bins, illegal dumping, litter, " +
			"missed collections, graffiti, potholes, streetlights, ...): what, roughly where, when, and what became of them. " +
			"Who reported a problem, how to reach them, their words and photos are never published; locations are rounded " +
			"to about 100 m; requests held or hidden by moderators are left out.",
		Keywords:  []string{"311", "service requests", "Open311", "waste", "streets"},
		Frequency: "R/PT1H",
		Columns: []civic.DataColumn{
			col("id", text, "The request's number, as GeoReport v2 (/open311/v2/requests/{id}.json) and the status page name it."),
			col("service_code", text, "The service asked for (see /open311/v2/services.json)."),
			col("service_name", text, "The service's name."),
			col("status", text, "submitted, acknowledged, assigned, in_progress or closed."),
			col("close_reason", text, "Why a closed request was closed: fixed, duplicate, not_city_responsibility or no_further_action."),
			col("requested", instant, "When it was reported, UTC."),
			col("updated", instant, "When it last changed, UTC."),
			col("expected", instant, "When the city promised to deal with it (the service's SLA), UTC, if it promises."),
			col("closed", instant, "When it was closed, UTC."),
			col("bin_id", text, "The bin it is about (GeoReport service_object_id), if any (see the bins dataset)."),
			col("zone_id", text, "That bin's collection zone, if any."),
			rounded("lat", 3, "Latitude, WGS 84 degrees, rounded to about 100 m."),
			rounded("lon", 3, "Longitude, WGS 84 degrees, rounded to about 100 m."),
		},
		Key: []string{"requested", "id"},
		Lat: "lat", Lon: "lon",
		Source: civic.DataSource{
			SQL: `SELECT CAST(r.id AS TEXT) AS id, r.service_code AS service_code, sv.name AS service_name, r.status AS status,
				NULLIF(r.close_reason, '') AS close_reason, r.requested_at AS requested, r.updated_at AS updated,
				r.expected_at AS expected, r.closed_at AS closed,
				CASE WHEN r.object_type = 'bin' AND r.object_id <> '' THEN r.object_id END AS bin_id, b.zone_id AS zone_id,
				r.lat AS lat, r.long AS lon
				FROM service_requests r JOIN services sv ON sv.code = r.service_code
				LEFT JOIN bins b ON r.object_type = 'bin' AND b.id = r.object_id
				WHERE r.moderation = ''`,
			Version: []string{`SELECT MAX(updated_at), COUNT(*) FROM service_requests`},
		},
	},
}

// fillBand is the SQL for a bin state's fill band.
const fillBand = `CASE WHEN st.fill IS NULL THEN NULL WHEN st.fill < 0.25 THEN '0-25%' WHEN st.fill < 0.5 THEN '25-50%'
	WHEN st.fill < 0.75 THEN '50-75%' WHEN st.fill < 0.9 THEN '75-90%' ELSE '90-100%' END`
