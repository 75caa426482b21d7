package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/civic-city/civic/internal/civic"
	"github.com/civic-city/civic/internal/opendata"
	"github.com/civic-city/civic/internal/route"
	"github.com/civic-city/civic/internal/store"
)

// ExportOptions configures the open data export benchmark. cmd/civic
// validates them.
type ExportOptions struct {
	DB     string // PostgreSQL URL of a server (a scratch database is made); SQLite when empty
	Rows   int    // collection events in the large export
	Small  int    // rows of the small export whose peak RSS the large one's is compared with
	Format string // csv, json or geojson

	Out      io.Writer // the figures, ending with the "export: ..." line
	Progress io.Writer
}

// Export measures a full open data download: o.Rows collection events
// (bulk-inserted through the driver) served by the open data portal on
// loopback as /data/collections/rows.FORMAT, read by an HTTP client that
// counts the rows. It samples the process's resident memory (VmRSS) every
// 5 ms during a download of the first o.Small rows and during the whole
// download, and prints both peaks and their ratio: a streamed export
// holds one row at a time, so the ratio stays near 1 while the rows grow
// tenfold. It also streams the same rows through the store alone
// (StreamData, no HTTP, no formatting) and through the raw driver (a bare
// SELECT and Scan), the natural limits of the download, and prints the
// ratios to them. The full download and the limits run twice each; the
// faster run counts, and the higher memory peak.
func Export(ctx context.Context, o ExportOptions) error {
	engine := "sqlite"
	if o.DB != "" {
		engine = "postgres"
	}
	fmt.Fprintf(o.Progress, "bench export: %s, %d collection events, %s\n", engine, o.Rows, o.Format)
	st, cleanup, err := openStore(ctx, o.DB)
	if err != nil {
		return err
	}
	defer cleanup()
	start := time.Now()
	if err := fillCollections(ctx, st, o.Rows, o.Progress); err != nil {
		return fmt.Errorf("inserting collection events: %w", err)
	}
	fmt.Fprintf(o.Out, "setup: %d collection events on %d bins inserted in %v\n", o.Rows, exportBins, time.Since(start).Round(time.Millisecond))

	portal, err := opendata.New(opendata.Config{}, opendata.Deps{Data: st, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: portal.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	base := "http://" + ln.Addr().String() + "/data/collections/rows." + o.Format

	small, err := exportRun(ctx, base+"?$limit="+strconv.Itoa(o.Small), o.Small, o.Progress)
	if err != nil {
		return err
	}
	// The machine may be shared: the full download, and each limit
	// below, runs twice and counts its faster run (and the higher peak).
	large, err := exportRun(ctx, base, o.Rows, o.Progress)
	if err != nil {
		return err
	}
	again, err := exportRun(ctx, base, o.Rows, o.Progress)
	if err != nil {
		return err
	}
	if again.elapsed < large.elapsed {
		again.rssPeak, again.heapPeak = max(again.rssPeak, large.rssPeak), max(again.heapPeak, large.heapPeak)
		large = again
	} else {
		large.rssPeak, large.heapPeak = max(again.rssPeak, large.rssPeak), max(again.heapPeak, large.heapPeak)
	}
	for _, r := range []exportResult{small, large} {
		fmt.Fprintf(o.Out, "download %d rows: %v, %.0f rows/s, %.1f MB/s (%.1f MB); RSS before %.1f MiB, peak %.1f MiB (+%.1f MiB); Go heap peak %.1f MiB\n",
			r.rows, r.elapsed.Round(time.Millisecond), r.rate(), float64(r.bytes)/1e6/r.elapsed.Seconds(), float64(r.bytes)/1e6,
			mib(r.rssBefore), mib(r.rssPeak), mib(r.rssPeak-r.rssBefore), mib(r.heapPeak))
	}

	var storeRate, rawRate rates
	for range 2 {
		r, err := exportStore(ctx, st, portal, o.Rows)
		if err != nil {
			return err
		}
		storeRate = rates{max(storeRate.wall, r.wall), max(storeRate.cpu, r.cpu)}
		if r, err = exportRaw(ctx, st, o.Rows); err != nil {
			return err
		}
		rawRate = rates{max(rawRate.wall, r.wall), max(rawRate.cpu, r.cpu)}
	}
	fmt.Fprintf(o.Out, "limits: store alone (StreamData, no HTTP) %.0f rows/s, %.0f rows per CPU-s; raw driver (SELECT, Scan) %.0f rows/s, %.0f rows per CPU-s\n",
		storeRate.wall, storeRate.cpu, rawRate.wall, rawRate.cpu)
	fmt.Fprintf(o.Out, "download %d rows: %.0f rows per CPU-s of this process (client, server%s)\n", o.Rows, large.cpuRate(),
		map[bool]string{true: " and SQLite", false: "; PostgreSQL's CPU is not counted"}[engine == "sqlite"])
	fmt.Fprintf(o.Out, "export: %d rows %s streamed at %.0f rows/s (wall: %.2f of the store alone, %.2f of the raw driver; CPU: %.2f and %.2f); peak RSS %.1f MiB vs %.1f MiB for %d rows: ratio %.2f\n",
		o.Rows, o.Format, large.rate(), large.rate()/storeRate.wall, large.rate()/rawRate.wall, large.cpuRate()/storeRate.cpu, large.cpuRate()/rawRate.cpu,
		mib(large.rssPeak), mib(small.rssPeak), o.Small, float64(large.rssPeak)/float64(small.rssPeak))
	return nil
}

// exportBins is how many bins the collection events are spread over.
const exportBins = 2000

func mib(b int64) float64 { return float64(b) / (1 << 20) }

// fillCollections inserts n collection events on exportBins bins, each
// batch of 50,000 generated by one INSERT ... SELECT inside the database
// (a recursive CTE on SQLite, generate_series on PostgreSQL), so the
// setup takes seconds rather than minutes of round trips.
func fillCollections(ctx context.Context, st *store.Store, n int, progress io.Writer) error {
	bins := make([]civic.Bin, exportBins)
	for i := range bins {
		bins[i] = civic.Bin{ID: binID(i), Name: "Bin " + strconv.Itoa(i), Lat: 52.4 + float64(i%50)*0.004, Lon: 13.3 + float64(i/50)*0.004,
			CapacityL: 240, Stream: civic.StreamTrash}
	}
	if err := st.ImportBins(ctx, bins); err != nil {
		return err
	}
	// Event i: bin i mod exportBins, every 30 s from 2025-01-01.
	q := `WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $2)
		INSERT INTO collections (id, bin_id, time, truck_id, fill_seen, fill_before, source, by_user)
		SELECT printf('col-%08d', i), printf('BB-%05d', i % ` + strconv.Itoa(exportBins) + `),
			strftime('%Y-%m-%dT%H:%M:%fZ', 1735689600 + i * 30, 'unixepoch'), 'T-' || (i % 40),
			(i % 100) / 100.0, (i % 97) / 100.0, 'crew', '' FROM n`
	if st.Engine() == store.EnginePostgres {
		q = `INSERT INTO collections (id, bin_id, time, truck_id, fill_seen, fill_before, source, by_user)
		SELECT 'col-' || lpad(i::text, 8, '0'), 'BB-' || lpad((i % ` + strconv.Itoa(exportBins) + `)::text, 5, '0'),
			timestamptz '2025-01-01 00:00:00+00' + i * interval '30 seconds', 'T-' || (i % 40),
			(i % 100) / 100.0, (i % 97) / 100.0, 'crew', ''
		FROM generate_series($1::bigint, $2::bigint - 1) AS i`
	}
	bar := progressbar.NewOptions(n, progressbar.OptionSetWriter(progress), progressbar.OptionSetDescription("insert"),
		progressbar.OptionShowCount(), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	const batch = 50000
	for done := 0; done < n; done += batch {
		end := min(n, done+batch)
		if _, err := st.DB().ExecContext(ctx, q, int64(done), int64(end)); err != nil {
			return err
		}
		bar.Add(end - done)
	}
	bar.Finish()
	return nil
}

type exportResult struct {
	rows               int
	bytes              int64
	elapsed            time.Duration
	rssBefore, rssPeak int64
	heapPeak           int64
	cpu                time.Duration // this process's CPU time (client, server and, on SQLite, the database)
}

func (r exportResult) rate() float64    { return float64(r.rows) / r.elapsed.Seconds() }
func (r exportResult) cpuRate() float64 { return float64(r.rows) / r.cpu.Seconds() }

// rates are a run's rows per second of wall time and of this process's CPU
// time.
type rates struct{ wall, cpu float64 }

// exportRun downloads url, counting rows, while sampling memory.
func exportRun(ctx context.Context, url string, want int, progress io.Writer) (exportResult, error) {
	runtime.GC()
	debug.FreeOSMemory()
	var r exportResult
	r.rssBefore = rss()
	var peak, heap atomic.Int64
	peak.Store(r.rssBefore)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		n := 0
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			if v := rss(); v > peak.Load() {
				peak.Store(v)
			}
			if n++; n%20 == 0 { // ReadMemStats stops the world: every 100 ms
				runtime.ReadMemStats(&ms)
				if v := int64(ms.HeapInuse); v > heap.Load() {
					heap.Store(v)
				}
			}
		}
	}()
	start, cpu0 := time.Now(), route.ProcessCPUClock()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return r, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		close(stop)
		wg.Wait()
		return r, err
	}
	bar := progressbar.NewOptions64(-1, progressbar.OptionSetWriter(progress), progressbar.OptionSetDescription(fmt.Sprintf("download %d rows", want)),
		progressbar.OptionShowBytes(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionClearOnFinish())
	lines, n, err := countLines(io.TeeReader(resp.Body, bar))
	resp.Body.Close()
	r.elapsed, r.cpu = time.Since(start), route.ProcessCPUClock().Sub(cpu0)
	close(stop)
	wg.Wait()
	bar.Finish()
	if err != nil {
		return r, err
	}
	if resp.StatusCode != http.StatusOK {
		return r, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	r.bytes, r.rssPeak, r.heapPeak = n, peak.Load(), heap.Load()
	// CSV: a header and a line per row; JSON and GeoJSON: a line per row
	// between an opening and a closing line.
	r.rows = lines - 1
	if !strings.HasSuffix(url, ".csv") && !strings.Contains(url, ".csv?") {
		r.rows = lines - 2
	}
	if r.rows != want {
		return r, fmt.Errorf("GET %s: %d rows, want %d", url, r.rows, want)
	}
	return r, nil
}

func countLines(r io.Reader) (lines int, n int64, err error) {
	buf := make([]byte, 64<<10)
	for {
		k, err := r.Read(buf)
		n += int64(k)
		lines += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return lines, n, nil
		}
		if err != nil {
			return lines, n, err
		}
	}
}

// rss is the process's resident set size in bytes (Linux: VmRSS of
// /proc/self/status); elsewhere the memory the Go runtime holds.
func rss() int64 {
	f, err := os.Open("/proc/self/status")
	if err == nil {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
				if err == nil {
					return kb << 10
				}
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.Sys)
}

// exportStore streams the dataset through the store alone.
func exportStore(ctx context.Context, st *store.Store, p *opendata.Portal, want int) (rates, error) {
	var d opendata.Dataset
	for _, x := range p.Datasets() {
		if x.Name == "collections" {
			d = x
		}
	}
	q, err := opendata.ParseQuery(&d, nil, true)
	if err != nil {
		return rates{}, err
	}
	n := 0
	start, cpu0 := time.Now(), route.ProcessCPUClock()
	err = st.StreamData(ctx, civic.DataQuery{Source: d.Source, Columns: d.Columns, Select: q.Select, Order: q.Order}, func([]any) error {
		n++
		return nil
	})
	if err == nil && n != want {
		err = fmt.Errorf("store: %d rows, want %d", n, want)
	}
	return rates{float64(n) / time.Since(start).Seconds(), float64(n) / route.ProcessCPUClock().Sub(cpu0).Seconds()}, err
}

// exportRaw reads the collection events with a bare query, in the same
// order, scanning each column.
func exportRaw(ctx context.Context, st *store.Store, want int) (rates, error) {
	start, cpu0 := time.Now(), route.ProcessCPUClock()
	rows, err := st.DB().QueryContext(ctx, `SELECT c.id, c.bin_id, c.time, b.stream, b.zone_id, b.lat, b.lon, c.plan_id, c.route_id,
		c.truck_id, c.fill_seen, c.fill_before, c.source FROM collections c LEFT JOIN bins b ON b.id = c.bin_id ORDER BY c.time, c.id`)
	if err != nil {
		return rates{}, err
	}
	defer rows.Close()
	vals := make([]any, 13)
	ptrs := make([]any, 13)
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	n := 0
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return rates{}, err
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return rates{}, err
	}
	if n != want {
		return rates{}, fmt.Errorf("raw: %d rows, want %d", n, want)
	}
	return rates{float64(n) / time.Since(start).Seconds(), float64(n) / route.ProcessCPUClock().Sub(cpu0).Seconds()}, nil
}
