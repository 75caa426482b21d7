package main

import (
	"context"
	"flag"
	"io"
	"regexp"
	"time"

	"github.com/civic-city/civic/internal/bench"
)

const benchUsage = `civic bench ingest [--db URL] [--readings N] [--batch N] [--senders N] [--devices N]
    HTTP batch ingest on loopback, acknowledged after commit, against the raw
    driver limit of the same engine measured in the same run
civic bench ingest --crash [--kills 3] [--duration 10s] [--senders 4] [--batch 500] [--devices 40] [--mqtt-devices 50] [--seed N] [--data DIR]
    SIGKILLs a child 'civic serve' while HTTP and MQTT QoS 1 senders publish, restarts it,
    resends what was not acknowledged, then checks every acknowledged reading is stored once
civic bench map [--bins 10000] [--requests 5000] [--concurrency 8] [--duration 30s] [--live 1000] [--gzip=true] [--seed N]
    server time of the operations map's data endpoint while readings are published
civic bench mqtt [--devices 1000] [--messages 50] [--per-message 1] [--inflight 1] [--client lean|paho] [--db URL] [--cpuprofile FILE]
    real MQTT 5 clients publishing QoS 1 to the embedded broker; every reading checked in the store
civic bench route [--dir ../shared/data/cvrplib] [--time 30s] [--threads N] [--only REGEXP] [--seed N] [--cpu]
    solves the CVRPLIB instances and prints the gap to the best known solutions`

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
	}
	return usageErrorf("unknown benchmark %q", args[0])
}

func runBenchRoute(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bench route", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "../shared/data/cvrplib", "folder of .vrp instances with bks.csv")
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
