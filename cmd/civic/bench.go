package main

import (
	"context"
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
