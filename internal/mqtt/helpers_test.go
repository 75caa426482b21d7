package mqtt_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/store"
)

// openStore opens a fresh SQLite store with one bin and the given devices
// (percent fill scale).
func openStore(t testing.TB, devices ...string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "civic.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.CreateBin(ctx, &civic.Bin{ID: "B-1", Name: "Bin", Lat: 40.7, Lon: -74, CapacityL: 240}); err != nil {
		t.Fatal(err)
	}
	for _, id := range devices {
		if err := st.CreateDevice(ctx, &civic.Device{ID: id, BinID: "B-1", FillScale: civic.ScalePercent}); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

// startWriter starts an ingest writer on st, closed when the test ends
// (after anything registered later, such as brokers).
func startWriter(t testing.TB, st *store.Store) *ingest.Writer {
	t.Helper()
	w := ingest.NewWriter(st, st, ingest.WriterOptions{})
	if err := w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := w.Close(ctx); err != nil {
			t.Errorf("writer Close: %v", err)
		}
	})
	return w
}

// count returns how many readings device has in st.
func count(t testing.TB, st *store.Store, device string) int {
	t.Helper()
	rs, err := st.Readings(context.Background(), civic.ReadingQuery{Device: device})
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

// readingJSON is one reading as a device sends it, without "device".
func readingJSON(at time.Time, fill float64) []byte {
	return fmt.Appendf(nil, `{"time":%q,"fill":%g}`, at.UTC().Format(time.RFC3339Nano), fill)
}

// connectV5 connects an MQTT 5 client to addr.
func connectV5(t testing.TB, addr, clientID, user, password string) (*paho.Client, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	c := paho.NewClient(paho.ClientConfig{ClientID: clientID, Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cp := &paho.Connect{ClientID: clientID, KeepAlive: 30, CleanStart: true}
	if user != "" {
		cp.Username, cp.UsernameFlag = user, true
		cp.Password, cp.PasswordFlag = []byte(password), true
	}
	if _, err := c.Connect(ctx, cp); err != nil {
		conn.Close()
		return nil, err
	}
	t.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c, nil
}
