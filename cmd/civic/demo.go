package main

import (
	"context"
	"errors"
)

const demoUsage = `civic demo generate --bins N --out DIR [--seed S]`

func runDemo(ctx context.Context, e *env, args []string) error {
	return errors.New("demo: not built yet")
}
