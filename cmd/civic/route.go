package main

import (
	"context"
	"errors"
)

const routeUsage = `civic route solve FILE.vrp [--time 30s] [--seed 1] [--threads N]`

func runRoute(ctx context.Context, e *env, args []string) error {
	return errors.New("route: not built yet")
}
