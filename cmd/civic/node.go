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
	"github.com/civic-city/civic/internal/plan"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/web"
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

	forecasts *forecast.Service
	events    *store.Events
	notifier  *alert.Notifier
	alerts    civic.AlertStore // the store, telling alertChanged of each change
	engine    *alert.Engine
	writer    *ingest.Writer
	planner   *plan.Service
	ui        *web.UI
	api       *server.Server

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
		Alerts:    n.alerts,
		Source:    n.app.store,
		Now:       n.clock,
		Logger:    log,
		Singleton: n.singleton,
		FullAt:    n.forecasts.FullAt,
	})
	n.writer = ingest.NewWriter(n.app.store, n.app.store, ingest.WriterOptions{
		Now:      n.clock,
		Logger:   log,
		OnCommit: n.readingsCommitted,
	})
	if n.planner, err = newPlanner(n.app, c, loc, n.clock, log, n.alerts, n.forecasts, n.singleton, c.PlanAt, n.binCollected); err != nil {
		return nil, err
	}
	n.ui = web.New(web.Config{TileURL: c.TileURL, SecureCookies: c.SecureCookies, Location: loc}, web.Deps{
		Store: n.app.store,
		Login: func(ctx context.Context, name, password string) (string, time.Time, error) {
			token, s, _, err := n.app.auth.Login(ctx, name, password)
			return token, n.app.auth.SessionEnd(s), err
		},
		Logout:      n.app.auth.Logout,
		Alerts:      n.alerts,
		Logger:      log,
		Now:         n.clock,
		Forecaster:  n.forecasts,
		Planner:     n.planner,
		Plans:       n.app.store,
		KPIs:        n.app.store,
		Simulations: n.app.store,
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
	if err := n.writer.Start(ctx); err != nil {
		return fmt.Errorf("ingest writer: %w", err)
	}
	// The demo's nightly job starts once the demo's history is in: run
	// now, after 18:00, it would plan tomorrow from a store with no
	// readings, and the demo's first day would have no collections.
	if n.demo == nil {
		if err := n.planner.Start(ctx); err != nil {
			return fmt.Errorf("nightly planner: %w", err)
		}
	}

	ln, err := net.Listen("tcp", n.c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", n.c.Addr, err)
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

	if err := n.startMQTT(ctx); err != nil {
		return err
	}
	if n.broker != nil {
		fmt.Fprintf(n.e.stdout, "civic: MQTT broker on %s\n", n.broker.Addr())
	}
	if n.demo != nil {
		n.demo.start(ctx, n.writer, n.ui, n.planner, n.app.store, n.planner.Start)
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
		warn("alert engine", n.engine.Close(shutdown))
		warn("notifier", n.notifier.Close(shutdown))
		warn("live events", n.events.Close(shutdown))
		warn("forecast service", n.forecasts.Close(shutdown))
	}
	n.app.close()
}

// readingsCommitted hands what the writer committed to everything that
// follows the bins: forecasts, alert rules, other nodes and the live pages.
func (n *node) readingsCommitted(rs []civic.Reading) {
	n.forecasts.Observe(rs)
	n.engine.OnCommit(rs)
	n.events.ReadingsCommitted(rs)
	n.ui.Publish(rs)
}

// binCollected follows a crew's collection of a bin, once committed: the
// bin's live state is empty now, on the map here and, through the live
// events, on every node.
func (n *node) binCollected(binID string) {
	n.ui.RefreshBins(context.Background(), binID)
	n.events.ReadingsCommitted([]civic.Reading{{Bin: binID}})
}

// alertChanged follows every committed alert change, whoever made it (the
// rules, the alerts page, the API): the live pages, the notifier and the
// other nodes hear of it.
func (n *node) alertChanged(al civic.Alert, ev civic.AlertEvent) {
	n.ui.PublishAlert(al, ev)
	n.notifier.Kick()
	n.events.AlertChanged(al, ev)
}

// remoteAlert is an alert change another node committed.
func (n *node) remoteAlert(al civic.Alert, ev civic.AlertEvent) {
	n.ui.PublishAlert(al, ev)
}

// remoteStates are bin states other nodes committed. The alert engine and
// the forecasts learn of those uplinks too: the node holding the sweep lock
// must not take a bin that reports to another node for offline, and every
// node's forecasts follow every bin. A state written a while ago (a
// catch-up reads them all) is no news of an uplink and is left out: the
// engine counts every reading it is handed as one. (A state carries a
// bin's newest reading; readings a node commits within one interval for
// the same bin reach the others as one.)
func (n *node) remoteStates(states []civic.BinState) {
	n.ui.PublishStates(states)
	now := n.app.now()
	var rs []civic.Reading
	for i := range states {
		if now.Sub(states[i].UpdatedAt) <= time.Minute {
			rs = append(rs, states[i].Reading())
		}
	}
	if len(rs) > 0 {
		n.engine.OnCommit(rs)
		n.forecasts.Observe(rs)
	}
}

// assetsChanged drops what the caches here hold of a changed key or asset,
// whether this node or another changed it: a revoked key stops working at
// once, a moved or deactivated device is checked again, and the map and
// the alert engine reload bins. An empty Kind means everything.
func (n *node) assetsChanged(f store.Forget) {
	if f.Kind == "" || f.Kind == store.ForgetKey {
		n.app.auth.ForgetKey(f.ID)
	}
	if f.Kind == "" || f.Kind == store.ForgetDevice {
		n.writer.ForgetDevice(f.ID)
	}
	if f.Kind == "" || f.Kind == store.ForgetBin || f.Kind == store.ForgetZone {
		n.ui.AssetsChanged()
	}
	if f.Kind != store.ForgetKey {
		n.engine.AssetsChanged()
	}
}

// singleton takes the named cluster-wide lock for a job that must run on
// one node at a time (a PostgreSQL advisory lock; in-process on SQLite).
func (n *node) singleton(ctx context.Context, name string) (<-chan struct{}, func(), bool) {
	l, ok, err := n.app.store.TryLock(ctx, name)
	if err != nil {
		n.log.Warn("singleton lock", "name", name, "err", err)
	}
	if !ok {
		return nil, nil, false
	}
	return l.Done(), l.Release, true
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
