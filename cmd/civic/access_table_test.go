package main

// accessRow is one call of the access-control test: a route as the server
// registers it ("METHOD /path" for the API, "page METHOD /path" for the
// dashboard), a concrete URL for it, an optional body, and the answer each
// principal must get, in the order of principals:
//
//	anonymous admin supervisor crew analyst key:ingest key:read key:open311 key:admin
//
// Answers: ok (past the access check: any status but 401, 403 and 5xx),
// 401, 403, 404 (exactly), login (a page sending the caller to the login
// page). A route may have several rows (the crew
// rules need one per route of each crew).
//
// To add a route: add a row here with the URL of a thing the test city has
// (B1, S1, Z1, D1, T1, C1, F1, plan P1 with routes R1 of crew C1, whose
// member is the user "crew", and R2 of crew C2) or of one it has not
// (NOPE: destructive calls must not destroy the principals' city), and the
// answer every principal must get. "{principal}" in a body becomes the
// caller's column name (a name per caller keeps the login lockout out of
// the way). Use the named answers below where one
// fits.
type accessRow struct {
	route, url, body string
	want             string
	endsSession      bool // the call ends the caller's session: run it last
}

// The usual answers, by the permission a route needs.
const (
	public       = "ok ok ok ok ok ok ok ok ok"
	anyCaller    = "401 ok ok ok ok ok ok ok ok"
	readers      = "401 ok ok ok ok 403 ok 403 ok"
	reporters    = "401 ok ok 403 ok 403 ok 403 ok"
	assetWriters = "401 ok ok 403 403 403 403 403 ok"
	operators    = "401 ok ok 403 403 403 403 403 ok"
	routeWorkers = "401 ok ok ok 403 403 403 403 ok"
	accessAdmins = "401 ok 403 403 403 403 403 403 ok"
	ingesters    = "401 ok 403 403 403 ok 403 403 ok"
	nobodyNoKey  = "401 401 401 401 401 401 401 401 401"
	pageReaders  = "login ok ok ok ok 403 ok 403 ok"
	pageReports  = "login ok ok 403 ok 403 ok 403 ok"
	pageCrewOnly = "login ok ok 403 ok 403 ok 403 ok" // plans pages: crews see their routes on /crew
)

var accessTable = []accessRow{
	// Operations.
	{route: "GET /healthz", url: "/healthz", want: public},
	{route: "GET /readyz", url: "/readyz", want: public},
	{route: "GET /metrics", url: "/metrics", want: public},
	{route: "GET /api/openapi.json", url: "/api/openapi.json", want: public},

	// Sessions and the caller.
	{route: "POST /api/v1/session", url: "/api/v1/session", body: `{"name":"analyst","password":"password for analyst"}`, want: public},
	{route: "POST /api/v1/session", url: "/api/v1/session", body: `{"name":"{principal}","password":"wrong password"}`, want: nobodyNoKey},
	{route: "DELETE /api/v1/session", url: "/api/v1/session", want: public, endsSession: true},
	{route: "GET /api/v1/me", url: "/api/v1/me", want: anyCaller},

	// Assets.
	{route: "GET /api/v1/bins", url: "/api/v1/bins", want: readers},
	{route: "POST /api/v1/bins", url: "/api/v1/bins", want: assetWriters},
	{route: "GET /api/v1/bins/{id}", url: "/api/v1/bins/B1", want: readers},
	{route: "PUT /api/v1/bins/{id}", url: "/api/v1/bins/NOPE", want: assetWriters},
	{route: "PATCH /api/v1/bins/{id}", url: "/api/v1/bins/NOPE", want: assetWriters},
	{route: "DELETE /api/v1/bins/{id}", url: "/api/v1/bins/NOPE", want: assetWriters},
	{route: "GET /api/v1/bins/{id}/readings", url: "/api/v1/bins/B1/readings", want: readers},
	{route: "GET /api/v1/bins/{id}/forecast", url: "/api/v1/bins/B1/forecast", want: readers},
	{route: "GET /api/v1/devices", url: "/api/v1/devices", want: readers},
	{route: "POST /api/v1/devices", url: "/api/v1/devices", want: assetWriters},
	{route: "GET /api/v1/devices/{id}", url: "/api/v1/devices/S1", want: readers},
	{route: "PUT /api/v1/devices/{id}", url: "/api/v1/devices/NOPE", want: assetWriters},
	{route: "PATCH /api/v1/devices/{id}", url: "/api/v1/devices/NOPE", want: assetWriters},
	{route: "DELETE /api/v1/devices/{id}", url: "/api/v1/devices/NOPE", want: assetWriters},
	{route: "POST /api/v1/devices/{id}/secret", url: "/api/v1/devices/NOPE/secret", want: assetWriters},
	{route: "GET /api/v1/devices/{id}/events", url: "/api/v1/devices/S1/events", want: readers},
	{route: "GET /api/v1/zones", url: "/api/v1/zones", want: readers},
	{route: "POST /api/v1/zones", url: "/api/v1/zones", want: assetWriters},
	{route: "GET /api/v1/zones/{id}", url: "/api/v1/zones/Z1", want: readers},
	{route: "PUT /api/v1/zones/{id}", url: "/api/v1/zones/NOPE", want: assetWriters},
	{route: "PATCH /api/v1/zones/{id}", url: "/api/v1/zones/NOPE", want: assetWriters},
	{route: "DELETE /api/v1/zones/{id}", url: "/api/v1/zones/NOPE", want: assetWriters},
	{route: "GET /api/v1/depots", url: "/api/v1/depots", want: readers},
	{route: "POST /api/v1/depots", url: "/api/v1/depots", want: assetWriters},
	{route: "GET /api/v1/depots/{id}", url: "/api/v1/depots/D1", want: readers},
	{route: "PUT /api/v1/depots/{id}", url: "/api/v1/depots/NOPE", want: assetWriters},
	{route: "PATCH /api/v1/depots/{id}", url: "/api/v1/depots/NOPE", want: assetWriters},
	{route: "DELETE /api/v1/depots/{id}", url: "/api/v1/depots/NOPE", want: assetWriters},
	{route: "GET /api/v1/trucks", url: "/api/v1/trucks", want: readers},
	{route: "POST /api/v1/trucks", url: "/api/v1/trucks", want: assetWriters},
	{route: "GET /api/v1/trucks/{id}", url: "/api/v1/trucks/T1", want: readers},
	{route: "PUT /api/v1/trucks/{id}", url: "/api/v1/trucks/NOPE", want: assetWriters},
	{route: "PATCH /api/v1/trucks/{id}", url: "/api/v1/trucks/NOPE", want: assetWriters},
	{route: "DELETE /api/v1/trucks/{id}", url: "/api/v1/trucks/NOPE", want: assetWriters},
	{route: "GET /api/v1/crews", url: "/api/v1/crews", want: readers},
	{route: "POST /api/v1/crews", url: "/api/v1/crews", want: assetWriters},
	{route: "GET /api/v1/crews/{id}", url: "/api/v1/crews/C1", want: readers},
	{route: "PUT /api/v1/crews/{id}", url: "/api/v1/crews/NOPE", want: assetWriters},
	{route: "PATCH /api/v1/crews/{id}", url: "/api/v1/crews/NOPE", want: assetWriters},
	{route: "DELETE /api/v1/crews/{id}", url: "/api/v1/crews/NOPE", want: assetWriters},
	{route: "GET /api/v1/facilities", url: "/api/v1/facilities", want: readers},
	{route: "POST /api/v1/facilities", url: "/api/v1/facilities", want: assetWriters},
	{route: "GET /api/v1/facilities/{id}", url: "/api/v1/facilities/F1", want: readers},
	{route: "PUT /api/v1/facilities/{id}", url: "/api/v1/facilities/NOPE", want: assetWriters},
	{route: "PATCH /api/v1/facilities/{id}", url: "/api/v1/facilities/NOPE", want: assetWriters},
	{route: "DELETE /api/v1/facilities/{id}", url: "/api/v1/facilities/NOPE", want: assetWriters},

	// Plans, routes, stops, collections, KPIs. A crew member sees and
	// reports only their own crew's routes.
	{route: "GET /api/v1/plans", url: "/api/v1/plans", want: readers},
	{route: "POST /api/v1/plans", url: "/api/v1/plans", body: `{"date":"not a date"}`, want: operators},
	{route: "GET /api/v1/plans/{id}", url: "/api/v1/plans/P1", want: readers},
	{route: "GET /api/v1/plans/date/{date}", url: "/api/v1/plans/date/2026-01-01", want: readers},
	{route: "POST /api/v1/plans/{id}/moves", url: "/api/v1/plans/NOPE/moves", want: operators},
	{route: "POST /api/v1/plans/{id}/lock", url: "/api/v1/plans/NOPE/lock", want: operators},
	{route: "POST /api/v1/plans/{id}/unlock", url: "/api/v1/plans/NOPE/unlock", want: operators},
	{route: "GET /api/v1/plan-settings", url: "/api/v1/plan-settings", want: readers},
	{route: "PUT /api/v1/plan-settings", url: "/api/v1/plan-settings", body: `{"nonsense":1}`, want: operators},
	{route: "GET /api/v1/routes/{id}", url: "/api/v1/routes/R1", want: readers},
	{route: "GET /api/v1/routes/{id}", url: "/api/v1/routes/R2", want: "401 ok ok 403 ok 403 ok 403 ok"},
	{route: "GET /api/v1/me/routes", url: "/api/v1/me/routes", want: routeWorkers},
	{route: "GET /api/v1/me/routes", url: "/api/v1/me/routes?crew=C2", want: "401 ok ok 403 403 403 403 403 ok"},
	{route: "POST /api/v1/stops/{id}/report", url: "/api/v1/stops/R1-s1/report", body: `{"client_id":"c1","status":"bogus"}`, want: routeWorkers},
	{route: "POST /api/v1/stops/{id}/report", url: "/api/v1/stops/R2-s1/report", body: `{"client_id":"c2","status":"bogus"}`, want: "401 ok ok 403 403 403 403 403 ok"},
	{route: "GET /api/v1/stops/{id}/photo", url: "/api/v1/stops/R1-s1/photo", want: readers},
	{route: "GET /api/v1/stops/{id}/photo", url: "/api/v1/stops/R2-s1/photo", want: "401 ok ok 403 ok 403 ok 403 ok"},
	{route: "GET /api/v1/collections", url: "/api/v1/collections", want: readers},
	{route: "GET /api/v1/kpi", url: "/api/v1/kpi", want: reporters},
	{route: "GET /api/v1/simulations", url: "/api/v1/simulations", want: reporters},
	{route: "GET /api/v1/simulations/{id}", url: "/api/v1/simulations/NOPE", want: reporters},
	// No days: refused (400), no simulation starts. Read keys read the
	// runs but neither start nor delete them.
	{route: "POST /api/v1/simulations", url: "/api/v1/simulations", body: `{}`, want: "401 ok ok 403 ok 403 403 403 ok"},
	{route: "DELETE /api/v1/simulations/{id}", url: "/api/v1/simulations/NOPE", want: "401 ok ok 403 ok 403 403 403 ok"},

	// Telemetry.
	{route: "POST /api/v1/readings", url: "/api/v1/readings", want: ingesters},
	// LoRaWAN: the network server's X-Civic-Secret, or an ingest principal.
	{route: "POST /api/v1/lorawan/ttn", url: "/api/v1/lorawan/ttn", want: ingesters},
	{route: "POST /api/v1/lorawan/chirpstack", url: "/api/v1/lorawan/chirpstack", want: ingesters},

	// Access.
	{route: "GET /api/v1/users", url: "/api/v1/users", want: accessAdmins},
	{route: "POST /api/v1/users", url: "/api/v1/users", want: accessAdmins},
	{route: "GET /api/v1/users/{id}", url: "/api/v1/users/NOPE", want: accessAdmins},
	{route: "PATCH /api/v1/users/{id}", url: "/api/v1/users/NOPE", want: accessAdmins},
	{route: "GET /api/v1/keys", url: "/api/v1/keys", want: accessAdmins},
	{route: "POST /api/v1/keys", url: "/api/v1/keys", want: accessAdmins},
	{route: "GET /api/v1/keys/{id}", url: "/api/v1/keys/NOPE", want: accessAdmins},
	{route: "DELETE /api/v1/keys/{id}", url: "/api/v1/keys/NOPE", want: accessAdmins},
	{route: "GET /api/v1/audit", url: "/api/v1/audit", want: accessAdmins},

	// Alerts and notifications.
	{route: "GET /api/v1/alerts", url: "/api/v1/alerts", want: readers},
	{route: "GET /api/v1/alerts/{id}", url: "/api/v1/alerts/1", want: readers},
	{route: "POST /api/v1/alerts/{id}/ack", url: "/api/v1/alerts/999999/ack", want: operators},
	{route: "POST /api/v1/alerts/{id}/resolve", url: "/api/v1/alerts/999999/resolve", want: operators},
	// Webhook subscriptions send data out of civic: admins only.
	{route: "GET /api/v1/subscriptions", url: "/api/v1/subscriptions", want: accessAdmins},
	{route: "POST /api/v1/subscriptions", url: "/api/v1/subscriptions", want: accessAdmins},
	{route: "GET /api/v1/subscriptions/{id}", url: "/api/v1/subscriptions/NOPE", want: accessAdmins},
	{route: "DELETE /api/v1/subscriptions/{id}", url: "/api/v1/subscriptions/NOPE", want: accessAdmins},
	{route: "GET /api/v1/alert-rules", url: "/api/v1/alert-rules", want: readers},
	{route: "PUT /api/v1/alert-rules", url: "/api/v1/alert-rules", body: `{"nonsense":1}`, want: operators},

	// The dashboard: pages, live streams, downloads.
	{route: "page GET /{$}", url: "/", want: pageReaders},
	{route: "page GET /map/list", url: "/map/list", want: pageReaders},
	{route: "page GET /map/bins.json", url: "/map/bins.json", want: readers},
	{route: "page GET /map/zones.geojson", url: "/map/zones.geojson", want: readers},
	{route: "page GET /map/plan.json", url: "/map/plan.json", want: readers},
	{route: "page GET /events", url: "/events", want: readers},
	{route: "page GET /bins/{id}", url: "/bins/B1", want: pageReaders},
	{route: "page GET /bins/{id}/history.json", url: "/bins/B1/history.json", want: readers},
	{route: "page GET /fleet", url: "/fleet", want: pageReaders},
	{route: "page GET /fleet.csv", url: "/fleet.csv", want: readers},
	{route: "page GET /alerts", url: "/alerts", want: pageReaders},
	{route: "page GET /alerts/events", url: "/alerts/events", want: readers},
	{route: "page POST /alerts/{id}/ack", url: "/alerts/999999/ack", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page POST /alerts/{id}/resolve", url: "/alerts/999999/resolve", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page GET /plans", url: "/plans", want: pageCrewOnly},
	{route: "page POST /plans", url: "/plans", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page GET /plans/{id}", url: "/plans/P1", want: pageCrewOnly},
	{route: "page POST /plans/{id}/moves", url: "/plans/NOPE/moves", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page POST /plans/{id}/status", url: "/plans/NOPE/status", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page GET /plans/{id}/export/{format}", url: "/plans/P1/export/csv", want: "401 ok ok 403 ok 403 ok 403 ok"},
	{route: "page GET /plans/{id}/routes/{rid}/sheet", url: "/plans/P1/routes/R1/sheet", want: pageReaders},
	{route: "page GET /plans/{id}/routes/{rid}/sheet", url: "/plans/P1/routes/R2/sheet", want: pageCrewOnly},
	{route: "page GET /plans/{id}/routes/{rid}/export/{format}", url: "/plans/P1/routes/R1/export/gpx", want: readers},
	{route: "page GET /plans/{id}/routes/{rid}/export/{format}", url: "/plans/P1/routes/R2/export/gpx", want: "401 ok ok 403 ok 403 ok 403 ok"},
	{route: "page GET /plans/{id}/report", url: "/plans/P1/report", want: pageCrewOnly},
	{route: "page GET /plans/{id}/report.csv", url: "/plans/P1/report.csv", want: "401 ok ok 403 ok 403 ok 403 ok"},
	{route: "page GET /kpi", url: "/kpi", want: pageReports},
	{route: "page GET /kpi.csv", url: "/kpi.csv", want: reporters},
	{route: "page GET /simulations", url: "/simulations", want: pageReports},
	// Without days the form is refused (400): no simulation starts. Read
	// keys read the reports but neither start nor delete simulations.
	{route: "page POST /simulations", url: "/simulations", want: "login ok ok 403 ok 403 403 403 ok"},
	{route: "page GET /simulations/{id}", url: "/simulations/NOPE", want: pageReports},
	{route: "page POST /simulations/{id}/delete", url: "/simulations/NOPE/delete", want: "login ok ok 403 ok 403 403 403 ok"},
	{route: "page GET /simulations/{id}/report", url: "/simulations/NOPE/report", want: pageReports},
	{route: "page GET /simulations/{id}/result.json", url: "/simulations/NOPE/result.json", want: reporters},
	{route: "page GET /crew", url: "/crew", want: "login ok ok ok 403 403 403 403 ok"},
	{route: "page POST /crew/stops/{id}", url: "/crew/stops/R1-s1", want: "login ok ok ok 403 403 403 403 ok"},
	// Another crew's stop is "not on a route of yours" to a crew member.
	{route: "page POST /crew/stops/{id}", url: "/crew/stops/R2-s1", want: "login ok ok 404 403 403 403 403 ok"},
	{route: "page GET /login", url: "/login", want: public},
	{route: "page POST /login", url: "/login", want: public},
	// Single sign-on is off on the test server: 404 to everyone
	// (TestOIDCLogin covers it switched on).
	{route: "page GET /login/oidc", url: "/login/oidc", want: "404 404 404 404 404 404 404 404 404"},
	{route: "page GET /login/oidc/callback", url: "/login/oidc/callback?state=x&code=y", want: "404 404 404 404 404 404 404 404 404"},
	{route: "page POST /logout", url: "/logout", want: "login login login login login login login login login", endsSession: true},
	{route: "page GET /static/", url: "/static/app.css", want: public},
	// 311: the staff API (the catalogue is public; all=true and the queue are staff's).
	{route: "GET /api/v1/services", url: "/api/v1/services", want: public},
	{route: "GET /api/v1/services", url: "/api/v1/services?all=true", want: readers},
	{route: "POST /api/v1/services", url: "/api/v1/services", want: accessAdmins},
	{route: "GET /api/v1/services/{code}", url: "/api/v1/services/overflowing_bin", want: public},
	{route: "PUT /api/v1/services/{code}", url: "/api/v1/services/NOPE", want: accessAdmins},
	{route: "GET /api/v1/service-requests", url: "/api/v1/service-requests", want: operators},
	{route: "GET /api/v1/service-requests/{id}", url: "/api/v1/service-requests/NOPE", want: operators},
	{route: "POST /api/v1/service-requests/{id}/actions", url: "/api/v1/service-requests/NOPE/actions", want: operators},
	{route: "POST /api/v1/service-requests/actions", url: "/api/v1/service-requests/actions", want: operators},
	// GeoReport v2: public reads (submissions carry their own api_key).
	{route: "/open311/v2/", url: "/open311/v2/services.json", want: public},
	{route: "/open311/v2/", url: "/open311/v2/requests.json", want: public},
	{route: "/open311/v2/", url: "/open311/v2/discovery.xml", want: public},
	{route: "page GET /report", url: "/report", want: public},
	{route: "page POST /report", url: "/report", want: public},
	{route: "page GET /requests", url: "/requests", want: public},
	{route: "page GET /requests/{id}", url: "/requests/NOPE", want: public},
	{route: "page GET /queue", url: "/queue", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page GET /queue/{id}", url: "/queue/NOPE", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page POST /queue/actions", url: "/queue/actions", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page POST /queue/{id}/actions", url: "/queue/NOPE/actions", want: "login ok ok 403 403 403 403 403 ok"},

	// Open data: public.
	{route: "GET /data.json", url: "/data.json", want: public},
	{route: "GET /data/{file}", url: "/data/bins.csv", want: public},
	{route: "GET /data/{name}/{file}", url: "/data/bins/rows.geojson", want: public},
	{route: "GET /ngsi-ld/", url: "/ngsi-ld/v1/entities?type=WasteContainer", want: public},
	{route: "page GET /data", url: "/data", want: public},

	// Alerts in bulk.
	{route: "POST /api/v1/alerts/ack", url: "/api/v1/alerts/ack", want: operators},
	{route: "page POST /alerts/ack", url: "/alerts/ack", want: "login ok ok 403 403 403 403 403 ok"},

	// Admin pages: as the API allows (assets: write_assets; rules: operate; users, keys, notifications: manage_access).
	{route: "page GET /admin", url: "/admin", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page GET /admin/assets/{kind}", url: "/admin/assets/bins", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page GET /admin/assets/{kind}/new", url: "/admin/assets/bins/new", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page GET /admin/assets/{kind}/{id}", url: "/admin/assets/bins/B1", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page POST /admin/assets/{kind}/new", url: "/admin/assets/bins/new", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page POST /admin/assets/{kind}/{id}", url: "/admin/assets/bins/NOPE", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page POST /admin/assets/{kind}/{id}/deactivate", url: "/admin/assets/bins/NOPE/deactivate", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page POST /admin/assets/bins/import", url: "/admin/assets/bins/import", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page GET /admin/rules", url: "/admin/rules", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page POST /admin/rules", url: "/admin/rules", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page POST /admin/rules/delete", url: "/admin/rules/delete", want: "login ok ok 403 403 403 403 403 ok"},
	{route: "page GET /admin/users", url: "/admin/users", want: "login ok 403 403 403 403 403 403 ok"},
	{route: "page POST /admin/users", url: "/admin/users", want: "login ok 403 403 403 403 403 403 ok"},
	{route: "page POST /admin/users/{id}", url: "/admin/users/NOPE", want: "login ok 403 403 403 403 403 403 ok"},
	{route: "page GET /admin/keys", url: "/admin/keys", want: "login ok 403 403 403 403 403 403 ok"},
	{route: "page POST /admin/keys", url: "/admin/keys", want: "login ok 403 403 403 403 403 403 ok"},
	{route: "page POST /admin/keys/{id}/revoke", url: "/admin/keys/NOPE/revoke", want: "login ok 403 403 403 403 403 403 ok"},
	{route: "page GET /admin/subscriptions", url: "/admin/subscriptions", want: "login ok 403 403 403 403 403 403 ok"},
	{route: "page POST /admin/subscriptions", url: "/admin/subscriptions", want: "login ok 403 403 403 403 403 403 ok"},
	{route: "page POST /admin/subscriptions/{id}/delete", url: "/admin/subscriptions/NOPE/delete", want: "login ok 403 403 403 403 403 403 ok"},
	{route: "page POST /admin/subscriptions/{id}/test", url: "/admin/subscriptions/NOPE/test", want: "login ok 403 403 403 403 403 403 ok"},
	{route: "page GET /favicon.ico", url: "/favicon.ico", want: public},
	{route: "page GET /crew-sw.js", url: "/crew-sw.js", want: public},
}
