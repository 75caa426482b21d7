package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"io"
	"log/slog"
	"mime"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
)

// The LoRaWAN integrations, as keys of Config.LoRaWANSecrets.
const (
	IntegrationTTN        = "ttn"        // The Things Stack v3 webhooks: POST /api/v1/lorawan/ttn
	IntegrationChirpStack = "chirpstack" // ChirpStack v4 HTTP integration: POST /api/v1/lorawan/chirpstack?event=...
)

// LoRaWANSecretHeader is the header network servers send the integration's
// shared secret in. It is a header of civic's own because Authorization
// carries API keys: a network server may send "Authorization: Bearer
// <ingest API key>" instead, and then gets the key's rate limit rather than
// the anonymous one of its address.
const LoRaWANSecretHeader = "X-Civic-Secret"

// lorawan is the state of the LoRaWAN webhook endpoints: the HTTP side
// (secrets, metrics) of the ingest.LoRaWAN service.
type lorawan struct {
	secrets  map[string][32]byte // integration → SHA-256 of its secret
	service  *ingest.LoRaWAN
	messages *prometheus.CounterVec
}

func newLoRaWAN(cfg *Config, deps *Deps, health civic.DeviceHealthStore, log *slog.Logger, reg *prometheus.Registry) *lorawan {
	l := &lorawan{secrets: map[string][32]byte{}}
	l.service = ingest.NewLoRaWAN(ingest.LoRaWANOptions{
		Devices:  deps.Store,
		Ingester: deps.Ingester,
		Health:   health,
		Decoders: deps.Decoders,
		Logger:   log,
		LogAttrs: func(ctx context.Context) []any { return []any{"request_id", requestID(ctx)} },
	})
	for name, secret := range cfg.LoRaWANSecrets {
		if secret != "" {
			l.secrets[name] = sha256.Sum256([]byte(secret))
		}
	}
	l.messages = register(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "civic_lorawan_messages_total",
		Help: "LoRaWAN webhook messages by integration and result: accepted, duplicate, event, unknown_device, " +
			"inactive_device, decode_failure, invalid, unauthorized.",
	}, []string{"integration", "result"}))
	return l
}

// lorawanAnswer is the answer to a LoRaWAN webhook.
type lorawanAnswer struct {
	Device     string `json:"device"`
	Event      string `json:"event"`
	Accepted   int    `json:"accepted"`
	Duplicates int    `json:"duplicates"`
}

// handleTTN takes a The Things Stack v3 webhook message (uplink, join
// accept, downlink events, ...).
func (s *Server) handleTTN(w http.ResponseWriter, r *http.Request) error {
	return s.handleLoRaWAN(w, r, IntegrationTTN, ingest.DecodeTTN)
}

// handleChirpStack takes a ChirpStack v4 HTTP integration event, JSON
// encoded; the event type is the "event" query parameter.
func (s *Server) handleChirpStack(w http.ResponseWriter, r *http.Request) error {
	event := r.URL.Query().Get("event")
	return s.handleLoRaWAN(w, r, IntegrationChirpStack, func(body []byte) (ingest.Uplink, error) {
		if event == "" {
			return ingest.Uplink{}, civic.FieldError("event", "is required (up, join, status, ack, txack, log, location, integration)")
		}
		if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct == "application/octet-stream" || ct == "application/x-protobuf" {
			return ingest.Uplink{}, civic.FieldError("", "civic reads ChirpStack's JSON encoding; set the HTTP integration's payload encoding to JSON")
		}
		return ingest.DecodeChirpStack(event, body)
	})
}

// handleLoRaWAN authenticates a network server's webhook, decodes it and
// hands it to the LoRaWAN service, which either ingests the uplink as a
// reading (answered 202 after commit) or records the event as a device event
// (202). An uplink whose payload does not decode is counted against the
// device and answered 400 naming the field; an unknown DevEUI is 404 with
// field "dev_eui".
func (s *Server) handleLoRaWAN(w http.ResponseWriter, r *http.Request, integration string, decode func([]byte) (ingest.Uplink, error)) error {
	l := s.lorawan
	count := func(result string) { l.messages.WithLabelValues(integration, result).Inc() }
	if err := l.authorize(r, integration); err != nil {
		if civic.IsKind(err, civic.Unauthorized) {
			count("unauthorized")
		}
		return err
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return jsonError(err)
	}
	u, err := decode(body)
	if err == nil {
		err = checkStrings(&u) // the text rule of every body (input.go)
	}
	if err != nil {
		count("invalid")
		return err
	}
	res, err := l.service.Handle(r.Context(), integration, &u)
	if res.Outcome != "" {
		count(res.Outcome)
	}
	if err != nil {
		return err
	}
	if res.Outcome == ingest.OutcomeAccepted || res.Outcome == ingest.OutcomeDuplicate {
		s.metrics.readings.WithLabelValues("accepted").Add(float64(res.Accepted))
		s.metrics.readings.WithLabelValues("duplicate").Add(float64(res.Duplicates))
	}
	writeJSON(w, http.StatusAccepted, lorawanAnswer{Device: res.Device, Event: string(res.Event),
		Accepted: res.Accepted, Duplicates: res.Duplicates})
	return nil
}

// authorize checks the integration is configured and the request carries
// its secret, or comes from a caller allowed to ingest (an API key).
func (l *lorawan) authorize(r *http.Request, integration string) error {
	want, ok := l.secrets[integration]
	if !ok {
		return civic.Errorf(civic.NotFound, "the %s integration is not configured on this server (set --lorawan-%s-secret-file)", integration, integration)
	}
	if p := principal(r); !p.IsAnonymous() {
		return p.Require(civic.PermIngest)
	}
	got := r.Header.Get(LoRaWANSecretHeader)
	if got == "" {
		return civic.Errorf(civic.Unauthorized, "the %s header with the integration's secret is required", LoRaWANSecretHeader)
	}
	// Comparing digests in constant time hides the secret's length too.
	sum := sha256.Sum256([]byte(got))
	if subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
		return civic.Errorf(civic.Unauthorized, "invalid %s header", LoRaWANSecretHeader)
	}
	return nil
}
