package alert_test

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/alert"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/storetest"
)

const hookSecret = "test-secret-0123456789"

// receiver is a webhook endpoint that checks signatures and answers with
// the statuses queued in fail (200 once they run out).
type receiver struct {
	t   *testing.T
	clk *clock
	srv *httptest.Server

	mu     sync.Mutex
	status []int
	got    []delivery
	bad    []string
	hit    chan struct{}
}

type delivery struct {
	event string
	body  []byte
}

func newReceiver(t *testing.T, clk *clock, status ...int) *receiver {
	r := &receiver{t: t, clk: clk, status: status, hit: make(chan struct{}, 100)}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		defer func() { r.hit <- struct{}{} }()
		if err := alert.VerifySignature(hookSecret, req.Header.Get(alert.SignatureHeader), body, r.clk.Now(), 5*time.Minute); err != nil {
			r.bad = append(r.bad, err.Error())
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if req.Header.Get("Content-Type") != "application/json" || req.Method != http.MethodPost {
			r.bad = append(r.bad, req.Method+" "+req.Header.Get("Content-Type"))
		}
		if len(r.status) > 0 {
			s := r.status[0]
			r.status = r.status[1:]
			w.WriteHeader(s)
			return
		}
		r.got = append(r.got, delivery{event: req.Header.Get("Civic-Event"), body: body})
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.bad) > 0 {
		r.t.Errorf("bad webhook requests: %v", r.bad)
	}
	return append([]delivery(nil), r.got...)
}

func (r *receiver) sub(id string) *civic.Subscription {
	return &civic.Subscription{ID: id, Kind: civic.SubWebhook, URL: r.srv.URL + "/hook", Secret: hookSecret}
}

func notifier(st civic.AlertStore, clk *clock, smtpAddr string) *alert.Notifier {
	return alert.NewNotifier(alert.NotifierOptions{
		Store: st, Now: clk.Now, Jitter: func() float64 { return 0 }, Logger: quiet, AllowInternal: true, // receivers on loopback
		BackoffBase: 30 * time.Second, BackoffMax: 10 * time.Minute, MaxAttempts: 3,
		SMTP:    alert.SMTPConfig{Addr: smtpAddr, From: "civic@city.example", Timeout: 5 * time.Second},
		BaseURL: "https://civic.city.example",
	})
}

func open(t *testing.T, st civic.AlertStore, bin string, rule civic.RuleKind, at time.Time) civic.Alert {
	t.Helper()
	a, created, err := st.OpenAlert(context.Background(), &civic.Alert{BinID: bin, Rule: rule, Message: string(rule) + " on " + bin, OpenedAt: at})
	if err != nil || !created {
		t.Fatalf("OpenAlert: %v, created %v", err, created)
	}
	return a
}

func notice(t *testing.T, b []byte) civic.AlertNotice {
	t.Helper()
	var n civic.AlertNotice
	if err := json.Unmarshal(b, &n); err != nil {
		t.Fatalf("notice %s: %v", b, err)
	}
	return n
}

func TestWebhookRetryWithBackoff(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	rcv := newReceiver(t, clk, http.StatusInternalServerError)
	if err := st.CreateSubscription(ctx, rcv.sub("hook")); err != nil {
		t.Fatal(err)
	}
	a := open(t, st, "B1", civic.RuleFire, t0)
	n := notifier(st, clk, "")

	if got := n.DeliverDue(ctx); got != 1 {
		t.Fatalf("first DeliverDue claimed %d, want 1", got)
	}
	if len(rcv.deliveries()) != 0 {
		t.Fatal("the failed attempt counted as delivered")
	}
	// Backoff with zero jitter: half of 30 s.
	clk.Set(t0.Add(14 * time.Second))
	if got := n.DeliverDue(ctx); got != 0 {
		t.Fatalf("retried after 14 s (claimed %d), want after 15 s", got)
	}
	clk.Set(t0.Add(15 * time.Second))
	if got := n.DeliverDue(ctx); got != 1 {
		t.Fatalf("retry claimed %d, want 1", got)
	}
	ds := rcv.deliveries()
	if len(ds) != 1 || ds[0].event != "opened" {
		t.Fatalf("deliveries %+v", ds)
	}
	nt := notice(t, ds[0].body)
	if nt.Alert.ID != a.ID || nt.Event != civic.EventOpened || nt.Status != "burning" || nt.Alert.Severity != civic.SeverityCritical {
		t.Errorf("notice = %+v", nt)
	}
	clk.Set(t0.Add(time.Hour))
	if got := n.DeliverDue(ctx); got != 0 {
		t.Errorf("delivered notification claimed again")
	}
	if s := n.Stats(); s.Sent != 1 || s.Retried != 1 || s.Failed != 0 {
		t.Errorf("Stats = %+v", s)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	always := newReceiver(t, clk, 500, 500, 500, 500, 500)
	gone := newReceiver(t, clk, http.StatusGone)
	if err := st.CreateSubscription(ctx, always.sub("always")); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSubscription(ctx, gone.sub("gone")); err != nil {
		t.Fatal(err)
	}
	open(t, st, "B1", civic.RuleTilt, t0)
	n := notifier(st, clk, "")
	for i := range 5 {
		clk.Set(t0.Add(time.Duration(i) * time.Hour)) // past any backoff
		n.DeliverDue(ctx)
	}
	// "gone" failed for good at once (410); "always" after MaxAttempts = 3.
	if s := n.Stats(); s.Failed != 2 || s.Retried != 2 || s.Sent != 0 {
		t.Errorf("Stats = %+v, want 2 failed (410 at once, 500 after 3 attempts), 2 retried", s)
	}
	if got := n.DeliverDue(ctx); got != 0 {
		t.Errorf("failed notifications claimed again: %d", got)
	}
}

func TestBackoff(t *testing.T) {
	for _, j := range []float64{0, 0.999} {
		n := alert.NewNotifier(alert.NotifierOptions{Store: &store.Store{}, Jitter: func() float64 { return j },
			BackoffBase: 10 * time.Second, BackoffMax: time.Minute})
		for attempt, full := range map[int]time.Duration{1: 10 * time.Second, 2: 20 * time.Second, 3: 40 * time.Second, 4: time.Minute, 9: time.Minute} {
			d := n.Backoff(attempt)
			if d < full/2 || d > full {
				t.Errorf("jitter %g: Backoff(%d) = %v, want within [%v, %v]", j, attempt, d, full/2, full)
			}
		}
	}
}

func TestWebhookDigest(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0) // 12:00
	st := openStore(t, clk)
	rcv := newReceiver(t, clk)
	sub := rcv.sub("digest")
	sub.DigestMinutes = 15
	if err := st.CreateSubscription(ctx, sub); err != nil {
		t.Fatal(err)
	}
	n := notifier(st, clk, "")
	open(t, st, "B1", civic.RuleFull, t0)
	clk.Set(t0.Add(5 * time.Minute))
	open(t, st, "B2", civic.RuleLowBattery, clk.Now())
	fire := open(t, st, "B2", civic.RuleFire, clk.Now())
	n.DeliverDue(ctx)
	ds := rcv.deliveries()
	if len(ds) != 1 || notice(t, ds[0].body).Alert.ID != fire.ID {
		t.Fatalf("before the digest window ends: %d deliveries, want the fire alert alone", len(ds))
	}
	clk.Set(t0.Add(15 * time.Minute))
	n.DeliverDue(ctx)
	ds = rcv.deliveries()
	if len(ds) != 2 || ds[1].event != "digest" {
		t.Fatalf("after the window: %d deliveries %+v, want a digest", len(ds), ds)
	}
	var d alert.Digest
	if err := json.Unmarshal(ds[1].body, &d); err != nil || d.Event != "digest" || len(d.Notices) != 2 {
		t.Fatalf("digest %s: %v", ds[1].body, err)
	}
	if a, b := notice(t, d.Notices[0]), notice(t, d.Notices[1]); a.Alert.Rule != civic.RuleFull || b.Alert.Rule != civic.RuleLowBattery {
		t.Errorf("digest notices %v, %v", a.Alert.Rule, b.Alert.Rule)
	}
}

// TestOutboxSurvivesRestart: notifications queued while the receiver is
// down, and a store closed mid-claim, are delivered by a notifier started
// on the reopened store.
func TestOutboxSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	dsn := storetest.DSN(t, store.EngineSQLite)
	st1, err := store.Open(ctx, dsn, store.Options{Now: clk.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, clk)
	down := rcv.sub("hook")
	down.URL = "http://127.0.0.1:1/unreachable"
	if err := st1.CreateSubscription(ctx, down); err != nil {
		t.Fatal(err)
	}
	if err := st1.CreateSubscription(ctx, rcv.sub("hook2")); err != nil {
		t.Fatal(err)
	}
	a := open(t, st1, "B1", civic.RuleFire, t0)
	// One claim that a crashing process never finishes.
	if _, err := st1.ClaimNotifications(ctx, t0, 100, time.Minute); err != nil {
		t.Fatal(err)
	}
	st1.Close()

	st2, err := store.Open(ctx, dsn, store.Options{Now: clk.Now, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	clk.Set(t0.Add(2 * time.Minute)) // the dead claim's lease is over
	n := notifier(st2, clk, "")
	if err := n.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	n.Kick()
	select {
	case <-rcv.hit:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery after restart")
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}
	ds := rcv.deliveries()
	if len(ds) != 1 || notice(t, ds[0].body).Alert.ID != a.ID {
		t.Fatalf("after restart delivered %+v, want the fire alert", ds)
	}
	if s := n.Stats(); s.Sent != 1 || s.Retried != 1 {
		t.Errorf("Stats = %+v, want 1 sent and 1 retry for the unreachable hook", s)
	}
}

// smtpServer is a minimal SMTP server for the tests: it accepts every
// message and hands it over on msgs.
type smtpServer struct {
	ln   net.Listener
	msgs chan smtpMsg
}

type smtpMsg struct {
	from string
	to   []string
	data []byte
}

func startSMTP(t *testing.T) *smtpServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln, msgs: make(chan smtpMsg, 10)}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	tp := textproto.NewConn(c)
	tp.PrintfLine("220 test.local ESMTP")
	var m smtpMsg
	for {
		line, err := tp.ReadLine()
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			tp.PrintfLine("250-test.local")
			tp.PrintfLine("250 8BITMIME")
		case "HELO", "NOOP", "RSET":
			tp.PrintfLine("250 OK")
		case "MAIL":
			m = smtpMsg{from: strings.Trim(strings.Fields(strings.TrimPrefix(arg, "FROM:"))[0], "<>")}
			tp.PrintfLine("250 OK")
		case "RCPT":
			m.to = append(m.to, strings.Trim(strings.TrimPrefix(arg, "TO:"), "<>"))
			tp.PrintfLine("250 OK")
		case "DATA":
			tp.PrintfLine("354 go ahead")
			data, err := tp.ReadDotBytes()
			if err != nil {
				return
			}
			m.data = data
			s.msgs <- m
			tp.PrintfLine("250 OK queued")
		case "QUIT":
			tp.PrintfLine("221 bye")
			return
		default:
			tp.PrintfLine("502 not implemented")
		}
	}
}

func (s *smtpServer) next(t *testing.T) (smtpMsg, *mail.Message, string) {
	t.Helper()
	select {
	case m := <-s.msgs:
		msg, err := mail.ReadMessage(strings.NewReader(string(m.data)))
		if err != nil {
			t.Fatalf("message %q: %v", m.data, err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatal(err)
		}
		return m, msg, string(body)
	case <-time.After(10 * time.Second):
		t.Fatal("no message arrived at the SMTP server")
	}
	panic("unreachable")
}

func TestEmailThroughSMTP(t *testing.T) {
	ctx := context.Background()
	clk := storetest.NewClock(t0)
	st := openStore(t, clk)
	srv := startSMTP(t)
	now := &civic.Subscription{ID: "ops", Kind: civic.SubEmail, Email: "ops@city.example", Rules: []civic.RuleKind{civic.RuleFire}}
	digest := &civic.Subscription{ID: "daily", Kind: civic.SubEmail, Email: "lead@city.example", DigestMinutes: 60,
		Events: []civic.AlertEvent{civic.EventOpened, civic.EventResolved}}
	for _, s := range []*civic.Subscription{now, digest} {
		if err := st.CreateSubscription(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	n := notifier(st, clk, srv.ln.Addr().String())

	fire := open(t, st, "B1", civic.RuleFire, t0)
	n.DeliverDue(ctx)
	// The fire goes to both subscriptions at once: critical alerts are
	// never digested.
	got := map[string]string{}
	for range 2 {
		env, msg, body := srv.next(t)
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if env.from != "civic@city.example" || len(env.to) != 1 || msg.Header.Get("To") != env.to[0] {
			t.Errorf("envelope %+v, To %q", env, msg.Header.Get("To"))
		}
		if !strings.Contains(body, fire.ID) || !strings.Contains(body, "Bin: B1") || !strings.Contains(body, "https://civic.city.example/alerts?bin=B1") {
			t.Errorf("body:\n%s", body)
		}
		got[env.to[0]] = subject
	}
	for _, to := range []string{"ops@city.example", "lead@city.example"} {
		if !strings.Contains(got[to], "URGENT fire alert opened: bin B1") {
			t.Errorf("subject to %s = %q", to, got[to])
		}
	}

	// Two ordinary alerts and a resolution become one digest at 13:00.
	open(t, st, "B1", civic.RuleFull, t0)
	open(t, st, "B2", civic.RuleOffline, t0.Add(time.Minute))
	if _, err := st.ResolveAlert(ctx, fire.ID, "sup", "put out", t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	clk.Set(t0.Add(10 * time.Minute))
	n.DeliverDue(ctx) // the fire's resolution: critical, at once, to both
	for range 2 {
		_, msg, body := srv.next(t)
		if s := msg.Header.Get("Subject"); !strings.Contains(s, "fire alert resolved") || !strings.Contains(body, "Resolved by: sup (put out)") {
			t.Errorf("resolution mail %q:\n%s", s, body)
		}
	}
	clk.Set(t0.Add(time.Hour))
	n.DeliverDue(ctx)
	_, msg, body := srv.next(t)
	if s := msg.Header.Get("Subject"); s != "[civic] 2 alert updates" || !strings.Contains(body, "full alert") || !strings.Contains(body, "offline alert") {
		t.Errorf("digest %q:\n%s", s, body)
	}
	select {
	case m := <-srv.msgs:
		t.Errorf("unexpected message %s", m.data)
	case <-time.After(100 * time.Millisecond):
	}
}
