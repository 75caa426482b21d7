package bench

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	pathpkg "path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/civic-city/civic/internal/refdata"
	"github.com/civic-city/civic/internal/route"
)

// instance is one instance of the route benchmark and what is known of
// its best solution.
type instance struct {
	name     string
	path     string
	bks      float64 // 0 if unknown
	rounding route.Rounding
}

// RouteOptions configures the route benchmark. cmd/civic validates them.
type RouteOptions struct {
	Dir     string         // folder of .vrp instances, with bks.csv; "": the instances kept in the repository (internal/refdata)
	Time    time.Duration  // time limit per instance
	Threads int            // parallel searches per instance
	Only    *regexp.Regexp // selects instances by name; nil: all
	Seed    int64          // random seed of the solver
	CPU     bool           // count Time in CPU time of this process

	Out      io.Writer // the table, notes and the mean gap, last
	Progress io.Writer // one line as each instance starts and ends
}

// Route solves the CVRPLIB instances of o.Dir one after the other and
// writes a table of their costs against the best known ones, ending with
// the line "route: mean gap G% over N instances at T each".
func Route(ctx context.Context, o RouteOptions) error {
	fsys, where := refdata.CVRPLIB(), "the built-in instances"
	if o.Dir != "" {
		fsys, where = os.DirFS(o.Dir), o.Dir
	}
	insts, err := instances(fsys)
	if err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	sel := insts[:0]
	for _, in := range insts {
		if o.Only == nil || o.Only.MatchString(in.name) {
			sel = append(sel, in)
		}
	}
	if len(sel) == 0 {
		return fmt.Errorf("bench route: no instance in %s matches", where)
	}

	tw := tabwriter.NewWriter(o.Out, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "instance\tn\tcost\tbest known\tgap %\ttime to best\troutes\tcheck\t")
	var sumGap float64
	var counted int
	var problems []string
	for k, bi := range sel {
		if ctx.Err() != nil {
			break
		}
		p, err := readInstance(fsys, bi.path, bi.rounding)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Progress, "bench route: [%d/%d] %s (%d customers) for %v\n", k+1, len(sel), bi.name, p.N-1, o.Time)
		opt := route.Options{TimeLimit: o.Time, Seed: o.Seed, Threads: o.Threads}
		if o.CPU {
			opt.Clock = route.ProcessCPUClock
		}
		sol, err := route.Solve(ctx, p, opt)
		if err != nil {
			return fmt.Errorf("%s: %w", bi.name, err)
		}
		gap, check := "-", "ok"
		if err := checkRoutes(p, sol); err != nil {
			check = "FAILED"
			if sol.Feasible {
				problems = append(problems, bi.name+" failed the check: "+err.Error())
			}
		}
		if !sol.Feasible {
			gap = "infeasible"
			problems = append(problems, bi.name+" infeasible")
		} else if check != "ok" {
			gap = "unchecked"
		} else if bi.bks > 0 {
			g := gapPercent(sol.Cost, bi.bks)
			sumGap += g
			counted++
			gap = fmt.Sprintf("%.2f", g)
		}
		bks := "-"
		if bi.bks > 0 {
			bks = route.FormatCost(bi.bks)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%.1fs\t%d\t%s\t\n", bi.name, p.N-1, route.FormatCost(sol.Cost), bks, gap, sol.TimeToBest.Seconds(), len(sol.Routes), check)
		fmt.Fprintf(o.Progress, "bench route: %s cost %s (gap %s%%)\n", bi.name, route.FormatCost(sol.Cost), gap)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range problems {
		fmt.Fprintf(o.Out, "note: %s (left out of the mean)\n", s)
	}
	if o.CPU {
		fmt.Fprintln(o.Out, "note: time limits and times to best are CPU time of this process")
	}
	mean := 0.0
	if counted > 0 {
		mean = sumGap / float64(counted)
	}
	fmt.Fprintf(o.Out, "route: mean gap %.2f%% over %d instances at %v each\n", mean, counted, o.Time)
	return ctx.Err()
}

// instances lists the .vrp files of fsys and of its subfolders, with the
// best-known costs and rounding conventions of bks.csv, or of a .sol file
// beside the instance.
func instances(fsys fs.FS) ([]instance, error) {
	known := map[string]instance{}
	if f, err := fsys.Open("bks.csv"); err == nil {
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
			known[r[0]] = instance{name: r[0], bks: v, rounding: rd}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var out []instance
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.HasSuffix(path, ".vrp") {
			return nil
		}
		name := strings.TrimSuffix(pathpkg.Base(path), ".vrp")
		bi, ok := known[name]
		if !ok {
			bi = instance{name: name}
			if f, err := fsys.Open(strings.TrimSuffix(path, ".vrp") + ".sol"); err == nil {
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
		ci, cj := instanceClass(out[i].name), instanceClass(out[j].name)
		if ci != cj {
			return ci < cj
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

// instanceClass orders instance families: the classic sets, then X by size,
// then time-window instances.
func instanceClass(name string) int {
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

// readInstance reads the CVRPLIB file at path in fsys with rounding rd.
func readInstance(fsys fs.FS, path string, rd route.Rounding) (*route.Problem, error) {
	f, err := fsys.Open(path)
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

// checkRoutes verifies a solution independently of the solver: it drives
// each route from the depot's opening time, waiting when early, and
// requires every customer served once, every load within capacity, every
// service started by its window's end and every vehicle back by the
// depot's closing time (or within the duration limit), and the stated cost.
func checkRoutes(p *route.Problem, s *route.Solution) error {
	n := p.N
	tm := p.Time
	if tm == nil {
		tm = p.Dist
	}
	const tol = 1e-6
	seen := make([]bool, n)
	total := 0.0
	for ri, r := range s.Routes {
		load, dist, t, prev := 0, 0.0, 0.0, 0
		if p.Ready != nil {
			t = p.Ready[0]
		}
		for _, c := range r {
			if c <= 0 || c >= n || seen[c] {
				return fmt.Errorf("route %d: customer %d out of range or served twice", ri+1, c)
			}
			seen[c] = true
			load += p.Demand[c]
			dist += p.Dist[prev*n+c]
			t += tm[prev*n+c]
			if p.Ready != nil {
				t = max(t, p.Ready[c])
				if t > p.Due[c]+tol {
					return fmt.Errorf("route %d: customer %d served at %.2f, window ends %.2f", ri+1, c, t, p.Due[c])
				}
			}
			if p.Service != nil {
				t += p.Service[c]
			}
			prev = c
		}
		dist += p.Dist[prev*n]
		t += tm[prev*n]
		switch {
		case load > p.Capacity:
			return fmt.Errorf("route %d: load %d over capacity %d", ri+1, load, p.Capacity)
		case p.Ready != nil && t > p.Due[0]+tol:
			return fmt.Errorf("route %d: back at %.2f, depot closes %.2f", ri+1, t, p.Due[0])
		case p.Ready == nil && p.MaxDuration > 0 && t > p.MaxDuration+tol:
			return fmt.Errorf("route %d: duration %.2f over %.2f", ri+1, t, p.MaxDuration)
		}
		total += dist
	}
	for c := 1; c < n; c++ {
		if !seen[c] {
			return fmt.Errorf("customer %d not served", c)
		}
	}
	if d := total - s.Cost; d > tol*max(1, total) || d < -tol*max(1, total) {
		return fmt.Errorf("stated cost %v, recomputed %v", s.Cost, total)
	}
	return nil
}

// gapPercent is how far cost is above the best known bks, in per cent. A
// cost equal to it up to floating-point noise (the sum of the same
// distances in another order) is 0, not a tiny negative that would print
// as -0.00.
func gapPercent(cost, bks float64) float64 {
	if math.Abs(cost-bks) <= 1e-9*math.Abs(bks) {
		return 0
	}
	return (cost - bks) / bks * 100
}
