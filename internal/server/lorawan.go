package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"mime"
	"net/http"
	"sync"

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

// maxUnknownEUIs bounds the DevEUIs remembered so that each unknown one is
// logged once, not at every uplink.
const maxUnknownEUIs = 10000

// lorawan is the state of the LoRaWAN webhook endpoints.
type lorawan struct {
	secrets  map[string][32]byte // integration → SHA-256 of its secret
	decoders ingest.Decoders
	messages *prometheus.CounterVec

	mu       sync.Mutex
	unknown  map[string]bool   // DevEUIs already logged as unknown
	gateways map[string]string // device → gateway last recorded
}

func newLoRaWAN(cfg *Config, deps *Deps, reg *prometheus.Registry) *lorawan {
	l := &lorawan{
		secrets:  map[string][32]byte{},
		decoders: deps.Decoders,
		unknown:  map[string]bool{},
		gateways: map[string]string{},
	}
	if l.decoders == nil {
		l.decoders = ingest.NewDecoders()
	}
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

// handleLoRaWAN authenticates a network server's webhook, maps the DevEUI
// to a device and either ingests the uplink as a reading (answering 202
// after commit) or records the event as a device event (202). An uplink
// whose payload does not decode is counted against the device and answered
// 400 naming the field; an unknown DevEUI is 404 with field "dev_eui".
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
	if err != nil {
		count("invalid")
		return err
	}
	ctx := r.Context()
	d, err := s.store.DeviceByEUI(ctx, u.DevEUI)
	if civic.IsKind(err, civic.NotFound) {
		count("unknown_device")
		if l.firstUnknown(u.DevEUI) {
			s.log.WarnContext(ctx, "lorawan: unknown DevEUI (logged once per DevEUI)",
				"integration", integration, "dev_eui", u.DevEUI, "network_id", u.NetworkID, "request_id", requestID(ctx))
		}
		return &civic.Error{Kind: civic.NotFound, Field: "dev_eui",
			Message: "no device has DevEUI " + u.DevEUI + "; register it with POST /api/v1/devices", Err: err}
	}
	if err != nil {
		return err
	}
	if u.Kind != ingest.KindUplink {
		if s.health == nil {
			return civic.Errorf(civic.Unavailable, "device events are not stored on this server")
		}
		e := civic.DeviceEvent{Device: d.ID, Time: u.Time, Kind: string(u.Kind), Detail: eventDetail(integration, &u), Battery: u.Battery}
		if err := s.health.RecordDeviceEvent(ctx, &e); err != nil {
			return err
		}
		count("event")
		writeJSON(w, http.StatusAccepted, lorawanAnswer{Device: d.ID, Event: string(u.Kind)})
		return nil
	}
	if s.ingester == nil {
		return civic.Errorf(civic.Unavailable, "ingest is not running on this server")
	}
	if d.Status == civic.StatusInactive || d.Status == civic.StatusRemoved {
		// Not a decode failure: the registry says to ignore the device.
		count("inactive_device")
		return civic.FieldError("dev_eui", "device %s is %s: its uplinks are not accepted", d.ID, d.Status)
	}
	reading, err := u.Reading(d, l.decoders)
	if err == nil {
		var res civic.IngestResult
		res, err = s.ingester.Ingest(ctx, []civic.Reading{reading})
		if err == nil {
			l.noteGateway(ctx, s, d.ID, u.GatewayID)
			if res.Duplicates > 0 {
				count("duplicate")
			} else {
				count("accepted")
			}
			s.metrics.readings.WithLabelValues("accepted").Add(float64(res.Accepted))
			s.metrics.readings.WithLabelValues("duplicate").Add(float64(res.Duplicates))
			writeJSON(w, http.StatusAccepted, lorawanAnswer{Device: d.ID, Event: string(u.Kind), Accepted: res.Accepted, Duplicates: res.Duplicates})
			return nil
		}
		// The ingester names the field of its one-reading batch
		// "readings[0].x"; the sender sent no such array.
		var ce *civic.Error
		if errors.As(err, &ce) && ce.Kind == civic.Invalid {
			c := *ce
			c.Field = trimReadingIndex(c.Field)
			err = &c
		}
	}
	if !civic.IsKind(err, civic.Invalid) {
		return err
	}
	// The uplink reached civic but its payload gave no valid reading: a
	// decode failure of this device.
	count("decode_failure")
	if s.health != nil {
		reason := civic.MessageOf(err)
		if f := civic.FieldOf(err); f != "" {
			reason = f + ": " + reason
		}
		// Recorded even if the network server hangs up: the uplink was
		// received.
		if rerr := s.health.RecordDecodeFailure(context.WithoutCancel(ctx), d.ID, u.Time, reason, eventDetail(integration, &u)); rerr != nil {
			s.log.ErrorContext(ctx, "lorawan: decode failure not recorded", "err", rerr, "device", d.ID, "request_id", requestID(ctx))
		}
	}
	return err
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

// firstUnknown reports whether eui is seen as unknown for the first time.
func (l *lorawan) firstUnknown(eui string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.unknown[eui] {
		return false
	}
	if len(l.unknown) >= maxUnknownEUIs {
		clear(l.unknown)
	}
	l.unknown[eui] = true
	return true
}

// noteGateway records the gateway that heard the device when it differs
// from the one this server recorded last, so a stable device costs no
// write per uplink. A failure is logged: the reading is committed.
func (l *lorawan) noteGateway(ctx context.Context, s *Server, device, gateway string) {
	if gateway == "" || s.health == nil {
		return
	}
	l.mu.Lock()
	same := l.gateways[device] == gateway
	if !same {
		if len(l.gateways) >= 4*maxUnknownEUIs {
			clear(l.gateways)
		}
		l.gateways[device] = gateway
	}
	l.mu.Unlock()
	if same {
		return
	}
	if err := s.health.RecordGateway(context.WithoutCancel(ctx), device, gateway); err != nil {
		l.mu.Lock()
		delete(l.gateways, device)
		l.mu.Unlock()
		s.log.WarnContext(ctx, "lorawan: gateway not recorded", "err", err, "device", device, "request_id", requestID(ctx))
	}
}

// eventDetail is what a device event keeps of a network server message.
func eventDetail(integration string, u *ingest.Uplink) map[string]any {
	d := map[string]any{"integration": integration}
	if u.Detail != "" {
		d["message"] = u.Detail
	}
	if u.NetworkID != "" {
		d["network_id"] = u.NetworkID
	}
	if u.Kind == ingest.KindUplink {
		d["fport"], d["fcnt"] = u.FPort, u.FCnt
		if len(u.Payload) > 0 && len(u.Payload) <= 256 {
			d["payload"] = u.Payload // base64 in JSON
		}
	}
	if u.GatewayID != "" {
		d["gateway"] = u.GatewayID
	}
	if u.RSSI != nil {
		d["rssi_dbm"] = *u.RSSI
	}
	if u.SNR != nil {
		d["snr_db"] = *u.SNR
	}
	return d
}

// trimReadingIndex turns "readings[0].fill" into "fill".
func trimReadingIndex(field string) string {
	const p = "readings[0]"
	if len(field) >= len(p) && field[:len(p)] == p {
		field = field[len(p):]
		if field != "" && field[0] == '.' {
			field = field[1:]
		}
	}
	return field
}
