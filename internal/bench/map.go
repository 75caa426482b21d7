package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/sim"
	"github.com/civic-city/civic/internal/web"
)

// MapOptions configures the map benchmark. cmd/civic validates them.
type MapOptions struct {
	Bins        int           // bins in the generated city
	Requests    int           // requests to make in all
	Concurrency int           // clients fetching at once
	Duration    time.Duration // stop after this long even if requests remain
	Live        int           // readings a second published while measuring; 0: none
	Gzip        bool          // ask for gzip, as browsers do
	Seed        uint64        // city seed

	Out io.Writer // what was measured, ending with the "map: p99 ..." line
}

// Map measures the live map's data endpoint: a generated city of o.Bins
// bins with state in a fresh SQLite store, the dashboard served on
// loopback, and o.Concurrency clients fetching /map/bins.json until
// o.Requests are done or o.Duration passes, while o.Live readings a second
// are published to the dashboard as the ingest commit hook would. Server
// time is the handler's time per request, response written.
func Map(ctx context.Context, o MapOptions) error {
	quiet := slog.New(slog.DiscardHandler)
	st, cleanup, err := openStore(ctx, "") // SQLite in a temporary folder
	if err != nil {
		return err
	}
	defer cleanup()

	start := time.Now()
	city := sim.GenerateCity(sim.CityParams{Bins: o.Bins, Seed: o.Seed})
	for i := range city.Zones {
		if err := st.CreateZone(ctx, &city.Zones[i]); err != nil {
			return fmt.Errorf("zone %s: %w", city.Zones[i].ID, err)
		}
	}
	if err := st.ImportBins(ctx, city.Bins); err != nil {
		return fmt.Errorf("import bins: %w", err)
	}
	rng := rand.New(rand.NewPCG(o.Seed, 2))
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
	fmt.Fprintf(o.Out, "city: %d bins, %d zones, states written in %v\n", len(city.Bins), len(city.Zones), time.Since(start).Round(time.Millisecond))

	ui := web.New(web.Config{}, web.Deps{Store: st, Logger: quiet})
	defer ui.Close(ctx)
	var mu sync.Mutex
	serverTimes := make([]time.Duration, 0, o.Requests)
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

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency, DisableCompression: true}, Timeout: 10 * time.Second}
	fetch := func(ctx context.Context, bench bool) (int, error) {
		req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
		if o.Gzip {
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
	fmt.Fprintf(o.Out, "snapshot: loaded in %v, %d bytes per response (gzip %v)\n", time.Since(t0).Round(time.Millisecond), size, o.Gzip)

	runCtx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var published atomic.Int64
	var pubWG sync.WaitGroup
	if o.Live > 0 {
		pubWG.Add(1)
		go func() {
			defer pubWG.Done()
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			prng := rand.New(rand.NewPCG(o.Seed, 3))
			per := max(1, o.Live/10)
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
	for range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil && next.Add(1) <= int64(o.Requests) {
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
	fmt.Fprintf(o.Out, "requests: %d in %v (%.0f/s), %d concurrent, %d failed; %d readings published live\n",
		len(times), elapsed.Round(time.Millisecond), float64(len(times))/elapsed.Seconds(), o.Concurrency, failures.Load(), published.Load())
	fmt.Fprintf(o.Out, "server time: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms\n", ms(q(0.5)), ms(q(0.9)), ms(q(0.99)), ms(times[len(times)-1]))
	if n := failures.Load(); n > 0 {
		return fmt.Errorf("bench map: %d requests failed, first: %v", n, firstErr.Load())
	}
	fmt.Fprintf(o.Out, "map: p99 %s ms over %d requests (%d bins)\n", ms(q(0.99)), len(times), len(city.Bins))
	return nil
}
