package mqtt_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/mqtt"
)

func startGuardedBroker(t *testing.T, ing civic.Ingester, maxConns int, connectTimeout time.Duration) *mqtt.Broker {
	t.Helper()
	b, err := mqtt.NewBroker(ing, mqtt.BrokerOptions{
		Addr: "127.0.0.1:0",
		Authenticate: func(ctx context.Context, device, password string) error {
			if password != "pw-"+device {
				return civic.Errorf(civic.Unauthorized, "wrong password")
			}
			return nil
		},
		MaxConns: maxConns, ConnectTimeout: connectTimeout,
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
		b.Close(ctx)
	})
	return b
}

// closedWithin reports whether the server closes c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	var b [1]byte
	_, err := c.Read(b[:])
	return err == io.EOF
}

// TestBrokerClosesSilentConnections: a TCP connection that never sends
// CONNECT is closed after ConnectTimeout; a device that did connect is not
// held to it (its keep-alive rules).
func TestBrokerClosesSilentConnections(t *testing.T) {
	st := openStore(t, "D-1")
	b := startGuardedBroker(t, startWriter(t, st), 100, 300*time.Millisecond)
	silent, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	dev := connectV3(t, b.Addr(), "D-1", "pw-D-1")
	start := time.Now()
	if !closedWithin(silent, 3*time.Second) {
		t.Fatal("a connection that never sent CONNECT is still open after 3 s")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("silent connection closed after %v, want about 300 ms", d)
	}
	time.Sleep(400 * time.Millisecond)
	dev.publish(t, 1, ingest.Topic("D-1"), readingJSON(time.Now().Add(-time.Minute).Truncate(time.Millisecond), 40))
	if got := dev.read(t); !bytes.Equal(got, []byte{0x40, 2, 0, 1}) {
		t.Fatalf("a connected device past the CONNECT deadline: PUBACK % x", got)
	}
}

// TestBrokerConnectionCap: beyond MaxConns, new connections wait until a
// slot is free.
func TestBrokerConnectionCap(t *testing.T) {
	st := openStore(t, "D-1", "D-2")
	b := startGuardedBroker(t, startWriter(t, st), 2, 10*time.Second)
	hog, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	connectV3(t, b.Addr(), "D-1", "pw-D-1")
	// The third connection waits in the backlog: no CONNACK while both
	// slots are held.
	third, err := net.Dial("tcp", b.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer third.Close()
	if _, err := third.Write(connectPacket(t, "D-2", "pw-D-2")); err != nil {
		t.Fatal(err)
	}
	third.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	var ack [4]byte
	if n, err := io.ReadFull(third, ack[:]); err == nil {
		t.Fatalf("a connection beyond the cap got % x", ack[:n])
	}
	hog.Close()
	third.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(third, ack[:]); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("after a slot was freed: CONNACK % x, %v", ack, err)
	}
}
