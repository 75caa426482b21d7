package store

import "github.com/civic-city/civic/internal/civic"

// ListenerPID returns the PostgreSQL backend e last listened on.
func ListenerPID(e *Events) uint32 { return e.listenerPID.Load() }

// EventsChannel returns the notification channel of e, once started.
func EventsChannel(e *Events) string { return e.channel }

// EncodeEvents is encodeEvents with alerts as (id, event) pairs.
func EncodeEvents(node string, bins []string, alerts [][2]string) []string {
	refs := make([]alertRef, len(alerts))
	for i, a := range alerts {
		refs[i] = alertRef{ID: a[0], Event: civic.AlertEvent(a[1])}
	}
	return encodeEvents(node, bins, refs)
}

// MaxPayload and MaxMessages are the limits of one round of notifications.
const (
	MaxPayload  = maxPayload
	MaxMessages = maxMessages
)
