package main

import (
	"context"
	"errors"
)

func runBenchRoute(ctx context.Context, e *env, args []string) error {
	return errors.New("bench route: not built yet")
}
