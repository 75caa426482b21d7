package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/auth"
)

// config is the typed configuration of civic serve and of the commands that
// open the data store. Every field has a flag and a CIVIC_* environment
// variable; flags win over the environment, which wins over defaults.
type config struct {
	Addr      string // HTTP listen address
	DataDir   string // the data folder for the embedded database
	DB        string // sqlite:PATH or postgres://...; empty means DataDir/civic.db
	LogLevel  string
	LogFormat string // json or text
	TimeZone  string // the city's time zone, for schedules and reports

	SecureCookies bool // mark session cookies Secure (behind HTTPS)
	TileURL       string
	// TileAttribution credits the tiles on every map.
	TileAttribution string

	MQTTAddr         string // embedded broker listen address; empty disables it
	MQTTTLSCert      string // PEM files: when both are set the embedded broker speaks MQTT over TLS
	MQTTTLSKey       string
	MQTTBroker       string // external broker URL; when set civic subscribes to it
	MQTTUser         string
	MQTTPassword     string // secret
	MQTTPasswordFile string

	// Shared secrets of the LoRaWAN network-server integrations, sent in
	// the X-Civic-Secret header; an integration without one is off.
	TTNSecret            string // secret
	TTNSecretFile        string
	ChirpStackSecret     string // secret
	ChirpStackSecretFile string

	SMTPAddr         string // e-mail notifications
	SMTPFrom         string
	SMTPUser         string
	SMTPPassword     string // secret
	SMTPPasswordFile string
	BaseURL          string // public URL, for links in notifications

	// Planning: the nightly job's local time (empty disables it), the
	// solver's budget for a day, and an OSRM server for road distances.
	PlanAt   string
	PlanTime time.Duration
	OSRM     string

	// The open data portal: publisher, contact, licence, and the location
	// precision of datasets ("bins=4,requests=3").
	DataPublisher, DataContact, DataEmail, DataLicense, DataPrecision string

	Demo  bool
	Seed  int64
	Speed float64 // simulated seconds per real second in the demo
	// DemoDays is how many days of history a new demo city starts with,
	// planned and collected day by day as the live demo is.
	DemoDays int

	opsConfig    // retention and job intervals (opsflags.go)
	secureConfig // HTTPS, connection caps, proxies (secure.go)
	oidcConfig   // single sign-on (oidc.go)
	oidc         auth.OIDCOptions
	oidcOn       bool
}

// storeFlags registers the flags every store-using command shares.
func storeFlags(fs *flag.FlagSet, c *config, getenv func(string) string) {
	fs.StringVar(&c.DataDir, "data", envOr(getenv, "CIVIC_DATA", "./civic-data"), "data folder for the embedded database (env CIVIC_DATA)")
	fs.StringVar(&c.DB, "db", getenv("CIVIC_DB"), "database: sqlite:PATH or postgres://... (env CIVIC_DB; default DATA/civic.db)")
}

// planFlags registers the solver's budget and the OSRM server, shared by
// civic serve and civic plan.
func planFlags(fs *flag.FlagSet, c *config, getenv func(string) string) {
	def := 30 * time.Second
	if d, err := time.ParseDuration(getenv("CIVIC_PLAN_TIME")); err == nil && d > 0 {
		def = d
	}
	fs.DurationVar(&c.PlanTime, "plan-time", def, "the route solver's time limit for a day's plan (env CIVIC_PLAN_TIME)")
	fs.StringVar(&c.OSRM, "osrm", getenv("CIVIC_OSRM"), "OSRM server URL for road distances, e.g. http://localhost:5000; great-circle estimates if empty (env CIVIC_OSRM)")
}

// serveFlags registers the flags of civic serve.
func serveFlags(fs *flag.FlagSet, c *config, getenv func(string) string) {
	storeFlags(fs, c, getenv)
	fs.StringVar(&c.Addr, "addr", envOr(getenv, "CIVIC_ADDR", "127.0.0.1:8080"), "HTTP listen address (env CIVIC_ADDR)")
	fs.StringVar(&c.LogLevel, "log-level", envOr(getenv, "CIVIC_LOG_LEVEL", "info"), "log level: debug, info, warn, error (env CIVIC_LOG_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", envOr(getenv, "CIVIC_LOG_FORMAT", "json"), "log format: json or text (env CIVIC_LOG_FORMAT)")
	fs.StringVar(&c.TimeZone, "tz", envOr(getenv, "CIVIC_TZ", ""), "the city's time zone for every page and export, e.g. America/New_York (env CIVIC_TZ; default UTC, or the demo city's with --demo)")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", envBool(getenv, "CIVIC_SECURE_COOKIES", false), "mark session cookies Secure; set when served over HTTPS (env CIVIC_SECURE_COOKIES)")
	fs.StringVar(&c.PlanAt, "plan-at", envOr(getenv, "CIVIC_PLAN_AT", "18:00"), "local time HH:MM at which the next day is planned; empty disables the nightly plan (env CIVIC_PLAN_AT)")
	planFlags(fs, c, getenv)
	opsFlags(fs, &c.opsConfig, getenv)
	fs.StringVar(&c.TileURL, "tile-url", envOr(getenv, "CIVIC_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"), "map tile URL template (env CIVIC_TILE_URL)")
	fs.StringVar(&c.TileAttribution, "tile-attribution", envOr(getenv, "CIVIC_TILE_ATTRIBUTION", "© OpenStreetMap contributors"), "credit shown on every map for its tiles (env CIVIC_TILE_ATTRIBUTION)")
	fs.StringVar(&c.MQTTAddr, "mqtt-addr", envOr(getenv, "CIVIC_MQTT_ADDR", "127.0.0.1:1883"), "embedded MQTT broker address; empty disables it (env CIVIC_MQTT_ADDR)")
	fs.StringVar(&c.MQTTTLSCert, "mqtt-tls-cert", getenv("CIVIC_MQTT_TLS_CERT"), "PEM certificate of the embedded broker; with --mqtt-tls-key it speaks MQTT over TLS (env CIVIC_MQTT_TLS_CERT)")
	fs.StringVar(&c.MQTTTLSKey, "mqtt-tls-key", getenv("CIVIC_MQTT_TLS_KEY"), "PEM private key of the embedded broker (env CIVIC_MQTT_TLS_KEY)")
	fs.StringVar(&c.MQTTBroker, "mqtt-broker", getenv("CIVIC_MQTT_BROKER"), "external MQTT broker to subscribe to, mqtt://host:port (env CIVIC_MQTT_BROKER)")
	fs.StringVar(&c.MQTTUser, "mqtt-user", getenv("CIVIC_MQTT_USER"), "user name for the external broker (env CIVIC_MQTT_USER)")
	fs.StringVar(&c.MQTTPasswordFile, "mqtt-password-file", getenv("CIVIC_MQTT_PASSWORD_FILE"), "file holding the external broker password (env CIVIC_MQTT_PASSWORD_FILE; or CIVIC_MQTT_PASSWORD)")
	c.MQTTPassword = getenv("CIVIC_MQTT_PASSWORD")
	fs.StringVar(&c.TTNSecretFile, "lorawan-ttn-secret-file", getenv("CIVIC_LORAWAN_TTN_SECRET_FILE"), "file holding the shared secret of The Things Stack webhook; enables POST /api/v1/lorawan/ttn (env CIVIC_LORAWAN_TTN_SECRET_FILE or CIVIC_LORAWAN_TTN_SECRET)")
	fs.StringVar(&c.ChirpStackSecretFile, "lorawan-chirpstack-secret-file", getenv("CIVIC_LORAWAN_CHIRPSTACK_SECRET_FILE"), "file holding the shared secret of the ChirpStack integration; enables POST /api/v1/lorawan/chirpstack (env CIVIC_LORAWAN_CHIRPSTACK_SECRET_FILE or CIVIC_LORAWAN_CHIRPSTACK_SECRET)")
	c.TTNSecret = getenv("CIVIC_LORAWAN_TTN_SECRET")
	c.ChirpStackSecret = getenv("CIVIC_LORAWAN_CHIRPSTACK_SECRET")
	fs.StringVar(&c.SMTPAddr, "smtp-addr", getenv("CIVIC_SMTP_ADDR"), "SMTP server host:port for e-mail notifications (env CIVIC_SMTP_ADDR)")
	fs.StringVar(&c.SMTPFrom, "smtp-from", envOr(getenv, "CIVIC_SMTP_FROM", "civic@localhost"), "sender of e-mail notifications (env CIVIC_SMTP_FROM)")
	fs.StringVar(&c.SMTPUser, "smtp-user", getenv("CIVIC_SMTP_USER"), "SMTP user name (env CIVIC_SMTP_USER)")
	fs.StringVar(&c.SMTPPasswordFile, "smtp-password-file", getenv("CIVIC_SMTP_PASSWORD_FILE"), "file holding the SMTP password (env CIVIC_SMTP_PASSWORD_FILE or CIVIC_SMTP_PASSWORD)")
	c.SMTPPassword = getenv("CIVIC_SMTP_PASSWORD")
	fs.StringVar(&c.BaseURL, "base-url", getenv("CIVIC_BASE_URL"), "public URL of this civic, for links in notifications (env CIVIC_BASE_URL)")
	openDataFlags(fs, c, getenv)
	fs.BoolVar(&c.Demo, "demo", envBool(getenv, "CIVIC_DEMO", false), "generate and animate a demo city when the data folder has no bins (env CIVIC_DEMO)")
	fs.Int64Var(&c.Seed, "seed", 1, "random seed of the demo city")
	fs.Float64Var(&c.Speed, "speed", 360, "demo time acceleration: simulated seconds per real second (360 = one hour every 10 s)")
	fs.IntVar(&c.DemoDays, "demo-days", 14, "days of history a new demo city starts with, its plans worked by its crews (1 to 60)")
	secureFlags(fs, &c.secureConfig, getenv)
	oidcFlags(fs, &c.oidcConfig, getenv)
}

// finish validates the configuration and derives defaults.
func (c *config) finish() error {
	if c.DB == "" {
		c.DB = "sqlite:" + filepath.Join(c.DataDir, "civic.db")
	}
	if !strings.HasPrefix(c.DB, "sqlite:") && !strings.HasPrefix(c.DB, "postgres://") && !strings.HasPrefix(c.DB, "postgresql://") {
		return usageErrorf("--db must be sqlite:PATH or postgres://...")
	}
	if strings.HasPrefix(c.DB, "sqlite:") {
		dir := filepath.Dir(strings.TrimPrefix(c.DB, "sqlite:"))
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("data folder: %w", err)
		}
	}
	return nil
}

// finishServe validates what only civic serve uses.
func (c *config) finishServe() error {
	if err := c.finish(); err != nil {
		return err
	}
	if err := c.opsConfig.check(); err != nil {
		return err
	}
	for _, f := range []struct {
		flag, path string
		dst        *string
	}{
		{"--mqtt-password-file", c.MQTTPasswordFile, &c.MQTTPassword},
		{"--smtp-password-file", c.SMTPPasswordFile, &c.SMTPPassword},
		{"--lorawan-ttn-secret-file", c.TTNSecretFile, &c.TTNSecret},
		{"--lorawan-chirpstack-secret-file", c.ChirpStackSecretFile, &c.ChirpStackSecret},
	} {
		if f.path == "" {
			continue
		}
		b, err := os.ReadFile(f.path)
		if err != nil {
			return fmt.Errorf("%s: %w", f.flag, err)
		}
		*f.dst = strings.TrimSpace(string(b))
	}
	if c.PlanAt != "" {
		if _, err := time.Parse("15:04", c.PlanAt); err != nil {
			return usageErrorf("--plan-at: %q is not a time HH:MM", c.PlanAt)
		}
	}
	if c.PlanTime <= 0 {
		return usageErrorf("--plan-time must be positive")
	}
	if c.TimeZone == "" {
		c.TimeZone = "UTC"
		if c.Demo {
			c.TimeZone = demoTimeZone
		}
	}
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err != nil {
			return usageErrorf("--tz: unknown time zone %q", c.TimeZone)
		}
	}
	if (c.MQTTTLSCert == "") != (c.MQTTTLSKey == "") {
		return usageErrorf("--mqtt-tls-cert and --mqtt-tls-key go together")
	}
	if c.Speed <= 0 {
		return usageErrorf("--speed must be positive")
	}
	if c.Demo && (c.DemoDays < 1 || c.DemoDays > 60) {
		return usageErrorf("--demo-days must be between 1 and 60")
	}
	switch c.LogFormat {
	case "", "json", "text":
	default:
		return usageErrorf("--log-format must be json or text")
	}
	if c.TLSCert != "" {
		c.SecureCookies = true // HTTPS: cookies never go out in the clear
	}
	var err error
	if c.oidc, c.oidcOn, err = c.oidcConfig.options(c.BaseURL); err != nil {
		return err
	}
	return c.secureConfig.check()
}

// String renders the configuration for logs with secrets hidden.
func (c config) String() string {
	hide := func(s string) string {
		if s == "" {
			return ""
		}
		return "***"
	}
	return fmt.Sprintf("addr=%s db=%s data=%s tz=%s mqtt-addr=%s mqtt-broker=%s mqtt-user=%s mqtt-password=%s lorawan-ttn-secret=%s lorawan-chirpstack-secret=%s smtp-addr=%s smtp-password=%s oidc-issuer=%s oidc-client-secret=%s demo=%t",
		c.Addr, redactURL(c.DB), c.DataDir, c.TimeZone, c.MQTTAddr, redactURL(c.MQTTBroker), c.MQTTUser, hide(c.MQTTPassword),
		hide(c.TTNSecret), hide(c.ChirpStackSecret), c.SMTPAddr, hide(c.SMTPPassword), c.OIDCIssuer, hide(c.OIDCClientSecret), c.Demo)
}

func envOr(getenv func(string) string, name, def string) string {
	if v := getenv(name); v != "" {
		return v
	}
	return def
}

func envBool(getenv func(string) string, name string, def bool) bool {
	switch strings.ToLower(getenv(name)) {
	case "1", "true", "yes", "on":
		return true
	case "0", "false", "no", "off":
		return false
	}
	return def
}
