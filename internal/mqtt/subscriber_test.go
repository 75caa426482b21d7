package mqtt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/mqtt"
)

// The subscriber tests run against a real broker: Mosquitto on
// 127.0.0.1:1883, or CIVIC_TEST_MQTT (host:port or mqtt:// URL). They fail,
// never skip, when it does not answer.
func brokerURL() string {
	a := os.Getenv("CIVIC_TEST_MQTT")
	if a == "" {
		a = "127.0.0.1:1883"
	}
	if u, err := url.Parse(a); err == nil && u.Scheme != "" && u.Host != "" {
		return a
	}
	return "mqtt://" + a
}

// unique returns a random suffix so that concurrent test runs on the
// shared broker neither see nor steal each other's messages.
func unique() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func startSubscriber(t testing.TB, ing civic.Ingester, group, clientID string) *mqtt.Subscriber {
	t.Helper()
	s, err := mqtt.NewSubscriber(ing, mqtt.SubscriberOptions{URL: brokerURL(), Group: group, ClientID: clientID, Workers: 32})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.AwaitConnection(ctx); err != nil {
		s.Close(context.Background())
		t.Fatalf("no connection to the MQTT broker at %s (set CIVIC_TEST_MQTT): %v", brokerURL(), err)
	}
	return s
}

func closeSubscriber(t testing.TB, s *mqtt.Subscriber) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Errorf("subscriber Close: %v", err)
	}
}

// publisher connects a plain MQTT 5 client to the external broker.
func publisher(t testing.TB) *paho.Client {
	t.Helper()
	u, _ := url.Parse(brokerURL())
	c, err := connectV5(t, u.Host, "civic-test-pub-"+unique(), "", "")
	if err != nil {
		t.Fatalf("no connection to the MQTT broker at %s (set CIVIC_TEST_MQTT): %v", u.Host, err)
	}
	return c
}

// waitFor polls cond for up to 20 s.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSubscriber(t *testing.T) {
	run := unique()
	ids := make([]string, 5)
	for i := range ids {
		ids[i] = fmt.Sprintf("S-%s-%d", run, i)
	}
	st := openStore(t, ids...)
	w := startWriter(t, st)
	s := startSubscriber(t, w, "civictest"+run, "civic-test-sub-"+run)
	defer closeSubscriber(t, s)
	pub := publisher(t)

	const perDevice = 40
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, id := range ids {
		wg.Go(func() {
			for m := range perDevice {
				if _, err := pub.Publish(ctx, &paho.Publish{Topic: ingest.Topic(id), QoS: 1, Payload: readingJSON(t0.Add(time.Duration(m)*time.Second), 10)}); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	// Bad messages are dropped without holding up the good ones after them.
	bad := [][2]string{
		{ingest.Topic(ids[0]), `{"fill":`},
		{ingest.Topic("S-" + run + "-unknown"), string(readingJSON(t0, 1))},
	}
	for _, b := range bad {
		if _, err := pub.Publish(ctx, &paho.Publish{Topic: b[0], QoS: 1, Payload: []byte(b[1])}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := pub.Publish(ctx, &paho.Publish{Topic: ingest.Topic(ids[0]), QoS: 1, Payload: readingJSON(t0.Add(time.Hour/2), 10)}); err != nil {
		t.Fatal(err)
	}

	want := len(ids)*perDevice + 1
	waitFor(t, "all readings", func() bool { return s.Stats().Readings >= int64(want) && s.Stats().Malformed >= 2 })
	total := 0
	for _, id := range ids {
		total += count(t, st, id)
	}
	if total != want {
		t.Errorf("stored %d readings, want %d", total, want)
	}
	if st := s.Stats(); st.Malformed != 2 || st.Readings != int64(want) || st.Connects != 1 {
		t.Errorf("stats = %+v", st)
	}
}

// TestSubscriberRedelivery checks that a message the subscriber could not
// store is not acknowledged: after the subscriber goes away, the broker
// delivers it again when the same session returns, and then it is stored.
func TestSubscriberRedelivery(t *testing.T) {
	run := unique()
	id := "R-" + run
	st := openStore(t, id)
	w := startWriter(t, st)
	group, client := "civictest"+run, "civic-test-sub-"+run

	down := &flakyIngester{Ingester: w, down: true}
	s1 := startSubscriber(t, down, group, client)
	pub := publisher(t)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	const n = 10
	for m := range n {
		if _, err := pub.Publish(context.Background(), &paho.Publish{Topic: ingest.Topic(id), QoS: 1, Payload: readingJSON(t0.Add(time.Duration(m)*time.Second), 10)}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a failed attempt", func() bool { return s1.Stats().Transient > 0 })
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	s1.Close(ctx) // gives up on the messages in hand: they stay unacknowledged
	cancel()
	if c := count(t, st, id); c != 0 {
		t.Fatalf("stored %d readings while the ingester was down", c)
	}

	s2 := startSubscriber(t, w, group, client)
	defer closeSubscriber(t, s2)
	waitFor(t, "redelivered readings", func() bool { return count(t, st, id) == n })
}
