package ingest

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"

	"github.com/civic-city/civic/internal/civic"
)

// EUIDirectory finds devices by DevEUI; civic.AssetStore satisfies it.
// DeviceByEUI fails with a civic.NotFound error for an unknown DevEUI.
type EUIDirectory interface {
	DeviceByEUI(ctx context.Context, devEUI string) (civic.Device, error)
}

// LoRaWANOptions are what a LoRaWAN service calls. Devices is required.
type LoRaWANOptions struct {
	Devices EUIDirectory
	// Ingester commits uplinks; without it uplinks fail Unavailable.
	Ingester civic.Ingester
	// Health stores device events, decode failures and gateways; without
	// it events fail Unavailable and failures go unrecorded.
	Health civic.DeviceHealthStore
	// Decoders are the byte decoders of frames without a decoded payload;
	// NewDecoders() if nil.
	Decoders Decoders
	// Logger receives unknown DevEUIs (once each) and writes that failed
	// after the answer was decided; slog.Default() if nil.
	Logger *slog.Logger
	// LogAttrs, if set, adds attributes of the request in ctx (its id,
	// say) to every log line.
	LogAttrs func(ctx context.Context) []any
}

// LoRaWAN takes the messages of LoRaWAN network servers, already decoded
// from their webhook or broker format (DecodeTTN, DecodeChirpStack), for
// whichever transport received them: it finds the device by DevEUI,
// refuses inactive and removed devices, ingests uplinks as readings, stores
// other events as device events and counts a payload that gives no valid
// reading as a decode failure of the device.
type LoRaWAN struct {
	opts LoRaWANOptions

	mu       sync.Mutex
	unknown  map[string]bool   // DevEUIs already logged as unknown
	gateways map[string]string // device → gateway last recorded
}

// maxUnknownEUIs bounds the DevEUIs remembered so that each unknown one is
// logged once, not at every uplink.
const maxUnknownEUIs = 10000

// NewLoRaWAN returns a LoRaWAN service calling what opts names.
func NewLoRaWAN(opts LoRaWANOptions) *LoRaWAN {
	if opts.Decoders == nil {
		opts.Decoders = NewDecoders()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &LoRaWAN{opts: opts, unknown: map[string]bool{}, gateways: map[string]string{}}
}

// The outcomes of a LoRaWAN message, for metrics.
const (
	OutcomeAccepted       = "accepted"        // an uplink stored as a new reading
	OutcomeDuplicate      = "duplicate"       // an uplink whose reading was stored before
	OutcomeEvent          = "event"           // a device event stored
	OutcomeUnknownDevice  = "unknown_device"  // no device has the DevEUI
	OutcomeInactiveDevice = "inactive_device" // the device is inactive or removed
	OutcomeDecodeFailure  = "decode_failure"  // the payload gave no valid reading
)

// LoRaWANResult is what became of one message.
type LoRaWANResult struct {
	// Outcome is one of the Outcome constants, or "" when the message
	// failed for a reason of civic's (the store, a missing service).
	Outcome string
	// Device is the civic device id, once found.
	Device string
	Event  EventKind
	// Accepted and Duplicates count the uplink's reading.
	Accepted, Duplicates int
}

// Handle takes one message of the named integration ("ttn",
// "chirpstack": it goes into device events and logs). An uplink returns
// after its reading is committed. Errors: NotFound with field "dev_eui" (no
// device has the DevEUI), Invalid with field "dev_eui" (the device is
// inactive or removed), Invalid naming the reading's field (the payload
// gave no valid reading; recorded as a decode failure of the device),
// Unavailable (no ingester or no device health store for what the message
// needs), and the errors of the store and ingester.
func (l *LoRaWAN) Handle(ctx context.Context, integration string, u *Uplink) (LoRaWANResult, error) {
	res := LoRaWANResult{Event: u.Kind}
	d, err := l.opts.Devices.DeviceByEUI(ctx, u.DevEUI)
	if civic.IsKind(err, civic.NotFound) {
		res.Outcome = OutcomeUnknownDevice
		if l.firstUnknown(u.DevEUI) {
			l.log(ctx, slog.LevelWarn, "lorawan: unknown DevEUI (logged once per DevEUI)",
				"integration", integration, "dev_eui", u.DevEUI, "network_id", u.NetworkID)
		}
		return res, &civic.Error{Kind: civic.NotFound, Field: "dev_eui",
			Message: "no device has DevEUI " + u.DevEUI + "; register it with POST /api/v1/devices", Err: err}
	}
	if err != nil {
		return res, err
	}
	res.Device = d.ID
	if u.Kind != KindUplink {
		if l.opts.Health == nil {
			return res, civic.Errorf(civic.Unavailable, "device events are not stored on this server")
		}
		e := civic.DeviceEvent{Device: d.ID, Time: u.Time, Kind: string(u.Kind), Detail: eventDetail(integration, u), Battery: u.Battery}
		if err := l.opts.Health.RecordDeviceEvent(ctx, &e); err != nil {
			return res, err
		}
		res.Outcome = OutcomeEvent
		return res, nil
	}
	if l.opts.Ingester == nil {
		return res, civic.Errorf(civic.Unavailable, "ingest is not running on this server")
	}
	if d.Status == civic.StatusInactive || d.Status == civic.StatusRemoved {
		// Not a decode failure: the registry says to ignore the device.
		res.Outcome = OutcomeInactiveDevice
		return res, civic.FieldError("dev_eui", "device %s is %s: its uplinks are not accepted", d.ID, d.Status)
	}
	reading, err := u.Reading(d, l.opts.Decoders)
	if err == nil {
		var ir civic.IngestResult
		ir, err = l.opts.Ingester.Ingest(ctx, []civic.Reading{reading})
		if err == nil {
			l.noteGateway(ctx, d.ID, u.GatewayID)
			res.Outcome = OutcomeAccepted
			if ir.Duplicates > 0 {
				res.Outcome = OutcomeDuplicate
			}
			res.Accepted, res.Duplicates = ir.Accepted, ir.Duplicates
			return res, nil
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
		return res, err
	}
	// The uplink reached civic but its payload gave no valid reading: a
	// decode failure of this device.
	res.Outcome = OutcomeDecodeFailure
	if l.opts.Health != nil {
		reason := civic.MessageOf(err)
		if f := civic.FieldOf(err); f != "" {
			reason = f + ": " + reason
		}
		// Recorded even if the sender hangs up: the uplink was received.
		if rerr := l.opts.Health.RecordDecodeFailure(context.WithoutCancel(ctx), d.ID, u.Time, reason, eventDetail(integration, u)); rerr != nil {
			l.log(ctx, slog.LevelError, "lorawan: decode failure not recorded", "err", rerr, "device", d.ID)
		}
	}
	return res, err
}

func (l *LoRaWAN) log(ctx context.Context, level slog.Level, msg string, args ...any) {
	if l.opts.LogAttrs != nil {
		args = append(args, l.opts.LogAttrs(ctx)...)
	}
	l.opts.Logger.Log(ctx, level, msg, args...)
}

// firstUnknown reports whether eui is seen as unknown for the first time.
func (l *LoRaWAN) firstUnknown(eui string) bool {
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
// from the one this service recorded last, so a stable device costs no
// write per uplink. A failure is logged: the reading is committed.
func (l *LoRaWAN) noteGateway(ctx context.Context, device, gateway string) {
	if gateway == "" || l.opts.Health == nil {
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
	if err := l.opts.Health.RecordGateway(context.WithoutCancel(ctx), device, gateway); err != nil {
		l.mu.Lock()
		delete(l.gateways, device)
		l.mu.Unlock()
		l.log(ctx, slog.LevelWarn, "lorawan: gateway not recorded", "err", err, "device", device)
	}
}

// eventDetail is what a device event keeps of a network server message of
// the named integration.
func eventDetail(integration string, u *Uplink) map[string]any {
	d := map[string]any{"integration": integration}
	if u.Detail != "" {
		d["message"] = u.Detail
	}
	if u.NetworkID != "" {
		d["network_id"] = u.NetworkID
	}
	if u.Kind == KindUplink {
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
	field, ok := strings.CutPrefix(field, "readings[0]")
	if ok {
		field = strings.TrimPrefix(field, ".")
	}
	return field
}
