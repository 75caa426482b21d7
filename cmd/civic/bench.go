package main

import (
	"context"
)

const benchUsage = `civic bench ingest [--db URL] [--readings N] [--batch N] [--senders N]
civic bench ingest --crash [--kills 3] [--duration 10s] [--senders 4] [--batch 500] [--devices 40] [--mqtt-devices 50] [--seed N] [--data DIR]
    SIGKILLs a child 'civic serve' while HTTP and MQTT QoS 1 senders publish, restarts it,
    resends what was not acknowledged, then checks every acknowledged reading is stored once
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
