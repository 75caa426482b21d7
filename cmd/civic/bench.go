package main

import (
	"context"
)

const benchUsage = `civic bench ingest [--db URL] [--readings N] [--batch N] [--senders N]
civic bench map [--bins 10000]
civic bench mqtt [--devices 1000] [--db URL]
civic bench route [--dir ../shared/data/cvrplib] [--time 30s] [--threads N] [--only PATTERN]`

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
