package alert

import (
	"context"
	"errors"
	"strings"
)

// SendMail sends one plain-text message through the notifier's SMTP
// server, for other parts of civic that write to people (311 reporters
// hear of their request's status). It is one attempt, without the
// outbox's retries. Errors: no SMTP server configured, an address with a
// line break, and the server's refusals.
func (n *Notifier) SendMail(ctx context.Context, to, subject, body string) error {
	if strings.ContainsAny(to+subject+n.opts.SMTP.From, "\r\n") || !strings.Contains(to, "@") {
		return errors.New("alert: bad mail address or subject")
	}
	return n.smtpSend(ctx, to, n.message(to, subject, body))
}
