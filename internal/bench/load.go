package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/civic-city/civic/internal/auth"
	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/ingest"
	"github.com/civic-city/civic/internal/store"
)

// LoadOptions configures the mixed load. cmd/civic validates them.
type LoadOptions struct {
	Bin      string        // the civic binary to run as the server
	Duration time.Duration // how long the load runs
	Bins     int           // bins, each with a sensor; the HTTP and MQTT devices are among them

	// Workers per kind of traffic; each runs its kind's requests one after
	// the other (a closed loop), MQTT devices and SSE clients at their
	// own pace.
	HTTPIngest   int // HTTP senders, batches of LoadBatch readings
	MQTTDevices  int // MQTT devices, one QoS 1 message every MQTTEvery each
	MQTTEvery    time.Duration
	SSE          int // browsers holding the live map stream (/events), reconnecting every SSEHold
	SSEHold      time.Duration
	Map          int // clients fetching the map data (/map/bins.json)
	Pages        int // clients viewing dashboard pages
	API          int // clients reading the JSON API
	Open311Read  int // Open311 clients reading requests and services (GeoReport v2)
	Open311Post  int // Open311 clients posting a service request every Open311Every each
	Open311Every time.Duration

	// HistoryDays is how many days of readings every sensor has in the
	// database before the server starts, one every HistoryEvery: a
	// city's server restarts on months of readings, which its forecast
	// model trains on (28 days) and its queries read.
	HistoryDays int

	// HeapProfiles, if set, is a folder where the server's heap profile
	// is saved at every minute mark and at the end (heap-MMmSSs.pb.gz,
	// for `go tool pprof -base`); the server then serves its profiles on
	// a loopback port (civic serve --pprof-addr).
	HeapProfiles string

	Out      io.Writer // the per-kind table, the memory marks and verdict, and the "load: ..." line
	Progress io.Writer // set-up, RSS and throughput at intervals
}

// LoadBatch is the size of an HTTP ingest batch in the mixed load.
const LoadBatch = 50

// loadKind is one kind of traffic: each of its workers calls do in a loop
// until the run ends; do makes one request (or holds one stream) and
// reports its HTTP status (200 for an MQTT PUBACK) or a transport error.
// To add a kind (Open311 reads and posts, once that API exists), give it a
// worker count in LoadOptions and append it in loadKinds.
type loadKind struct {
	name    string
	workers int
	do      func(w *loadWorker, ctx context.Context) (status int, err error)
}

// loadWorker is one worker's state: its API key, its own counter and
// the measurements it keeps.
type loadWorker struct {
	r   *loadRun
	i   int    // worker index within its kind
	key string // API key of its own, so that per-key limits do not bind
	n   int    // requests made
	dev mqttDevice

	took             time.Duration // set by a do whose latency is not its whole call (paced, held)
	lat              []time.Duration
	errs, serverErrs int
	limited          int // 429 answers: counted apart, neither served requests nor errors
	lastErr          string
}

// loadRun is the state the kinds share.
type loadRun struct {
	o       LoadOptions
	base    string // http://host:port of the server
	mqtt    string
	client  *http.Client
	secrets []string
	start   time.Time // sensor times of the readings sent: start + n s
	pprof   string    // http://host:port of the server's profiles, if asked for

	lastRequest atomic.Pointer[string] // the id of a service request posted by the load, for reads by id
}

// memSample is the server's memory at one second of the run.
type memSample struct {
	at  time.Duration // since the load began
	rss float64       // MiB resident
	goStats
	db, wal float64 // MiB: the database file and its WAL
}

// other is the resident memory the Go runtime does not account for, in
// MiB: SQLite's page caches (the driver allocates them outside the Go
// heap), the program's code and mapped files.
func (m memSample) other() float64 { return m.rss - m.resident }

// Load is `civic bench load`: it runs the civic binary o.Bin as a child
// `civic serve` on a fresh SQLite database with o.Bins bins and sensors,
// drives a mixed load at it on loopback for o.Duration (HTTP and MQTT
// ingest, SSE clients, map data, page views, API reads) and reports, per
// kind, the requests, errors and latency percentiles, and the server's
// resident memory sampled every second. The last line written to o.Out is
// "load: N req/s, 5xx K, p99 X ms, peak RSS M MiB". It fails when the
// server answered any request with a 5xx.
func Load(ctx context.Context, o LoadOptions) error {
	dir, err := os.MkdirTemp("", "civic-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	dbPath := filepath.Join(dir, "civic.db")
	fmt.Fprintf(o.Progress, "bench load: %s; %d bins; %d HTTP senders, %d MQTT devices, %d SSE clients, %d map, %d page, %d API, %d Open311 reading and %d Open311 posting clients\n",
		o.Duration, o.Bins, o.HTTPIngest, o.MQTTDevices, o.SSE, o.Map, o.Pages, o.API, o.Open311Read, o.Open311Post)

	kinds := loadKinds(o)
	workers := 0
	for _, k := range kinds {
		workers += k.workers
	}
	setup, err := loadSetup(ctx, dbPath, o, workers)
	if err != nil {
		return err
	}
	secrets, keys := setup.secrets, setup.keys

	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	args := []string{"--plan-at", ""}
	pprofAddr := ""
	if o.HeapProfiles != "" {
		if err := os.MkdirAll(o.HeapProfiles, 0o755); err != nil {
			return err
		}
		if pprofAddr, err = freeLoopbackAddr(); err != nil {
			return err
		}
		args = append(args, "--pprof-addr", pprofAddr)
	}
	srv := &crashServer{bin: o.Bin, db: dbPath, log: logFile, up: make(chan struct{}), died: cancel, args: args}
	defer srv.kill()
	if err := srv.start(runCtx); err != nil {
		return err
	}
	pid := srv.pid()
	r := &loadRun{
		o: o, base: srv.httpBase, mqtt: srv.mqttAddr, secrets: secrets,
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: workers + 8}},
		start:  loadStart(),
	}
	if pprofAddr != "" {
		r.pprof = "http://" + pprofAddr
	}
	defer r.client.CloseIdleConnections()
	fmt.Fprintf(o.Progress, "server up: %s, MQTT %s, pid %d\n", r.base, r.mqtt, pid)
	if o.HistoryDays > 0 {
		// Wait for the forecast model's first training, on the history:
		// the run measures the server in service, not its start.
		t0 := time.Now()
		trained, err := r.awaitTraining(runCtx, keys[0], 0.99*float64(setup.history), 5*time.Minute)
		if err != nil {
			if cause := context.Cause(runCtx); cause != nil {
				err = cause
			}
			return fmt.Errorf("waiting for the forecast model to train on the history: %w\nserver log (end):\n%s", err, tailFile(logFile.Name(), 4096))
		}
		fmt.Fprintf(o.Out, "history: %d readings, %d %s of every sensor, written in %.1f s; the forecast model trained on %.0f in %.1f s; database %.0f MiB, server RSS %.1f MiB\n",
			setup.history, o.HistoryDays, civic.Plural(o.HistoryDays, "day"), setup.wrote.Seconds(), trained, time.Since(t0).Seconds(), fileMiB(dbPath), must(processRSS(pid)))
	}

	// Run every kind's workers until the duration is up.
	loadCtx, stop := context.WithTimeout(runCtx, o.Duration)
	defer stop()
	var all [][]*loadWorker
	var total atomic.Int64
	var wg sync.WaitGroup
	ki := 0
	for _, k := range kinds {
		ws := make([]*loadWorker, k.workers)
		for i := range ws {
			w := &loadWorker{r: r, i: i, key: keys[ki]}
			ki++
			ws[i] = w
			wg.Go(func() {
				defer func() {
					if w.dev != nil {
						w.dev.close()
					}
				}()
				for loadCtx.Err() == nil {
					t0 := time.Now()
					status, err := k.do(w, loadCtx)
					if loadCtx.Err() != nil {
						return // cut off by the end of the run: not counted
					}
					w.n++
					total.Add(1)
					if w.took > 0 {
						w.lat = append(w.lat, w.took)
						w.took = 0
					} else {
						w.lat = append(w.lat, time.Since(t0))
					}
					switch {
					case err == nil && status == http.StatusTooManyRequests:
						// Rate limited: not served. A well-behaved
						// client waits as told before its next request.
						w.n--
						total.Add(-1)
						w.lat = w.lat[:len(w.lat)-1]
						w.limited++
						select {
						case <-loadCtx.Done():
						case <-time.After(time.Second):
						}
					case err != nil:
						w.errs++
						w.lastErr = err.Error()
						time.Sleep(50 * time.Millisecond)
					case status >= 500:
						w.serverErrs++
						w.errs++
						w.lastErr = "status " + strconv.Itoa(status)
					case status >= 300:
						w.errs++
						w.lastErr = "status " + strconv.Itoa(status)
					}
				}
			})
		}
		all = append(all, ws)
	}

	// Sample the server's memory every second; print it at intervals;
	// save its heap profile at minute marks if asked.
	every := max(o.Duration/10, time.Second)
	began := time.Now()
	var mem []memSample
	nextProfile := time.Minute
	tick := time.NewTicker(time.Second)
sampling:
	for {
		select {
		case <-loadCtx.Done():
			break sampling
		case <-tick.C:
			el := time.Since(began)
			m, err := processRSS(pid)
			if err != nil {
				cancel(fmt.Errorf("reading the server's memory: %w", err))
				break sampling
			}
			g, err := r.runtimeStats(loadCtx, keys[0])
			if err != nil {
				if loadCtx.Err() != nil {
					break sampling
				}
				cancel(fmt.Errorf("reading the server's heap from /metrics: %w", err))
				break sampling
			}
			s := memSample{at: el, rss: m, goStats: g, db: fileMiB(dbPath), wal: fileMiB(dbPath + "-wal")}
			mem = append(mem, s)
			if el.Truncate(time.Second)%every.Truncate(time.Second) == 0 {
				fmt.Fprintf(o.Progress, "%6s: %8d requests, %7.0f req/s, server RSS %.1f MiB (peak %.1f), Go heap in use %.1f MiB (GC goal %.1f), outside Go %.1f MiB, %d goroutines, database %.0f MiB + WAL %.0f MiB\n",
					el.Round(time.Second), total.Load(), float64(total.Load())/el.Seconds(), m, peakRSS(mem), g.heap, g.goal, s.other(), g.goroutines, s.db, s.wal)
			}
			if r.pprof != "" && el >= nextProfile {
				if err := r.saveHeapProfile(loadCtx, el); err != nil && loadCtx.Err() == nil {
					fmt.Fprintf(o.Progress, "heap profile: %v\n", err)
				}
				nextProfile += time.Minute
			}
		}
	}
	tick.Stop()
	elapsed := time.Since(began)
	wg.Wait()
	if err := context.Cause(runCtx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("%w\nserver log (end):\n%s", err, tailFile(logFile.Name(), 4096))
	}
	if r.pprof != "" && context.Cause(runCtx) == nil {
		// The end: the server is still up, the load has stopped.
		if err := r.saveHeapProfile(ctx, elapsed); err != nil {
			fmt.Fprintf(o.Progress, "heap profile: %v\n", err)
		}
	}
	if len(mem) == 0 {
		return fmt.Errorf("the run ended before the server's memory was sampled: give a --duration of at least 1s")
	}

	// Per kind: throughput, errors, percentiles.
	fmt.Fprintf(o.Out, "%-12s %9s %9s %7s %6s %7s %9s %9s %9s\n", "kind", "requests", "req/s", "errors", "5xx", "429", "p50 ms", "p99 ms", "max ms")
	var lats []time.Duration
	var requests, serverErrs, limited int
	for i, k := range kinds {
		var kl []time.Duration
		var n, errs, s5, l429 int
		var last string
		for _, w := range all[i] {
			kl = append(kl, w.lat...)
			n, errs, s5, l429 = n+w.n, errs+w.errs, s5+w.serverErrs, l429+w.limited
			if w.lastErr != "" {
				last = w.lastErr
			}
		}
		slices.Sort(kl)
		fmt.Fprintf(o.Out, "%-12s %9d %9.1f %7d %6d %7d %9.2f %9.2f %9.2f\n", k.name, n, float64(n)/elapsed.Seconds(), errs, s5, l429,
			ms(percentile(kl, 0.50)), ms(percentile(kl, 0.99)), ms(percentile(kl, 1)))
		if errs > 0 {
			fmt.Fprintf(o.Progress, "%s: last error: %s\n", k.name, last)
		}
		requests += n
		serverErrs += s5
		limited += l429
		lats = append(lats, kl...)
	}
	slices.Sort(lats)
	if limited > 0 {
		fmt.Fprintf(o.Out, "rate limited (429, not counted as requests): %d; each such client waited 1 s before its next request\n", limited)
	}
	writeMemory(o.Out, mem)
	fmt.Fprintf(o.Out, "load: %.0f req/s, 5xx %d, p99 %.1f ms, peak RSS %.0f MiB\n",
		float64(requests)/elapsed.Seconds(), serverErrs, ms(percentile(lats, 0.99)), peakRSS(mem))
	if serverErrs > 0 {
		return fmt.Errorf("%d server errors (5xx)\nserver log (end):\n%s", serverErrs, tailFile(logFile.Name(), 4096))
	}
	return nil
}

// loadKinds is the mix.
func loadKinds(o LoadOptions) []loadKind {
	pages := []string{"/", "/alerts", "/fleet", "/plans", "/kpi", "/bins/" + binID(0)}
	return []loadKind{
		{"ingest-http", o.HTTPIngest, (*loadWorker).postReadings},
		{"ingest-mqtt", o.MQTTDevices, (*loadWorker).publishReading},
		{"sse", o.SSE, (*loadWorker).holdStream},
		{"map", o.Map, func(w *loadWorker, ctx context.Context) (int, error) { return w.get(ctx, "/map/bins.json") }},
		{"pages", o.Pages, func(w *loadWorker, ctx context.Context) (int, error) {
			p := pages[w.n%len(pages)]
			if p == "/bins/"+binID(0) {
				p = "/bins/" + binID((w.n*7919+w.i)%w.r.o.Bins)
			}
			return w.get(ctx, p)
		}},
		{"api", o.API, func(w *loadWorker, ctx context.Context) (int, error) {
			bin := binID((w.n*7919 + w.i) % w.r.o.Bins)
			paths := []string{"/api/v1/bins?limit=100", "/api/v1/bins/" + bin, "/api/v1/bins/" + bin + "/readings",
				"/api/v1/alerts", "/api/v1/devices?health=true&limit=100", "/api/v1/kpi"}
			return w.get(ctx, paths[w.n%len(paths)])
		}},
		{"open311-read", o.Open311Read, (*loadWorker).readOpen311},
		{"open311-post", o.Open311Post, (*loadWorker).postOpen311},
	}
}

// readOpen311 makes the next of a round of GeoReport v2 reads: the
// services, the newest requests, one service's, the open ones, one request
// by id (among those the posting clients made, if any yet).
func (w *loadWorker) readOpen311(ctx context.Context) (int, error) {
	paths := []string{"/open311/v2/services.json", "/open311/v2/requests.json", "/open311/v2/requests.json?service_code=litter",
		"/open311/v2/requests.json?status=open", "/open311/v2/requests.xml"}
	if id := w.r.lastRequest.Load(); id != nil {
		paths = append(paths, "/open311/v2/requests/"+*id+".json")
	}
	return w.get(ctx, paths[w.n%len(paths)])
}

// postOpen311 posts a service request about one of the bins, as an
// Open311 client with its API key, then waits for Open311Every.
func (w *loadWorker) postOpen311(ctx context.Context) (int, error) {
	r := w.r
	t0 := time.Now()
	b := (w.n*7919 + w.i*104729) % r.o.Bins
	form := url.Values{
		"api_key":             {w.key},
		"service_code":        {"overflowing-bin"},
		"lat":                 {strconv.FormatFloat(39.9+float64(b%100)*0.001, 'f', 5, 64)},
		"long":                {strconv.FormatFloat(-75.2+float64(b/100)*0.001, 'f', 5, 64)},
		"description":         {fmt.Sprintf("Bin %d on this corner is full again (load client %d, report %d).", b, w.i, w.n)},
		"attribute[bin_kind]": {"litter"},
		"attribute[spilled]":  {[]string{"yes", "no"}[w.n%2]},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/open311/v2/requests.json", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out []struct {
		ID string `json:"service_request_id"`
	}
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusCreated {
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return 0, fmt.Errorf("POST requests.json: %w", err)
		}
		if len(out) == 1 && out[0].ID != "" {
			r.lastRequest.Store(&out[0].ID)
		}
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	w.took = time.Since(t0)
	select {
	case <-ctx.Done():
	case <-time.After(r.o.Open311Every - time.Since(t0)):
	}
	return resp.StatusCode, nil
}

// get fetches path with the worker's key and reads the whole answer.
func (w *loadWorker) get(ctx context.Context, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.r.base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+w.key)
	resp, err := w.r.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// HistoryEvery is the interval of the history readings.
const HistoryEvery = 10 * time.Minute

// writeHistory writes days of readings of every bin's sensor, one every
// HistoryEvery up to the run's first sensor time, and returns how many.
func writeHistory(ctx context.Context, st *store.Store, bins, days int, until time.Time, progress io.Writer) (int, error) {
	steps := int(time.Duration(days) * 24 * time.Hour / HistoryEvery)
	bar := progressbar.NewOptions(steps, progressbar.OptionSetWriter(progress), progressbar.OptionSetDescription("history"),
		progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	defer bar.Close()
	level := make([]float64, bins)
	battery := 0.9
	batch := make([]civic.Reading, 0, bins)
	n := 0
	for k := range steps {
		at := until.Add(-time.Duration(steps-k) * HistoryEvery)
		batch = batch[:0]
		fills := make([]float64, bins) // the readings' own values: level changes at the next step
		for b := range bins {
			// Each bin fills at its own pace and is emptied when full.
			level[b] += 0.004 + float64(b%7)*0.002
			if level[b] > 1 {
				level[b] = 0
			}
			fills[b] = level[b]
			batch = append(batch, civic.Reading{Device: deviceID(b), Bin: binID(b), Time: at, Fill: &fills[b], Battery: &battery})
		}
		if _, err := st.WriteReadings(ctx, [][]civic.Reading{batch}); err != nil {
			return n, err
		}
		n += len(batch)
		_ = bar.Add(1)
	}
	return n, nil
}

// awaitTraining waits until the server's forecast model has been trained
// on at least want fill readings, and returns how many.
func (r *loadRun) awaitTraining(ctx context.Context, key string, want float64, limit time.Duration) (float64, error) {
	deadline := time.Now().Add(limit)
	for {
		const name = "civic_forecast_trained_readings"
		v, err := r.metrics(ctx, key, name)
		if err != nil {
			return 0, err
		}
		got := v[name]
		if got >= want {
			return got, nil
		}
		if time.Now().After(deadline) {
			return got, fmt.Errorf("trained on %.0f readings after %s", got, limit)
		}
		select {
		case <-ctx.Done():
			return got, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// metrics reads unlabelled figures from the server's /metrics, and
// fails naming those it lacks.
func (r *loadRun) metrics(ctx context.Context, key string, names ...string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	got := make(map[string]float64, len(names))
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() && len(got) < len(names) {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || !slices.Contains(names, name) {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, fmt.Errorf("/metrics: %s: %w", name, err)
		}
		got[name] = v
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("/metrics: %w", err)
	}
	var missing []string
	for _, n := range names {
		if _, ok := got[n]; !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("/metrics (status %d) lacks %s", resp.StatusCode, strings.Join(missing, ", "))
	}
	return got, nil
}

// must is v, or 0 when err is set: for a figure that is only shown.
func must(v float64, err error) float64 {
	if err != nil {
		return 0
	}
	return v
}

// postReadings posts the next batch of readings of the worker's devices:
// the HTTP senders share the first bins' sensors out among them.
func (w *loadWorker) postReadings(ctx context.Context) (int, error) {
	r := w.r
	per := max(r.o.Bins/2/max(r.o.HTTPIngest, 1), 1) // the first half of the bins' sensors are HTTP ones
	var body bytes.Buffer
	body.WriteString(`{"readings":[`)
	for k := range LoadBatch {
		n := w.n*LoadBatch + k
		if k > 0 {
			body.WriteByte(',')
		}
		dev := (w.i*per + n%per) % r.o.Bins
		fmt.Fprintf(&body, `{"device":%q,"time":%q,"fill":%.2f,"battery":0.9}`, deviceID(dev),
			r.start.Add(time.Duration(n/per)*time.Second).Format(time.RFC3339), float64((n*7+dev)%101)/100)
	}
	body.WriteString(`]}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.base+"/api/v1/readings", &body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+w.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, err = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, err
}

// publishReading publishes one reading of the worker's MQTT device at QoS
// 1 and waits for the PUBACK, then for the device's interval.
func (w *loadWorker) publishReading(ctx context.Context) (int, error) {
	r := w.r
	dev := r.o.Bins/2 + w.i // the second half of the bins' sensors are MQTT ones
	if w.dev == nil {
		d, err := dialLean(ctx, r.mqtt, deviceID(dev), r.secrets[dev])
		if err != nil {
			return 0, err
		}
		w.dev = d
	}
	status := 0
	t0 := time.Now()
	err := w.dev.publish(ctx, ingest.Topic(deviceID(dev)), 1, 1, func(dst []byte, _ int) []byte {
		return mqttPayload(dst, r.start, dev, w.n, 1)
	}, func(_ int, ok bool) {
		status = http.StatusOK
		if !ok {
			status = http.StatusBadRequest
		}
	})
	w.took = time.Since(t0)
	if err != nil {
		w.dev.close()
		w.dev = nil
		return 0, err
	}
	// Pace: one message every MQTTEvery, less the time it took.
	select {
	case <-ctx.Done():
	case <-time.After(r.o.MQTTEvery - time.Since(t0)):
	}
	return status, nil
}

// holdStream connects to the live map stream as a browser does, reads its
// events for SSEHold and disconnects; its latency is the time to the
// hello event. A stream that ends early, or that does not start with its
// hello event, is an error.
func (w *loadWorker) holdStream(ctx context.Context) (int, error) {
	t0 := time.Now()
	hold, cancel := context.WithTimeout(ctx, w.r.o.SSEHold)
	defer cancel()
	req, err := http.NewRequestWithContext(hold, http.MethodGet, w.r.base+"/events", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+w.key)
	// Streams get a client of their own: the shared one times out.
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 8<<20)
	hello := false
	for sc.Scan() {
		if sc.Text() == "event: hello" && !hello {
			hello = true
			w.took = time.Since(t0)
		}
	}
	if hold.Err() == nil {
		return 0, fmt.Errorf("the stream ended after %s: %v", w.r.o.SSEHold, sc.Err())
	}
	if !hello {
		return 0, fmt.Errorf("the stream sent no hello event")
	}
	return resp.StatusCode, nil
}

// loadDB is what loadSetup made: the MQTT devices' secrets, the API keys,
// and how many history readings it wrote, in how long.
type loadDB struct {
	secrets, keys []string
	history       int
	wrote         time.Duration
}

// loadSetup makes the database: bins, their sensors with MQTT secrets,
// keys API keys with the admin scope, and o.HistoryDays of readings.
func loadSetup(ctx context.Context, dbPath string, o LoadOptions, keys int) (loadDB, error) {
	var db loadDB
	st, err := store.Open(ctx, "sqlite:"+dbPath, store.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return db, err
	}
	defer st.Close()
	if db.secrets, err = registerMQTT(ctx, st, o.Bins); err != nil {
		return db, err
	}
	a := auth.New(st, auth.Options{})
	db.keys = make([]string, keys)
	for i := range db.keys {
		secret, _, err := a.CreateAPIKey(ctx, "load-"+strconv.Itoa(i), []civic.Scope{civic.ScopeAdmin}, "bench")
		if err != nil {
			return db, err
		}
		db.keys[i] = secret
	}
	if o.HistoryDays > 0 {
		t0 := time.Now()
		if db.history, err = writeHistory(ctx, st, o.Bins, o.HistoryDays, loadStart(), o.Progress); err != nil {
			return db, fmt.Errorf("writing the history: %w", err)
		}
		db.wrote = time.Since(t0)
	}
	return db, nil
}

// loadStart is the sensor time of the run's first readings: a week ago,
// so that a day's worth of readings every few seconds stays in the past.
func loadStart() time.Time { return time.Now().UTC().Add(-7 * 24 * time.Hour).Truncate(time.Second) }

// goStats is what the server's /metrics tells of its Go runtime, in MiB.
type goStats struct {
	heap       float64 // go_memstats_heap_inuse_bytes: the heap's spans in use, live data and garbage not yet collected
	goal       float64 // go_memstats_next_gc_bytes: the heap size the next GC is due at, twice the live heap at the last one (GOGC=100)
	resident   float64 // go_memstats_sys_bytes less go_memstats_heap_released_bytes: memory the Go runtime holds from the OS
	goroutines int     // go_goroutines
}

// goMetrics are the /metrics lines goStats reads, with where each goes.
var goMetrics = []struct {
	name string
	set  func(*goStats, float64)
}{
	{"go_memstats_heap_inuse_bytes", func(g *goStats, v float64) { g.heap = v / (1 << 20) }},
	{"go_memstats_next_gc_bytes", func(g *goStats, v float64) { g.goal = v / (1 << 20) }},
	{"go_memstats_sys_bytes", func(g *goStats, v float64) { g.resident += v / (1 << 20) }},
	{"go_memstats_heap_released_bytes", func(g *goStats, v float64) { g.resident -= v / (1 << 20) }},
	{"go_goroutines", func(g *goStats, v float64) { g.goroutines = int(v) }},
}

// runtimeStats reads the server's Go runtime figures from its /metrics:
// the Go heap, without SQLite's page caches (allocated outside it, up to
// their configured size as the database grows), and the goroutines, which
// a leak of connections or streams would grow.
func (r *loadRun) runtimeStats(ctx context.Context, key string) (goStats, error) {
	var g goStats
	names := make([]string, len(goMetrics))
	for i, m := range goMetrics {
		names[i] = m.name
	}
	v, err := r.metrics(ctx, key, names...)
	if err != nil {
		return g, err
	}
	for _, m := range goMetrics {
		m.set(&g, v[m.name])
	}
	return g, nil
}

// saveHeapProfile saves the server's heap profile, taken el into the
// load, in the HeapProfiles folder.
func (r *loadRun) saveHeapProfile(ctx context.Context, el time.Duration) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.pprof+"/debug/pprof/heap", nil)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: status %d", req.URL, resp.StatusCode)
	}
	s := int(el.Round(time.Second).Seconds())
	f, err := os.Create(filepath.Join(r.o.HeapProfiles, fmt.Sprintf("heap-%02dm%02ds.pb.gz", s/60, s%60)))
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// freeLoopbackAddr returns a loopback address with a port free now.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// fileMiB is the size of the file at path in MiB, 0 if there is none.
func fileMiB(path string) float64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return float64(fi.Size()) / (1 << 20)
}

func peakRSS(mem []memSample) float64 {
	var m float64
	for _, s := range mem {
		m = max(m, s.rss)
	}
	return m
}

// steadyMiBPerMin is the growth rate of the server's resident memory
// below which it counts as steady.
const steadyMiBPerMin = 1.0

// writeMemory writes the server's memory at every minute mark and at the
// end, then the verdict on the second half of the run: "memory: growing X
// MiB/min" when both the resident memory's least-squares slope over the
// second half and its peak there, above the first half's peak, per minute
// of the half, reach steadyMiBPerMin (X is the smaller), "memory: steady"
// otherwise. Both, because each alone misleads over a few minutes: the
// resident memory swings by tens of MiB with the Go collector's cycle and
// the write-ahead log's (SQLite's page caches fill as the log grows and
// are released when it is reset), so a fitted line depends on where in
// those cycles the run ends, and one high sample lifts a peak; a leak
// lifts both. The detail gives the slopes of the parts of the memory: the
// Go heap's GC goal (twice its live data: a leak of Go objects grows it),
// what the Go runtime holds, and what it does not (SQLite's page caches,
// up to their configured size), and the database.
func writeMemory(out io.Writer, mem []memSample) {
	fmt.Fprintf(out, "%-8s %8s %9s %8s %8s %8s %11s %8s %8s\n", "at", "RSS MiB", "heap MiB", "GC goal", "Go MiB", "other", "goroutines", "db MiB", "WAL MiB")
	next := time.Minute
	for i, m := range mem {
		if i == 0 || m.at >= next || i == len(mem)-1 {
			fmt.Fprintf(out, "%-8s %8.1f %9.1f %8.1f %8.1f %8.1f %11d %8.1f %8.1f\n", m.at.Round(time.Second),
				m.rss, m.heap, m.goal, m.resident, m.other(), m.goroutines, m.db, m.wal)
			for next <= m.at {
				next += time.Minute
			}
		}
	}
	first, half := mem[:len(mem)/2], mem[len(mem)/2:]
	rate := func(f func(memSample) float64) float64 { return slope(half, f) }
	span := half[len(half)-1].at - half[0].at
	p1, p2 := peakRSS(first), peakRSS(half)
	growth := 0.0
	if span > 0 {
		growth = (p2 - p1) / span.Minutes()
	}
	lsq := rate(func(m memSample) float64 { return m.rss })
	detail := fmt.Sprintf("over the last %s: peak RSS %.1f MiB against %.1f in the first half (%+.1f MiB/min); least-squares RSS %+.1f MiB/min; Go heap GC goal %+.1f, Go runtime %+.1f, outside Go %+.1f MiB/min; goroutines %d → %d; database %+.1f MiB/min",
		span.Round(time.Second), p2, p1, growth, lsq,
		rate(func(m memSample) float64 { return m.goal }), rate(func(m memSample) float64 { return m.resident }),
		rate(memSample.other), half[0].goroutines, half[len(half)-1].goroutines, rate(func(m memSample) float64 { return m.db + m.wal }))
	switch {
	case len(half) < 30:
		fmt.Fprintf(out, "memory: too short a run to tell (%s)\n", detail)
	case growth >= steadyMiBPerMin && lsq >= steadyMiBPerMin:
		fmt.Fprintf(out, "memory: growing %.1f MiB/min (%s)\n", min(growth, lsq), detail)
	default:
		fmt.Fprintf(out, "memory: steady (%s)\n", detail)
	}
}

// slope is the least-squares slope of f over the samples, per minute.
func slope(mem []memSample, f func(memSample) float64) float64 {
	n := float64(len(mem))
	if n < 2 {
		return 0
	}
	var sx, sy float64
	for _, m := range mem {
		sx += m.at.Minutes()
		sy += f(m)
	}
	mx, my := sx/n, sy/n
	var num, den float64
	for _, m := range mem {
		dx := m.at.Minutes() - mx
		num += dx * (f(m) - my)
		den += dx * dx
	}
	if den == 0 {
		return 0
	}
	return num / den
}

// processRSS is the resident memory of process pid, in MiB (Linux).
func processRSS(pid int) (float64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("no VmRSS in /proc/%d/status", pid)
}

// percentile returns the p-quantile of sorted durations (0 if none).
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1) * p)
	return sorted[i]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
