package mqtt_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/mqtt"
)

// startBroker starts an embedded broker on a free loopback port in front
// of ing; device D's password is "pw-D".
func startBroker(t testing.TB, ing civic.Ingester) *mqtt.Broker {
	t.Helper()
	b, err := mqtt.NewBroker(ing, mqtt.BrokerOptions{
		Addr: "127.0.0.1:0",
		Authenticate: func(ctx context.Context, device, password string) error {
			if password != "pw-"+device {
				return civic.Errorf(civic.Unauthorized, "wrong password")
			}
			return nil
		},
		IngestTimeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.Close(ctx); err != nil {
			t.Errorf("broker Close: %v", err)
		}
	})
	return b
}

func TestBrokerV5(t *testing.T) {
	st := openStore(t, "D-1", "D-2")
	w := startWriter(t, st)
	b := startBroker(t, w)
	c, err := connectV5(t, b.Addr(), "c1", "D-1", "pw-D-1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	publish := func(topic string, payload []byte) byte {
		t.Helper()
		resp, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
		if resp == nil {
			t.Fatalf("publish: %v", err)
		}
		return resp.ReasonCode
	}

	// The PUBACK comes after the commit: the reading is there when it does.
	if rc := publish(ingest.Topic("D-1"), readingJSON(t0, 40)); rc != 0 {
		t.Fatalf("publish reason 0x%02x", rc)
	}
	rs, err := st.Readings(ctx, civic.ReadingQuery{Device: "D-1"})
	if err != nil || len(rs) != 1 || *rs[0].Fill != 0.4 || rs[0].Bin != "B-1" || !rs[0].Time.Equal(t0) {
		t.Fatalf("after PUBACK the store holds %+v (%v)", rs, err)
	}
	// A batch, in any of the accepted shapes, with or without "device".
	batch := fmt.Appendf(nil, `{"readings":[%s,{"device":"D-1","time":%q,"fill":50}]}`,
		readingJSON(t0.Add(time.Second), 45), t0.Add(2*time.Second).Format(time.RFC3339))
	if rc := publish(ingest.Topic("D-1"), batch); rc != 0 {
		t.Fatalf("batch publish reason 0x%02x", rc)
	}
	if n := count(t, st, "D-1"); n != 3 {
		t.Fatalf("stored %d readings, want 3", n)
	}
	// A resent message is acknowledged and stored once.
	if rc := publish(ingest.Topic("D-1"), readingJSON(t0, 40)); rc != 0 {
		t.Fatalf("resend reason 0x%02x", rc)
	}

	tests := []struct {
		name    string
		topic   string
		payload []byte
		reason  byte
	}{
		{"another device's topic", ingest.Topic("D-2"), readingJSON(t0, 1), 0x87},
		{"a topic outside civic", "city/secrets", readingJSON(t0, 1), 0x87},
		{"malformed JSON", ingest.Topic("D-1"), []byte(`{"fill":`), 0x99},
		{"unknown field", ingest.Topic("D-1"), []byte(`{"time":"2026-01-01T00:00:00Z","colour":"red"}`), 0x99},
		{"another device's reading", ingest.Topic("D-1"), fmt.Appendf(nil, `{"device":"D-2","time":%q,"fill":1}`, t0.Format(time.RFC3339)), 0x99},
		{"fill out of range", ingest.Topic("D-1"), readingJSON(t0.Add(time.Minute), 500), 0x99},
	}
	for _, tt := range tests {
		if rc := publish(tt.topic, tt.payload); rc != tt.reason {
			t.Errorf("%s: reason 0x%02x, want 0x%02x", tt.name, rc, tt.reason)
		}
	}
	// The connection survives bad messages.
	if rc := publish(ingest.Topic("D-1"), readingJSON(t0.Add(3*time.Second), 60)); rc != 0 {
		t.Fatalf("publish after bad messages: reason 0x%02x", rc)
	}
	if n := count(t, st, "D-1"); n != 4 {
		t.Errorf("stored %d readings, want 4", n)
	}
	if n := count(t, st, "D-2"); n != 0 {
		t.Errorf("D-1 stored %d readings for D-2", n)
	}

	// Subscriptions: only under the device's own tree.
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{
		{Topic: "civic/v1/devices/D-1/down", QoS: 1},
		{Topic: "civic/v1/devices/D-2/up", QoS: 1},
		{Topic: "civic/v1/devices/+/up", QoS: 1},
		{Topic: "#", QoS: 1},
	}})
	if sa == nil {
		t.Fatalf("subscribe: %v", err)
	}
	if len(sa.Reasons) != 4 || sa.Reasons[0] >= 0x80 || sa.Reasons[1] < 0x80 || sa.Reasons[2] < 0x80 || sa.Reasons[3] < 0x80 {
		t.Errorf("suback reasons % x, want only the first granted", sa.Reasons)
	}

	s := b.Stats()
	if s.Connected != 1 || s.Readings != 4 || s.Duplicates != 1 || s.Malformed != 4 || s.ACLDenied < 5 || s.Transient != 0 {
		t.Errorf("stats = %+v", s)
	}
}

func TestBrokerAuth(t *testing.T) {
	st := openStore(t, "D-1", "D-2")
	b := startBroker(t, startWriter(t, st))
	for _, tt := range []struct{ user, password string }{
		{"D-1", "wrong"},
		{"D-9", "pw-D-1"},
		{"", ""},
		{"bad id!", "pw-bad id!"},
	} {
		if _, err := connectV5(t, b.Addr(), "c-"+tt.user, tt.user, tt.password); err == nil {
			t.Errorf("user %q password %q: connected", tt.user, tt.password)
		}
	}
	if _, err := connectV5(t, b.Addr(), "ok", "D-1", "pw-D-1"); err != nil {
		t.Errorf("good credentials: %v", err)
	}
	// D-2 may not take over D-1's session by using its client id; D-1
	// itself may reconnect with it.
	if _, err := connectV5(t, b.Addr(), "ok", "D-2", "pw-D-2"); err == nil {
		t.Error("D-2 took over D-1's client id")
	}
	if _, err := connectV5(t, b.Addr(), "ok", "D-1", "pw-D-1"); err != nil {
		t.Errorf("D-1 reconnecting with its client id: %v", err)
	}
	if s := b.Stats(); s.AuthFailures != 5 {
		t.Errorf("auth failures = %d, want 5", s.AuthFailures)
	}
}

// v3Client is a minimal MQTT 3.1.1 client, enough to check what the broker
// does for devices that do not speak MQTT 5 (paho.golang only does 5).
type v3Client struct {
	conn net.Conn
	r    *bufio.Reader
}

func connectV3(t testing.TB, addr, user, password string) *v3Client {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &v3Client{conn: conn, r: bufio.NewReader(conn)}
	c.write(t, connectPacket(t, user, password))
	if got := c.read(t); len(got) != 4 || got[0] != 0x20 || got[3] != 0 {
		t.Fatalf("CONNACK % x", got)
	}
	return c
}

// connectPacket is an MQTT 3.1.1 CONNECT of device user.
func connectPacket(t testing.TB, user, password string) []byte {
	t.Helper()
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: 4,
		Connect: packets.ConnectParams{
			ProtocolName: []byte("MQTT"), Clean: true, Keepalive: 30, ClientIdentifier: "v3-" + user,
			UsernameFlag: true, Username: []byte(user), PasswordFlag: true, Password: []byte(password),
		},
	}
	var buf bytes.Buffer
	if err := pk.ConnectEncode(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (c *v3Client) write(t testing.TB, b []byte) {
	t.Helper()
	c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.conn.Write(b); err != nil {
		t.Fatal(err)
	}
}

// read returns the next packet, header included; nil on EOF.
func (c *v3Client) read(t testing.TB) []byte {
	t.Helper()
	c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	h, err := c.r.ReadByte()
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	n, mult := 0, 1
	lenBytes := []byte{}
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			t.Fatal(err)
		}
		lenBytes = append(lenBytes, b)
		n += int(b&127) * mult
		mult *= 128
		if b&128 == 0 {
			break
		}
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		t.Fatal(err)
	}
	return append(append([]byte{h}, lenBytes...), body...)
}

func (c *v3Client) publish(t testing.TB, id uint16, topic string, payload []byte) {
	t.Helper()
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Publish, Qos: 1},
		ProtocolVersion: 4, TopicName: topic, PacketID: id, Payload: payload,
	}
	var buf bytes.Buffer
	if err := pk.PublishEncode(&buf); err != nil {
		t.Fatal(err)
	}
	c.write(t, buf.Bytes())
}

func TestBrokerV311(t *testing.T) {
	st := openStore(t, "D-1", "D-2")
	b := startBroker(t, startWriter(t, st))
	c := connectV3(t, b.Addr(), "D-1", "pw-D-1")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)

	c.publish(t, 1, ingest.Topic("D-1"), readingJSON(t0, 30))
	if got := c.read(t); !bytes.Equal(got, []byte{0x40, 2, 0, 1}) {
		t.Fatalf("PUBACK % x", got)
	}
	if n := count(t, st, "D-1"); n != 1 {
		t.Fatalf("after PUBACK the store holds %d readings", n)
	}
	// MQTT 3.1.1 has no negative PUBACK: a malformed message is
	// acknowledged, dropped and counted.
	c.publish(t, 2, ingest.Topic("D-1"), []byte(`not json`))
	if got := c.read(t); !bytes.Equal(got, []byte{0x40, 2, 0, 2}) {
		t.Fatalf("PUBACK of malformed % x", got)
	}
	if s := b.Stats(); s.Malformed != 1 || s.Readings != 1 {
		t.Errorf("stats = %+v", s)
	}
	// Publishing as another device ends the connection (3.1.1 has no
	// other way to refuse); mochi sends a bare DISCONNECT first.
	c.publish(t, 3, ingest.Topic("D-2"), readingJSON(t0, 30))
	got := c.read(t)
	if got != nil && bytes.Equal(got, []byte{0xe0, 0}) {
		got = c.read(t)
	}
	if got != nil {
		t.Fatalf("after an ACL violation got % x, want the connection closed", got)
	}
	if n := count(t, st, "D-2"); n != 0 {
		t.Errorf("stored %d readings for D-2", n)
	}
}

// flakyIngester fails with Unavailable while down is set, standing in for
// an overloaded or unreachable store.
type flakyIngester struct {
	civic.Ingester
	mu   sync.Mutex
	down bool
}

func (f *flakyIngester) Ingest(ctx context.Context, rs []civic.Reading) (civic.IngestResult, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		return civic.IngestResult{}, civic.Errorf(civic.Unavailable, "store is down")
	}
	return f.Ingester.Ingest(ctx, rs)
}

// TestBrokerTransientFailure checks that a message that could not be stored
// is not acknowledged: the device is disconnected to resend it.
func TestBrokerTransientFailure(t *testing.T) {
	st := openStore(t, "D-1")
	ing := &flakyIngester{Ingester: startWriter(t, st), down: true}
	b := startBroker(t, ing)
	t0 := time.Now().Add(-time.Hour)

	var got *paho.Disconnect
	gotc := make(chan struct{})
	conn, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: "d1", Conn: conn, OnServerDisconnect: func(d *paho.Disconnect) { got = d; close(gotc) }})
	if _, err := c.Connect(context.Background(), &paho.Connect{ClientID: "d1", KeepAlive: 30, CleanStart: true,
		Username: "D-1", UsernameFlag: true, Password: []byte("pw-D-1"), PasswordFlag: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if resp, err := c.Publish(ctx, &paho.Publish{Topic: ingest.Topic("D-1"), QoS: 1, Payload: readingJSON(t0, 10)}); err == nil {
		t.Fatalf("publish acknowledged (%+v) although nothing was stored", resp)
	}
	select {
	case <-gotc:
		if got.ReasonCode != 0x88 {
			t.Errorf("DISCONNECT reason 0x%02x, want 0x88", got.ReasonCode)
		}
	case <-time.After(5 * time.Second):
		t.Error("no DISCONNECT")
	}
	if s := b.Stats(); s.Transient != 1 || s.Readings != 0 {
		t.Errorf("stats = %+v", s)
	}

	// Once the store is back, the resent message is stored.
	ing.mu.Lock()
	ing.down = false
	ing.mu.Unlock()
	c2, err := connectV5(t, b.Addr(), "d1", "D-1", "pw-D-1")
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if resp, err := c2.Publish(ctx2, &paho.Publish{Topic: ingest.Topic("D-1"), QoS: 1, Payload: readingJSON(t0, 10)}); err != nil || resp.ReasonCode != 0 {
		t.Fatalf("resend: %+v, %v", resp, err)
	}
	if n := count(t, st, "D-1"); n != 1 {
		t.Errorf("stored %d readings, want 1", n)
	}
}

// TestBrokerManyDevices checks concurrent devices: every acknowledged
// reading is stored.
func TestBrokerManyDevices(t *testing.T) {
	const devices, messages = 40, 25
	ids := make([]string, devices)
	for i := range ids {
		ids[i] = fmt.Sprintf("M-%03d", i)
	}
	st := openStore(t, ids...)
	w := startWriter(t, st)
	b := startBroker(t, w)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var wg sync.WaitGroup
	for _, id := range ids {
		c, err := connectV5(t, b.Addr(), "c-"+id, id, "pw-"+id)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			for m := range messages {
				resp, err := c.Publish(context.Background(), &paho.Publish{Topic: ingest.Topic(id), QoS: 1, Payload: readingJSON(t0.Add(time.Duration(m)*time.Second), 20)})
				if err != nil || resp.ReasonCode != 0 {
					t.Errorf("%s: publish %d: %+v, %v", id, m, resp, err)
					return
				}
			}
		})
	}
	wg.Wait()
	for _, id := range ids {
		if n := count(t, st, id); n != messages {
			t.Errorf("%s: stored %d readings, want %d", id, n, messages)
		}
	}
	ws := w.Stats()
	t.Logf("%d messages in %d commits (at most %d in one)", ws.Batches, ws.Commits, ws.MaxBatchesInCommit)
	if s := b.Stats(); s.Connected != devices || s.Readings != devices*messages {
		t.Errorf("stats = %+v", s)
	}
}
