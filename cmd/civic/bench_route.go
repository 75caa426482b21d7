package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civic-city/civic/internal/route"
)

// benchInstance is one instance of the route benchmark and what is known of
// its best solution.
type benchInstance struct {
	name     string
	path     string
	bks      float64 // 0 if unknown
	rounding route.Rounding
}

func runBenchRoute(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("bench route", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	dir := fs.String("dir", "../shared/data/cvrplib", "folder of .vrp instances with bks.csv")
	limit := fs.Duration("time", 30*time.Second, "time per instance")
	threads := fs.Int("threads", 1, "parallel searches per instance")
	only := fs.String("only", "", "regular expression selecting instance names")
	seed := fs.Int64("seed", 1, "random seed")
	cpu := fs.Bool("cpu", false, "count --time in CPU time of this process (fair on a busy machine)")
	rest, err := parseInterleaved(fs, args)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if len(rest) > 0 {
		return usageErrorf("unexpected argument %q", rest[0])
	}
	if *limit <= 0 {
		return usageErrorf("--time must be positive")
	}
	if *threads < 1 {
		return usageErrorf("--threads must be at least 1")
	}
	var re *regexp.Regexp
	if *only != "" {
		if re, err = regexp.Compile(*only); err != nil {
			return usageErrorf("--only: %v", err)
		}
	}
	insts, err := benchInstances(*dir)
	if err != nil {
		return err
	}
	sel := insts[:0]
	for _, in := range insts {
		if re == nil || re.MatchString(in.name) {
			sel = append(sel, in)
		}
	}
	if len(sel) == 0 {
		return fmt.Errorf("bench route: no instance in %s matches", *dir)
	}

	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "instance\tn\tcost\tbest known\tgap %\ttime to best\troutes\t")
	var sumGap float64
	var counted int
	var problems []string
	for k, bi := range sel {
		if ctx.Err() != nil {
			break
		}
		p, err := readInstance(bi.path, bi.rounding)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "bench route: [%d/%d] %s (%d customers) for %v\n", k+1, len(sel), bi.name, p.N-1, *limit)
		opt := route.Options{TimeLimit: *limit, Seed: *seed, Threads: *threads}
		if *cpu {
			opt.Clock = route.ProcessCPUClock
		}
		sol, err := route.Solve(ctx, p, opt)
		if err != nil {
			return fmt.Errorf("%s: %w", bi.name, err)
		}
		gap := "-"
		if !sol.Feasible {
			gap = "infeasible"
			problems = append(problems, bi.name+" infeasible")
		} else if bi.bks > 0 {
			g := (sol.Cost - bi.bks) / bi.bks * 100
			sumGap += g
			counted++
			gap = fmt.Sprintf("%.2f", g)
		}
		bks := "-"
		if bi.bks > 0 {
			bks = route.FormatCost(bi.bks)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%.1fs\t%d\t\n", bi.name, p.N-1, route.FormatCost(sol.Cost), bks, gap, sol.TimeToBest.Seconds(), len(sol.Routes))
		fmt.Fprintf(e.stderr, "bench route: %s cost %s (gap %s%%)\n", bi.name, route.FormatCost(sol.Cost), gap)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range problems {
		fmt.Fprintf(e.stdout, "note: %s (left out of the mean)\n", s)
	}
	if *cpu {
		fmt.Fprintln(e.stdout, "note: time limits and times to best are CPU time of this process")
	}
	mean := 0.0
	if counted > 0 {
		mean = sumGap / float64(counted)
	}
	fmt.Fprintf(e.stdout, "route: mean gap %.2f%% over %d instances at %v each\n", mean, counted, *limit)
	return ctx.Err()
}

// benchInstances lists the .vrp files of dir and of its subfolders, with the
// best-known costs and rounding conventions of bks.csv, or of a .sol file
// beside the instance.
func benchInstances(dir string) ([]benchInstance, error) {
	known := map[string]benchInstance{}
	if f, err := os.Open(filepath.Join(dir, "bks.csv")); err == nil {
		recs, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("bench route: bks.csv: %w", err)
		}
		for i, r := range recs {
			if i == 0 || len(r) < 5 {
				continue
			}
			v, err := strconv.ParseFloat(r[3], 64)
			if err != nil {
				return nil, fmt.Errorf("bench route: bks.csv line %d: bad cost %q", i+1, r[3])
			}
			rd := route.RoundAuto
			switch {
			case strings.HasPrefix(r[4], "nint"):
				rd = route.RoundNearest
			case strings.HasPrefix(r[4], "real"), strings.HasPrefix(r[4], "none"):
				rd = route.RoundNone
			case strings.HasPrefix(r[4], "trunc1"):
				rd = route.RoundTrunc1
			}
			known[r[0]] = benchInstance{name: r[0], bks: v, rounding: rd}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var out []benchInstance
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".vrp") {
			return nil
		}
		name := strings.TrimSuffix(filepath.Base(path), ".vrp")
		bi, ok := known[name]
		if !ok {
			bi = benchInstance{name: name}
			if f, err := os.Open(strings.TrimSuffix(path, ".vrp") + ".sol"); err == nil {
				if s, err := route.ReadSolution(f); err == nil {
					bi.bks = s.Cost
				}
				f.Close()
			}
		}
		bi.path = path
		out = append(out, bi)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("bench route: %w", err)
	}
	// Small instances first, so a short run shows results early.
	sort.SliceStable(out, func(i, j int) bool {
		ci, cj := benchClass(out[i].name), benchClass(out[j].name)
		if ci != cj {
			return ci < cj
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

// benchClass orders instance families: the classic sets, then X by size,
// then time-window instances.
func benchClass(name string) int {
	switch {
	case strings.HasPrefix(name, "X-n"):
		rest := strings.TrimPrefix(name, "X-n")
		if k := strings.IndexByte(rest, '-'); k > 0 {
			if n, err := strconv.Atoi(rest[:k]); err == nil {
				return 1 + n
			}
		}
		return 1
	case strings.HasPrefix(name, "C1_"), strings.HasPrefix(name, "C2_"), strings.HasPrefix(name, "R1_"), strings.HasPrefix(name, "R2_"), strings.HasPrefix(name, "RC"):
		return 1 << 20
	}
	return 0
}
