// Package server is civic's HTTP face: the JSON API under /api/v1, the
// OpenAPI document that describes it, health and metrics endpoints, and the
// middleware every request passes (request ids, access log, panic recovery,
// authentication, cross-origin protection, rate limits, body limits,
// Prometheus metrics).
//
// Handlers are thin: they decode, check the caller's permission, call the
// store or a service, append an audit entry for changes and encode. Errors
// travel as civic errors; errors.go is the one place that turns their kind
// into an HTTP status and a JSON body.
package server

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
)

// Config tunes the server. Zero values take the defaults noted.
type Config struct {
	// SecureCookies marks the session cookie Secure; set it when civic is
	// served over HTTPS (directly or behind a proxy).
	SecureCookies bool
	// CookieName is the session cookie's name; "civic_session" by default.
	CookieName string
	// MaxBodyBytes caps request bodies of the JSON API; 1 MiB by default.
	MaxBodyBytes int64
	// MaxIngestBytes caps the body of POST /api/v1/readings;
	// ingest.MaxBatchBytes (8 MiB, room for civic.MaxBatch readings) by
	// default.
	MaxIngestBytes int64

	// Rate limits, as events per second and bursts. Use rate.Inf to turn a
	// limit off.
	// AnonymousRate limits unauthenticated requests, and requests with
	// bad credentials, per client IP; 20/s, burst 50 by default.
	AnonymousRate  rate.Limit
	AnonymousBurst int
	// LoginRate limits login attempts per client IP, on top of
	// AnonymousRate; one every 5 s, burst 10 by default.
	LoginRate  rate.Limit
	LoginBurst int
	// KeyRate limits requests per API key; 500/s, burst 1000 by default
	// (batch senders send few large requests).
	KeyRate  rate.Limit
	KeyBurst int
	// UserRate limits requests per logged-in user; 50/s, burst 100 by
	// default.
	UserRate  rate.Limit
	UserBurst int

	// TrustProxy takes the client IP from the last X-Forwarded-For entry,
	// as set by a reverse proxy in front of civic. Leave it off when
	// clients reach civic directly: they could claim any address.
	TrustProxy bool
	// TrustedProxies are the addresses of reverse proxies whose
	// X-Forwarded-For (the client's address) and X-Forwarded-Proto
	// (https: HSTS and Secure cookies) civic believes; requests from
	// anywhere else have those headers ignored.
	TrustedProxies []netip.Prefix
	// TrustedOrigins are origins (scheme://host[:port]) besides civic's own
	// that browsers may send writes from.
	TrustedOrigins []string
	// AllowInternalWebhooks lets webhook subscriptions point at
	// loopback, private and link-local addresses; off by default (SSRF).
	// The notifier needs the same setting for delivery.
	AllowInternalWebhooks bool
	// CrossOriginBypass are ServeMux patterns exempt from cross-origin
	// protection, for endpoints browsers of other sites must be able to
	// post to without credentials (an Open311 form, say).
	CrossOriginBypass []string

	// LoRaWANSecrets holds the shared secret of each LoRaWAN integration
	// (IntegrationTTN, IntegrationChirpStack), which network servers send
	// in the X-Civic-Secret header. An integration without a secret is
	// off: its endpoint answers 404.
	LoRaWANSecrets map[string]string
	// OfflineIntervals is how many expected uplink intervals a device may
	// be silent before the device health endpoints call it offline;
	// civic.DefaultOfflineIntervals (3) by default.
	OfflineIntervals float64
}

func (c *Config) setDefaults() {
	if c.CookieName == "" {
		c.CookieName = "civic_session"
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = 1 << 20
	}
	if c.MaxIngestBytes <= 0 {
		c.MaxIngestBytes = ingest.MaxBatchBytes
	}
	setRate(&c.AnonymousRate, &c.AnonymousBurst, 20, 50)
	setRate(&c.LoginRate, &c.LoginBurst, 0.2, 10)
	setRate(&c.KeyRate, &c.KeyBurst, 500, 1000)
	setRate(&c.UserRate, &c.UserBurst, 50, 100)
}

func setRate(r *rate.Limit, b *int, dr rate.Limit, db int) {
	if *r <= 0 {
		*r = dr
	}
	if *b <= 0 {
		*b = db
	}
}

// Deps are the services the server calls.
type Deps struct {
	Store    civic.Store
	Ingester civic.Ingester
	Auth     *auth.Service
	// Logger receives the access log and the details of internal errors;
	// slog.Default() if nil.
	Logger *slog.Logger
	// Now is the clock; time.Now if nil.
	Now func() time.Time
	// Pages, if set, serves every path the route table does not (the web
	// dashboard), behind the same middleware: the caller is in the request
	// context (civic.PrincipalFrom). Paths under /api/ never reach it.
	Pages http.Handler
	// Alerts, if set, serves /api/v1/alerts, /api/v1/subscriptions and
	// /api/v1/alert-rules; without it they answer 503.
	Alerts civic.AlertStore
	// DeviceHealth keeps device events and health for the LoRaWAN
	// endpoints and GET /api/v1/devices?health=true; Store is used when it
	// implements civic.DeviceHealthStore and this is nil.
	DeviceHealth civic.DeviceHealthStore
	// Decoders are the byte decoders of LoRaWAN frames, by
	// civic.Device.PayloadFormat; ingest.NewDecoders() if nil.
	Decoders ingest.Decoders
	// Registry receives the server's metrics and is served at /metrics. A
	// new registry with the Go and process collectors is made if nil; the
	// global registry is never used.
	Registry *prometheus.Registry
	// Forecaster, if set, serves GET /api/v1/bins/{id}/forecast; without
	// it the endpoint answers 503.
	Forecaster civic.Forecaster
	// Plans keeps facilities, plans, routes, stops and collections for
	// /api/v1/facilities, /plans, /routes, /stops, /me/routes and
	// /collections; Store is used when it implements civic.PlanStore and
	// this is nil. Without either those endpoints answer 503.
	Plans civic.PlanStore
	// Planner makes, edits and locks plans and applies the crews' stop
	// reports; without it POST /api/v1/plans, the moves, lock and unlock,
	// and stop reports answer 503.
	Planner civic.Planner
	// KPIs computes the leadership KPIs for GET /api/v1/kpi; Store is
	// used when it implements civic.KPIStore and this is nil. Without
	// either the endpoint answers 503.
	KPIs civic.KPIStore
	// Simulations keeps the what-if simulation runs for
	// /api/v1/simulations; Store is used when it implements
	// civic.SimulationStore and this is nil. Without either those
	// endpoints answer 503.
	Simulations civic.SimulationStore
	// Simulator runs simulations of the city's own bins started by POST
	// /api/v1/simulations; without it that answers 503.
	Simulator civic.Simulator
	// OpenData, if set, serves the open data portal's public routes:
	// GET /data.json, /data/... (the dataset files) and /ngsi-ld/v1/...
	// (see opendataRoutes). The /data page itself is the dashboard's.
	OpenData http.Handler
	// ServiceDesk, if set, serves the 311 staff API (/api/v1/services,
	// /api/v1/service-requests); without it those answer 503.
	ServiceDesk civic.ServiceDesk
	// Open311, if set, serves GeoReport v2 under /open311/v2/ behind the
	// server's middleware.
	Open311 http.Handler
	// Location is the city's time zone, for the service day a request
	// means when it names none and the days and weeks of the KPIs; UTC if
	// nil.
	Location *time.Location
}

// Server serves civic's HTTP API.
type Server struct {
	cfg      Config
	store    civic.Store
	ingester civic.Ingester
	auth     *auth.Service
	log      *slog.Logger
	now      func() time.Time
	registry *prometheus.Registry
	pages    http.Handler
	alerts   civic.AlertStore
	health   civic.DeviceHealthStore
	forecast civic.Forecaster
	plans    civic.PlanStore
	planner  civic.Planner
	kpis     civic.KPIStore
	openData http.Handler

	simulations civic.SimulationStore
	simulator   civic.Simulator
	loc         *time.Location
	desk        civic.ServiceDesk
	open311     http.Handler
	lorawan     *lorawan
	metrics     *metrics
	limits      *limiters
	cop         *http.CrossOriginProtection
	mux         *http.ServeMux
	handler     http.Handler
}

// New returns a server. It panics if cfg.TrustedOrigins holds a malformed
// origin, a programming or configuration error to catch at start-up.
func New(cfg Config, deps Deps) *Server {
	cfg.setDefaults()
	s := &Server{
		cfg:      cfg,
		store:    deps.Store,
		ingester: deps.Ingester,
		auth:     deps.Auth,
		log:      deps.Logger,
		now:      deps.Now,
		registry: deps.Registry,
		pages:    deps.Pages,
		alerts:   deps.Alerts,
		health:   deps.DeviceHealth,
		forecast: deps.Forecaster,
		plans:    deps.Plans,
		planner:  deps.Planner,
		kpis:     deps.KPIs,
		openData: deps.OpenData,
		loc:      deps.Location,
		desk:     deps.ServiceDesk,
		open311:  deps.Open311,

		simulations: deps.Simulations,
		simulator:   deps.Simulator,
	}
	if s.health == nil {
		s.health, _ = deps.Store.(civic.DeviceHealthStore)
	}
	if s.plans == nil {
		s.plans, _ = deps.Store.(civic.PlanStore)
	}
	if s.kpis == nil {
		s.kpis, _ = deps.Store.(civic.KPIStore)
	}
	if s.simulations == nil {
		s.simulations, _ = deps.Store.(civic.SimulationStore)
	}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
		s.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	s.metrics = newMetrics(s.registry)
	s.lorawan = newLoRaWAN(&s.cfg, &deps, s.health, s.log, s.registry)
	s.limits = newLimiters(&s.cfg)
	s.cop = http.NewCrossOriginProtection()
	for _, o := range cfg.TrustedOrigins {
		if err := s.cop.AddTrustedOrigin(o); err != nil {
			panic("server: trusted origin: " + err.Error())
		}
	}
	for _, p := range cfg.CrossOriginBypass {
		s.cop.AddInsecureBypassPattern(p)
	}
	s.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, errCrossOrigin)
	}))
	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.pattern, s.track(rt.handler))
	}
	s.handler = s.harden(s.observe(s.authenticate(s.checkInput(http.HandlerFunc(s.dispatch)))))
	return s
}

// Handler returns the server's root handler, with all middleware.
func (s *Server) Handler() http.Handler { return s.handler }

// dispatch routes the request. Unknown API paths and wrong methods answer
// in the API's JSON error format, never with the mux's plain text nor with a
// page.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	if isAPIPath(r.URL.Path) {
		if _, pattern := s.mux.Handler(r); pattern == "" || !isAPIPath(patternPath(pattern)) {
			if allow := s.allowedMethods(r); len(allow) > 0 {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				s.writeError(w, r, errMethodNotAllowed)
				return
			}
			s.writeError(w, r, civic.Errorf(civic.NotFound, "no such endpoint"))
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// allowedMethods lists the methods the API routes serve for r's path.
func (s *Server) allowedMethods(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		c := r.Clone(r.Context())
		c.Method = m
		if _, pattern := s.mux.Handler(c); strings.HasPrefix(pattern, m+" /api/") {
			allow = append(allow, m)
		}
	}
	return allow
}

// patternPath is the path part of a ServeMux pattern.
func patternPath(pattern string) string {
	if i := strings.IndexByte(pattern, ' '); i >= 0 {
		return pattern[i+1:]
	}
	return pattern
}

func isAPIPath(p string) bool {
	return len(p) >= 5 && p[:5] == "/api/"
}
