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
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/open311"
	"github.com/civic-city/civic/internal/server"
)

// Open311Options configures the GeoReport benchmark. cmd/civic validates
// them.
type Open311Options struct {
	Stored      int           // service requests in the store
	Concurrency int           // clients fetching at once
	Duration    time.Duration // how long each phase runs
	Seed        uint64
	CPUProfile  string    // where to write a CPU profile of the requests.json phase; empty: none
	Out         io.Writer // what was measured, ending with the "open311: ..." line
}

// Open311Queries are the GET requests.json queries the benchmark cycles
// through, as GeoReport clients send them: a city's open requests page by
// page, one service, recent changes, one request by id. {page} is 1 to
// 20, {code} a service, {id} a stored request, {since} an hour ago.
var Open311Queries = []string{
	"status=open&page_size=50&page={page}",
	"service_code={code}&page_size=50",
	"page_size=50&page={page}",
	"updated_after={since}&page_size=100",
	"service_request_id={id}",
}

// Open311 measures GET /open311/v2/requests.json on loopback through the
// real server (middleware, GeoReport handler, SQLite store) over
// o.Stored requests, and GET /healthz with the same clients as the
// natural limit of the HTTP stack, in the same run.
func Open311(ctx context.Context, o Open311Options) error {
	quiet := slog.New(slog.DiscardHandler)
	st, cleanup, err := openStore(ctx, "") // SQLite in a temporary folder
	if err != nil {
		return err
	}
	defer cleanup()
	desk := open311.NewDesk(open311.Options{Store: st, Logger: quiet})
	if err := desk.Seed(ctx); err != nil {
		return err
	}
	svcs, err := st.ListServices(ctx, false)
	if err != nil {
		return err
	}

	// The data set: o.Stored requests over the last 100 days (some fall
	// outside the default 90), a third closed, around one city.
	start := time.Now()
	now := time.Now().UTC().Truncate(time.Second)
	rng := rand.New(rand.NewPCG(o.Seed, 311))
	const chunk = 10_000
	var ids []string
	for done := 0; done < o.Stored; done += chunk {
		batch := make([]civic.ServiceRequest, min(chunk, o.Stored-done))
		for i := range batch {
			svc := svcs[rng.IntN(len(svcs))]
			lat, long := 39.9+rng.Float64()*0.1, -75.2+rng.Float64()*0.1
			at := now.Add(-time.Duration(rng.Float64() * float64(100*24*time.Hour)))
			r := civic.ServiceRequest{Token: fmt.Sprintf("bench-%d", done+i), ServiceCode: svc.Code, Status: civic.StatusSubmitted,
				Description: "Reported problem number " + strconv.Itoa(done+i) + ", please have a look.",
				Lat:         &lat, Long: &long, Address: strconv.Itoa(1+rng.IntN(2000)) + " Market St", Department: svc.Department,
				RequestedAt: at, UpdatedAt: at, Channel: "open311"}
			due := at.Add(time.Duration(svc.SLAHours * float64(time.Hour)))
			r.ExpectedAt = &due
			if rng.IntN(3) == 0 {
				closed := at.Add(time.Duration(rng.IntN(72)) * time.Hour)
				r.Status, r.CloseReason, r.ClosedAt, r.UpdatedAt, r.StatusNotes = civic.StatusClosed, civic.CloseFixed, &closed, closed, "Fixed."
			}
			batch[i] = r
		}
		if err := st.ImportServiceRequests(ctx, batch); err != nil {
			return fmt.Errorf("import: %w", err)
		}
		for _, r := range batch {
			ids = append(ids, r.ID)
		}
		fmt.Fprintf(o.Out, "\rstoring requests: %d/%d", done+len(batch), o.Stored)
	}
	fmt.Fprintf(o.Out, "\rstored %d service requests in %v\n", o.Stored, time.Since(start).Round(time.Millisecond))

	// The real server, as civic serve builds it, without the anonymous
	// rate limit (every client is 127.0.0.1 here).
	a := auth.New(st, auth.Options{})
	geo := open311.NewHandler(open311.HandlerOptions{Desk: desk, Keys: a.KeyPrincipal, ClientIP: server.ClientIP, Logger: quiet})
	srv := server.New(server.Config{AnonymousRate: rate.Inf, AnonymousBurst: 1}, server.Deps{Store: st, Auth: a, Logger: quiet,
		ServiceDesk: desk, Open311: geo})
	base, stop, err := serveLoopback(srv.Handler())
	if err != nil {
		return err
	}
	defer stop()
	// The same without the answer cache: every request reaches the store.
	geoNC := open311.NewHandler(open311.HandlerOptions{Desk: desk, Keys: a.KeyPrincipal, ClientIP: server.ClientIP, Logger: quiet, CacheTTL: -1})
	srvNC := server.New(server.Config{AnonymousRate: rate.Inf, AnonymousBurst: 1}, server.Deps{Store: st, Auth: a, Logger: quiet,
		ServiceDesk: desk, Open311: geoNC})
	baseNC, stopNC, err := serveLoopback(srvNC.Handler())
	if err != nil {
		return err
	}
	defer stopNC()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: o.Concurrency, DisableCompression: true}, Timeout: 10 * time.Second}

	since := now.Add(-time.Hour).Format(time.RFC3339)
	query := func(r *rand.Rand) string {
		q := Open311Queries[r.IntN(len(Open311Queries))]
		return strings.NewReplacer("{page}", strconv.Itoa(1+r.IntN(20)), "{code}", svcs[r.IntN(len(svcs))].Code,
			"{id}", ids[r.IntN(len(ids))], "{since}", since).Replace(q)
	}
	// Every query answers 200 with a body before anything is timed.
	for _, q := range Open311Queries {
		u := base + "/open311/v2/requests.json?" + query(rand.New(rand.NewPCG(1, uint64(len(q)))))
		if n, err := get(ctx, client, u); err != nil {
			return fmt.Errorf("%s: %w", u, err)
		} else if n < 3 {
			return fmt.Errorf("%s: an empty answer", u)
		}
	}

	fmt.Fprintf(o.Out, "load before: %s; %d CPUs, GOMAXPROCS %d\n", loadAvg(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	health := phase(ctx, client, o, func(*rand.Rand) string { return base + "/healthz" })
	fmt.Fprintf(o.Out, "GET /healthz (natural limit): %s\n", health)
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
	}
	reqs := phase(ctx, client, o, func(r *rand.Rand) string { return base + "/open311/v2/requests.json?" + query(r) })
	if o.CPUProfile != "" {
		pprof.StopCPUProfile()
	}
	hits, misses := geo.CacheStats()
	fmt.Fprintf(o.Out, "GET requests.json (query mix): %s\n  answer cache: %d hits, %d computed (%.1f%% hits; an answer lives 2 s or until a change)\n",
		reqs, hits, misses, 100*float64(hits)/float64(max(1, hits+misses)))
	uncached := phase(ctx, client, o, func(r *rand.Rand) string { return baseNC + "/open311/v2/requests.json?" + query(r) })
	fmt.Fprintf(o.Out, "GET requests.json (query mix, no answer cache): %s\n", uncached)
	full := phase(ctx, client, Open311Options{Concurrency: o.Concurrency, Duration: o.Duration / 3, Seed: o.Seed},
		func(*rand.Rand) string { return base + "/open311/v2/requests.json" })
	fmt.Fprintf(o.Out, "GET requests.json (no parameters: 90 days, first 1000): %s\n", full)
	fmt.Fprintf(o.Out, "load after: %s\n", loadAvg())
	if reqs.n == 0 || health.n == 0 {
		return errors.New("bench open311: no request completed")
	}
	if n := reqs.failed + health.failed + full.failed + uncached.failed; n > 0 {
		return fmt.Errorf("bench open311: %d requests failed, first: %v", n, cmpErr(reqs.firstErr, cmpErr(uncached.firstErr, full.firstErr)))
	}
	fmt.Fprintf(o.Out, "open311: %.0f req/s, p99 %.2f ms over %d stored requests (%.0f req/s, p99 %.2f ms without the answer cache); %.0f%% of GET /healthz (%.0f req/s) with %d clients\n",
		reqs.rate(), ms(reqs.q(0.99)), o.Stored, uncached.rate(), ms(uncached.q(0.99)), 100*reqs.rate()/health.rate(), health.rate(), o.Concurrency)
	return nil
}

// serveLoopback serves h on a loopback port; stop closes it.
func serveLoopback(h http.Handler) (base string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	hs := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }, nil
}

// httpPhase is one timed phase: latencies seen by the clients.
type httpPhase struct {
	n, failed int
	elapsed   time.Duration
	times     []time.Duration
	bytes     int64
	firstErr  error
}

func (p httpPhase) rate() float64 { return float64(p.n) / p.elapsed.Seconds() }

func (p httpPhase) q(f float64) time.Duration {
	if len(p.times) == 0 {
		return 0
	}
	return p.times[min(len(p.times)-1, int(f*float64(len(p.times))))]
}

func (p httpPhase) String() string {
	avg := int64(0)
	if p.n > 0 {
		avg = p.bytes / int64(p.n)
	}
	return fmt.Sprintf("%d in %v = %.0f req/s; p50 %.2f ms, p99 %.2f ms, max %.2f ms; %d bytes per answer; %d failed",
		p.n, p.elapsed.Round(time.Millisecond), p.rate(), ms(p.q(0.5)), ms(p.q(0.99)), ms(p.q(1)), avg, p.failed)
}

// phase runs o.Concurrency clients fetching url(rng) for o.Duration.
func phase(ctx context.Context, client *http.Client, o Open311Options, url func(*rand.Rand) string) httpPhase {
	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	var mu sync.Mutex
	var res httpPhase
	var bytes atomic.Int64
	var wg sync.WaitGroup
	began := time.Now()
	for c := range o.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(o.Seed, uint64(c)))
			var local []time.Duration
			var failed int
			var firstErr error
			for ctx.Err() == nil {
				t0 := time.Now()
				n, err := get(ctx, client, url(r))
				if ctx.Err() != nil {
					break
				}
				if err != nil {
					failed++
					firstErr = cmpErr(firstErr, err)
					continue
				}
				local = append(local, time.Since(t0))
				bytes.Add(int64(n))
			}
			mu.Lock()
			res.times = append(res.times, local...)
			res.failed += failed
			res.firstErr = cmpErr(res.firstErr, firstErr)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(began)
	res.n = len(res.times)
	res.bytes = bytes.Load()
	slices.Sort(res.times)
	return res
}

func cmpErr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func get(ctx context.Context, client *http.Client, url string) (int, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
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

// loadAvg is the machine's load as uptime prints it.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown (no /proc/loadavg)"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return "load average " + strings.Join(f[:3], ", ")
}
