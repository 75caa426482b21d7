package main

import (
	"context"
	"errors"
)

const userUsage = `civic user`

func runUser(ctx context.Context, e *env, args []string) error {
	return errors.New("user: not built yet")
}
