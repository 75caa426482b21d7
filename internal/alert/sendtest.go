package alert

import (
	"context"
	"encoding/json"

	"github.com/civic-city/civic/internal/civic"
)

// TestBin and TestMessage mark the alert of a test notification, so a
// receiver can tell it from a real one.
const (
	TestBin     = "civic-test"
	TestMessage = "Test notification from civic: this subscription works."
)

// SendTest delivers one notification about a made-up alert to sub at once,
// by webhook or e-mail as sub says, bypassing the outbox and the digest:
// the "send test" button of the subscription screen. The error says why
// delivery failed (connection, status, SMTP reply).
func (n *Notifier) SendTest(ctx context.Context, sub civic.Subscription) error {
	now := n.opts.Now().UTC()
	notice := civic.AlertNotice{Event: civic.EventOpened, Time: now, Status: "ok", Alert: civic.Alert{
		ID: "al_test", BinID: TestBin, Rule: civic.RuleOffline, Severity: civic.SeverityInfo, Status: civic.AlertOpen,
		Message: TestMessage, OpenedAt: now, LastSeenAt: now,
	}}
	payload, err := json.Marshal(notice)
	if err != nil {
		return err
	}
	items := []civic.Notification{{ID: 0, SubscriptionID: sub.ID, AlertID: notice.Alert.ID, Event: civic.EventOpened, Payload: payload, CreatedAt: now, NextAt: now}}
	if sub.Kind == civic.SubEmail {
		return n.sendEmail(ctx, &sub, items, false)
	}
	return n.postWebhook(ctx, &sub, items, false)
}
