package mqtt

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/connlimit"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/lifecycle"
)

// BrokerOptions configures the embedded broker.
type BrokerOptions struct {
	// Addr is the TCP address to listen on, e.g. ":1883" or "127.0.0.1:0"
	// for a free port (see Broker.Addr). Required.
	Addr string
	// TLS, if set, makes the listener speak MQTT over TLS (port 8883 by
	// convention).
	TLS *tls.Config
	// Authenticate checks a device's password; the device id is the MQTT
	// user name. It returns nil to let the device in. Whoever owns device
	// credentials provides it. Required.
	Authenticate func(ctx context.Context, deviceID, password string) error
	// IngestTimeout bounds how long one message may wait for its commit
	// before the device is disconnected to resend it, give or take a
	// second (the messages of one second share a deadline). Default 30 s.
	IngestTimeout time.Duration
	// MaxPacketBytes is the largest MQTT packet accepted. Default
	// ingest.MaxBatchBytes.
	MaxPacketBytes int
	// Logger receives connection problems and bad messages. Default
	// slog.Default().
	Logger *slog.Logger
	// MaxConns caps the TCP connections open at once, devices or not;
	// further ones wait in the kernel's backlog. Default 10,000.
	MaxConns int
	// ConnectTimeout is how long a new connection has to finish its TLS
	// handshake and send CONNECT before it is closed; after CONNECT the
	// device's keep-alive rules. Default 10 s.
	ConnectTimeout time.Duration
}

// Broker is civic's embedded MQTT broker. Devices publish readings to
// civic/v1/devices/{id}/up as JSON (see ingest.DecodeBatch); each message
// is ingested while the broker holds back its acknowledgement:
//
//   - committed: PUBACK (QoS 1) or PUBREC (QoS 2) as usual;
//   - malformed or invalid (civic.Invalid, civic.TooLarge): MQTT 5 devices
//     get a PUBACK with reason 0x99 "payload format invalid" (0x95 for too
//     large); MQTT 3.1.1 has no negative PUBACK, so the message is
//     acknowledged and dropped (resending it would fail again). Either way
//     it is counted and logged with the device id;
//   - not stored for a transient reason (overload, shutdown, store down,
//     IngestTimeout): no acknowledgement, and the device is disconnected
//     (MQTT 5: DISCONNECT 0x88 "server unavailable") so that it resends the
//     message when it reconnects; redelivery is harmless because readings
//     are idempotent on (device, time).
//
// Mochi calls the publish hook in the connection's own read loop before it
// writes the acknowledgement, so holding the hook until the commit delays
// that device's PUBACK without blocking any other device. A device's
// messages are therefore ingested one after the other; concurrency comes
// from many devices, and the ingest writer commits their messages together.
type Broker struct {
	ing    civic.Ingester
	opts   BrokerOptions
	log    *slog.Logger
	server *mochi.Server
	ln     *listeners.Net // set by Start

	// life runs the shutdown of the server at Close; its context ends
	// once the broker has closed.
	life *lifecycle.Group

	limiter  logLimiter
	sessions sync.Map // *mochi.Client → struct{}: connected devices
	deadline atomic.Pointer[ingestDeadline]

	// drain: at Close, messages arriving are refused (the device resends
	// them to the next broker) and those being ingested finish and are
	// acknowledged before the devices are disconnected.
	drainMu  sync.RWMutex
	draining bool
	inflight sync.WaitGroup

	connected, authFailures, aclDenied atomic.Int64
	messages, readings, duplicates     atomic.Int64
	malformed, transient               atomic.Int64
}

// NewBroker returns a broker that hands readings to ing. It does not listen
// until Start.
func NewBroker(ing civic.Ingester, opts BrokerOptions) (*Broker, error) {
	if ing == nil {
		return nil, errors.New("mqtt: broker needs an ingester")
	}
	if opts.Addr == "" {
		return nil, errors.New("mqtt: broker needs a listen address")
	}
	if opts.Authenticate == nil {
		return nil, errors.New("mqtt: broker needs an Authenticate function")
	}
	if opts.IngestTimeout <= 0 {
		opts.IngestTimeout = 30 * time.Second
	}
	if opts.MaxPacketBytes <= 0 {
		opts.MaxPacketBytes = ingest.MaxBatchBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 10000
	}
	if opts.ConnectTimeout <= 0 {
		opts.ConnectTimeout = 10 * time.Second
	}
	b := &Broker{ing: ing, opts: opts, log: opts.Logger.With("component", "mqtt"), life: lifecycle.New("mqtt broker")}

	caps := mochi.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = uint32(opts.MaxPacketBytes)
	caps.RetainAvailable = 0 // uplinks are not for other clients to read later
	b.server = mochi.New(&mochi.Options{
		Capabilities: caps,
		// Mochi logs every refused or dropped connection at Warn, with
		// whole packets; civic counts and logs those itself.
		Logger:                 slog.New(minLevel{min: slog.LevelError, h: b.log.Handler()}),
		SysTopicResendInterval: 60,
	})
	if err := b.server.AddHook(&hook{b: b}, nil); err != nil {
		return nil, err
	}
	return b, nil
}

// Start listens on the configured address and serves devices in the
// background (see package lifecycle); ctx is not used. It fails if the
// address cannot be bound, or when the broker was started or closed
// before.
func (b *Broker) Start(ctx context.Context) error {
	return b.life.Start(func() error {
		// Registered first: Close shuts the server down even if it does
		// not listen.
		b.life.Go("shutdown", b.shutdown)
		raw, err := net.Listen("tcp", b.opts.Addr)
		if err != nil {
			return err
		}
		// Mochi reads CONNECT without a deadline and replaces this one
		// with the keep-alive's once CONNECT is in.
		var ln net.Listener = connlimit.Wrap(raw, connlimit.Options{Max: b.opts.MaxConns, FirstDeadline: b.opts.ConnectTimeout})
		if b.opts.TLS != nil {
			ln = tls.NewListener(ln, b.opts.TLS)
		}
		b.ln = listeners.NewNet("civic", ln)
		if err := b.server.AddListener(b.ln); err != nil {
			raw.Close()
			return err
		}
		return b.server.Serve()
	})
}

// Addr returns the address the broker listens on, with the real port when
// Addr asked for port 0.
func (b *Broker) Addr() string {
	if b.ln == nil {
		return b.opts.Addr
	}
	return b.ln.Address()
}

// Close stops listening, refuses new messages (devices resend them, to
// the next broker), lets the messages being ingested commit and be
// acknowledged, and disconnects every device. Close before closing the
// ingest writer.
func (b *Broker) Close(ctx context.Context) error { return b.life.Close(ctx) }

// shutdown waits for stop, then closes the server.
func (b *Broker) shutdown(_ context.Context, stop <-chan struct{}) error {
	<-stop
	// Stop listening and disconnect the devices before mochi's Close.
	// Mochi (v2.7.9) lists a listener's clients holding a read lock it
	// takes again inside (Clients.GetByListener calls Len): a device that
	// disconnects at that moment waits for the write lock between the two,
	// and Close deadlocks. Once the listener is closed here, mochi's Close
	// skips that step and waits for the connections to end.
	if b.ln != nil {
		b.ln.Close(func(string) {})
	}
	b.drainMu.Lock()
	b.draining = true
	b.drainMu.Unlock()
	drained := make(chan struct{})
	go func() { b.inflight.Wait(); close(drained) }()
	select {
	case <-drained:
		// Mochi writes a message's PUBACK right after the hook returns,
		// in the same goroutine: give those writes a moment.
		time.Sleep(50 * time.Millisecond)
	case <-time.After(b.opts.IngestTimeout):
	}
	for _, cl := range b.server.Clients.GetAll() {
		if !cl.Closed() {
			_ = b.server.DisconnectClient(cl, packets.ErrServerShuttingDown)
		}
	}
	return b.server.Close()
}

// BrokerStats is a snapshot of the broker's counters, named for Prometheus
// export.
type BrokerStats struct {
	Connected    int64 // civic_mqtt_connected_devices (a gauge)
	AuthFailures int64 // civic_mqtt_auth_failures_total
	ACLDenied    int64 // civic_mqtt_acl_denied_total: publishes or subscriptions outside the device's topics
	Messages     int64 // civic_mqtt_messages_total: messages on uplink topics
	Readings     int64 // civic_mqtt_readings_total{result="accepted"}
	Duplicates   int64 // civic_mqtt_readings_total{result="duplicate"}
	Malformed    int64 // civic_mqtt_messages_rejected_total: malformed or invalid, dropped
	Transient    int64 // civic_mqtt_messages_retried_total: not stored; device disconnected to resend
}

// Stats returns the broker's counters.
func (b *Broker) Stats() BrokerStats {
	return BrokerStats{
		Connected:    b.connected.Load(),
		AuthFailures: b.authFailures.Load(),
		ACLDenied:    b.aclDenied.Load(),
		Messages:     b.messages.Load(),
		Readings:     b.readings.Load(),
		Duplicates:   b.duplicates.Load(),
		Malformed:    b.malformed.Load(),
		Transient:    b.transient.Load(),
	}
}

// ingestDeadline is the context shared by the messages that start
// ingesting within one second of start: one timer a second instead of one
// per message. Its deadline is IngestTimeout plus a second after start;
// the timer or the broker's closing cancels it.
type ingestDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
	start  time.Time
}

// ingestContext returns the context for a message that starts ingesting
// now: it ends when the broker closes, or IngestTimeout to IngestTimeout
// plus a second from now.
func (b *Broker) ingestContext(now time.Time) context.Context {
	for {
		d := b.deadline.Load()
		if d != nil && now.Sub(d.start) < time.Second {
			return d.ctx
		}
		ctx, cancel := context.WithDeadline(b.life.Context(), now.Add(b.opts.IngestTimeout+time.Second))
		if b.deadline.CompareAndSwap(d, &ingestDeadline{ctx: ctx, cancel: cancel, start: now}) {
			return ctx
		}
		cancel() // another message made one first
	}
}

// hook is the broker's mochi hook: authentication, ACL and ingest.
type hook struct {
	mochi.HookBase
	b *Broker
}

func (h *hook) ID() string { return "civic" }

// Provides is asked for every hook event of every packet.
func (h *hook) Provides(x byte) bool {
	switch x {
	case mochi.OnConnectAuthenticate, mochi.OnACLCheck, mochi.OnPublish,
		mochi.OnSessionEstablished, mochi.OnDisconnect:
		return true
	}
	return false
}

// ignore tells mochi to acknowledge a message without retaining it or
// forwarding it to subscribers; boxed once rather than per message.
var ignore error = packets.CodeSuccessIgnore

// uplinkPrefix and uplinkSuffix surround the device id in an uplink topic
// (ingest.Topic).
var uplinkPrefix, uplinkSuffix, _ = strings.Cut(ingest.TopicFilter, "+")

// isUplinkOf reports whether topic is ingest.Topic(device), without
// building that string for every message.
func isUplinkOf(topic, device string) bool {
	return len(topic) == len(uplinkPrefix)+len(device)+len(uplinkSuffix) &&
		strings.HasPrefix(topic, uplinkPrefix) && strings.HasSuffix(topic, uplinkSuffix) &&
		topic[len(uplinkPrefix):len(topic)-len(uplinkSuffix)] == device
}

// OnConnectAuthenticate lets a device in when its user name is a valid
// device id, Authenticate accepts its password, and its client id is not
// the session of another device.
func (h *hook) OnConnectAuthenticate(cl *mochi.Client, pk packets.Packet) bool {
	device := string(pk.Connect.Username)
	if civic.ValidateID("device", device) != nil {
		h.b.authFailures.Add(1)
		return false
	}
	ctx, cancel := context.WithTimeout(h.b.life.Context(), 10*time.Second)
	defer cancel()
	if err := h.b.opts.Authenticate(ctx, device, string(pk.Connect.Password)); err != nil {
		h.b.authFailures.Add(1)
		h.b.limiter.log(h.b.log, "mqtt: device refused", device, err)
		return false
	}
	// A client id names a session; taking over another device's session
	// would disconnect that device and inherit its state.
	if old, ok := h.b.server.Clients.Get(cl.ID); ok && old != cl && string(old.Properties.Username) != device {
		h.b.authFailures.Add(1)
		h.b.limiter.log(h.b.log, "mqtt: device refused", device, errors.New("client id "+cl.ID+" is another device's session"))
		return false
	}
	return true
}

func (h *hook) OnSessionEstablished(cl *mochi.Client, pk packets.Packet) {
	if _, loaded := h.b.sessions.LoadOrStore(cl, struct{}{}); !loaded {
		h.b.connected.Add(1)
	}
}

// OnDisconnect counts only established connections: a refused CONNECT
// never reached OnSessionEstablished.
func (h *hook) OnDisconnect(cl *mochi.Client, err error, expire bool) {
	if _, ok := h.b.sessions.LoadAndDelete(cl); ok {
		h.b.connected.Add(-1)
	}
}

// OnACLCheck lets a device publish only to its own uplink topic and
// subscribe only under its own topic tree (for downlinks).
func (h *hook) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	device := string(cl.Properties.Username)
	var ok bool
	if write {
		ok = isUplinkOf(topic, device)
	} else {
		ok = strings.HasPrefix(topic, "civic/v1/devices/"+device+"/")
	}
	if !ok {
		h.b.aclDenied.Add(1)
	}
	return ok
}

// OnPublish ingests the message before mochi acknowledges it.
func (h *hook) OnPublish(cl *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	b := h.b
	b.drainMu.RLock()
	if b.draining {
		b.drainMu.RUnlock()
		// Not stored and not acknowledged: the device sends it again.
		cl.Stop(packets.ErrServerShuttingDown)
		return pk, packets.ErrRejectPacket
	}
	b.inflight.Add(1)
	b.drainMu.RUnlock()
	defer b.inflight.Done()
	b.messages.Add(1)
	// The device id was validated at connection, and OnACLCheck let the
	// message in on the device's own uplink topic only, so the topic needs
	// no parsing; checking it again costs little.
	device := string(cl.Properties.Username)
	var res civic.IngestResult
	var err error
	if isUplinkOf(pk.TopicName, device) {
		res, err = ingestPayload(b.ingestContext(time.Now()), b.ing, device, pk.Payload)
	} else {
		err = civic.FieldError("topic", "must be %s", ingest.Topic(device))
	}
	v5 := cl.Properties.ProtocolVersion == 5
	switch {
	case err == nil:
		b.readings.Add(int64(res.Accepted))
		b.duplicates.Add(int64(res.Duplicates))
		// Ignore: acknowledge, but do not retain or forward to subscribers.
		return pk, ignore
	case rejected(err):
		b.malformed.Add(1)
		b.limiter.log(b.log, "mqtt: message rejected", device, err)
		if v5 && pk.FixedHeader.Qos > 0 {
			code := packets.ErrPayloadFormatInvalid
			if civic.IsKind(err, civic.TooLarge) {
				code = packets.ErrPacketTooLarge
			}
			// Written here rather than by returning the code to mochi,
			// which would log the message a second time.
			_ = cl.WritePacket(negativeAck(pk, code))
			return pk, packets.ErrRejectPacket
		}
		return pk, ignore
	default:
		b.transient.Add(1)
		b.limiter.log(b.log, "mqtt: message not stored; disconnecting the device to resend", device, err)
		if pk.FixedHeader.Qos > 0 {
			if v5 {
				_ = b.server.DisconnectClient(cl, packets.ErrServerUnavailable)
			} else {
				cl.Stop(packets.ErrServerUnavailable) // MQTT 3.1.1 servers send no DISCONNECT
			}
		}
		return pk, packets.ErrRejectPacket
	}
}

// negativeAck is the MQTT 5 PUBACK (QoS 1) or PUBREC (QoS 2) refusing pk
// with code, which ends the exchange for that packet id.
func negativeAck(pk packets.Packet, code packets.Code) packets.Packet {
	t := packets.Puback
	if pk.FixedHeader.Qos == 2 {
		t = packets.Pubrec
	}
	return packets.Packet{
		FixedHeader: packets.FixedHeader{Type: t},
		PacketID:    pk.PacketID,
		ReasonCode:  code.Code,
		Properties:  packets.Properties{ReasonString: code.Reason},
	}
}
