package main

import (
	"context"
	"errors"
)

func runBenchMQTT(ctx context.Context, e *env, args []string) error {
	return errors.New("bench mqtt: not built yet")
}
