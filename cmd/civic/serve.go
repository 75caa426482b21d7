package main

import (
	"context"
	"log/slog"
	"strings"
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
  --plan-at HH:MM          local time at which the next service day is planned (default 18:00; empty
                          disables it; one node of several plans; env CIVIC_PLAN_AT)
  --plan-time DURATION    the route solver's time limit for a day's plan (default 30s; env CIVIC_PLAN_TIME)
  --osrm URL              an OSRM server for road distances and times (/table service); great-circle
                          estimates otherwise, and when it fails (env CIVIC_OSRM)
  --data-publisher NAME   organisation publishing the open data (/data, /data.json; env CIVIC_DATA_PUBLISHER)
  --data-contact NAME     open data contact name (default: the publisher; env CIVIC_DATA_CONTACT)
  --data-email ADDRESS    open data contact e-mail (env CIVIC_DATA_EMAIL)
  --data-license URL      open data licence (default CC BY 4.0; env CIVIC_DATA_LICENSE)
  --data-location-decimals LIST  round published locations per dataset, e.g. bins=4 (env CIVIC_DATA_LOCATION_DECIMALS)
  --demo                  generate a demo city if the data folder has no bins, and animate it: its sensors
                          report, and its crews work each day's plan (env CIVIC_DEMO)
  --seed N                the demo city's random seed (default 1)
  --speed X               demo time acceleration, simulated seconds per real second (default 360)
  --demo-days N           days of history a new demo city starts with, each service day planned by the
                          real planner and worked by its crews (default 14, 1 to 60)
  --demo-anyway           with --demo, add the demo city and its users (published passwords) even to a
                          data folder holding other data; refused otherwise

Security:
  --tls-cert FILE         PEM certificate: serve HTTPS (with --tls-key); HSTS and Secure cookies follow (env CIVIC_TLS_CERT)
  --tls-key FILE          PEM private key for --tls-cert (env CIVIC_TLS_KEY)
  --trusted-proxy LIST    reverse proxies (addresses, CIDR ranges) whose X-Forwarded-For and X-Forwarded-Proto
                          are believed (env CIVIC_TRUSTED_PROXY)
  --max-conns N           HTTP connections open at once; more wait (default 4096)
  --session-idle D        a login unused this long ends (default 2h)
  --session-max D         a login ends this long after it was made (default 12h)
  --webhook-allow-internal  let webhooks reach loopback, private and link-local addresses (refused by
                          default; env CIVIC_WEBHOOK_ALLOW_INTERNAL)

Single sign-on (OpenID Connect, authorization code flow with PKCE):
` + oidcUsage + `
Operations:
` + opsUsage

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

	n, err := openNode(ctx, e, &c, log)
	if err != nil {
		return err
	}
	defer n.close()
	if err := n.start(ctx); err != nil {
		return err
	}
	return n.wait(ctx)
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
