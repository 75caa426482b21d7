package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
	"github.com/civic-city/civic/internal/store"
	"github.com/civic-city/civic/internal/web"
)

// runBenchMap measures the live map's data endpoint: a generated city of
// --bins bins with state in a fresh SQLite store, the dashboard served on
// loopback, and --concurrency clients fetching /map/bins.json until
// --requests are done or --duration passes, while --live readings a second
// are published to the dashboard as the ingest commit hook would. Server
// time is the handler's time per request, response written.
func runBenchMap(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bench map", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bins := fs.Int("bins", 10000, "bins in the generated city")
	requests := fs.Int("requests", 5000, "requests to make in all")
	conc := fs.Int("concurrency", 8, "clients fetching at once")
	limit := fs.Duration("duration", 30*time.Second, "stop after this long even if requests remain")
	live := fs.Int("live", 1000, "readings a second published while measuring (0: none)")
	useGzip := fs.Bool("gzip", true, "ask for gzip, as browsers do")
	seed := fs.Uint64("seed", 1, "city seed")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *bins < 1 || *requests < 1 || *conc < 1 || *limit <= 0 || *live < 0 {
		return usageErrorf("--bins, --requests, --concurrency and --duration must be positive")
	}

	dir, err := os.MkdirTemp("", "civic-bench-map-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	quiet := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, "sqlite:"+filepath.Join(dir, "civic.db"), store.Options{Logger: quiet})
	if err != nil {
		return err
	}
	defer st.Close()

	start := time.Now()
	city := sim.GenerateCity(sim.CityParams{Bins: *bins, Seed: *seed})
	for i := range city.Zones {
		if err := st.CreateZone(ctx, &city.Zones[i]); err != nil {
			return fmt.Errorf("zone %s: %w", city.Zones[i].ID, err)
		}
	}
	if err := st.ImportBins(ctx, city.Bins); err != nil {
		return fmt.Errorf("import bins: %w", err)
	}
	rng := rand.New(rand.NewPCG(*seed, 2))
	now := time.Now().UTC().Truncate(time.Second)
	readings := make([]civic.Reading, len(city.Bins))
	for i, b := range city.Bins {
		fill, batt, rssi := rng.Float64(), 0.2+0.8*rng.Float64(), -70-40*rng.Float64()
		readings[i] = civic.Reading{Device: city.Devices[i].ID, Bin: b.ID, Time: now.Add(-time.Duration(rng.IntN(3600)) * time.Second),
			Fill: &fill, Battery: &batt, RSSI: &rssi}
	}
	if _, err := st.WriteReadings(ctx, [][]civic.Reading{readings}); err != nil {
		return fmt.Errorf("write readings: %w", err)
	}
	fmt.Fprintf(e.stdout, "city: %d bins, %d zones, states written in %v\n", len(city.Bins), len(city.Zones), time.Since(start).Round(time.Millisecond))

	ui := web.New(web.Config{}, web.Deps{Store: st, Logger: quiet})
	defer ui.Close(ctx)
	var mu sync.Mutex
	serverTimes := make([]time.Duration, 0, *requests)
	reader := civic.Principal{UserID: "bench", Name: "bench", Role: civic.RoleAnalyst}
	pages := ui.Handler()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t0 := time.Now()
		pages.ServeHTTP(w, r.WithContext(civic.WithPrincipal(r.Context(), reader)))
		d := time.Since(t0)
		if r.URL.Path == "/map/bins.json" && r.Header.Get("X-Bench") != "" {
			mu.Lock()
			serverTimes = append(serverTimes, d)
			mu.Unlock()
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/map/bins.json"

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *conc, DisableCompression: true}, Timeout: 10 * time.Second}
	fetch := func(ctx context.Context, bench bool) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if *useGzip {
			req.Header.Set("Accept-Encoding", "gzip")
		}
		if bench {
			req.Header.Set("X-Bench", "1")
		}
		res, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		defer res.Body.Close()
		n, err := io.Copy(io.Discard, res.Body)
		if err == nil && res.StatusCode != http.StatusOK {
			err = fmt.Errorf("status %d", res.StatusCode)
		}
		return int(n), err
	}
	// The first request loads the bins from the store into the snapshot.
	t0 := time.Now()
	size, err := fetch(ctx, false)
	if err != nil {
		return fmt.Errorf("first request: %w", err)
	}
	fmt.Fprintf(e.stdout, "snapshot: loaded in %v, %d bytes per response (gzip %v)\n", time.Since(t0).Round(time.Millisecond), size, *useGzip)

	runCtx, cancel := context.WithTimeout(ctx, *limit)
	defer cancel()
	var published atomic.Int64
	var pubWG sync.WaitGroup
	if *live > 0 {
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			prng := rand.New(rand.NewPCG(*seed, 3))
			per := max(1, *live/10)
			for t := now; ; {
				select {
				case <-runCtx.Done():
					return
				case <-tick.C:
				}
				batch := make([]civic.Reading, per)
				for i := range batch {
					k := prng.IntN(len(city.Bins))
					fill := prng.Float64()
					t = t.Add(time.Millisecond)
					batch[i] = civic.Reading{Device: city.Devices[k].ID, Bin: city.Bins[k].ID, Time: t, Fill: &fill}
				}
				ui.Publish(batch)
				published.Add(int64(per))
			}
		}()
	}

	var next, done atomic.Int64
	var failures atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	began := time.Now()
	for range *conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil && next.Add(1) <= int64(*requests) {
				_, err := fetch(runCtx, true)
				if err == nil {
					done.Add(1)
					continue
				}
				if runCtx.Err() != nil {
					return
				}
				failures.Add(1)
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(began)
	cancel()
	pubWG.Wait()

	// A client may finish reading before its handler has recorded the time.
	var times []time.Duration
	for deadline := time.Now().Add(time.Second); ; time.Sleep(5 * time.Millisecond) {
		mu.Lock()
		times = slices.Clone(serverTimes)
		mu.Unlock()
		if int64(len(times)) >= done.Load() || time.Now().After(deadline) {
			break
		}
	}
	if len(times) == 0 {
		return errors.New("bench map: no request completed")
	}
	slices.Sort(times)
	q := func(p float64) time.Duration { return times[min(len(times)-1, int(p*float64(len(times))))] }
	ms := func(d time.Duration) string { return fmt.Sprintf("%.2f", float64(d.Microseconds())/1000) }
	fmt.Fprintf(e.stdout, "requests: %d in %v (%.0f/s), %d concurrent, %d failed; %d readings published live\n",
		len(times), elapsed.Round(time.Millisecond), float64(len(times))/elapsed.Seconds(), *conc, failures.Load(), published.Load())
	fmt.Fprintf(e.stdout, "server time: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms\n", ms(q(0.5)), ms(q(0.9)), ms(q(0.99)), ms(times[len(times)-1]))
	if n := failures.Load(); n > 0 {
		return fmt.Errorf("bench map: %d requests failed, first: %v", n, firstErr.Load())
	}
	fmt.Fprintf(e.stdout, "map: p99 %s ms over %d requests (%d bins)\n", ms(q(0.99)), len(times), len(city.Bins))
	return nil
}
