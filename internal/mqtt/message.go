package mqtt

import (
	"context"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
)

// ingestMessage decodes a message published on topic and ingests its
// readings. device is the topic's device, "" when the topic is not an
// uplink topic.
func ingestMessage(ctx context.Context, ing civic.Ingester, topic string, payload []byte) (device string, res civic.IngestResult, err error) {
	device, err = ingest.ParseTopic(topic)
	if err != nil {
		return "", res, err
	}
	res, err = ingestPayload(ctx, ing, device, payload)
	return device, res, err
}

// ingestPayload decodes the payload of a message on the uplink topic of
// device, a valid device id, and ingests its readings.
func ingestPayload(ctx context.Context, ing civic.Ingester, device string, payload []byte) (civic.IngestResult, error) {
	readings, err := ingest.DecodeBatchBytes(payload)
	if err != nil {
		return civic.IngestResult{}, err
	}
	for i := range readings {
		r := &readings[i]
		if r.Device == "" {
			r.Device = device
		} else if r.Device != device {
			return civic.IngestResult{}, civic.FieldError("readings["+strconv.Itoa(i)+"].device", "must be the topic's device %q or left out", device)
		}
	}
	return ing.Ingest(ctx, readings)
}

// rejected reports whether err means the message itself is bad, so that
// sending it again cannot help: it is acknowledged (or refused with a
// reason code) and dropped. Any other error is transient: the message is
// left unacknowledged for redelivery.
func rejected(err error) bool {
	switch civic.KindOf(err) {
	case civic.Invalid, civic.TooLarge, civic.NotFound, civic.Forbidden:
		return true
	}
	return false
}

// logLimiter logs a device's bad messages at most once a minute, so a
// misconfigured sensor cannot flood the log; the counters still count them
// all.
type logLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

const logEvery = time.Minute

func (l *logLimiter) log(log *slog.Logger, msg, device string, err error) {
	now := time.Now()
	l.mu.Lock()
	if l.last == nil || len(l.last) > 100_000 {
		l.last = make(map[string]time.Time)
	}
	t, seen := l.last[device]
	if seen && now.Sub(t) < logEvery {
		l.mu.Unlock()
		return
	}
	l.last[device] = now
	l.mu.Unlock()
	log.Warn(msg, "device", device, "err", err)
}
