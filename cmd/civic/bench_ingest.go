package main

import (
	"context"
	"errors"
)

func runBenchIngest(ctx context.Context, e *env, args []string) error {
	return errors.New("bench ingest: not built yet")
}
