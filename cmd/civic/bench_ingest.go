package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx" for the scratch databases
	"github.com/schollz/progressbar/v3"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/server"
	"github.com/civic-city/civic/internal/store"
)

// runBenchIngest measures HTTP batch ingest end to end (JSON over loopback,
// validation, group commit, acknowledgement after commit) and, in the same
// run, the raw driver limit of the same engine on the same rows.
func runBenchIngest(ctx context.Context, e *env, args []string) error {
	if i := slices.IndexFunc(args, func(a string) bool { return a == "--crash" || a == "-crash" }); i >= 0 {
		return runBenchCrash(ctx, e, slices.Delete(slices.Clone(args), i, i+1))
	}
	fs := newFlagSet("bench ingest")
	dbURL := fs.String("db", "", "PostgreSQL URL of a server to benchmark (a scratch database is created and dropped); default: SQLite in a temporary folder")
	total := fs.Int("readings", 1_000_000, "readings to send")
	batch := fs.Int("batch", 10_000, "readings per request")
	senders := fs.Int("senders", 4, "concurrent HTTP senders")
	devices := fs.Int("devices", 1000, "devices sending")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if *total <= 0 || *batch <= 0 || *batch > civic.MaxBatch || *senders <= 0 || *devices <= 0 {
		return usageErrorf("--readings, --batch (<= %d), --senders and --devices must be positive", civic.MaxBatch)
	}
	engine := "sqlite"
	if *dbURL != "" {
		engine = "postgres"
	}
	fmt.Fprintf(e.stderr, "bench ingest: %s, %d readings in batches of %d from %d devices, %d senders\n", engine, *total, *batch, *devices, *senders)

	bodies, rows := benchBodies(*total, *batch, *devices)

	apiRate, err := benchIngestHTTP(ctx, e, *dbURL, bodies, *total, *devices, *senders)
	if err != nil {
		return err
	}
	rawRate, err := benchIngestRaw(ctx, e, *dbURL, rows, *devices)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "ingest: %.0f readings/s; raw driver limit %.0f readings/s; ratio %.2f\n", apiRate, rawRate, apiRate/rawRate)
	return nil
}

// benchBodies builds the request bodies and the same readings as rows, as a
// fleet of sensors would send them: each device one reading a minute.
func benchBodies(total, batch, devices int) ([][]byte, []civic.Reading) {
	start := time.Now().UTC().Add(-time.Duration(total/devices+1) * time.Minute).Truncate(time.Minute)
	rows := make([]civic.Reading, 0, total)
	var bodies [][]byte
	type wire struct {
		Device  string  `json:"device"`
		Time    string  `json:"time"`
		Fill    float64 `json:"fill"`
		Battery float64 `json:"battery"`
		Temp    float64 `json:"temperature_c"`
	}
	buf := make([]wire, 0, batch)
	flush := func() {
		b, _ := json.Marshal(map[string]any{"readings": buf})
		bodies = append(bodies, b)
		buf = buf[:0]
	}
	for i := range total {
		dev, step := i%devices, i/devices
		t := start.Add(time.Duration(step) * time.Minute)
		fill := float64((step*7+dev)%100) / 100
		bat, temp := 0.9, 18.5
		id := benchDeviceID(dev)
		buf = append(buf, wire{id, t.Format(time.RFC3339), fill, bat, temp})
		rows = append(rows, civic.Reading{Device: id, Bin: benchBinID(dev), Time: t, Fill: &fill, Battery: &bat, TemperatureC: &temp})
		if len(buf) == batch {
			flush()
		}
	}
	if len(buf) > 0 {
		flush()
	}
	return bodies, rows
}

func benchDeviceID(i int) string { return fmt.Sprintf("BS-%05d", i) }
func benchBinID(i int) string    { return fmt.Sprintf("BB-%05d", i) }

// benchStore opens a fresh store: SQLite in a temporary folder, or a scratch
// database on the PostgreSQL server of dbURL. cleanup removes it.
func benchStore(ctx context.Context, dbURL string) (st *store.Store, cleanup func(), err error) {
	if dbURL == "" {
		dir, err := os.MkdirTemp("", "civic-bench-")
		if err != nil {
			return nil, nil, err
		}
		st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "civic.db"), store.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			os.RemoveAll(dir)
			return nil, nil, err
		}
		return st, func() { st.Close(); os.RemoveAll(dir) }, nil
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		return nil, nil, usageErrorf("--db: %v", err)
	}
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		return nil, nil, err
	}
	name := fmt.Sprintf("civic_bench_%d", time.Now().UnixNano())
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return nil, nil, fmt.Errorf("creating scratch database: %w", err)
	}
	u.Path = "/" + name
	st, err = store.Open(ctx, u.String(), store.Options{Logger: slog.New(slog.DiscardHandler)})
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}
	if err != nil {
		drop()
		return nil, nil, err
	}
	return st, func() { st.Close(); drop() }, nil
}

// benchRegistry registers the bins and devices the benchmark sends for.
func benchRegistry(ctx context.Context, st *store.Store, devices int) error {
	bins := make([]civic.Bin, devices)
	for i := range bins {
		bins[i] = civic.Bin{ID: benchBinID(i), Name: "Bench bin " + benchBinID(i), Lat: 39.9 + float64(i%100)*0.001, Lon: -75.2 + float64(i/100)*0.001, Stream: civic.StreamTrash, CapacityL: 240}
		bins[i].Normalize()
	}
	if err := st.ImportBins(ctx, bins); err != nil {
		return err
	}
	for i := range devices {
		d := civic.Device{ID: benchDeviceID(i), BinID: benchBinID(i)}
		d.Normalize()
		if err := st.CreateDevice(ctx, &d); err != nil {
			return err
		}
	}
	return nil
}

func benchIngestHTTP(ctx context.Context, e *env, dbURL string, bodies [][]byte, total, devices, senders int) (float64, error) {
	st, cleanup, err := benchStore(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	if err := benchRegistry(ctx, st, devices); err != nil {
		return 0, err
	}
	quiet := slog.New(slog.DiscardHandler)
	au := auth.New(st, auth.Options{})
	key, _, err := au.CreateAPIKey(ctx, "bench", []civic.Scope{civic.ScopeIngest}, "bench")
	if err != nil {
		return 0, err
	}
	w := ingest.NewWriter(st, st, ingest.WriterOptions{Logger: quiet})
	if err := w.Start(ctx); err != nil {
		return 0, err
	}
	defer w.Close(context.Background())
	srv := server.New(server.Config{}, server.Deps{Store: st, Ingester: w, Auth: au, Logger: quiet})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	endpoint := "http://" + ln.Addr().String() + "/api/v1/readings"

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: senders, DisableCompression: true}}
	bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("HTTP ingest"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	var next atomic.Int64
	var accepted atomic.Int64
	var firstErr error
	var errOnce sync.Once
	var wg sync.WaitGroup
	begin := time.Now()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(bodies) {
					return
				}
				n, err := benchPost(ctx, client, endpoint, key, bodies[i])
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				accepted.Add(int64(n))
				_ = bar.Add(n)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	_ = bar.Finish()
	if firstErr != nil {
		return 0, firstErr
	}
	if got := int(accepted.Load()); got != total {
		return 0, fmt.Errorf("accepted %d readings, want %d", got, total)
	}
	rate := float64(total) / elapsed.Seconds()
	fmt.Fprintf(e.stderr, "HTTP ingest: %d readings in %s: %.0f readings/s (acknowledged after commit)\n", total, elapsed.Round(time.Millisecond), rate)
	return rate, nil
}

func benchPost(ctx context.Context, c *http.Client, endpoint, key string, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusAccepted {
		return 0, fmt.Errorf("POST readings: %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	var res civic.IngestResult
	if err := json.Unmarshal(b, &res); err != nil {
		return 0, fmt.Errorf("POST readings: %w", err)
	}
	if res.Duplicates != 0 {
		return 0, errors.New("POST readings: unexpected duplicates")
	}
	return res.Accepted, nil
}

func benchIngestRaw(ctx context.Context, e *env, dbURL string, rows []civic.Reading, devices int) (float64, error) {
	st, cleanup, err := benchStore(ctx, dbURL)
	if err != nil {
		return 0, err
	}
	defer cleanup()
	if err := benchRegistry(ctx, st, devices); err != nil {
		return 0, err
	}
	const perTx = 100_000
	bar := progressbar.NewOptions(len(rows), progressbar.OptionSetWriter(e.stderr), progressbar.OptionSetDescription("raw driver"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	begin := time.Now()
	for start := 0; start < len(rows); start += perTx {
		end := min(start+perTx, len(rows))
		if err := store.RawInsert(ctx, st.DB(), st.Engine(), rows[start:end], perTx); err != nil {
			return 0, err
		}
		_ = bar.Add(end - start)
	}
	elapsed := time.Since(begin)
	_ = bar.Finish()
	rate := float64(len(rows)) / elapsed.Seconds()
	fmt.Fprintf(e.stderr, "raw driver: %d readings in %s: %.0f readings/s (large transactions, no HTTP)\n", len(rows), elapsed.Round(time.Millisecond), rate)
	return rate, nil
}
