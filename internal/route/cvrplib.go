package route

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/civic-city/civic/internal/civic"
)

// Rounding selects how ReadCVRPLIBRounding turns coordinates into distances.
type Rounding int

// The distance conventions found in CVRPLIB.
const (
	// RoundAuto follows the file: TSPLIB95 EUC_2D rounds to the nearest
	// integer, except TYPE VRPTW (Solomon / Gehring–Homberger), which
	// truncates to one decimal.
	RoundAuto Rounding = iota
	// RoundNearest is Euclidean distance rounded to the nearest integer.
	RoundNearest
	// RoundNone is unrounded Euclidean distance (the CMT convention).
	RoundNone
	// RoundTrunc1 is Euclidean distance truncated to one decimal.
	RoundTrunc1
)

// ParseRounding reads a rounding name: auto, nint, none (or real) or trunc1.
func ParseRounding(s string) (Rounding, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "auto", "":
		return RoundAuto, nil
	case "nint", "round", "nearest":
		return RoundNearest, nil
	case "none", "real", "exact":
		return RoundNone, nil
	case "trunc1":
		return RoundTrunc1, nil
	}
	return RoundAuto, civic.FieldError("rounding", "unknown rounding %q (want auto, nint, none or trunc1)", s)
}

// MaxReadNodes bounds DIMENSION in files read by ReadCVRPLIB: the dense
// matrices of larger instances would not fit in memory.
const MaxReadNodes = 10001

// ReadCVRPLIB reads a CVRPLIB / TSPLIB95 instance with the distance
// convention the file implies (see RoundAuto).
func ReadCVRPLIB(r io.Reader) (*Problem, error) {
	return ReadCVRPLIBRounding(r, RoundAuto)
}

// ReadCVRPLIBRounding reads a CVRPLIB / TSPLIB95 instance: TYPE CVRP or
// VRPTW; EDGE_WEIGHT_TYPE EUC_2D, CEIL_2D or EXPLICIT (FULL_MATRIX,
// LOWER_ROW, LOWER_DIAG_ROW, UPPER_ROW, UPPER_DIAG_ROW); the sections
// NODE_COORD, DEMAND, DEPOT (one depot), TIME_WINDOW, SERVICE_TIME and
// EDGE_WEIGHT; the keys CAPACITY, DISTANCE (route duration limit),
// SERVICE_TIME and VEHICLES. Errors are civic Invalid errors naming the
// offending line.
func ReadCVRPLIBRounding(r io.Reader, rd Rounding) (*Problem, error) {
	var (
		p          = &Problem{}
		typ        string
		weightType = "EUC_2D"
		weightFmt  = "FULL_MATRIX"
		service    float64
		hasService bool
		section    string
		coords     [][2]float64
		hasCoord   []bool
		demand     []int
		ready, due []float64
		svc        []float64
		weights    []float64
		depots     []int
		ended      bool
	)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	lineNo := 0
	bad := func(format string, args ...any) error {
		return civic.FieldError("line "+strconv.Itoa(lineNo), format, args...)
	}
	node := func(tok string) (int, error) {
		id, err := strconv.Atoi(tok)
		if err != nil || id < 1 || id > p.N {
			return 0, bad("node id %q out of range 1..%d", tok, p.N)
		}
		return id - 1, nil
	}
	num := func(tok string) (float64, error) {
		v, err := strconv.ParseFloat(tok, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, bad("bad number %q", tok)
		}
		return v, nil
	}
	for !ended && sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		fields := strings.Fields(line)
		head := strings.ToUpper(fields[0])
		if strings.HasSuffix(head, "_SECTION") || head == "EOF" {
			if head != "EOF" && p.N == 0 {
				return nil, bad("%s before DIMENSION", head)
			}
			section = head
			switch head {
			case "EOF":
				ended = true
			case "NODE_COORD_SECTION":
				coords, hasCoord = make([][2]float64, p.N), make([]bool, p.N)
			case "DEMAND_SECTION":
				demand = make([]int, p.N)
			case "TIME_WINDOW_SECTION":
				ready, due = make([]float64, p.N), make([]float64, p.N)
			case "SERVICE_TIME_SECTION":
				svc = make([]float64, p.N)
			case "EDGE_WEIGHT_SECTION":
				weights = make([]float64, 0, min(p.N*p.N, 1<<16))
			case "DEPOT_SECTION":
			default:
				return nil, bad("unsupported section %s", head)
			}
			continue
		}
		if k := strings.IndexByte(line, ':'); k >= 0 && isKey(line[:k]) {
			key := strings.ToUpper(strings.TrimSpace(line[:k]))
			val := strings.Trim(strings.TrimSpace(line[k+1:]), "\"")
			val = strings.TrimSpace(val)
			section = ""
			switch key {
			case "NAME":
				p.Name = val
			case "TYPE":
				typ = strings.ToUpper(val)
				if typ != "CVRP" && typ != "VRPTW" && typ != "CVRPTW" && typ != "DCVRP" {
					return nil, bad("unsupported TYPE %q", val)
				}
			case "DIMENSION":
				n, err := strconv.Atoi(val)
				if err != nil || n < 2 || n > MaxReadNodes {
					return nil, bad("DIMENSION %q must be an integer in 2..%d", val, MaxReadNodes)
				}
				if p.N != 0 {
					return nil, bad("DIMENSION given twice")
				}
				p.N = n
			case "CAPACITY":
				c, err := strconv.Atoi(val)
				if err != nil || c <= 0 {
					return nil, bad("CAPACITY %q must be a positive integer", val)
				}
				p.Capacity = c
			case "DISTANCE":
				v, err := num(val)
				if err != nil || v < 0 {
					return nil, bad("DISTANCE %q must be a number >= 0", val)
				}
				p.MaxDuration = v
			case "SERVICE_TIME":
				v, err := num(val)
				if err != nil || v < 0 {
					return nil, bad("SERVICE_TIME %q must be a number >= 0", val)
				}
				service, hasService = v, true
			case "VEHICLES":
				v, err := strconv.Atoi(val)
				if err != nil || v < 0 {
					return nil, bad("VEHICLES %q must be an integer >= 0", val)
				}
				p.Vehicles = v
			case "EDGE_WEIGHT_TYPE":
				weightType = strings.ToUpper(val)
				switch weightType {
				case "EUC_2D", "CEIL_2D", "EXPLICIT":
				default:
					return nil, bad("unsupported EDGE_WEIGHT_TYPE %q", val)
				}
			case "EDGE_WEIGHT_FORMAT":
				weightFmt = strings.ToUpper(val)
			}
			continue
		}
		switch section {
		case "NODE_COORD_SECTION":
			if len(fields) < 3 {
				return nil, bad("want: id x y")
			}
			i, err := node(fields[0])
			if err != nil {
				return nil, err
			}
			x, err := num(fields[1])
			if err != nil {
				return nil, err
			}
			y, err := num(fields[2])
			if err != nil {
				return nil, err
			}
			coords[i], hasCoord[i] = [2]float64{x, y}, true
		case "DEMAND_SECTION":
			if len(fields) < 2 {
				return nil, bad("want: id demand")
			}
			i, err := node(fields[0])
			if err != nil {
				return nil, err
			}
			d, err := strconv.Atoi(fields[1])
			if err != nil || d < 0 {
				return nil, bad("demand %q must be an integer >= 0", fields[1])
			}
			demand[i] = d
		case "TIME_WINDOW_SECTION":
			if len(fields) < 3 {
				return nil, bad("want: id ready due")
			}
			i, err := node(fields[0])
			if err != nil {
				return nil, err
			}
			if ready[i], err = num(fields[1]); err != nil {
				return nil, err
			}
			if due[i], err = num(fields[2]); err != nil {
				return nil, err
			}
		case "SERVICE_TIME_SECTION":
			if len(fields) < 2 {
				return nil, bad("want: id service")
			}
			i, err := node(fields[0])
			if err != nil {
				return nil, err
			}
			if svc[i], err = num(fields[1]); err != nil {
				return nil, err
			}
		case "DEPOT_SECTION":
			for _, f := range fields {
				if f == "-1" {
					section = ""
					break
				}
				i, err := node(f)
				if err != nil {
					return nil, err
				}
				depots = append(depots, i)
			}
		case "EDGE_WEIGHT_SECTION":
			for _, f := range fields {
				if len(weights) >= p.N*p.N {
					return nil, bad("too many edge weights")
				}
				v, err := num(f)
				if err != nil {
					return nil, err
				}
				weights = append(weights, v)
			}
		default:
			return nil, bad("unexpected line %q", truncate(line, 40))
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, civic.FieldError("line "+strconv.Itoa(lineNo+1), "line too long")
		}
		return nil, fmt.Errorf("route: reading CVRPLIB: %w", err)
	}
	return buildProblem(p, typ, rd, weightType, weightFmt, service, hasService, coords, hasCoord, demand, ready, due, svc, weights, depots)
}

// isKey reports whether s looks like a TSPLIB specification keyword.
func isKey(s string) bool {
	s = strings.TrimSpace(s)
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r == '_') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func buildProblem(p *Problem, typ string, rd Rounding, weightType, weightFmt string, service float64, hasService bool,
	coords [][2]float64, hasCoord []bool, demand []int, ready, due, svc, weights []float64, depots []int) (*Problem, error) {
	n := p.N
	if n == 0 {
		return nil, civic.FieldError("DIMENSION", "missing")
	}
	if p.Capacity == 0 {
		return nil, civic.FieldError("CAPACITY", "missing")
	}
	if demand == nil {
		return nil, civic.FieldError("DEMAND_SECTION", "missing")
	}
	if len(depots) > 1 {
		return nil, civic.FieldError("DEPOT_SECTION", "%d depots: only one depot is supported", len(depots))
	}
	depot := 0
	if len(depots) == 1 {
		depot = depots[0]
	}
	// perm[k] is the file node placed at index k: the depot first, then the
	// other nodes in file order.
	perm := make([]int, 0, n)
	perm = append(perm, depot)
	for i := 0; i < n; i++ {
		if i != depot {
			perm = append(perm, i)
		}
	}
	if rd == RoundAuto {
		rd = RoundNearest
		if strings.Contains(typ, "TW") {
			rd = RoundTrunc1
		}
	}
	p.Demand = make([]int, n)
	for k, i := range perm {
		p.Demand[k] = demand[i]
	}
	if p.Demand[0] != 0 {
		return nil, civic.FieldError("DEMAND_SECTION", "the depot has demand %d, want 0", p.Demand[0])
	}
	for k := 1; k < n; k++ {
		if p.Demand[k] > p.Capacity {
			return nil, civic.FieldError("DEMAND_SECTION", "node %d demands %d, more than CAPACITY %d", perm[k]+1, p.Demand[k], p.Capacity)
		}
	}
	if svc != nil || hasService {
		p.Service = make([]float64, n)
		for k := 1; k < n; k++ {
			if svc != nil {
				p.Service[k] = svc[perm[k]]
			} else {
				p.Service[k] = service
			}
		}
	}
	if ready != nil {
		p.Ready, p.Due = make([]float64, n), make([]float64, n)
		for k, i := range perm {
			p.Ready[k], p.Due[k] = ready[i], due[i]
			if ready[i] > due[i] {
				return nil, civic.FieldError("TIME_WINDOW_SECTION", "node %d has window [%v, %v]", i+1, ready[i], due[i])
			}
		}
	}
	if coords != nil {
		for i, ok := range hasCoord {
			if !ok {
				return nil, civic.FieldError("NODE_COORD_SECTION", "node %d has no coordinates", i+1)
			}
		}
		p.X, p.Y = make([]float64, n), make([]float64, n)
		for k, i := range perm {
			p.X[k], p.Y[k] = coords[i][0], coords[i][1]
		}
	}
	p.Dist = make([]float64, n*n)
	switch weightType {
	case "EXPLICIT":
		full, err := expandWeights(weights, n, weightFmt)
		if err != nil {
			return nil, err
		}
		for a, i := range perm {
			for b, j := range perm {
				p.Dist[a*n+b] = full[i*n+j]
			}
		}
	default:
		if coords == nil {
			return nil, civic.FieldError("NODE_COORD_SECTION", "missing")
		}
		for a := 0; a < n; a++ {
			for b := 0; b < n; b++ {
				d := math.Hypot(p.X[a]-p.X[b], p.Y[a]-p.Y[b])
				switch {
				case weightType == "CEIL_2D":
					d = math.Ceil(d)
				case rd == RoundNearest:
					d = math.Floor(d + 0.5)
				case rd == RoundTrunc1:
					d = math.Floor(d*10) / 10
				}
				p.Dist[a*n+b] = d
			}
		}
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

func expandWeights(w []float64, n int, format string) ([]float64, error) {
	full := make([]float64, n*n)
	var want int
	switch format {
	case "FULL_MATRIX":
		want = n * n
	case "LOWER_ROW", "UPPER_ROW":
		want = n * (n - 1) / 2
	case "LOWER_DIAG_ROW", "UPPER_DIAG_ROW":
		want = n * (n + 1) / 2
	default:
		return nil, civic.FieldError("EDGE_WEIGHT_FORMAT", "unsupported format %q", format)
	}
	if len(w) != want {
		return nil, civic.FieldError("EDGE_WEIGHT_SECTION", "%d weights, want %d for %s", len(w), want, format)
	}
	k := 0
	set := func(i, j int) {
		full[i*n+j], full[j*n+i] = w[k], w[k]
		k++
	}
	switch format {
	case "FULL_MATRIX":
		copy(full, w)
	case "LOWER_ROW":
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				set(i, j)
			}
		}
	case "LOWER_DIAG_ROW":
		for i := 0; i < n; i++ {
			for j := 0; j <= i; j++ {
				set(i, j)
			}
		}
	case "UPPER_ROW":
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				set(i, j)
			}
		}
	case "UPPER_DIAG_ROW":
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				set(i, j)
			}
		}
	}
	return full, nil
}

// WriteSolution writes s in the CVRPLIB .sol format: one "Route #k:" line per
// non-empty route, customers numbered as in the Problem (the depot is 0), then
// "Cost C".
func WriteSolution(w io.Writer, s *Solution) error {
	bw := bufio.NewWriter(w)
	k := 0
	for _, r := range s.Routes {
		if len(r) == 0 {
			continue
		}
		k++
		fmt.Fprintf(bw, "Route #%d:", k)
		for _, c := range r {
			bw.WriteByte(' ')
			bw.WriteString(strconv.Itoa(c))
		}
		bw.WriteByte('\n')
	}
	fmt.Fprintf(bw, "Cost %s\n", FormatCost(s.Cost))
	return bw.Flush()
}

// FormatCost prints a cost the way CVRPLIB does: integers without decimals,
// other values with as few decimals as they need (to a millionth).
func FormatCost(c float64) string {
	c = math.Round(c*1e6) / 1e6
	if c == math.Trunc(c) && math.Abs(c) < 1e15 {
		return strconv.FormatInt(int64(c), 10)
	}
	return strconv.FormatFloat(c, 'f', -1, 64)
}

// ReadSolution reads a CVRPLIB .sol file: its routes and its stated cost.
// The returned Solution's Feasible field is not set: check it against the
// Problem.
func ReadSolution(r io.Reader) (*Solution, error) {
	s := &Solution{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	lineNo, hasCost := 0, false
	for sc.Scan() {
		lineNo++
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "":
		case strings.HasPrefix(line, "Route"):
			k := strings.IndexByte(line, ':')
			if k < 0 {
				return nil, civic.FieldError("line "+strconv.Itoa(lineNo), "want \"Route #k: customers\"")
			}
			var route []int
			for _, f := range strings.Fields(line[k+1:]) {
				c, err := strconv.Atoi(f)
				if err != nil || c < 0 {
					return nil, civic.FieldError("line "+strconv.Itoa(lineNo), "bad customer %q", f)
				}
				route = append(route, c)
			}
			s.Routes = append(s.Routes, route)
		case strings.HasPrefix(strings.ToLower(line), "cost"):
			v, err := strconv.ParseFloat(strings.TrimSpace(line[4:]), 64)
			if err != nil {
				return nil, civic.FieldError("line "+strconv.Itoa(lineNo), "bad cost %q", line[4:])
			}
			s.Cost, hasCost = v, true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("route: reading solution: %w", err)
	}
	if !hasCost {
		return nil, civic.FieldError("Cost", "missing")
	}
	return s, nil
}
