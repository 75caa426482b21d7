package main

import (
	"context"
	"errors"
)

const forecastUsage = `civic forecast backtest [--generate --bins N --days D --seed S]`

func runForecast(ctx context.Context, e *env, args []string) error {
	return errors.New("forecast: not built yet")
}
