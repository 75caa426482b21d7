package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"time"

	"github.com/civic-city/civic/internal/bench"
	"github.com/civic-city/civic/internal/civic"
)

const benchUsage = `civic bench export [--rows 1000000] [--small 100000] [--format csv|json|geojson] [--db URL]
    streams a full open data download of that many collection events over loopback and prints
    throughput and the peak RSS sampled during it, against a download of --small rows (flat memory)
civic bench ingest [--db URL] [--readings N] [--batch N] [--senders N] [--devices N]
    HTTP batch ingest on loopback, acknowledged after commit, against the raw
    driver limit of the same engine measured in the same run
civic bench ingest --crash [--kills 3] [--duration 10s] [--senders 4] [--batch 500] [--devices 40] [--mqtt-devices 50] [--seed N] [--data DIR]
    SIGKILLs a child 'civic serve' while HTTP and MQTT QoS 1 senders publish, restarts it,
    resends what was not acknowledged, then checks every acknowledged reading is stored once
    and every bin's live state is its newest reading
civic bench map [--bins 10000] [--requests 5000] [--concurrency 8] [--duration 30s] [--live 1000] [--gzip=true] [--seed N]
    server time of the operations map's data endpoint while readings are published
civic bench mqtt [--devices 1000] [--duration 10s] [--messages 50] [--per-message 1] [--inflight 1] [--client lean|paho] [--db URL] [--cpuprofile FILE]
    real MQTT 5 clients publishing QoS 1 to a bare broker (PUBACK on receipt, nothing stored),
    then to the embedded broker, each for --duration (or --messages per device with --duration 0);
    every reading checked in the store; prints the ratio to the bare broker, and the CPU time per
    message of each
civic bench load [--duration 5m] [--bins 1000] [--http 2] [--mqtt 200] [--mqtt-every 1s] [--sse 50] [--sse-hold 30s] [--map 2] [--pages 2] [--api 4] [--open311-read 2] [--open311-post 2] [--open311-every 2s] [--history-days 10] [--heap-profiles DIR]
    a mixed load on a child 'civic serve' over loopback, on --history-days of readings of every sensor:
    HTTP and MQTT ingest, live-map streams, map data, page views, API reads, Open311 reads and posts;
    throughput, errors, 429s and p50/p99 per kind; the server's RSS, Go heap and goroutines sampled
    every second, shown at minute marks, and "memory: steady" or "memory: growing X MiB/min" (the second
    half's trend and its peak above the first half's); last line "load: N req/s, 5xx K, p99 X ms, peak RSS M MiB"
civic bench open311 [--stored 100000] [--concurrency 8] [--duration 10s] [--seed N] [--cpuprofile FILE]
    GET /open311/v2/requests.json on loopback through the real server over stored
    requests, against GET /healthz with the same clients in the same run
civic bench plan [--bins 10000] [--due 2000] [--may-go N] [--trucks 30] [--time 55s] [--reference 10m] [--seed N] [--cpu] [--cpuprofile FILE]
    plans a generated city's day with the real planner, travel matrix included,
    and prints the wall time; --reference solves it again for that long and prints the gap
civic bench route [--dir DIR] [--time 30s] [--threads N] [--only REGEXP] [--seed N] [--cpu]
    solves the CVRPLIB instances and prints the gap to the best known solutions;
    without --dir, the instances built into civic (internal/refdata)`

func runBench(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("which benchmark?")
	}
	switch args[0] {
	case "route":
		return runBenchRoute(ctx, e, args[1:])
	case "map":
		return runBenchMap(ctx, e, args[1:])
	case "mqtt":
		return runBenchMQTT(ctx, e, args[1:])
	case "ingest":
		return runBenchIngest(ctx, e, args[1:])
	case "plan":
		return runBenchPlan(ctx, e, args[1:])
	case "load":
		return runBenchLoad(ctx, e, args[1:])
	case "export":
		return runBenchExport(ctx, e, args[1:])
	case "open311":
		return runBenchOpen311(ctx, e, args[1:])
	}
	return usageErrorf("unknown benchmark %q", args[0])
}

func runBenchRoute(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bench route", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "", "folder of .vrp instances with bks.csv (default: the instances built into civic)")
	limit := fs.Duration("time", 30*time.Second, "time per instance")
	threads := fs.Int("threads", 1, "parallel searches per instance")
	only := fs.String("only", "", "regular expression selecting instance names")
	seed := fs.Int64("seed", 1, "random seed")
	cpu := fs.Bool("cpu", false, "count --time in CPU time of this process (fair on a busy machine)")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if *limit <= 0 {
		return usageErrorf("--time must be positive")
	}
	if *threads < 1 {
		return usageErrorf("--threads must be at least 1")
	}
	var re *regexp.Regexp
	if *only != "" {
		if re, err = regexp.Compile(*only); err != nil {
			return usageErrorf("--only: %v", err)
		}
	}
	return bench.Route(ctx, bench.RouteOptions{
		Dir: *dir, Time: *limit, Threads: *threads, Only: re, Seed: *seed, CPU: *cpu,
		Out: e.stdout, Progress: e.stderr,
	})
}

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
	return bench.Map(ctx, bench.MapOptions{
		Bins: *bins, Requests: *requests, Concurrency: *conc, Duration: *limit, Live: *live, Gzip: *useGzip, Seed: *seed,
		Out: e.stdout,
	})
}

// benchErr reports the options a harness found it cannot run with as a
// usage error, so that main prints the usage text with it.
func benchErr(err error) error {
	if oe, ok := errors.AsType[*bench.OptionError](err); ok {
		return usageErrorf("%s", oe.Msg)
	}
	return err
}

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
	return benchErr(bench.Ingest(ctx, bench.IngestOptions{
		DB: *dbURL, Readings: *total, Batch: *batch, Senders: *senders, Devices: *devices,
		Out: e.stdout, Progress: e.stderr,
	}))
}

// runBenchCrash is `civic bench ingest --crash`: durability under SIGKILL,
// with this very binary as the server.
func runBenchCrash(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("bench ingest --crash")
	kills := fs.Int("kills", 3, "SIGKILLs while senders are publishing")
	duration := fs.Duration("duration", 10*time.Second, "how long senders send new readings; the kills fall inside it")
	senders := fs.Int("senders", 4, "concurrent HTTP senders")
	batch := fs.Int("batch", 500, "readings per HTTP request")
	devices := fs.Int("devices", 40, "devices sending over HTTP, shared out among the senders")
	mqttDevices := fs.Int("mqtt-devices", 50, "devices publishing over MQTT at QoS 1, one connection and one reading per message each")
	seed := fs.Int64("seed", 0, "random seed for the kill times (default: from the clock)")
	data := fs.String("data", "", "data folder to use and keep, which must not hold a database yet (default: a temporary folder, removed)")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *kills < 0 || *duration <= 0 || *senders <= 0 || *batch <= 0 || *batch > civic.MaxBatch ||
		*devices < *senders || *mqttDevices < 0 {
		return usageErrorf("--kills must be >= 0; --duration, --senders and --batch (<= %d) positive; --devices at least --senders", civic.MaxBatch)
	}
	if *seed == 0 {
		*seed = time.Now().UnixNano()
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the civic binary to run as the server: %w", err)
	}
	_, err = bench.Crash(ctx, bench.CrashOptions{
		Bin: bin, Data: *data, Kills: *kills, Duration: *duration, Senders: *senders, Batch: *batch,
		Devices: *devices, MQTTDevices: *mqttDevices, Seed: *seed, Drain: 2 * time.Minute,
		Out: e.stdout, Progress: e.stderr,
	})
	return benchErr(err)
}

func runBenchMQTT(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("bench mqtt")
	dbURL := fs.String("db", "", "PostgreSQL URL of a server to benchmark (a scratch database is created and dropped); default: SQLite in a temporary folder")
	devices := fs.Int("devices", 1000, "connected devices")
	messages := fs.Int("messages", 50, "messages per device, when --duration is 0")
	duration := fs.Duration("duration", 10*time.Second, "how long each phase (bare broker, civic) publishes; 0: --messages per device")
	perMessage := fs.Int("per-message", 1, "readings per message (above 1, a JSON array, as a gateway or a sensor with buffered readings sends)")
	inflight := fs.Int("inflight", 1, "messages each device publishes before waiting for a PUBACK")
	client := fs.String("client", "lean", "device MQTT client: lean (minimal MQTT 5 over the TCP connection) or paho (github.com/eclipse/paho.golang)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the publishing phase to this file")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *devices <= 0 || *messages <= 0 || *inflight <= 0 || *perMessage <= 0 || *duration < 0 {
		return usageErrorf("--devices, --messages, --per-message and --inflight must be positive, --duration not negative")
	}
	if *perMessage > civic.MaxBatch {
		return usageErrorf("--per-message must be at most %d", civic.MaxBatch)
	}
	if *inflight > 65535 {
		return usageErrorf("--inflight must be at most 65535 (MQTT packet ids)")
	}
	var c bench.Client
	switch *client {
	case "lean":
		c = bench.LeanClient
	case "paho":
		c = bench.PahoClient
	default:
		return usageErrorf("--client must be lean or paho")
	}
	return benchErr(bench.MQTT(ctx, bench.MQTTOptions{
		DB: *dbURL, Devices: *devices, Messages: *messages, PerMessage: *perMessage, Inflight: *inflight,
		Client: c, CPUProfile: *cpuProfile, Duration: *duration,
		Out: e.stdout, Progress: e.stderr,
	}))
}

func runBenchPlan(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bench plan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	bins := fs.Int("bins", 10000, "bins in the generated city")
	due := fs.Int("due", 2000, "bins that must be emptied")
	mayGo := fs.Int("may-go", -1, "nearly full bins the solver may add (default due/2)")
	trucks := fs.Int("trucks", 30, "trucks")
	limit := fs.Duration("time", 55*time.Second, "the solver's budget for the day")
	ref := fs.Duration("reference", 0, "also solve for this long and print the gap")
	seed := fs.Uint64("seed", 1, "random seed")
	cpu := fs.Bool("cpu", false, "count --time and --reference in CPU time per thread (fair on a busy machine)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the plan (not the reference) to this file")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	switch {
	case *bins < 1:
		return usageErrorf("--bins must be at least 1")
	case *due < 1 || *due > *bins:
		return usageErrorf("--due must be between 1 and --bins")
	case *trucks < 1:
		return usageErrorf("--trucks must be at least 1")
	case *limit <= 0:
		return usageErrorf("--time must be positive")
	case *ref < 0:
		return usageErrorf("--reference must not be negative")
	}
	return bench.Plan(ctx, bench.PlanOptions{
		Bins: *bins, Due: *due, MayGo: *mayGo, Trucks: *trucks, Time: *limit, Reference: *ref, Seed: *seed,
		CPU: *cpu, CPUProfile: *cpuProfile, Out: e.stdout, Progress: e.stderr,
	})
}

// runBenchLoad is `civic bench load`, with this very binary as the server.
func runBenchLoad(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("bench load")
	o := bench.LoadOptions{Out: e.stdout, Progress: e.stderr}
	fs.DurationVar(&o.Duration, "duration", 5*time.Minute, "how long the load runs")
	fs.IntVar(&o.Bins, "bins", 1000, "bins, each with a sensor (half send over HTTP, half may over MQTT)")
	fs.IntVar(&o.HTTPIngest, "http", 2, "HTTP senders, batches of 50 readings one after the other")
	fs.IntVar(&o.MQTTDevices, "mqtt", 200, "MQTT devices, one QoS 1 message every --mqtt-every each")
	fs.DurationVar(&o.MQTTEvery, "mqtt-every", time.Second, "each MQTT device's interval")
	fs.IntVar(&o.SSE, "sse", 50, "live map streams held open")
	fs.DurationVar(&o.SSEHold, "sse-hold", 30*time.Second, "how long a stream is held before reconnecting")
	fs.IntVar(&o.Map, "map", 2, "clients fetching the map data")
	fs.IntVar(&o.Pages, "pages", 2, "clients viewing pages")
	fs.IntVar(&o.API, "api", 4, "clients reading the API")
	fs.IntVar(&o.Open311Read, "open311-read", 2, "Open311 clients reading requests and services")
	fs.IntVar(&o.Open311Post, "open311-post", 2, "Open311 clients posting a service request every --open311-every each")
	fs.DurationVar(&o.Open311Every, "open311-every", 2*time.Second, "each posting Open311 client's interval")
	fs.IntVar(&o.HistoryDays, "history-days", 10, "days of readings every sensor has in the database before the server starts (one every 10 minutes), as a running city's server has; 0 for none")
	fs.StringVar(&o.HeapProfiles, "heap-profiles", "", "folder for the server's heap profile at every minute mark and at the end (go tool pprof -base); default none")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	switch {
	case o.Duration < time.Second:
		return usageErrorf("--duration must be at least 1s")
	case o.Bins < 2:
		return usageErrorf("--bins must be at least 2")
	case o.MQTTDevices > o.Bins/2+o.Bins%2:
		return usageErrorf("--mqtt must be at most half of --bins (the other half send over HTTP)")
	case o.HistoryDays < 0 || o.HistoryDays > 400:
		return usageErrorf("--history-days must be between 0 and 400")
	case o.HTTPIngest < 0 || o.MQTTDevices < 0 || o.SSE < 0 || o.Map < 0 || o.Pages < 0 || o.API < 0 || o.Open311Read < 0 || o.Open311Post < 0:
		return usageErrorf("the client counts must not be negative")
	case o.MQTTEvery <= 0 || o.SSEHold <= 0 || o.Open311Every <= 0:
		return usageErrorf("--mqtt-every, --sse-hold and --open311-every must be positive")
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding the civic binary to run as the server: %w", err)
	}
	o.Bin = bin
	return benchErr(bench.Load(ctx, o))
}

func runBenchExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("bench export")
	dbURL := fs.String("db", "", "PostgreSQL URL of a server to benchmark (a scratch database is created and dropped); default: SQLite in a temporary folder")
	rows := fs.Int("rows", 1_000_000, "collection events in the full download")
	small := fs.Int("small", 100_000, "rows of the smaller download whose peak memory the full one's is compared with")
	format := fs.String("format", "csv", "csv, json or geojson")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *rows < 1 || *small < 1 || *small > *rows {
		return usageErrorf("--rows and --small must be positive, --small at most --rows")
	}
	if *format != "csv" && *format != "json" && *format != "geojson" {
		return usageErrorf("--format must be csv, json or geojson")
	}
	return benchErr(bench.Export(ctx, bench.ExportOptions{DB: *dbURL, Rows: *rows, Small: *small, Format: *format,
		Out: e.stdout, Progress: e.stderr}))
}

func runBenchOpen311(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bench open311", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	stored := fs.Int("stored", 100_000, "service requests in the store")
	conc := fs.Int("concurrency", 8, "clients fetching at once")
	dur := fs.Duration("duration", 10*time.Second, "how long each phase runs")
	seed := fs.Uint64("seed", 1, "data seed")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the requests.json phase to this file")
	if err := fs.Parse(args); err != nil {
		return usageErrorf("%v", err)
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected argument %q", fs.Arg(0))
	}
	if *stored < 1 || *conc < 1 || *dur <= 0 {
		return usageErrorf("--stored, --concurrency and --duration must be positive")
	}
	return bench.Open311(ctx, bench.Open311Options{Stored: *stored, Concurrency: *conc, Duration: *dur, Seed: *seed,
		CPUProfile: *cpuProfile, Out: e.stdout})
}
