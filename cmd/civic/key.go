package main

import (
	"context"
	"errors"
)

const keyUsage = `civic key`

func runKey(ctx context.Context, e *env, args []string) error {
	return errors.New("key: not built yet")
}
