package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/civic-city/civic/internal/route"
)

const routeUsage = `civic route solve FILE.vrp [--time 30s] [--seed 1] [--threads N] [--round auto|nint|none|trunc1]

Solves a CVRPLIB / TSPLIB95 instance (CVRP, with DISTANCE and SERVICE_TIME,
or VRPTW) and prints the best solution in CVRPLIB .sol format. Improvements
are reported on stderr as they are found.
  --round   distance convention: auto (EUC_2D rounds to the nearest integer,
            VRPTW truncates to one decimal), nint, none (unrounded, as for the
            CMT instances) or trunc1`

func runRoute(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("which action? (solve)")
	}
	switch args[0] {
	case "solve":
		return runRouteSolve(ctx, e, args[1:])
	}
	return usageErrorf("unknown action %q", args[0])
}

func runRouteSolve(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("route solve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	limit := fs.Duration("time", 30*time.Second, "wall-clock limit")
	seed := fs.Int64("seed", 1, "random seed")
	threads := fs.Int("threads", 1, "parallel searches")
	round := fs.String("round", "auto", "distance rounding")
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if len(files) != 1 {
		return usageErrorf("want exactly one FILE.vrp, got %d", len(files))
	}
	if *limit <= 0 {
		return usageErrorf("--time must be positive")
	}
	if *threads < 1 {
		return usageErrorf("--threads must be at least 1")
	}
	rd, err := route.ParseRounding(*round)
	if err != nil {
		return usageErrorf("--round: %q is not one of auto, nint, none, trunc1", *round)
	}
	p, err := readInstance(files[0], rd)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "route: %s, %d customers, capacity %d, solving for %v with %d thread(s)\n", p.Name, p.N-1, p.Capacity, *limit, *threads)
	sol, err := route.Solve(ctx, p, route.Options{
		TimeLimit: *limit,
		Seed:      *seed,
		Threads:   *threads,
		Progress: func(pr route.Progress) {
			fmt.Fprintf(e.stderr, "route: %8.2fs  cost %s  (%d routes)\n", pr.Elapsed.Seconds(), route.FormatCost(pr.Cost), pr.Routes)
		},
	})
	if err != nil {
		return err
	}
	if err := route.WriteSolution(e.stdout, sol); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "route: cost %s, %d routes, %d iterations, best found after %.2fs\n",
		route.FormatCost(sol.Cost), len(sol.Routes), sol.Iterations, sol.TimeToBest.Seconds())
	if !sol.Feasible {
		return errors.New("no feasible solution found (the routes printed break a constraint)")
	}
	return nil
}

// parseInterleaved parses flags that may come before or after positional
// arguments, and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func readInstance(path string, rd route.Rounding) (*route.Problem, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := route.ReadCVRPLIBRounding(f, rd)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}
