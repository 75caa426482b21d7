package mqtt

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/lifecycle"
)

// SubscriberOptions configures the external-broker subscriber.
type SubscriberOptions struct {
	// URL is the broker: mqtt://host:1883 or mqtts://host:8883 (tls:// and
	// ssl:// are synonyms). Required.
	URL string
	// ClientID must be unique per civic node. Default
	// "civic-{hostname}-{random}".
	ClientID string
	// Username and Password log civic in to the broker, if it asks.
	Username string
	Password string
	// TLS configures mqtts:// connections.
	TLS *tls.Config
	// Group is the shared-subscription group: every node of one civic
	// deployment uses the same group, and the broker gives each message to
	// one of them. Default "civic".
	Group string
	// Workers is how many messages are ingested at once. Default 256.
	Workers int
	// IngestTimeout bounds one attempt to ingest a message. Default 30 s.
	IngestTimeout time.Duration
	// SessionExpiry is how long the broker keeps civic's session (and the
	// messages not yet acknowledged) across a disconnection. Default 5 min.
	SessionExpiry time.Duration
	// Logger receives connection problems and bad messages. Default
	// slog.Default().
	Logger *slog.Logger
}

// Subscriber takes readings from an external MQTT 5 broker through the
// shared subscription $share/{Group}/civic/v1/devices/+/up. It reconnects
// on its own, with exponential back-off, keeping its broker session
// (clean start off, SessionExpiry) so that messages not yet acknowledged
// are redelivered. Messages are acknowledged manually: after their readings are
// committed, or when they are malformed or invalid (which is counted and
// logged with the device id: resending could not help). A message that
// fails for a transient reason is retried with back-off and is not
// acknowledged until it is stored, so nothing acknowledged is lost; paho
// sends acknowledgements in the order the messages arrived, as MQTT
// requires.
type Subscriber struct {
	ing  civic.Ingester
	opts SubscriberOptions
	log  *slog.Logger
	url  *url.URL

	// life runs the workers, which stop taking messages at Close and
	// finish those they took, and the connection loop, which disconnects
	// once they have. Its context ends then: it aborts retries.
	life *lifecycle.Group

	mu sync.Mutex
	up chan struct{} // closed while connected and subscribed

	msgs chan message

	limiter logLimiter

	messages, readings, duplicates, malformed, transient, connects atomic.Int64
}

type message struct {
	client *paho.Client
	pub    *paho.Publish
}

// NewSubscriber returns a subscriber that hands readings to ing. It does
// not connect until Start.
func NewSubscriber(ing civic.Ingester, opts SubscriberOptions) (*Subscriber, error) {
	if ing == nil {
		return nil, errors.New("mqtt: subscriber needs an ingester")
	}
	u, err := url.Parse(opts.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("mqtt: broker URL %q is not like mqtt://host:1883", opts.URL)
	}
	if opts.ClientID == "" {
		host, _ := os.Hostname()
		var b [4]byte
		_, _ = rand.Read(b[:])
		opts.ClientID = "civic-" + host + "-" + hex.EncodeToString(b[:])
	}
	if opts.Group == "" {
		opts.Group = "civic"
	}
	if opts.Workers <= 0 {
		opts.Workers = 256
	}
	if opts.IngestTimeout <= 0 {
		opts.IngestTimeout = 30 * time.Second
	}
	if opts.SessionExpiry <= 0 {
		opts.SessionExpiry = 5 * time.Minute
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Subscriber{
		ing:  ing,
		opts: opts,
		log:  opts.Logger.With("component", "mqtt-subscriber", "broker", u.Host),
		url:  u,
		msgs: make(chan message, opts.Workers),
		up:   make(chan struct{}),
		life: lifecycle.New("mqtt subscriber"),
	}
	return s, nil
}

// Filter returns the shared subscription the subscriber makes.
func (s *Subscriber) Filter() string { return "$share/" + s.opts.Group + "/" + ingest.TopicFilter }

// Start starts connecting (and reconnecting) in the background and the
// workers that ingest messages (see package lifecycle); ctx is not used.
// Use AwaitConnection to wait until the subscription is in place. It fails
// when the subscriber was started or closed before.
func (s *Subscriber) Start(ctx context.Context) error {
	return s.life.Start(func() error {
		for range s.opts.Workers {
			s.life.Go("worker", s.work)
		}
		s.life.Serve("connection", s.run)
		return nil
	})
}

// AwaitConnection waits until the subscriber is connected and subscribed,
// or ctx ends.
func (s *Subscriber) AwaitConnection(ctx context.Context) error {
	s.mu.Lock()
	up := s.up
	s.mu.Unlock()
	select {
	case <-up:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-s.life.Context().Done():
		return errors.New("mqtt: subscriber closed")
	}
}

// run connects, serves the connection until it drops, and reconnects with
// exponential back-off until ctx ends (Close, once the workers are done).
// (autopaho would do this, but it needs golang.org/x/net, which the module
// does not carry.)
func (s *Subscriber) run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := s.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > time.Minute {
			backoff = 100 * time.Millisecond
		}
		s.log.Warn("mqtt: not connected to the broker; retrying", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 30*time.Second)
	}
	return nil
}

// session makes one connection: connect, subscribe, and wait until the
// connection ends or life ends.
func (s *Subscriber) session(life context.Context) error {
	ctx, cancel := context.WithTimeout(life, 10*time.Second)
	defer cancel()
	conn, err := s.dial(ctx)
	if err != nil {
		return err
	}
	lost := make(chan error, 1)
	c := paho.NewClient(paho.ClientConfig{
		ClientID:                   s.opts.ClientID,
		Conn:                       conn,
		EnableManualAcknowledgment: true,
		SendAcksInterval:           10 * time.Millisecond,
		OnPublishReceived:          []func(paho.PublishReceived) (bool, error){s.onPublish},
		OnClientError: func(err error) {
			select {
			case lost <- err:
			default:
			}
		},
		OnServerDisconnect: func(d *paho.Disconnect) {
			select {
			case lost <- fmt.Errorf("the broker disconnected civic (reason 0x%02x)", d.ReasonCode):
			default:
			}
		},
	})
	expiry := uint32(s.opts.SessionExpiry / time.Second)
	receiveMax := uint16(min(s.opts.Workers*4, 65535))
	cp := &paho.Connect{
		ClientID:   s.opts.ClientID,
		KeepAlive:  30,
		CleanStart: false, // keep the session: unacknowledged messages are redelivered
		Properties: &paho.ConnectProperties{SessionExpiryInterval: &expiry, ReceiveMaximum: &receiveMax},
	}
	if s.opts.Username != "" {
		cp.Username, cp.UsernameFlag = s.opts.Username, true
	}
	if s.opts.Password != "" {
		cp.Password, cp.PasswordFlag = []byte(s.opts.Password), true
	}
	ca, err := c.Connect(ctx, cp)
	if err != nil {
		conn.Close()
		if ca != nil {
			return fmt.Errorf("connect refused (reason 0x%02x): %w", ca.ReasonCode, err)
		}
		return fmt.Errorf("connect: %w", err)
	}
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: s.Filter(), QoS: 1}}})
	if err == nil && (len(sa.Reasons) != 1 || sa.Reasons[0] >= 0x80) {
		err = fmt.Errorf("subscription to %s refused (reasons %v)", s.Filter(), sa.Reasons)
	}
	if err != nil {
		_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
		return err
	}
	s.connects.Add(1)
	s.mu.Lock()
	close(s.up)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.up = make(chan struct{})
		s.mu.Unlock()
	}()
	select {
	case <-life.Done():
		// The workers are done: let paho's acknowledgement loop (every
		// 10 ms) send the last acknowledgements before disconnecting.
		select {
		case <-time.After(50 * time.Millisecond):
		case <-c.Done():
		}
		_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
		return nil
	case err := <-lost:
		_ = c.Disconnect(&paho.Disconnect{ReasonCode: 0})
		return err
	case <-c.Done():
		return errors.New("connection closed")
	}
}

func (s *Subscriber) dial(ctx context.Context) (net.Conn, error) {
	host := s.url.Host
	switch s.url.Scheme {
	case "mqtt", "tcp", "":
		if s.url.Port() == "" {
			host = net.JoinHostPort(host, "1883")
		}
		var d net.Dialer
		return d.DialContext(ctx, "tcp", host)
	case "mqtts", "tls", "ssl":
		if s.url.Port() == "" {
			host = net.JoinHostPort(host, "8883")
		}
		d := tls.Dialer{Config: s.opts.TLS}
		return d.DialContext(ctx, "tcp", host)
	}
	return nil, fmt.Errorf("unsupported broker URL scheme %q (mqtt, mqtts)", s.url.Scheme)
}

// onPublish hands a message to the workers; it blocks when they are all
// busy, which holds back reading from the broker (back-pressure).
func (s *Subscriber) onPublish(pr paho.PublishReceived) (bool, error) {
	select {
	case s.msgs <- message{client: pr.Client, pub: pr.Packet}:
	case <-s.life.Stopping():
		// Closing: left unacknowledged, the broker redelivers it.
	}
	return true, nil
}

// work ingests messages until stop, then those already taken.
func (s *Subscriber) work(ctx context.Context, stop <-chan struct{}) error {
	for {
		select {
		case m := <-s.msgs:
			s.process(ctx, m)
		case <-stop:
			for {
				select {
				case m := <-s.msgs:
					s.process(ctx, m)
				default:
					return nil
				}
			}
		}
	}
}

// process ingests one message, retrying transient failures, and
// acknowledges it unless ctx ends first (Close gave up).
func (s *Subscriber) process(life context.Context, m message) {
	s.messages.Add(1)
	backoff := 100 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(life, s.opts.IngestTimeout)
		device, res, err := ingestMessage(ctx, s.ing, m.pub.Topic, m.pub.Payload)
		cancel()
		if err == nil {
			s.readings.Add(int64(res.Accepted))
			s.duplicates.Add(int64(res.Duplicates))
			break
		}
		if device == "" {
			device = m.pub.Topic
		}
		if rejected(err) {
			s.malformed.Add(1)
			s.limiter.log(s.log, "mqtt: message rejected", device, err)
			break
		}
		s.transient.Add(1)
		s.limiter.log(s.log, "mqtt: message not stored; retrying", device, err)
		select {
		case <-life.Done():
			return // not acknowledged: the broker redelivers it
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
	if err := m.client.Ack(m.pub); err != nil {
		s.log.Warn("mqtt: acknowledgement failed; the broker will redeliver", "err", err)
	}
}

// Close stops taking messages, finishes (and acknowledges) the ones
// already taken, and disconnects. If ctx ends first, messages still being
// ingested are abandoned unacknowledged, for the broker to redeliver, and
// Close returns ctx's error once disconnected. Close before closing the
// ingest writer.
func (s *Subscriber) Close(ctx context.Context) error {
	err := s.life.Close(ctx)
	if ctx.Err() != nil {
		// Abandoned work ends at once; the connection is closed when
		// Close returns, so that the broker redelivers at once.
		<-s.life.Done()
	}
	return err
}

// SubscriberStats is a snapshot of the subscriber's counters, named for
// Prometheus export.
type SubscriberStats struct {
	Connects   int64 // civic_mqtt_subscriber_connects_total (1 + reconnections)
	Messages   int64 // civic_mqtt_messages_total
	Readings   int64 // civic_mqtt_readings_total{result="accepted"}
	Duplicates int64 // civic_mqtt_readings_total{result="duplicate"}
	Malformed  int64 // civic_mqtt_messages_rejected_total: malformed or invalid, acknowledged and dropped
	Transient  int64 // civic_mqtt_ingest_retries_total: failed attempts that were retried
}

// Stats returns the subscriber's counters.
func (s *Subscriber) Stats() SubscriberStats {
	return SubscriberStats{
		Connects:   s.connects.Load(),
		Messages:   s.messages.Load(),
		Readings:   s.readings.Load(),
		Duplicates: s.duplicates.Load(),
		Malformed:  s.malformed.Load(),
		Transient:  s.transient.Load(),
	}
}
