package alert

import (
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/smtp"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/lifecycle"
)

// SMTPConfig is the mail server e-mail notifications go through.
type SMTPConfig struct {
	// Addr is host:port of the SMTP server; e-mail subscriptions fail
	// (and are retried) while it is empty.
	Addr string
	// From is the envelope and header sender, e.g. "civic@city.example".
	From string
	// Username and Password, if set, authenticate with PLAIN. net/smtp
	// sends them only over TLS (STARTTLS is used when the server offers
	// it) or to localhost.
	Username, Password string
	// HelloName is the name sent with EHLO; "localhost" by default.
	HelloName string
	// Timeout bounds one delivery; 30 s by default.
	Timeout time.Duration
	// TLSConfig is used for STARTTLS; nil means verify the server as Addr's
	// host.
	TLSConfig *tls.Config
}

// NotifierOptions configure a Notifier. Store is required.
type NotifierOptions struct {
	Store civic.AlertStore
	// Client sends webhooks; by default a client with a 15 s timeout that
	// connects to public addresses only (see AllowInternal).
	Client *http.Client
	// AllowInternal lets the default client deliver webhooks to loopback,
	// private and link-local addresses (civic.InternalAddr); off by
	// default, so that a subscription cannot reach into civic's own
	// network, whatever its host name resolves to at delivery.
	AllowInternal bool
	SMTP          SMTPConfig
	// Now is the clock of claims, signatures and retries; time.Now by
	// default.
	Now func() time.Time
	// Jitter returns a number in [0, 1) that spreads retries; math/rand/v2
	// by default.
	Jitter func() float64
	// Poll is how often the outbox is checked besides Kick; 2 s by default.
	Poll time.Duration
	// Lease is how long a claimed notification stays hidden from other
	// claims; 2 minutes by default. It must exceed a delivery's timeout.
	Lease time.Duration
	// Batch is how many notifications one claim takes; 100 by default.
	Batch int
	// Workers deliver to that many subscriptions at once; 4 by default.
	Workers int
	// BackoffBase and BackoffMax bound the delay before a retry: attempt n
	// waits BackoffBase·2^(n-1), at most BackoffMax, of which a random
	// half is jitter. Defaults 30 s and 1 h.
	BackoffBase, BackoffMax time.Duration
	// MaxAttempts is how many failed attempts make a notification fail
	// for good; 10 by default.
	MaxAttempts int
	// BaseURL, if set, is civic's public URL; messages link to the alerts
	// page.
	BaseURL string
	// Retention is how long delivered and failed notifications are kept
	// in the outbox; 30 days by default. They are pruned hourly.
	Retention time.Duration
	// Logger receives delivery failures; slog.Default() when nil.
	Logger *slog.Logger
}

// NotifierStats are the Notifier's counters.
type NotifierStats struct {
	Sent    uint64 // messages delivered (a digest counts once)
	Retried uint64 // failed attempts that will be retried
	Failed  uint64 // notifications given up on
}

// Notifier delivers the notifications in the outbox. Several Notifiers (one
// per node) may share one store: claims never overlap.
type Notifier struct {
	opts NotifierOptions
	log  *slog.Logger

	kick chan struct{}
	life *lifecycle.Group

	mu                    sync.Mutex
	sent, retried, failed uint64
}

// NewNotifier returns a Notifier; it panics without a Store (a wiring bug).
func NewNotifier(opts NotifierOptions) *Notifier {
	if opts.Store == nil {
		panic("alert.NewNotifier: Store is required")
	}
	if opts.Client == nil {
		opts.Client = &http.Client{
			Timeout:   15 * time.Second,
			Transport: webhookTransport(opts.AllowInternal),
			// A redirect would turn the POST into a GET: report it as a
			// failure instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Jitter == nil {
		opts.Jitter = mrand.Float64
	}
	opts.Poll = cmp.Or(opts.Poll, 2*time.Second)
	opts.Lease = cmp.Or(opts.Lease, 2*time.Minute)
	opts.Batch = cmp.Or(opts.Batch, 100)
	opts.Workers = cmp.Or(opts.Workers, 4)
	opts.BackoffBase = cmp.Or(opts.BackoffBase, 30*time.Second)
	opts.BackoffMax = cmp.Or(opts.BackoffMax, time.Hour)
	opts.MaxAttempts = cmp.Or(opts.MaxAttempts, 10)
	opts.Retention = cmp.Or(opts.Retention, 30*24*time.Hour)
	opts.SMTP.HelloName = cmp.Or(opts.SMTP.HelloName, "localhost")
	opts.SMTP.Timeout = cmp.Or(opts.SMTP.Timeout, 30*time.Second)
	return &Notifier{
		opts: opts,
		log:  cmp.Or(opts.Logger, slog.Default()),
		kick: make(chan struct{}, 1),
		life: lifecycle.New("alert notifier"),
	}
}

// Start delivers in the background until Close (see package lifecycle);
// ctx is not used. It fails when the Notifier was started or closed
// before.
func (n *Notifier) Start(ctx context.Context) error {
	return n.life.Start(func() error {
		n.life.Go("deliver", n.run)
		return nil
	})
}

// Kick makes the Notifier look at the outbox now, e.g. right after an
// alert opened. It never blocks.
func (n *Notifier) Kick() {
	select {
	case n.kick <- struct{}{}:
	default:
	}
}

// Close stops the Notifier after the deliveries in progress; notifications
// not delivered stay in the outbox for the next start. It returns ctx's
// error if ctx ends first, and then cancels the deliveries in progress
// (their outcome is still recorded).
func (n *Notifier) Close(ctx context.Context) error { return n.life.Close(ctx) }

// Stats returns the Notifier's counters.
func (n *Notifier) Stats() NotifierStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	return NotifierStats{Sent: n.sent, Retried: n.retried, Failed: n.failed}
}

func (n *Notifier) run(ctx context.Context, stop <-chan struct{}) error {
	// Deliveries in progress when Close is called finish (within their
	// HTTP and SMTP timeouts, unless Close gives up first and ctx ends)
	// and record their outcome.
	tick := time.NewTicker(n.opts.Poll)
	defer tick.Stop()
	var pruned time.Time
	for {
		if now := time.Now(); now.Sub(pruned) >= time.Hour {
			pruned = now
			if k, err := n.opts.Store.PruneNotifications(ctx, n.opts.Now().Add(-n.opts.Retention)); err != nil {
				n.log.Warn("notifier: prune outbox", "err", err)
			} else if k > 0 {
				n.log.Info("notifier: pruned outbox", "notifications", k)
			}
		}
		// Keep going while claims come back full.
		for n.DeliverDue(ctx) >= n.opts.Batch {
			select {
			case <-stop:
				return nil
			default:
			}
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		case <-n.kick:
		}
	}
}

// DeliverDue claims the notifications due now, delivers them and records
// the outcome; it returns how many it claimed. The background loop calls
// it; tests may call it directly instead of Start.
func (n *Notifier) DeliverDue(ctx context.Context) int {
	now := n.opts.Now()
	claimed, err := n.opts.Store.ClaimNotifications(ctx, now, n.opts.Batch, n.opts.Lease)
	if err != nil {
		n.log.Error("notifier: claim", "err", err)
		return 0
	}
	if len(claimed) == 0 {
		return 0
	}
	// Group by subscription: a subscription's digestible notifications
	// become one message, the others one message each.
	type job struct {
		sub   string
		items []civic.Notification
	}
	var jobs []job
	digest := map[string]int{} // subscription → index in jobs of its digest
	subs := map[string]*civic.Subscription{}
	for _, c := range claimed {
		sub, ok := subs[c.SubscriptionID]
		if !ok {
			s, err := n.opts.Store.Subscription(ctx, c.SubscriptionID)
			switch {
			case civic.IsKind(err, civic.NotFound):
				sub = nil // deleted meanwhile; its rows are gone
			case err != nil:
				n.log.Error("notifier: load subscription", "subscription", c.SubscriptionID, "err", err)
				continue // the lease expires and it is retried
			default:
				sub = &s
			}
			subs[c.SubscriptionID] = sub
		}
		if sub == nil {
			continue
		}
		if sub.DigestMinutes > 0 && !c.Urgent {
			if i, ok := digest[sub.ID]; ok {
				jobs[i].items = append(jobs[i].items, c)
				continue
			}
			digest[sub.ID] = len(jobs)
		}
		jobs = append(jobs, job{sub: sub.ID, items: []civic.Notification{c}})
	}
	sem := make(chan struct{}, n.opts.Workers)
	var wg sync.WaitGroup
	for _, j := range jobs {
		sub := subs[j.sub]
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			n.deliver(ctx, sub, j.items, sub.DigestMinutes > 0 && !j.items[0].Urgent)
		}()
	}
	wg.Wait()
	return len(claimed)
}

// permanentError is a delivery failure retrying cannot fix.
type permanentError struct{ error }

func (n *Notifier) deliver(ctx context.Context, sub *civic.Subscription, items []civic.Notification, asDigest bool) {
	var err error
	switch sub.Kind {
	case civic.SubWebhook:
		err = n.postWebhook(ctx, sub, items, asDigest)
	case civic.SubEmail:
		err = n.sendEmail(ctx, sub, items, asDigest)
	default:
		err = permanentError{fmt.Errorf("unknown subscription kind %q", sub.Kind)}
	}
	now := n.opts.Now()
	// The outcome is recorded even if the caller is shutting down.
	rctx := context.WithoutCancel(ctx)
	if err == nil {
		for _, it := range items {
			if err := n.opts.Store.MarkDelivered(rctx, it.ID, now); err != nil {
				n.log.Error("notifier: mark delivered", "notification", it.ID, "err", err)
			}
		}
		n.count(&n.sent)
		return
	}
	var perm permanentError
	permanent := errors.As(err, &perm)
	for _, it := range items {
		attempt := it.Attempts + 1
		giveUp := permanent || attempt >= n.opts.MaxAttempts
		next := now.Add(n.Backoff(attempt))
		if giveUp {
			next = now
			n.count(&n.failed)
			n.log.Error("notifier: giving up", "notification", it.ID, "subscription", sub.ID, "attempts", attempt, "err", err)
		} else {
			n.count(&n.retried)
			n.log.Warn("notifier: delivery failed, will retry", "notification", it.ID, "subscription", sub.ID,
				"attempt", attempt, "retry_at", next, "err", err)
		}
		if err := n.opts.Store.RescheduleNotification(rctx, it.ID, next, err.Error(), giveUp); err != nil {
			n.log.Error("notifier: reschedule", "notification", it.ID, "err", err)
		}
	}
}

func (n *Notifier) count(c *uint64) {
	n.mu.Lock()
	*c++
	n.mu.Unlock()
}

// Backoff is the delay before retrying after attempt failed attempts:
// BackoffBase·2^(attempt-1), capped at BackoffMax, with the upper half
// randomized so retries from many notifications spread out.
func (n *Notifier) Backoff(attempt int) time.Duration {
	d := float64(n.opts.BackoffBase) * math.Pow(2, float64(max(attempt, 1)-1))
	d = math.Min(d, float64(n.opts.BackoffMax))
	return time.Duration(d/2 + n.opts.Jitter()*d/2)
}

// Digest is the JSON body of a digest webhook: several notices at once.
type Digest struct {
	Event   string            `json:"event"` // "digest"
	Time    time.Time         `json:"time"`
	Notices []json.RawMessage `json:"notices"` // civic.AlertNotice values
}

func (n *Notifier) postWebhook(ctx context.Context, sub *civic.Subscription, items []civic.Notification, asDigest bool) error {
	now := n.opts.Now()
	body := items[0].Payload
	event := string(items[0].Event)
	if asDigest {
		d := Digest{Event: "digest", Time: now.UTC()}
		for _, it := range items {
			d.Notices = append(d.Notices, json.RawMessage(it.Payload))
		}
		var err error
		if body, err = json.Marshal(d); err != nil {
			return permanentError{err}
		}
		event = "digest"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(body))
	if err != nil {
		return permanentError{err}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "civic-alerts/1")
	req.Header.Set("Civic-Event", event)
	req.Header.Set("Civic-Delivery", strconv.FormatInt(items[0].ID, 10))
	req.Header.Set(SignatureHeader, Sign(sub.Secret, now, body))
	resp, err := n.opts.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusGone:
		// The receiver says the hook is gone for good.
		return permanentError{fmt.Errorf("webhook answered %s", resp.Status)}
	}
	return fmt.Errorf("webhook answered %s", resp.Status)
}

func (n *Notifier) sendEmail(ctx context.Context, sub *civic.Subscription, items []civic.Notification, asDigest bool) error {
	notices := make([]civic.AlertNotice, 0, len(items))
	for _, it := range items {
		var nt civic.AlertNotice
		if err := json.Unmarshal(it.Payload, &nt); err != nil {
			return permanentError{fmt.Errorf("notification %d: %w", it.ID, err)}
		}
		notices = append(notices, nt)
	}
	msg, err := n.composeMail(sub.Email, notices, asDigest)
	if err != nil {
		return permanentError{err}
	}
	return n.smtpSend(ctx, sub.Email, msg)
}

// Subject returns the subject line of a message about notices.
func Subject(notices []civic.AlertNotice, asDigest bool) string {
	if asDigest || len(notices) != 1 {
		return fmt.Sprintf("[civic] %d alert updates", len(notices))
	}
	nt := notices[0]
	prefix := "[civic]"
	if nt.Alert.Severity == civic.SeverityCritical && nt.Event == civic.EventOpened {
		prefix = "[civic] URGENT"
	}
	return fmt.Sprintf("%s %s alert %s: bin %s", prefix, nt.Alert.Rule, nt.Event, nt.Alert.BinID)
}

func (n *Notifier) composeMail(to string, notices []civic.AlertNotice, asDigest bool) ([]byte, error) {
	if strings.ContainsAny(to+n.opts.SMTP.From, "\r\n") {
		return nil, errors.New("address with a line break")
	}
	var text strings.Builder
	for i, nt := range notices {
		if i > 0 {
			text.WriteString("\n")
		}
		a := nt.Alert
		fmt.Fprintf(&text, "%s: %s alert %s (%s)\n", strings.ToUpper(string(nt.Event)), a.Rule, a.ID, a.Severity)
		fmt.Fprintf(&text, "Bin: %s", a.BinID)
		if nt.Zone != "" {
			fmt.Fprintf(&text, " (zone %s)", nt.Zone)
		}
		text.WriteString("\n")
		fmt.Fprintf(&text, "%s\n", a.Message)
		fmt.Fprintf(&text, "At: %s\n", nt.Time.UTC().Format(time.RFC3339))
		if a.AckedBy != "" {
			fmt.Fprintf(&text, "Acknowledged by: %s\n", a.AckedBy)
		}
		if a.ResolvedBy != "" {
			fmt.Fprintf(&text, "Resolved by: %s", a.ResolvedBy)
			if a.Note != "" {
				fmt.Fprintf(&text, " (%s)", a.Note)
			}
			text.WriteString("\n")
		}
		if n.opts.BaseURL != "" {
			fmt.Fprintf(&text, "%s/alerts?bin=%s\n", strings.TrimRight(n.opts.BaseURL, "/"), a.BinID)
		}
	}
	return n.message(to, Subject(notices, asDigest), text.String()), nil
}

// message is a plain-text e-mail from the configured sender to to: the
// headers (the subject encoded, a fresh Message-ID, Auto-Submitted) and
// body as quoted-printable with CRLF line ends.
func (n *Notifier) message(to, subject, body string) []byte {
	var id [12]byte
	rand.Read(id[:])
	host := "civic"
	if _, h, ok := strings.Cut(n.opts.SMTP.From, "@"); ok {
		host = h
	}
	var b bytes.Buffer
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", n.opts.SMTP.From)
	hdr("To", to)
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", n.opts.Now().UTC().Format(time.RFC1123Z))
	hdr("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+host+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "quoted-printable")
	hdr("Auto-Submitted", "auto-generated")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	qp.Write([]byte(strings.ReplaceAll(body, "\n", "\r\n")))
	qp.Close()
	return b.Bytes()
}

// smtpSend delivers msg to one recipient: EHLO, STARTTLS when offered,
// AUTH PLAIN when configured, MAIL, RCPT, DATA, QUIT.
func (n *Notifier) smtpSend(ctx context.Context, to string, msg []byte) error {
	cfg := &n.opts.SMTP
	if cfg.Addr == "" || cfg.From == "" {
		return errors.New("no SMTP server configured")
	}
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return permanentError{fmt.Errorf("SMTP address: %w", err)}
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello(cfg.HelloName); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		tc := cfg.TLSConfig
		if tc == nil {
			tc = &tls.Config{ServerName: host}
		}
		if err := c.StartTLS(tc); err != nil {
			return err
		}
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, host)); err != nil {
			return err
		}
	}
	if err := c.Mail(cfg.From); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return smtpError(err)
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// smtpError makes a 5xx rejection of the recipient permanent.
func smtpError(err error) error {
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 {
		return permanentError{err}
	}
	return err
}
