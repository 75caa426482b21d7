// Package web is civic's operations dashboard: server-rendered pages (the
// live map of bins, a bin's history, the sensor fleet, alerts, the daily
// collection plans with their exports and planned-versus-actual report, the
// leadership KPIs, stored what-if simulations, the crews' route view for
// phones, the admin pages for assets, users, keys, alert rules and
// notifications, login) with htmx for
// partial updates, Leaflet and uPlot for the map and charts, and a
// Server-Sent Events stream that recolours markers as readings commit.
//
// The UI is an http.Handler meant to be mounted at "/" behind the server's
// authentication middleware: it reads the caller with civic.PrincipalFrom and
// sends anonymous callers to /login. It keeps an in-memory snapshot of every
// bin's position and latest state, pre-encoded as JSON (and gzip), so the map
// data endpoint never queries the database; Publish moves that snapshot
// forward from the ingest writer's commit hook and fans the change out to the
// connected browsers without ever blocking the writer.
//
// Templates, the dashboard's own JavaScript and CSS, and the vendor packages
// built by `make web` into static/dist are embedded in the binary and served
// under content-hashed URLs.
package web

import (
	"context"
	"html/template"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/opendata"
)

// Config is the dashboard's configuration. The zero value is usable.
type Config struct {
	// TileURL is the Leaflet tile URL template for the map background, e.g.
	// "https://tile.openstreetmap.org/{z}/{x}/{y}.png". Empty means no
	// tiles: bins and zones render on a plain background.
	TileURL string
	// TileAttribution is shown in the map corner when TileURL is set.
	TileAttribution string
	// SessionCookie is the name of the session cookie set at login;
	// "civic_session" by default. The server's middleware must read the
	// same name.
	SessionCookie string
	// SecureCookies marks the session cookie Secure (HTTPS only).
	SecureCookies bool
	// MaxLiveClients bounds the browsers connected to /events at once;
	// 1000 by default. Further connections get 503 and retry.
	MaxLiveClients int
	// MaxLiveClientsPerUser bounds the streams one user or API key may
	// hold on each of /events and /alerts/events, so that nobody takes
	// every slot; 8 by default (tabs and phones).
	MaxLiveClientsPerUser int
	// LiveBuffer is how many pending updates each live client may have
	// queued before it is disconnected (it reconnects and resyncs); 32 by
	// default.
	LiveBuffer int
	// FlushInterval is how long Publish collects changes before they are
	// sent to browsers; 200 ms by default. It bounds how stale a marker
	// is after its reading commits.
	FlushInterval time.Duration
	// Location is the city's time zone: plan dates, "today" on the crew
	// page and the times pages show. UTC when nil.
	Location *time.Location
}

// Deps are the services the dashboard uses. Store is required; Login and
// Logout are needed for the login page.
type Deps struct {
	// Store reads bins, zones, devices, states and history.
	Store civic.Store
	// Login checks a user's name and password and returns a new session
	// token and its expiry. It fails with Unauthorized for a wrong name or
	// password and Unavailable when logins are throttled.
	Login func(ctx context.Context, name, password string) (token string, expires time.Time, err error)
	// Logout ends the session of token.
	Logout func(ctx context.Context, token string) error
	// SSO, if set, offers single sign-on on the login page
	// (login_oidc.go); without it /login/oidc answers 404.
	SSO SingleSignOn
	// Logger receives errors the pages could not show; discarded when nil.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Alerts, if set, serves the alerts page; without it the page says
	// alerts are not enabled.
	Alerts civic.AlertStore
	// Forecaster, if set, puts each bin's predicted time to full on its
	// page and its projection on the fill chart.
	Forecaster civic.Forecaster
	// Planner, if set, makes and edits plans from the plans page and takes
	// the crew page's fallback form; without it those pages only show.
	Planner civic.Planner
	// Plans, if set, serves the plans pages, the crew view and the planned
	// versus actual report; without it they say planning is not enabled.
	Plans civic.PlanStore
	// KPIs computes the KPI dashboard; Store is used when it implements
	// civic.KPIStore and this is nil. Without either the page says KPIs
	// are not enabled.
	KPIs civic.KPIStore
	// Simulations keeps the stored what-if simulation runs; Store is used
	// when it implements civic.SimulationStore and this is nil.
	Simulations civic.SimulationStore
	// Simulator, if set, runs simulations of the city's own bins started
	// from the simulations page; without it the page only lists runs.
	Simulator civic.Simulator
	// Admin, if set, lets the admin pages create users, set passwords,
	// make and revoke API keys and send test notifications (admin.go).
	Admin *Admin
	// OpenData, if set, serves the public open data catalogue page /data;
	// without it the page says open data is not enabled.
	OpenData *opendata.Portal
	// ServiceDesk, if set, serves the 311 pages (open311.go): the public
	// report form, status pages and map, and the staff queue.
	ServiceDesk civic.ServiceDesk
	// ClientIP is the caller's address for the report form's rate limit;
	// RemoteAddr's host when nil.
	ClientIP func(r *http.Request) string
}

// UI is the dashboard. Create it with New; it is safe for concurrent use.
type UI struct {
	cfg    Config
	deps   Deps
	log    *slog.Logger
	now    func() time.Time
	static *staticFiles
	pages  map[string]*template.Template
	cache  *binCache
	hub    *hub
	// alertHub fans alert changes out to the alerts page (alerts.go).
	alertHub *hub
	// routes are the patterns Handler registered (routes.go).
	routes routeList

	closeOnce sync.Once
}

// DefaultSessionCookie is the session cookie name used when
// Config.SessionCookie is empty.
const DefaultSessionCookie = "civic_session"

// New returns the dashboard over deps. It panics if deps.Store is nil or the
// embedded templates do not parse (both are programming errors). It does not
// touch the store: bins are loaded on first use, or by Refresh.
func New(cfg Config, deps Deps) *UI {
	if deps.Store == nil {
		panic("web.New: Deps.Store is required")
	}
	if cfg.SessionCookie == "" {
		cfg.SessionCookie = DefaultSessionCookie
	}
	if cfg.MaxLiveClients <= 0 {
		cfg.MaxLiveClients = 1000
	}
	if cfg.MaxLiveClientsPerUser <= 0 {
		cfg.MaxLiveClientsPerUser = 8
	}
	if cfg.LiveBuffer <= 0 {
		cfg.LiveBuffer = 32
	}
	if cfg.FlushInterval <= 0 {
		cfg.FlushInterval = 200 * time.Millisecond
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if deps.KPIs == nil {
		deps.KPIs, _ = deps.Store.(civic.KPIStore)
	}
	if deps.Simulations == nil {
		deps.Simulations, _ = deps.Store.(civic.SimulationStore)
	}
	u := &UI{cfg: cfg, deps: deps, log: deps.Logger, now: deps.Now}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	if u.now == nil {
		u.now = time.Now
	}
	u.static = loadStatic(files)
	u.pages = parsePages(u.static, cfg.Location)
	u.hub = newHub(cfg.MaxLiveClients, cfg.MaxLiveClientsPerUser, cfg.LiveBuffer)
	u.alertHub = newHub(cfg.MaxLiveClients, cfg.MaxLiveClientsPerUser, cfg.LiveBuffer)
	u.cache = newBinCache(deps.Store, u.log, u.now, cfg.FlushInterval, u.hub)
	return u
}

// Handler returns the dashboard's routes, to be mounted at "/" behind the
// middleware that puts the caller's civic.Principal in the request context:
//
//	GET  /                       operations map (filters: stream, zone, min, max, alerts)
//	GET  /map/list               the map's side list alone (htmx partial)
//	GET  /map/bins.json          every bin, compact, pre-encoded (gzip, ETag)
//	GET  /map/zones.geojson      zone boundaries
//	GET  /map/plan.json          the bins in today's plan (the map outlines them)
//	GET  /events                 Server-Sent Events: bin state changes
//	GET  /bins/{id}              a bin: charts, devices, recent readings
//	GET  /bins/{id}/history.json downsampled history (from, to, step)
//	GET  /fleet                  sensors with last seen, battery, signal
//	GET  /fleet.csv              the same as CSV
//	GET  /alerts                 alerts (filters: status, rule, bin)
//	POST /alerts/{id}/ack        acknowledge, POST /alerts/{id}/resolve (note)
//	POST /alerts/ack             acknowledge the alerts named by the form's id fields
//	GET  /alerts/events          Server-Sent Events: alert changes
//	GET  /plans                  plans by date; POST /plans makes one (date)
//	GET  /plans/{id}             a plan: map, routes, load charts, why each bin
//	POST /plans/{id}/moves       move a bin to another route or drop it
//	POST /plans/{id}/status      lock or unlock (to)
//	GET  /plans/{id}/export/{f}  the plan as gpx, geojson or csv
//	GET  /plans/{id}/routes/{rid}/sheet      a printable route sheet
//	GET  /plans/{id}/routes/{rid}/export/{f} one route as gpx, geojson or csv
//	GET  /plans/{id}/report      planned versus actual; /plans/{id}/report.csv
//	GET  /kpi                    leadership KPIs by week and zone (from, to, zone); /kpi.csv
//	GET  /simulations            stored what-if simulation runs; POST /simulations starts one (days, history_days, name)
//	GET  /simulations/{id}       a run: summary, downloads, its report framed; POST /simulations/{id}/delete removes it
//	GET  /simulations/{id}/report            the run's stored HTML report as is, sandboxed
//	GET  /simulations/{id}/result.json       a run's result
//	GET  /crew                   my route today, built for a phone (crew)
//	POST /crew/stops/{id}        a stop report without JavaScript
//	GET  /data                   the open data catalogue (public)
//	GET  /report, POST /report   report a problem (311, public; photos, map or address)
//	GET  /requests               open 311 requests on a map (public); /requests/{id} a request's status
//	GET  /queue                  the staff's 311 queue (filters, bulk actions: POST /queue/actions)
//	GET  /queue/{id}             one request for staff; POST /queue/{id}/actions
//	GET  /login, POST /login     sign in (sets the session cookie)
//	GET  /login/oidc             single sign-on: off to the provider; /login/oidc/callback back
//	POST /logout                 sign out
//	GET  /static/...             embedded static files (hashed names are immutable)
//	GET  /favicon.ico            the logo, to anyone
//	GET  /crew-sw.js             the crew view's service worker (offline), to anyone
//	GET  /admin/...              admin pages: assets, users, keys, alert rules, notifications (admin.go)
func (u *UI) Handler() http.Handler {
	mux := newRouteMux(u)
	mux.HandleFunc("GET /{$}", u.page(u.mapPage))
	mux.HandleFunc("GET /map/list", u.page(u.mapList))
	mux.HandleFunc("GET /map/bins.json", u.data(u.binsJSON))
	mux.HandleFunc("GET /map/zones.geojson", u.data(u.zonesJSON))
	mux.HandleFunc("GET /map/plan.json", u.data(u.planJSON))
	mux.HandleFunc("GET /events", u.data(u.events))
	mux.HandleFunc("GET /bins/{id}", u.page(u.binPage))
	mux.HandleFunc("GET /bins/{id}/history.json", u.data(u.historyJSON))
	mux.HandleFunc("GET /fleet", u.page(u.fleetPage))
	mux.HandleFunc("GET /fleet.csv", u.data(u.fleetCSV))
	mux.HandleFunc("GET /alerts", u.page(u.alertsPage))
	mux.HandleFunc("GET /alerts/events", u.data(u.alertEvents))
	mux.HandleFunc("POST /alerts/{id}/ack", u.page(u.alertAction(civic.EventAcknowledged)))
	mux.HandleFunc("POST /alerts/{id}/resolve", u.page(u.alertAction(civic.EventResolved)))
	mux.HandleFunc("POST /alerts/ack", u.page(u.alertBulkAck))
	mux.HandleFunc("GET /plans", u.page(u.plansPage))
	mux.HandleFunc("POST /plans", u.page(u.makePlan))
	mux.HandleFunc("GET /plans/{id}", u.page(u.planPage))
	mux.HandleFunc("POST /plans/{id}/moves", u.page(u.movePlanStop))
	mux.HandleFunc("POST /plans/{id}/status", u.page(u.setPlanStatus))
	mux.HandleFunc("GET /plans/{id}/export/{format}", u.data(u.planExport))
	mux.HandleFunc("GET /plans/{id}/routes/{rid}/sheet", u.page(u.routeSheet))
	mux.HandleFunc("GET /plans/{id}/routes/{rid}/export/{format}", u.data(u.routeExport))
	mux.HandleFunc("GET /plans/{id}/report", u.page(u.planReport))
	mux.HandleFunc("GET /plans/{id}/report.csv", u.data(u.planReportCSV))
	mux.HandleFunc("GET /kpi", u.reportPage(u.kpiPage))
	mux.HandleFunc("GET /kpi.csv", u.reportData(u.kpiCSV))
	mux.HandleFunc("GET /simulations", u.reportPage(u.simulationsPage))
	mux.HandleFunc("POST /simulations", u.reportPage(u.startSimulation))
	mux.HandleFunc("GET /simulations/{id}", u.reportPage(u.simulationPage))
	mux.HandleFunc("POST /simulations/{id}/delete", u.reportPage(u.deleteSimulation))
	mux.HandleFunc("GET /simulations/{id}/report", u.reportPage(u.simulationReport))
	mux.HandleFunc("GET /simulations/{id}/result.json", u.reportData(u.simulationResult))
	mux.HandleFunc("GET /crew", u.page(u.crewPage))
	mux.HandleFunc("POST /crew/stops/{id}", u.page(u.crewReport))
	mux.HandleFunc("GET /data", u.dataPage) // public: no login
	// 311 (open311.go).
	mux.HandleFunc("GET /report", u.publicPage(u.reportForm))
	mux.HandleFunc("POST /report", u.publicPage(u.submitReport))
	mux.HandleFunc("GET /requests", u.publicPage(u.requestsPage))
	mux.HandleFunc("GET /requests/{id}", u.publicPage(u.requestPage))
	mux.HandleFunc("GET /queue", u.pageFor(civic.PermOperate, u.needDesk(u.queuePage)))
	mux.HandleFunc("GET /queue/{id}", u.pageFor(civic.PermOperate, u.needDesk(u.queueItem)))
	mux.HandleFunc("POST /queue/actions", u.pageFor(civic.PermOperate, u.needDesk(u.queueBulk)))
	mux.HandleFunc("POST /queue/{id}/actions", u.pageFor(civic.PermOperate, u.needDesk(u.queueAct)))
	mux.HandleFunc("GET /login", u.loginPage)
	mux.HandleFunc("POST /login", u.loginSubmit)
	mux.HandleFunc("GET /login/oidc", u.ssoBegin)
	mux.HandleFunc("GET /login/oidc/callback", u.ssoCallback)
	mux.HandleFunc("POST /logout", u.logout)
	mux.Handle("GET /static/", u.static)
	u.adminRoutes(mux) // admin.go: GET /admin and below
	mux.HandleFunc("GET /favicon.ico", u.favicon)
	mux.HandleFunc("GET /crew-sw.js", u.crewWorker)
	u.routes.mu.Lock()
	u.routes.patterns = mux.patterns
	u.routes.mu.Unlock()
	policy := pagePolicy(u.cfg.TileURL)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", policy)
		if _, pattern := mux.Handler(r); pattern == "" {
			u.notFound(w, r)
			return
		}
		if err := checkForm(w, r); err != nil {
			u.fail(w, r, err)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// Publish applies committed readings to the map snapshot and, within
// Config.FlushInterval, sends the changed bins to connected browsers. It is
// meant for the ingest writer's OnCommit hook: it only updates memory, never
// waits for a browser, and ignores readings without a Bin. A reading for a
// bin the dashboard does not know yet makes it reload the bins in the
// background.
func (u *UI) Publish(readings []civic.Reading) { u.cache.publishReadings(readings) }

// PublishStates is Publish for callers that have the new states of bins (a
// collection event, an import) rather than readings.
func (u *UI) PublishStates(states []civic.BinState) { u.cache.publishStates(states) }

// RefreshBins reads the live state of the bins ids from the store and
// publishes it, as PublishStates does: for changes that do not come as
// readings, such as a crew's collection (the bin's fill set to empty).
// Errors are logged, not returned: the map catches up with the bin's next
// reading regardless.
func (u *UI) RefreshBins(ctx context.Context, ids ...string) {
	var states []civic.BinState
	for _, id := range ids {
		v, err := u.deps.Store.Bin(ctx, id)
		if err != nil {
			u.log.Warn("web: reading a changed bin", "bin", id, "err", err)
			continue
		}
		if v.State != nil {
			states = append(states, *v.State)
		}
	}
	if len(states) > 0 {
		u.PublishStates(states)
	}
}

// AssetsChanged tells the dashboard that bins or zones were created,
// changed or deleted: it reloads them in the background within a few
// seconds (one reload for a burst of changes), and browsers on the map
// resync. It never blocks.
func (u *UI) AssetsChanged() { u.cache.scheduleReload() }

// Refresh reloads bins, states and zones from the store, e.g. after assets
// were imported or edited. Pages load them on first use without it.
func (u *UI) Refresh(ctx context.Context) error { return u.cache.load(ctx) }

// Close disconnects the live clients, so the HTTP server's Shutdown does not
// wait for their streams, and stops pending flushes. The handler keeps
// serving pages; /events answers 503 afterwards. It follows the convention
// of package lifecycle, without a Start: the dashboard serves from New and
// runs no goroutine of its own, so Close returns at once (nil) and ctx is
// not used. Close is idempotent.
func (u *UI) Close(ctx context.Context) error {
	u.closeOnce.Do(func() {
		u.cache.close()
		u.hub.close()
		u.alertHub.close()
	})
	return nil
}
