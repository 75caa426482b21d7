package main

import (
	"context"
	"errors"
)

const serveUsage = `civic serve`

func runServe(ctx context.Context, e *env, args []string) error {
	return errors.New("serve: not built yet")
}
