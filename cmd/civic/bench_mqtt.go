package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/schollz/progressbar/v3"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/mqtt"
	"github.com/civic-city/civic/internal/store"
)

// runBenchMQTT measures MQTT ingest end to end: N devices connect to the
// embedded broker on loopback with their own credentials, each publishes
// readings at QoS 1 and waits for every PUBACK, which the broker sends only
// after the commit. At the end the store is checked reading by reading.
func runBenchMQTT(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("bench mqtt")
	dbURL := fs.String("db", "", "PostgreSQL URL of a server to benchmark (a scratch database is created and dropped); default: SQLite in a temporary folder")
	devices := fs.Int("devices", 1000, "connected devices")
	messages := fs.Int("messages", 50, "messages (one reading each) per device")
	inflight := fs.Int("inflight", 1, "messages each device publishes before waiting for a PUBACK")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *devices <= 0 || *messages <= 0 || *inflight <= 0 {
		return usageErrorf("--devices, --messages and --inflight must be positive")
	}
	engine := "sqlite"
	if *dbURL != "" {
		engine = "postgres"
	}
	total := *devices * *messages
	fmt.Fprintf(e.stderr, "bench mqtt: %s, %d devices × %d messages at QoS 1, %d in flight per device\n", engine, *devices, *messages, *inflight)

	st, cleanup, err := benchStore(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer cleanup()
	secrets, err := benchMQTTRegistry(ctx, st, *devices)
	if err != nil {
		return err
	}

	quiet := slog.New(slog.DiscardHandler)
	w := ingest.NewWriter(st, st, ingest.WriterOptions{Logger: quiet})
	w.Start()
	defer w.Close(context.Background())
	b, err := mqtt.NewBroker(w, mqtt.BrokerOptions{
		Addr:         "127.0.0.1:0",
		Authenticate: storeAuthenticator(st),
		Logger:       slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		return err
	}
	if err := b.Start(); err != nil {
		return err
	}
	defer b.Close(context.Background())

	clients, err := benchMQTTConnect(ctx, e, b.Addr(), secrets)
	if err != nil {
		return err
	}
	defer func() {
		for _, c := range clients {
			_ = c.Disconnect(&paho.Disconnect{})
		}
	}()

	// Sensor times: one reading per device per second of the last hours.
	base := time.Now().Add(-time.Duration(*messages+60) * time.Second).Truncate(time.Second)
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("MQTT publish"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	acked := make([][]bool, *devices) // acked[d][m]: message m of device d got a PUBACK with success
	var ackedN, refused atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	begin := time.Now()
	for d, c := range clients {
		acked[d] = make([]bool, *messages)
		topic := ingest.Topic(benchDeviceID(d))
		for lane := range *inflight {
			wg.Go(func() {
				for m := lane; m < *messages; m += *inflight {
					payload := fmt.Appendf(nil, `{"time":%q,"fill":%.2f,"battery":0.9,"temperature_c":%.1f}`,
						base.Add(time.Duration(m)*time.Second).Format(time.RFC3339), float64((d+m)%100)/100, 10+float64(m%50)/10)
					resp, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
					if err != nil {
						errOnce.Do(func() { firstErr = fmt.Errorf("device %s: %w", benchDeviceID(d), err) })
						return
					}
					if resp.ReasonCode >= 0x80 {
						refused.Add(1)
						continue
					}
					acked[d][m] = true
					ackedN.Add(1)
					_ = bar.Add(1)
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(begin)
	_ = bar.Finish()
	if firstErr != nil {
		return firstErr
	}
	rate := float64(ackedN.Load()) / elapsed.Seconds()
	ws, bs := w.Stats(), b.Stats()
	fmt.Fprintf(e.stderr, "published %d, acknowledged %d, refused %d in %s; %d commits (%.1f messages each, at most %d), %.0f ms mean commit\n",
		total, ackedN.Load(), refused.Load(), elapsed.Round(time.Millisecond), ws.Commits,
		float64(ws.Batches)/float64(max(ws.Commits, 1)), ws.MaxBatchesInCommit, ws.CommitSeconds/float64(max(ws.Commits, 1))*1000)
	if bs.Malformed+bs.Transient > 0 {
		fmt.Fprintf(e.stderr, "broker: %d malformed, %d transient failures\n", bs.Malformed, bs.Transient)
	}

	// Check every acknowledged reading is stored, once.
	var lost, dups int
	for d := range *devices {
		rows, err := st.Readings(ctx, civic.ReadingQuery{Device: benchDeviceID(d)})
		if err != nil {
			return err
		}
		seen := make(map[int64]int, len(rows))
		for _, r := range rows {
			seen[r.Time.UnixMilli()]++
		}
		for m, ok := range acked[d] {
			if ok && seen[base.Add(time.Duration(m)*time.Second).UnixMilli()] == 0 {
				lost++
			}
		}
		for _, n := range seen {
			dups += n - 1
		}
	}
	fmt.Fprintf(e.stdout, "mqtt: %.0f readings/s, lost %d, duplicates stored %d\n", rate, lost, dups)
	if lost > 0 || dups > 0 || refused.Load() > 0 {
		return fmt.Errorf("%d acknowledged readings lost, %d stored twice, %d refused", lost, dups, refused.Load())
	}
	return nil
}

// benchMQTTRegistry registers bins and devices with random MQTT secrets,
// stored hashed as civic does for real devices, and returns the secrets.
func benchMQTTRegistry(ctx context.Context, st *store.Store, devices int) ([]string, error) {
	bins := make([]civic.Bin, devices)
	for i := range bins {
		bins[i] = civic.Bin{ID: benchBinID(i), Name: "Bench bin " + benchBinID(i), Lat: 39.9 + float64(i%100)*0.001, Lon: -75.2 + float64(i/100)*0.001, Stream: civic.StreamTrash, CapacityL: 240}
		bins[i].Normalize()
	}
	if err := st.ImportBins(ctx, bins); err != nil {
		return nil, err
	}
	secrets := make([]string, devices)
	for i := range devices {
		var raw [20]byte
		if _, err := rand.Read(raw[:]); err != nil {
			return nil, err
		}
		secrets[i] = base32.StdEncoding.EncodeToString(raw[:])
		d := civic.Device{ID: benchDeviceID(i), BinID: benchBinID(i), FillScale: civic.ScaleFraction, SecretHash: auth.HashSecret(secrets[i])}
		if err := st.CreateDevice(ctx, &d); err != nil {
			return nil, err
		}
	}
	return secrets, nil
}

// storeAuthenticator checks a device's MQTT password against the hash in
// the registry; removed and inactive devices may not connect.
func storeAuthenticator(devices ingest.DeviceSource) func(ctx context.Context, id, password string) error {
	return func(ctx context.Context, id, password string) error {
		d, err := devices.Device(ctx, id)
		if err != nil {
			return err
		}
		if d.Status == civic.StatusRemoved || d.Status == civic.StatusInactive || d.SecretHash == "" ||
			!auth.VerifySecret(d.SecretHash, password) {
			return civic.Errorf(civic.Unauthorized, "bad device credentials")
		}
		return nil
	}
}

// benchMQTTConnect connects one MQTT 5 client per device, 64 at a time.
func benchMQTTConnect(ctx context.Context, e *env, addr string, secrets []string) ([]*paho.Client, error) {
	clients := make([]*paho.Client, len(secrets))
	bar := progressbar.NewOptions(len(secrets), progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("MQTT connect"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	sem := make(chan struct{}, 64)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i, secret := range secrets {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			id := benchDeviceID(i)
			conn, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "tcp", addr)
			if err == nil {
				c := paho.NewClient(paho.ClientConfig{ClientID: id, Conn: newBufferedConn(conn)})
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				_, err = c.Connect(cctx, &paho.Connect{ClientID: id, KeepAlive: 60, CleanStart: true,
					Username: id, UsernameFlag: true, Password: []byte(secret), PasswordFlag: true})
				cancel()
				if err == nil {
					clients[i] = c
					_ = bar.Add(1)
					return
				}
				conn.Close()
			}
			mu.Lock()
			errs = append(errs, fmt.Errorf("device %s: connect: %w", id, err))
			mu.Unlock()
		})
	}
	wg.Wait()
	_ = bar.Finish()
	if len(errs) > 0 {
		for _, c := range clients {
			if c != nil {
				_ = c.Disconnect(&paho.Disconnect{})
			}
		}
		return nil, errors.Join(errs[0], fmt.Errorf("%d of %d devices could not connect", len(errs), len(secrets)))
	}
	return clients, nil
}

// bufferedConn gives paho a buffered reader: paho reads each packet in
// several small reads, each a system call on a bare connection, which on
// a benchmark whose clients share the machine with the server costs more
// than the broker's own work. Embedding the *net.TCPConn keeps writev for
// paho's vectored writes.
type bufferedConn struct {
	*net.TCPConn
	r *bufio.Reader
}

func newBufferedConn(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	return &bufferedConn{TCPConn: tc, r: bufio.NewReaderSize(tc, 512)}
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
