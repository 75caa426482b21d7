package main

import (
	"context"
	"errors"
)

const exportUsage = `civic export`

func runExport(ctx context.Context, e *env, args []string) error {
	return errors.New("export: not built yet")
}
