package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
)

// EventKind is what a LoRaWAN network server is telling civic about a
// device. Only KindUplink carries a reading; the others are device events
// (for logs, device health and the audit of the network).
type EventKind string

// The event kinds. ChirpStack v4 names them in its "event" query parameter;
// The Things Stack v3 by the message field that is set.
const (
	KindUplink      EventKind = "uplink"      // TTS uplink_message, ChirpStack up
	KindJoin        EventKind = "join"        // TTS join_accept, ChirpStack join
	KindStatus      EventKind = "status"      // ChirpStack status (battery and link margin)
	KindAck         EventKind = "ack"         // TTS downlink_ack / downlink_nack, ChirpStack ack
	KindTxAck       EventKind = "txack"       // TTS downlink_sent, ChirpStack txack
	KindDownlink    EventKind = "downlink"    // TTS downlink_queued, downlink_failed, downlink_queue_invalidated
	KindLog         EventKind = "log"         // ChirpStack log
	KindLocation    EventKind = "location"    // TTS location_solved, ChirpStack location
	KindIntegration EventKind = "integration" // TTS service_data, ChirpStack integration
)

// Uplink is one message of a LoRaWAN network server, decoded from its
// webhook JSON.
type Uplink struct {
	Kind EventKind
	// DevEUI is the device's EUI: 16 upper-case hex digits.
	DevEUI string
	// NetworkID is the network server's own name for the device (TTS
	// device_id, ChirpStack deviceName), for logs.
	NetworkID string
	// Time is when the network server received the frame (TTS received_at,
	// ChirpStack time), in UTC.
	Time  time.Time
	FPort int
	FCnt  uint32
	// Payload is the application payload (TTS frm_payload, ChirpStack data).
	Payload []byte
	// Decoded is the network server's decoded payload (TTS
	// decoded_payload, ChirpStack object); nil if it decoded nothing.
	Decoded map[string]any
	// RSSI, SNR and GatewayID are those of the gateway that heard the frame
	// best; nil or empty when there is no rx metadata.
	RSSI      *float64
	SNR       *float64
	GatewayID string
	// Battery is the battery fraction 0..1 of a ChirpStack status event.
	Battery *float64
	// Detail describes a non-uplink event in a few words, for logs.
	Detail string
}

// maxWebhookBytes bounds the webhook bodies DecodeTTN and DecodeChirpStack
// accept; real ones are a few kilobytes.
const maxWebhookBytes = 1 << 20

// ttsMessage is the part of a The Things Stack v3 webhook message civic
// reads (ttnpb.ApplicationUp in JSON).
type ttsMessage struct {
	EndDeviceIDs struct {
		DeviceID string `json:"device_id"`
		DevEUI   string `json:"dev_eui"`
	} `json:"end_device_ids"`
	ReceivedAt    time.Time `json:"received_at"`
	UplinkMessage *struct {
		FCnt           uint32          `json:"f_cnt"`
		FPort          int             `json:"f_port"`
		FrmPayload     []byte          `json:"frm_payload"`
		DecodedPayload json.RawMessage `json:"decoded_payload"`
		RxMetadata     []rxMeta        `json:"rx_metadata"`
		ReceivedAt     time.Time       `json:"received_at"`
	} `json:"uplink_message"`
	JoinAccept               json.RawMessage `json:"join_accept"`
	DownlinkAck              json.RawMessage `json:"downlink_ack"`
	DownlinkNack             json.RawMessage `json:"downlink_nack"`
	DownlinkSent             json.RawMessage `json:"downlink_sent"`
	DownlinkFailed           json.RawMessage `json:"downlink_failed"`
	DownlinkQueued           json.RawMessage `json:"downlink_queued"`
	DownlinkQueueInvalidated json.RawMessage `json:"downlink_queue_invalidated"`
	LocationSolved           json.RawMessage `json:"location_solved"`
	ServiceData              json.RawMessage `json:"service_data"`
}

// rxMeta is one gateway's reception in either network server's JSON.
type rxMeta struct {
	GatewayIDs struct {
		GatewayID string `json:"gateway_id"`
	} `json:"gateway_ids"` // TTS
	GatewayID string   `json:"gatewayId"` // ChirpStack
	RSSI      *float64 `json:"rssi"`
	SNR       *float64 `json:"snr"`
	NsTime    string   `json:"nsTime"` // ChirpStack
}

// DecodeTTN decodes a The Things Stack v3 webhook body. Uplink messages
// become KindUplink; join accepts, downlink events, solved locations and
// service data become the other kinds with no payload.
//
// Errors: civic.Invalid for malformed JSON, a message with no recognised
// event, a missing or malformed DevEUI ("end_device_ids.dev_eui") or a
// missing time ("received_at"); civic.TooLarge for bodies over 1 MiB.
func DecodeTTN(body []byte) (Uplink, error) {
	var m ttsMessage
	if err := unmarshalWebhook(body, &m); err != nil {
		return Uplink{}, err
	}
	u := Uplink{NetworkID: m.EndDeviceIDs.DeviceID, Time: m.ReceivedAt}
	switch {
	case m.UplinkMessage != nil:
		um := m.UplinkMessage
		u.Kind = KindUplink
		if !um.ReceivedAt.IsZero() {
			u.Time = um.ReceivedAt
		}
		u.FPort, u.FCnt, u.Payload = um.FPort, um.FCnt, um.FrmPayload
		dec, err := decodedObject(um.DecodedPayload, "uplink_message.decoded_payload")
		if err != nil {
			return Uplink{}, err
		}
		u.Decoded = dec
		u.setBestGateway(um.RxMetadata)
	case present(m.JoinAccept):
		u.Kind, u.Detail = KindJoin, "join accepted"
	case present(m.DownlinkAck):
		u.Kind, u.Detail = KindAck, "downlink acknowledged"
	case present(m.DownlinkNack):
		u.Kind, u.Detail = KindAck, "downlink not acknowledged"
	case present(m.DownlinkSent):
		u.Kind, u.Detail = KindTxAck, "downlink sent"
	case present(m.DownlinkFailed):
		u.Kind, u.Detail = KindDownlink, "downlink failed"
	case present(m.DownlinkQueued):
		u.Kind, u.Detail = KindDownlink, "downlink queued"
	case present(m.DownlinkQueueInvalidated):
		u.Kind, u.Detail = KindDownlink, "downlink queue invalidated"
	case present(m.LocationSolved):
		u.Kind, u.Detail = KindLocation, "location solved"
	case present(m.ServiceData):
		u.Kind, u.Detail = KindIntegration, "service data"
	default:
		return Uplink{}, civic.FieldError("", "not a The Things Stack v3 application message: no uplink_message, join_accept, downlink_* , location_solved or service_data")
	}
	eui, err := normalizeEUI(m.EndDeviceIDs.DevEUI)
	if err != nil {
		return Uplink{}, civic.PrefixField("end_device_ids", err)
	}
	u.DevEUI = eui
	if u.Time.IsZero() {
		return Uplink{}, civic.FieldError("received_at", "is required")
	}
	u.Time = u.Time.UTC()
	return u, nil
}

// chirpStackEvent is the part of a ChirpStack v4 integration event (JSON
// marshaler) civic reads.
type chirpStackEvent struct {
	Time       string `json:"time"`
	DeviceInfo struct {
		DeviceName string `json:"deviceName"`
		DevEUI     string `json:"devEui"`
	} `json:"deviceInfo"`
	FCnt   uint32          `json:"fCnt"`
	FPort  int             `json:"fPort"`
	Data   []byte          `json:"data"`
	Object json.RawMessage `json:"object"`
	RxInfo []rxMeta        `json:"rxInfo"`
	// status
	Margin                  *int     `json:"margin"`
	BatteryLevel            *float64 `json:"batteryLevel"`
	BatteryLevelUnavailable bool     `json:"batteryLevelUnavailable"`
	ExternalPowerSource     bool     `json:"externalPowerSource"`
	// ack
	Acknowledged *bool `json:"acknowledged"`
	// log
	Level       string `json:"level"`
	Code        string `json:"code"`
	Description string `json:"description"`
}

var chirpStackKinds = map[string]EventKind{
	"up": KindUplink, "join": KindJoin, "status": KindStatus, "ack": KindAck, "txack": KindTxAck,
	"log": KindLog, "location": KindLocation, "integration": KindIntegration,
}

// DecodeChirpStack decodes a ChirpStack v4 HTTP integration event (JSON
// marshaler). event is the value of the "event" query parameter: up, join,
// status, ack, txack, log, location or integration.
//
// Errors: civic.Invalid for an unknown event (field "event"), malformed
// JSON, a missing or malformed DevEUI ("deviceInfo.dev_eui") or a missing
// time ("time"); civic.TooLarge for bodies over 1 MiB.
func DecodeChirpStack(event string, body []byte) (Uplink, error) {
	kind, ok := chirpStackKinds[event]
	if !ok {
		return Uplink{}, civic.FieldError("event", "unknown ChirpStack event %q (up, join, status, ack, txack, log, location, integration)", event)
	}
	var e chirpStackEvent
	if err := unmarshalWebhook(body, &e); err != nil {
		return Uplink{}, err
	}
	u := Uplink{Kind: kind, NetworkID: e.DeviceInfo.DeviceName}
	eui, err := normalizeEUI(e.DeviceInfo.DevEUI)
	if err != nil {
		return Uplink{}, civic.PrefixField("deviceInfo", err)
	}
	u.DevEUI = eui
	timeText := e.Time
	if timeText == "" {
		for _, rx := range e.RxInfo {
			if rx.NsTime != "" {
				timeText = rx.NsTime
				break
			}
		}
	}
	if timeText == "" {
		return Uplink{}, civic.FieldError("time", "is required")
	}
	t, err := time.Parse(time.RFC3339Nano, timeText)
	if err != nil {
		return Uplink{}, civic.FieldError("time", "must be an RFC 3339 time")
	}
	u.Time = t.UTC()
	switch kind {
	case KindUplink:
		u.FPort, u.FCnt, u.Payload = e.FPort, e.FCnt, e.Data
		dec, err := decodedObject(e.Object, "object")
		if err != nil {
			return Uplink{}, err
		}
		u.Decoded = dec
		u.setBestGateway(e.RxInfo)
	case KindStatus:
		if e.BatteryLevel != nil && !e.BatteryLevelUnavailable && !e.ExternalPowerSource &&
			*e.BatteryLevel >= 0 && *e.BatteryLevel <= 100 {
			u.Battery = ptr(*e.BatteryLevel / 100)
		}
		u.Detail = "status"
		if e.Margin != nil {
			u.Detail = fmt.Sprintf("status: link margin %d dB", *e.Margin)
		}
	case KindAck:
		u.Detail = "downlink acknowledged"
		if e.Acknowledged != nil && !*e.Acknowledged {
			u.Detail = "downlink not acknowledged"
		}
	case KindLog:
		u.Detail = strings.TrimSpace(e.Level + " " + e.Code + ": " + e.Description)
	default:
		u.Detail = event
	}
	return u, nil
}

func unmarshalWebhook(body []byte, v any) error {
	if len(body) > maxWebhookBytes {
		return civic.Errorf(civic.TooLarge, "webhook body exceeds %d bytes", maxWebhookBytes)
	}
	if err := json.Unmarshal(body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return civic.FieldError(te.Field, "has the wrong type (%s)", te.Value)
		}
		return civic.Wrap(civic.Invalid, err, "malformed JSON")
	}
	return nil
}

// present reports whether a raw JSON field was set to something other than
// null.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && !bytes.Equal(raw, []byte("null"))
}

// decodedObject returns a decoded payload as a map; a decoded payload that
// is not an object (a codec returning a bare number, say) is ignored.
func decodedObject(raw json.RawMessage, field string) (map[string]any, error) {
	if !present(raw) || raw[0] != '{' {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, civic.Wrap(civic.Invalid, err, "malformed "+field)
	}
	if len(m) == 0 {
		return nil, nil
	}
	return m, nil
}

func (u *Uplink) setBestGateway(rx []rxMeta) {
	best := -1
	for i, m := range rx {
		if m.RSSI == nil || !finite(*m.RSSI) {
			continue
		}
		if best < 0 || *m.RSSI > *rx[best].RSSI {
			best = i
		}
	}
	if best < 0 {
		if len(rx) == 0 {
			return
		}
		best = 0
	}
	m := rx[best]
	u.RSSI = m.RSSI
	if m.SNR != nil && finite(*m.SNR) {
		u.SNR = m.SNR
	}
	u.GatewayID = m.GatewayIDs.GatewayID
	if u.GatewayID == "" {
		u.GatewayID = m.GatewayID
	}
}

var euiPattern = regexp.MustCompile(`^[0-9A-F]{16}$`)

// normalizeEUI returns eui as civic stores it: 16 upper-case hex digits.
func normalizeEUI(eui string) (string, error) {
	e := strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(eui), ":", ""))
	if e == "" {
		return "", civic.FieldError("dev_eui", "is required")
	}
	if !euiPattern.MatchString(e) {
		return "", civic.FieldError("dev_eui", "must be 16 hexadecimal digits")
	}
	return e, nil
}

// Reading turns an uplink into a reading of device d, whose measurements
// are in d's fill scale as civic.Ingester expects. The measurements come
// from the network server's decoded payload when it holds any known field
// (see the field names below), otherwise from the frame bytes decoded with
// decoders[d.PayloadFormat]. RSSI and SNR come from the rx metadata. The
// reading's time is the decoded payload's "time" (RFC 3339), when the codec
// passes the sensor's clock through, else u.Time.
//
// Decoded payload fields, first match wins:
//
//	fill (device scale)  fill, fillLevel, fill_level, level
//	fill (percent)       fill_percent, fillPercent, fill_pct, fillLevelPercent
//	distance_mm          distance_mm, distanceMm, distance (taken as mm)
//	battery              battery_percent, batteryPercent, batteryLevel, battery_level (percent);
//	                     battery (a fraction when <= 1, else percent)
//	temperature_c        temperature_c, temperature, temperatureC, temp
//	tilt_deg             tilt_deg, tilt, tiltAngle, angle
//	fire                 fire, fire_alarm, fireAlarm (bool or 0/1)
//	door_open            door_open, doorOpen, lid_open, lidOpen (bool or 0/1)
//	compactions          compactions, compaction_count, compactionCount
//
// Errors: civic.Invalid when u is not an uplink, when neither the decoded
// payload nor the bytes yield a measurement (field "payload_format" when the
// device has no usable format), or when the bytes do not decode ("payload").
// Values are range-checked later, by civic.Reading.Normalize at ingest.
func (u *Uplink) Reading(d civic.Device, decoders Decoders) (civic.Reading, error) {
	if u.Kind != KindUplink {
		return civic.Reading{}, civic.Errorf(civic.Invalid, "a %s event carries no reading", u.Kind)
	}
	scale := d.FillScale
	if scale == "" {
		scale = civic.ScaleFraction
	}
	r, ok := fromDecoded(u.Decoded, scale)
	if !ok {
		if len(u.Payload) == 0 {
			return civic.Reading{}, civic.FieldError("payload", "the uplink has neither a decoded payload with known fields nor payload bytes")
		}
		m, from, err := decoders.Decode(d.PayloadFormat, u.FPort, u.Payload)
		if err != nil {
			return civic.Reading{}, err
		}
		r = m
		if r.Fill != nil && from != scale {
			r.Fill = ptr(convertScale(*r.Fill, from, scale))
		}
		if !r.HasMeasurement() {
			return civic.Reading{}, civic.FieldError("payload", "the frame holds no measurement")
		}
	}
	r.Device, r.Bin = d.ID, ""
	if r.Time.IsZero() {
		r.Time = u.Time
	}
	if u.RSSI != nil {
		r.RSSI = ptr(*u.RSSI)
	}
	if u.SNR != nil {
		r.SNR = ptr(*u.SNR)
	}
	return r, nil
}

// convertScale converts v from one fill scale to another. Dividing first
// keeps the common percent → fraction case exact.
func convertScale(v float64, from, to civic.FillScale) float64 {
	f := from.ToFraction(v)
	if to == civic.ScaleFraction || to == "" {
		return f
	}
	return f * to.Max()
}

// fromDecoded maps a network server's decoded payload onto a reading whose
// fill is in scale. ok reports whether any measurement was found.
func fromDecoded(obj map[string]any, scale civic.FillScale) (civic.Reading, bool) {
	var r civic.Reading
	if len(obj) == 0 {
		return r, false
	}
	if v, ok := firstNumber(obj, "fill", "fillLevel", "fill_level", "level"); ok {
		r.Fill = &v
	} else if v, ok := firstNumber(obj, "fill_percent", "fillPercent", "fill_pct", "fillLevelPercent"); ok {
		r.Fill = ptr(convertScale(v, civic.ScalePercent, scale))
	}
	if v, ok := firstNumber(obj, "distance_mm", "distanceMm", "distance"); ok {
		r.DistanceMM = &v
	}
	if v, ok := firstNumber(obj, "battery_percent", "batteryPercent", "batteryLevel", "battery_level"); ok {
		r.Battery = ptr(v / 100)
	} else if v, ok := firstNumber(obj, "battery"); ok {
		if v > 1 {
			v /= 100
		}
		r.Battery = &v
	}
	if v, ok := firstNumber(obj, "temperature_c", "temperature", "temperatureC", "temp"); ok {
		r.TemperatureC = &v
	}
	if v, ok := firstNumber(obj, "tilt_deg", "tilt", "tiltAngle", "angle"); ok {
		r.TiltDeg = &v
	}
	if v, ok := firstBool(obj, "fire", "fire_alarm", "fireAlarm"); ok {
		r.Fire = &v
	}
	if v, ok := firstBool(obj, "door_open", "doorOpen", "lid_open", "lidOpen"); ok {
		r.DoorOpen = &v
	}
	if v, ok := firstNumber(obj, "compactions", "compaction_count", "compactionCount"); ok && v == math.Trunc(v) && math.Abs(v) < 1<<31 {
		n := int(v)
		r.Compactions = &n
	}
	if !r.HasMeasurement() {
		return civic.Reading{}, false
	}
	if s, ok := obj["time"].(string); ok {
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			r.Time = t
		}
	}
	return r, true
}

func firstNumber(obj map[string]any, keys ...string) (float64, bool) {
	for _, k := range keys {
		if v, ok := obj[k].(float64); ok && finite(v) {
			return v, true
		}
	}
	return 0, false
}

func firstBool(obj map[string]any, keys ...string) (bool, bool) {
	for _, k := range keys {
		switch v := obj[k].(type) {
		case bool:
			return v, true
		case float64:
			if v == 0 || v == 1 {
				return v == 1, true
			}
		}
	}
	return false, false
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
