package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/forecast"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/mqtt"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/web"
)

const serveUsage = `civic serve [flags]
    Runs the web UI, the JSON API (/api/v1, OpenAPI at /api/openapi.json),
    telemetry ingest (HTTP, MQTT) and background jobs.

  --addr ADDR             HTTP listen address (default 127.0.0.1:8080; env CIVIC_ADDR)
  --data DIR              data folder for the embedded SQLite database (default ./civic-data; env CIVIC_DATA)
  --db URL                sqlite:PATH or postgres://... (env CIVIC_DB); several nodes may share one
                          PostgreSQL database: live updates reach every node's pages, one node sweeps alerts
  --tz ZONE               the city's time zone (default UTC; env CIVIC_TZ)
  --log-level LEVEL       debug, info, warn, error (env CIVIC_LOG_LEVEL)
  --log-format FORMAT     json or text (env CIVIC_LOG_FORMAT)
  --secure-cookies        mark session cookies Secure, behind HTTPS (env CIVIC_SECURE_COOKIES)
  --tile-url URL          map tile URL template; markers render without tiles (env CIVIC_TILE_URL)
  --mqtt-addr ADDR        embedded MQTT broker address; empty disables it (default 127.0.0.1:1883; env CIVIC_MQTT_ADDR)
  --mqtt-tls-cert FILE    PEM certificate: the embedded broker speaks MQTT over TLS (env CIVIC_MQTT_TLS_CERT)
  --mqtt-tls-key FILE     PEM private key for --mqtt-tls-cert (env CIVIC_MQTT_TLS_KEY)
  --mqtt-broker URL       external MQTT broker to subscribe to (env CIVIC_MQTT_BROKER)
  --mqtt-user NAME        external broker user (env CIVIC_MQTT_USER)
  --mqtt-password-file F  external broker password file (env CIVIC_MQTT_PASSWORD_FILE or CIVIC_MQTT_PASSWORD)
  --lorawan-ttn-secret-file F         enables POST /api/v1/lorawan/ttn with this X-Civic-Secret (env CIVIC_LORAWAN_TTN_SECRET[_FILE])
  --lorawan-chirpstack-secret-file F  enables POST /api/v1/lorawan/chirpstack (env CIVIC_LORAWAN_CHIRPSTACK_SECRET[_FILE])
  --smtp-addr HOST:PORT   SMTP server for e-mail notifications (env CIVIC_SMTP_ADDR)
  --smtp-from ADDRESS     sender of e-mail notifications (env CIVIC_SMTP_FROM)
  --smtp-user NAME        SMTP user (env CIVIC_SMTP_USER)
  --smtp-password-file F  SMTP password file (env CIVIC_SMTP_PASSWORD_FILE or CIVIC_SMTP_PASSWORD)
  --base-url URL          public URL of civic, for links in notifications (env CIVIC_BASE_URL)
  --demo                  generate a demo city if the data folder has no bins, and animate it (env CIVIC_DEMO)
  --seed N                the demo city's random seed (default 1)
  --speed X               demo time acceleration, simulated seconds per real second (default 360)`

func runServe(ctx context.Context, e *env, args []string) error {
	var c config
	fs := newFlagSet("serve")
	serveFlags(fs, &c, e.getenv)
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if err := c.finishServe(); err != nil {
		return err
	}
	log := newLogger(e, &c)
	log.Info("starting civic", "version", version, "config", c.String())

	a, err := openAppWith(ctx, &c, log)
	if err != nil {
		return err
	}
	defer a.close()

	// In the demo, time runs faster: the simulated clock bounds sensor
	// timestamps and ages on the pages, while sessions keep real time.
	clock := a.now
	var demo *demoCity
	if c.Demo {
		demo, err = setupDemo(ctx, e, a, &c, log)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		clock = demo.now
	}

	// Forecasts: the first training runs in the background; committed
	// readings reach the model through the writer's hook. Closed after the
	// writer (deferred), before the store.
	loc, _ := time.LoadLocation(c.TimeZone) // checked by finishServe; nil is UTC
	fc := forecast.NewService(a.store, a.store, forecast.ServiceOptions{Model: forecast.Options{Location: loc}, Now: clock, Logger: log})
	if err := fc.Start(ctx); err != nil {
		return fmt.Errorf("forecasts: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := fc.Close(ctx); err != nil {
			log.Warn("forecast service shutdown", "err", err)
		}
	}()

	// Live events across nodes (PostgreSQL; nothing on SQLite): what this
	// node commits reaches the other nodes' pages, and theirs reach ours.
	// Closed after the alert engine (deferred), whose last changes it
	// announces.
	var (
		ui     *web.UI
		engine *alert.Engine
		writer *ingest.Writer
	)
	// changed drops what the caches here hold of a changed key or asset:
	// a revoked key stops working at once, a moved or deactivated device
	// is checked again, and the map and the alert engine reload bins.
	changed := func(f store.Forget) {
		if f.Kind == "" || f.Kind == store.ForgetKey {
			a.auth.ForgetKey(f.ID)
		}
		if f.Kind == "" || f.Kind == store.ForgetDevice {
			writer.ForgetDevice(f.ID)
		}
		if f.Kind == "" || f.Kind == store.ForgetBin || f.Kind == store.ForgetZone {
			ui.AssetsChanged()
		}
		if f.Kind != store.ForgetKey {
			engine.AssetsChanged()
		}
	}
	events := a.store.NewEvents(store.EventsOptions{
		Logger: log,
		OnStates: func(states []civic.BinState) {
			if ui != nil {
				ui.PublishStates(states)
			}
			// The alert engine and the forecasts learn of other nodes'
			// uplinks too: the node holding the sweep lock must not take a
			// bin that reports to another node for offline, and every
			// node's forecasts follow every bin. (A state carries a bin's
			// newest reading; readings a node commits within one interval
			// for the same bin reach the others as one.)
			if rs := remoteUplinks(states, a.now()); len(rs) > 0 {
				engine.OnCommit(rs)
				fc.Observe(rs)
			}
		},
		OnAlert: func(al civic.Alert, ev civic.AlertEvent) {
			if ui != nil {
				ui.PublishAlert(al, ev)
			}
		},
		// What another node changes in keys and assets leaves the caches
		// here as soon as it commits.
		OnForget: changed,
	})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := events.Close(ctx); err != nil {
			log.Warn("live events shutdown", "err", err)
		}
	}()

	// Alerts: the engine evaluates committed readings (and sweeps for
	// absence-based rules, on one node at a time); the notifier drains the
	// outbox (claims never overlap across nodes). Both close after the
	// writer (deferred), before the forecasts and the store.
	notifier := alert.NewNotifier(alert.NotifierOptions{
		Store:   a.store,
		Now:     a.now,
		SMTP:    alert.SMTPConfig{Addr: c.SMTPAddr, From: c.SMTPFrom, Username: c.SMTPUser, Password: c.SMTPPassword},
		BaseURL: c.BaseURL,
		Logger:  log,
	})
	// Every part changes alerts through alerts, which then tells the live
	// pages, the notifier and the other nodes: the rules, the alerts page
	// and the API alike.
	alerts := liveAlerts{AlertStore: a.store, changed: func(al civic.Alert, ev civic.AlertEvent) {
		if ui != nil {
			ui.PublishAlert(al, ev)
		}
		notifier.Kick()
		events.AlertChanged(al, ev)
	}}
	engine = alert.NewEngine(alert.EngineOptions{
		Alerts: alerts,
		Source: a.store,
		Now:    clock,
		Logger: log,
		Singleton: func(ctx context.Context, name string) (<-chan struct{}, func(), bool) {
			l, ok, err := a.store.TryLock(ctx, name)
			if err != nil {
				log.Warn("singleton lock", "name", name, "err", err)
			}
			if !ok {
				return nil, nil, false
			}
			return l.Done(), l.Release, true
		},
		FullAt: func(binID string, now time.Time, _ float64) (time.Time, bool) {
			f, err := fc.Forecast(context.Background(), binID)
			if err != nil {
				return time.Time{}, false // no forecast: the rule decides nothing
			}
			if f.FullAt == nil { // not full within the horizon
				return now.Add(time.Duration(f.HorizonHours * float64(time.Hour))), true
			}
			return *f.FullAt, true
		},
	})
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := engine.Close(ctx); err != nil {
			log.Warn("alert engine shutdown", "err", err)
		}
		if err := notifier.Close(ctx); err != nil {
			log.Warn("notifier shutdown", "err", err)
		}
	}()

	writer = ingest.NewWriter(a.store, a.store, ingest.WriterOptions{
		Now:    clock,
		Logger: log,
		OnCommit: func(rs []civic.Reading) {
			fc.Observe(rs)
			engine.OnCommit(rs)
			events.ReadingsCommitted(rs)
			if ui != nil {
				ui.Publish(rs)
			}
		},
	})
	ui = web.New(web.Config{TileURL: c.TileURL, SecureCookies: c.SecureCookies}, web.Deps{
		Store: a.store,
		Login: func(ctx context.Context, name, password string) (string, time.Time, error) {
			token, s, _, err := a.auth.Login(ctx, name, password)
			return token, s.ExpiresAt, err
		},
		Logout:     a.auth.Logout,
		Alerts:     alerts,
		Logger:     log,
		Now:        clock,
		Forecaster: fc,
	})
	// ui, engine and writer are set before the store's change hook, the
	// events and the engine start: their hooks read them. The events start
	// before the pages can load, so what other nodes commit from now on
	// reaches them.
	a.store.OnChange(changed)
	if err := events.Start(ctx); err != nil {
		return fmt.Errorf("live events: %w", err)
	}
	if err := engine.Start(ctx); err != nil {
		return fmt.Errorf("alert engine: %w", err)
	}
	if err := notifier.Start(ctx); err != nil {
		return fmt.Errorf("notifier: %w", err)
	}
	if err := writer.Start(ctx); err != nil {
		return fmt.Errorf("ingest writer: %w", err)
	}

	secrets := map[string]string{}
	if c.TTNSecret != "" {
		secrets[server.IntegrationTTN] = c.TTNSecret
	}
	if c.ChirpStackSecret != "" {
		secrets[server.IntegrationChirpStack] = c.ChirpStackSecret
	}
	srv := server.New(server.Config{SecureCookies: c.SecureCookies, LoRaWANSecrets: secrets}, server.Deps{
		Store: a.store, Ingester: writer, Auth: a.auth, Logger: log, Now: a.now, Pages: ui.Handler(),
		Forecaster: fc, Alerts: alerts,
	})
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		_ = writer.Close(context.Background())
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- hs.Serve(ln) }()
	fmt.Fprintf(e.stdout, "civic: listening on http://%s\n", ln.Addr())
	log.Info("listening", "addr", ln.Addr().String())

	broker, sub, err := startMQTT(ctx, &c, a, writer, log)
	if err != nil {
		_ = hs.Close()
		_ = writer.Close(context.Background())
		return err
	}
	if broker != nil {
		fmt.Fprintf(e.stdout, "civic: MQTT broker on %s\n", broker.Addr())
	}

	if demo != nil {
		demo.start(ctx, writer, ui)
	}

	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err = <-serveErr:
		log.Error("HTTP server stopped", "err", err)
	}

	// Stop in reverse order of start-up: producers first, then the HTTP
	// server (draining requests in flight), then the writer, which commits
	// everything it accepted, then the store (deferred).
	shutdown, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if demo != nil {
		demo.stop()
	}
	if sub != nil {
		if err := sub.Close(shutdown); err != nil {
			log.Warn("MQTT subscriber shutdown", "err", err)
		}
	}
	if broker != nil {
		if err := broker.Close(shutdown); err != nil {
			log.Warn("MQTT broker shutdown", "err", err)
		}
	}
	_ = ui.Close(shutdown)
	if err := hs.Shutdown(shutdown); err != nil {
		log.Warn("HTTP shutdown", "err", err)
	}
	if err := writer.Close(shutdown); err != nil {
		log.Error("ingest writer shutdown", "err", err)
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// liveAlerts is the alert store as serve hands it out: after a change
// commits it calls changed.
type liveAlerts struct {
	civic.AlertStore
	changed func(civic.Alert, civic.AlertEvent)
}

func (l liveAlerts) OpenAlert(ctx context.Context, a *civic.Alert) (civic.Alert, bool, error) {
	out, created, err := l.AlertStore.OpenAlert(ctx, a)
	if err == nil && created {
		l.changed(out, civic.EventOpened)
	}
	return out, created, err
}

func (l liveAlerts) AckAlert(ctx context.Context, id, by string, at time.Time) (civic.Alert, error) {
	out, err := l.AlertStore.AckAlert(ctx, id, by, at)
	if err == nil {
		l.changed(out, civic.EventAcknowledged)
	}
	return out, err
}

func (l liveAlerts) ResolveAlert(ctx context.Context, id, by, note string, at time.Time) (civic.Alert, error) {
	out, err := l.AlertStore.ResolveAlert(ctx, id, by, note, at)
	if err == nil {
		l.changed(out, civic.EventResolved)
	}
	return out, err
}

func (l liveAlerts) ResolveCleared(ctx context.Context, binID string, rule civic.RuleKind, note string, at time.Time) (civic.Alert, bool, error) {
	out, ok, err := l.AlertStore.ResolveCleared(ctx, binID, rule, note, at)
	if err == nil && ok {
		l.changed(out, civic.EventResolved)
	}
	return out, ok, err
}

// remoteUplinks turns the states other nodes just wrote into readings for
// the alert engine. A state written a while ago (a catch-up reads them
// all) is no news of an uplink and is left out: the engine counts every
// reading it is handed as one.
func remoteUplinks(states []civic.BinState, now time.Time) []civic.Reading {
	var rs []civic.Reading
	for _, s := range states {
		if now.Sub(s.UpdatedAt) > time.Minute {
			continue
		}
		rs = append(rs, civic.Reading{
			Device: s.Device, Time: s.Time, Bin: s.BinID, Fill: s.Fill, TemperatureC: s.TemperatureC,
			Battery: s.Battery, TiltDeg: s.TiltDeg, DoorOpen: s.DoorOpen, Fire: s.Fire, RSSI: s.RSSI,
		})
	}
	return rs
}

// startMQTT starts the embedded broker (unless --mqtt-addr is empty) and the
// external-broker subscriber (when --mqtt-broker is set).
func startMQTT(ctx context.Context, c *config, a *app, ing civic.Ingester, log *slog.Logger) (*mqtt.Broker, *mqtt.Subscriber, error) {
	var broker *mqtt.Broker
	if c.MQTTAddr != "" {
		var tlsConf *tls.Config
		if c.MQTTTLSCert != "" {
			cert, err := tls.LoadX509KeyPair(c.MQTTTLSCert, c.MQTTTLSKey)
			if err != nil {
				return nil, nil, fmt.Errorf("--mqtt-tls-cert/--mqtt-tls-key: %w", err)
			}
			tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		}
		var err error
		broker, err = mqtt.NewBroker(ing, mqtt.BrokerOptions{
			Addr:   c.MQTTAddr,
			TLS:    tlsConf,
			Logger: log,
			Authenticate: func(ctx context.Context, deviceID, password string) error {
				d, err := a.store.Device(ctx, deviceID)
				if err != nil || d.SecretHash == "" || !auth.VerifySecret(d.SecretHash, password) {
					return civic.Errorf(civic.Unauthorized, "bad device credentials")
				}
				return nil
			},
		})
		if err == nil {
			err = broker.Start(ctx)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("embedded MQTT broker on %s: %w (choose another port with --mqtt-addr, or disable it with --mqtt-addr '')", c.MQTTAddr, err)
		}
	}
	var sub *mqtt.Subscriber
	if c.MQTTBroker != "" {
		var err error
		sub, err = mqtt.NewSubscriber(ing, mqtt.SubscriberOptions{URL: c.MQTTBroker, Username: c.MQTTUser, Password: c.MQTTPassword, Logger: log})
		if err == nil {
			err = sub.Start(ctx)
		}
		if err != nil {
			if broker != nil {
				_ = broker.Close(ctx)
			}
			return nil, nil, fmt.Errorf("external MQTT broker %s: %w", c.MQTTBroker, err)
		}
	}
	return broker, sub, nil
}

func newLogger(e *env, c *config) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(c.LogLevel))); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(e.stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(e.stderr, opts))
}
