package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/forecast"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/mqtt"
	"github.com/civic-city/civic/internal/open311"
	"github.com/civic-city/civic/internal/opendata"
	"github.com/civic-city/civic/internal/plan"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/web"
	"github.com/civic-city/civic/internal/whatif"
)

// node is one running civic serve: every component, built in dependency
// order by openNode, started by start, and closed in reverse order by
// close. The hooks between components are its methods.
type node struct {
	e   *env
	c   *config
	log *slog.Logger

	app   *app
	clock func() time.Time // the demo's accelerated clock, or real time
	demo  *demoCity

	forecasts   *forecast.Service
	events      *store.Events
	notifier    *alert.Notifier
	alerts      civic.AlertStore // the store, telling alertChanged of each change
	engine      *alert.Engine
	writer      *ingest.Writer
	planner     *plan.Service
	demoPlanner *plan.Service    // the demo history's planner (--demo only)
	sims        *whatif.Jobs     // simulations started from the web app
	portal      *opendata.Portal // open data: /data, /data.json, NGSI-LD
	ui          *web.UI
	api         *server.Server
	metrics     *nodeMetrics     // metrics.go
	nodeOps                      // opsflags.go: retention
	desk        *open311.Desk    // 311 (open311.go)
	geo         *open311.Handler // GeoReport v2
	mailer      *open311.Mailer  // status e-mails to reporters

	// Set by start.
	started  bool
	http     *http.Server
	serveErr chan error
	broker   *mqtt.Broker
	sub      *mqtt.Subscriber
}

// openNode opens the store and builds every component; nothing runs yet.
// On error what was opened is closed.
func openNode(ctx context.Context, e *env, c *config, log *slog.Logger) (_ *node, err error) {
	n := &node{e: e, c: c, log: log}
	if n.app, err = openAppWith(ctx, c, log); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			n.app.close()
		}
	}()

	// In the demo, time runs faster: the simulated clock bounds sensor
	// timestamps and ages on the pages, while sessions keep real time.
	n.clock = n.app.now
	if c.Demo {
		if n.demo, err = setupDemo(ctx, e, n.app, c, log); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		n.clock = n.demo.now
	}

	loc, _ := time.LoadLocation(c.TimeZone) // checked by finishServe; nil is UTC
	n.forecasts = forecast.NewService(n.app.store, n.app.store, forecast.ServiceOptions{
		Model: forecast.Options{Location: loc}, Now: n.clock, Logger: log,
	})
	// Live events across nodes (PostgreSQL; nothing on SQLite): what this
	// node commits reaches the other nodes' pages, and theirs reach ours.
	n.events = n.app.store.NewEvents(store.EventsOptions{
		Logger:   log,
		OnStates: n.remoteStates,
		OnAlert:  n.remoteAlert,
		OnForget: n.assetsChanged,
	})
	n.notifier = alert.NewNotifier(alert.NotifierOptions{
		Store:   n.app.store,
		Now:     n.app.now,
		SMTP:    alert.SMTPConfig{Addr: c.SMTPAddr, From: c.SMTPFrom, Username: c.SMTPUser, Password: c.SMTPPassword},
		BaseURL: c.BaseURL,
		Logger:  log,

		AllowInternal: c.WebhookAllowInternal,
	})
	n.alerts = alert.Live(n.app.store, n.alertChanged)
	n.engine = alert.NewEngine(alert.EngineOptions{
		Alerts:        n.alerts,
		Source:        n.app.store,
		Now:           n.clock,
		Logger:        log,
		Singleton:     n.singleton,
		SweepInterval: c.JobInterval,
		FullAt:        n.forecasts.FullAt,
	})
	bound := n.clock
	if n.demo != nil {
		// While the demo replays its history, its clock is in the past:
		// a reading sent meanwhile with the present time is not refused.
		bound = func() time.Time { return latest(n.clock(), n.app.now()) }
	}
	n.writer = ingest.NewWriter(n.app.store, n.app.store, ingest.WriterOptions{
		Now:      bound,
		CacheNow: n.app.now, // real time, also in the faster demo
		Logger:   log,
		OnCommit: n.readingsCommitted,
	})
	n.openRetention()
	n.metrics = newNodeMetrics(n)
	if n.desk, n.geo, n.mailer, err = open311Parts(ctx, n.app, c, loc, n.clock, log, n.notifier.SendMail); err != nil {
		return nil, fmt.Errorf("311: %w", err)
	}
	if n.planner, err = newPlanner(n.app, c, loc, n.clock, log, n.alerts, n.forecasts, n.singleton, c.PlanAt, n.binCollected, n.metrics.planned); err != nil {
		return nil, err
	}
	if n.demo != nil {
		// The demo history's days are planned with a smaller budget, by
		// this node alone and with no nightly job.
		hc := *c
		hc.PlanTime = min(c.PlanTime, demoHistoryPlanTime)
		if n.demoPlanner, err = newPlanner(n.app, &hc, loc, n.clock, log, n.alerts, n.forecasts, nil, "", n.binCollected, n.metrics.planned); err != nil {
			return nil, err
		}
	}
	if n.portal, err = newPortal(c, n.app.store, log); err != nil {
		return nil, err
	}
	n.sims = whatif.NewJobs(whatif.JobsOptions{City: n.app.store, Runs: n.app.store, Settings: n.app.store.PlanSettings,
		Location: loc, Now: n.app.now, Logger: log, Lock: func(ctx context.Context) (func(), bool, error) {
			l, ok, err := n.app.store.TryLock(ctx, "simulation")
			if !ok || err != nil {
				return nil, ok, err
			}
			return l.Release, true, nil
		}})
	var signOn web.SingleSignOn
	if c.oidcOn {
		o, err := n.app.auth.NewOIDC(c.oidc)
		if err != nil {
			return nil, fmt.Errorf("single sign-on: --%s: %s", civic.FieldOf(err), civic.MessageOf(err))
		}
		signOn = sso{OIDC: o, svc: n.app.auth, audit: n.app.store, now: n.app.now, log: log}
	}
	n.ui = web.New(web.Config{TileURL: c.TileURL, TileAttribution: c.TileAttribution, SecureCookies: c.SecureCookies, Location: loc}, web.Deps{
		Store: n.app.store,
		Login: func(ctx context.Context, name, password string) (string, time.Time, error) {
			token, s, _, err := n.app.auth.Login(ctx, name, password)
			return token, n.app.auth.SessionEnd(s), err
		},
		Logout:      n.app.auth.Logout,
		SSO:         signOn,
		Alerts:      n.alerts,
		Logger:      log,
		Now:         n.clock,
		Forecaster:  n.forecasts,
		Planner:     n.planner,
		Plans:       n.app.store,
		KPIs:        n.app.store,
		Simulations: n.app.store,
		Simulator:   n.sims,
		Admin: &web.Admin{AddUser: n.app.auth.AddUser, SetPassword: n.app.auth.SetPassword,
			CreateAPIKey: n.app.auth.CreateAPIKey, RevokeAPIKey: n.app.auth.RevokeAPIKey, SendTest: n.notifier.SendTest},
		OpenData:    n.portal,
		ServiceDesk: n.desk, ClientIP: server.ClientIP,
	})
	secrets := map[string]string{}
	if c.TTNSecret != "" {
		secrets[server.IntegrationTTN] = c.TTNSecret
	}
	if c.ChirpStackSecret != "" {
		secrets[server.IntegrationChirpStack] = c.ChirpStackSecret
	}
	n.api = server.New(server.Config{SecureCookies: c.SecureCookies, LoRaWANSecrets: secrets, TrustedProxies: c.trustedProxies, AllowInternalWebhooks: c.WebhookAllowInternal}, server.Deps{
		Store: n.app.store, Ingester: n.writer, Auth: n.app.auth, Logger: log, Now: n.app.now, Pages: n.ui.Handler(),
		Forecaster: n.forecasts, Alerts: n.alerts, Plans: n.app.store, Planner: n.planner, Location: loc,
		Registry:    n.metrics.reg,
		OpenData:    n.portal.Handler(),
		ServiceDesk: n.desk, Open311: n.geo,
		Simulator: n.sims,
	})
	return n, nil
}

// start runs the components in dependency order: the change hook and the
// live events before anything can load a page (so what other nodes commit
// from now on reaches them), the background jobs, the writer, then the
// listeners, and last the demo's sensors.
func (n *node) start(ctx context.Context) error {
	n.started = true
	if err := n.forecasts.Start(ctx); err != nil {
		return fmt.Errorf("forecasts: %w", err)
	}
	n.app.store.OnChange(n.assetsChanged)
	if err := n.events.Start(ctx); err != nil {
		return fmt.Errorf("live events: %w", err)
	}
	if err := n.engine.Start(ctx); err != nil {
		return fmt.Errorf("alert engine: %w", err)
	}
	if err := n.notifier.Start(ctx); err != nil {
		return fmt.Errorf("notifier: %w", err)
	}
	if err := n.mailer.Start(ctx); err != nil {
		return fmt.Errorf("311 mailer: %w", err)
	}
	if err := n.writer.Start(ctx); err != nil {
		return fmt.Errorf("ingest writer: %w", err)
	}
	if err := n.startOps(ctx); err != nil {
		return fmt.Errorf("retention: %w", err)
	}
	// Runs left "running" by a server that died are failed now, unless
	// another server is running one (a warning only: the pages still show
	// them as interrupted).
	if k, err := n.sims.Recover(ctx); err != nil {
		n.log.Warn("simulations: interrupted runs not closed", "err", err)
	} else if k > 0 {
		n.log.Info("simulations: interrupted runs closed", "runs", k)
	}
	// The demo's nightly job starts once the demo's history is in: run
	// now, after 18:00, it would plan tomorrow from a store with no
	// readings, and the demo's first day would have no collections.
	if n.demo == nil {
		if err := n.planner.Start(ctx); err != nil {
			return fmt.Errorf("nightly planner: %w", err)
		}
	}

	// Every listener is bound before civic says it listens: a port in use
	// fails start-up with an error naming its flag, and prints nothing.
	ln, err := net.Listen("tcp", n.c.Addr)
	if err != nil {
		return fmt.Errorf("HTTP listener on %s: %w (choose another port with --addr)", n.c.Addr, err)
	}
	if err := n.startMQTT(ctx); err != nil {
		ln.Close()
		return err
	}
	tlsConf, err := n.c.tlsConfig()
	if err != nil {
		ln.Close()
		return err
	}
	// Deadlines for headers and bodies, a connection cap, HTTPS.
	n.http, ln = server.HTTPServer(n.api.Handler(), ln, server.ListenOptions{MaxConns: n.c.MaxConns, TLS: tlsConf}, n.log)
	n.serveErr = make(chan error, 1)
	go func() { n.serveErr <- n.http.Serve(ln) }()
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	fmt.Fprintf(n.e.stdout, "civic: listening on %s://%s\n", scheme, ln.Addr())
	n.log.Info("listening", "addr", ln.Addr().String())
	if n.broker != nil {
		fmt.Fprintf(n.e.stdout, "civic: MQTT broker on %s\n", n.broker.Addr())
		n.metrics.broker(n.broker)
	}
	if n.demo != nil {
		n.demo.start(ctx, n.writer, n.ui, n.planner, n.demoPlanner, n.app.store, n.planner.Start)
	}
	return nil
}

// wait blocks until ctx ends (a signal) or the HTTP server fails.
func (n *node) wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		n.log.Info("shutting down")
		return nil
	case err := <-n.serveErr:
		n.log.Error("HTTP server stopped", "err", err)
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	}
}

// close stops everything in reverse order of start-up: producers first,
// then the HTTP server (draining requests in flight), then the writer,
// which commits everything it accepted, then the jobs that act on what it
// committed, the live events (which announce their last changes), the
// forecasts and the store.
func (n *node) close() {
	shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	warn := func(what string, err error) {
		if err != nil {
			n.log.Warn(what+" shutdown", "err", err)
		}
	}
	if n.started {
		if n.demo != nil {
			n.demo.stop()
		}
		if n.sub != nil {
			warn("MQTT subscriber", n.sub.Close(shutdown))
		}
		if n.broker != nil {
			warn("MQTT broker", n.broker.Close(shutdown))
		}
		warn("web UI", n.ui.Close(shutdown))
		if n.http != nil {
			warn("HTTP", n.http.Shutdown(shutdown))
		}
		if err := n.writer.Close(shutdown); err != nil {
			n.log.Error("ingest writer shutdown", "err", err)
		}
		warn("nightly planner", n.planner.Close(shutdown))
		warn("simulations", n.sims.Close(shutdown))
		warn("retention", n.closeOps(shutdown))
		warn("alert engine", n.engine.Close(shutdown))
		warn("notifier", n.notifier.Close(shutdown))
		warn("311 mailer", n.mailer.Close(shutdown))
		warn("live events", n.events.Close(shutdown))
		warn("forecast service", n.forecasts.Close(shutdown))
	}
	n.app.close()
}

// startMQTT starts the embedded broker (unless --mqtt-addr is empty) and the
// external-broker subscriber (when --mqtt-broker is set).
func (n *node) startMQTT(ctx context.Context) error {
	c := n.c
	if c.MQTTAddr != "" {
		var tlsConf *tls.Config
		if c.MQTTTLSCert != "" {
			cert, err := tls.LoadX509KeyPair(c.MQTTTLSCert, c.MQTTTLSKey)
			if err != nil {
				return fmt.Errorf("--mqtt-tls-cert/--mqtt-tls-key: %w", err)
			}
			tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		b, err := mqtt.NewBroker(n.writer, mqtt.BrokerOptions{
			Addr:         c.MQTTAddr,
			TLS:          tlsConf,
			Logger:       n.log,
			Authenticate: auth.DeviceAuthenticator(n.app.store),
		})
		if err == nil {
			err = b.Start(ctx)
		}
		if err != nil {
			return fmt.Errorf("embedded MQTT broker on %s: %w (choose another port with --mqtt-addr, or disable it with --mqtt-addr '')", c.MQTTAddr, err)
		}
		n.broker = b
	}
	if c.MQTTBroker != "" {
		sub, err := mqtt.NewSubscriber(n.writer, mqtt.SubscriberOptions{URL: c.MQTTBroker, Username: c.MQTTUser, Password: c.MQTTPassword, Logger: n.log})
		if err == nil {
			err = sub.Start(ctx)
		}
		if err != nil {
			return fmt.Errorf("external MQTT broker %s: %w", redactURL(c.MQTTBroker), redactErr(err, c.MQTTBroker))
		}
		n.sub = sub
	}
	return nil
}

// latest returns the later of two times.
func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
