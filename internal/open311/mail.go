package open311

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/lifecycle"
)

// Mailer tells reporters who left an e-mail address of their request's
// status changes, one message per change, from a queue of its own so a
// slow mail server never holds up staff. Messages that do not fit the
// queue, or fail, are logged and dropped: the status page is the record.
type Mailer struct {
	send    func(ctx context.Context, to, subject, body string) error
	baseURL string
	log     *slog.Logger
	q       chan mail
	life    *lifecycle.Group
}

type mail struct{ to, subject, body string }

// NewMailer returns a mailer sending with send (alert.Notifier.SendMail);
// baseURL, if set, links the status page.
func NewMailer(send func(ctx context.Context, to, subject, body string) error, baseURL string, log *slog.Logger) *Mailer {
	if log == nil {
		log = slog.Default()
	}
	return &Mailer{send: send, baseURL: strings.TrimRight(baseURL, "/"), log: log, q: make(chan mail, 256), life: lifecycle.New("311 mailer")}
}

// Start runs the sender.
func (m *Mailer) Start(ctx context.Context) error {
	return m.life.Start(func() error {
		m.life.Go("send", m.loop)
		return nil
	})
}

// Close sends what is queued, bounded by ctx.
func (m *Mailer) Close(ctx context.Context) error { return m.life.Close(ctx) }

func (m *Mailer) loop(ctx context.Context, stop <-chan struct{}) error {
	deliver := func(x mail) {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := m.send(sctx, x.to, x.subject, x.body); err != nil {
			m.log.Warn("311: e-mail to a reporter failed", "err", err)
		}
	}
	for {
		select {
		case x := <-m.q:
			deliver(x)
		case <-stop:
			for {
				select {
				case x := <-m.q:
					deliver(x)
				default:
					return nil
				}
			}
		}
	}
}

// StatusChanged queues the message for a change of r's status with its
// public note n; it is the desk's OnChange. Reporters without an e-mail
// address, and internal notes, send nothing.
func (m *Mailer) StatusChanged(_ context.Context, r civic.ServiceRequest, n civic.RequestNote) {
	if r.Contact.Email == "" || !n.Public {
		return
	}
	status := strings.ReplaceAll(string(r.Status), "_", " ")
	var b strings.Builder
	fmt.Fprintf(&b, "Your report %s (%s) is now %s.\n", r.ID, r.ServiceName, status)
	if r.CloseReason != "" {
		fmt.Fprintf(&b, "Reason: %s\n", r.CloseReason.Label())
	}
	if n.Text != "" {
		fmt.Fprintf(&b, "\n%s\n", n.Text)
	}
	if m.baseURL != "" {
		fmt.Fprintf(&b, "\nFollow it at %s/requests/%s\n", m.baseURL, r.ID)
	}
	select {
	case m.q <- mail{to: r.Contact.Email, subject: fmt.Sprintf("Your report %s: %s", r.ID, status), body: b.String()}:
	default:
		m.log.Warn("311: e-mail queue full; a status e-mail was dropped", "request", r.ID)
	}
}
