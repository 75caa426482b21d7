package route

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// dataDir holds the CVRPLIB instances kept in the repository (see its
// README.md for sources and licences).
const dataDir = "../refdata/cvrplib"

type bksRow struct {
	name     string
	n, cap   int
	bks      float64
	rounding Rounding
}

func readBKS(t *testing.T) []bksRow {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, "bks.csv"))
	if err != nil {
		t.Fatalf("reference data missing from the repository: %v", err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var rows []bksRow
	for _, r := range recs[1:] {
		n, _ := strconv.Atoi(r[1])
		c, _ := strconv.Atoi(r[2])
		v, _ := strconv.ParseFloat(r[3], 64)
		rd := RoundNearest
		if strings.HasPrefix(r[4], "real") {
			rd = RoundNone
		}
		rows = append(rows, bksRow{r[0], n, c, v, rd})
	}
	return rows
}

func loadInstance(t testing.TB, name string, rd Rounding) *Problem {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, name+".vrp"))
	if err != nil {
		t.Fatalf("reference data missing from the repository: %v", err)
	}
	defer f.Close()
	p, err := ReadCVRPLIBRounding(f, rd)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return p
}

func loadSolution(t *testing.T, name string) *Solution {
	t.Helper()
	f, err := os.Open(filepath.Join(dataDir, name+".sol"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := ReadSolution(f)
	if err != nil {
		t.Fatalf("%s.sol: %v", name, err)
	}
	return s
}

func TestReadAllInstances(t *testing.T) {
	for _, row := range readBKS(t) {
		p := loadInstance(t, row.name, row.rounding)
		if p.N != row.n || p.Capacity != row.cap {
			t.Errorf("%s: N=%d capacity=%d, want %d, %d", row.name, p.N, p.Capacity, row.n, row.cap)
		}
		if p.Name != row.name {
			t.Errorf("%s: Name %q", row.name, p.Name)
		}
		if p.X == nil {
			t.Errorf("%s: no coordinates", row.name)
		}
	}
	p := loadInstance(t, "CMT6", RoundNone)
	if p.MaxDuration != 200 || p.Service == nil || p.Service[1] != 10 || p.Service[0] != 0 {
		t.Errorf("CMT6: MaxDuration %v, Service %v..., want 200 and 10", p.MaxDuration, p.Service[:2])
	}
}

// TestBestKnownSolutionsPass runs the independent checker on every
// best-known solution in the data folder: it must accept them, at exactly the
// cost bks.csv states.
func TestBestKnownSolutionsPass(t *testing.T) {
	for _, row := range readBKS(t) {
		if _, err := os.Stat(filepath.Join(dataDir, row.name+".sol")); err != nil {
			continue
		}
		p := loadInstance(t, row.name, row.rounding)
		s := loadSolution(t, row.name)
		if s.Cost != row.bks {
			t.Errorf("%s.sol states %v, bks.csv %v", row.name, s.Cost, row.bks)
		}
		if err := checkSolution(p, s); err != nil {
			t.Errorf("%s.sol: %v", row.name, err)
		}
	}
}

func TestVRPTWInstance(t *testing.T) {
	p := loadInstance(t, "vrptw/C1_10_1", RoundAuto)
	if p.N != 1001 || p.Vehicles != 250 || p.Capacity != 200 || p.Ready == nil {
		t.Fatalf("C1_10_1: N=%d vehicles=%d capacity=%d windows=%v", p.N, p.Vehicles, p.Capacity, p.Ready != nil)
	}
	if p.Service[0] != 0 || p.Service[1] != 90 || p.Due[0] != 1824 {
		t.Errorf("service %v %v, depot due %v", p.Service[0], p.Service[1], p.Due[0])
	}
	// Distances are truncated to one decimal.
	d := p.Dist[0*p.N+1]
	if d*10 != float64(int(d*10)) {
		t.Errorf("distance %v not truncated to one decimal", d)
	}
	s := loadSolution(t, "vrptw/C1_10_1")
	s.Cost = 42444.8
	if err := checkSolution(p, s); err != nil {
		t.Errorf("C1_10_1.sol: %v", err)
	}
}

func TestWriteSolutionRoundTrip(t *testing.T) {
	s := &Solution{Routes: [][]int{{1, 2}, {}, {3}}, Cost: 42444.8}
	var b bytes.Buffer
	if err := WriteSolution(&b, s); err != nil {
		t.Fatal(err)
	}
	want := "Route #1: 1 2\nRoute #2: 3\nCost 42444.8\n"
	if got := b.String(); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	back, err := ReadSolution(&b)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Routes) != 2 || back.Cost != 42444.8 {
		t.Errorf("read back %+v", back)
	}
	if got := FormatCost(784.0000000001); got != "784" {
		t.Errorf("FormatCost = %q", got)
	}
}

const tinyVRP = `NAME : tiny
TYPE : CVRP
DIMENSION : 4
EDGE_WEIGHT_TYPE : EUC_2D
CAPACITY : 10
NODE_COORD_SECTION
1 0 0
2 3 4
3 0 1.6
4 -1 0
DEMAND_SECTION
1 0
2 5
3 5
4 3
DEPOT_SECTION
1
-1
EOF
`

func TestReadRounding(t *testing.T) {
	for _, tc := range []struct {
		rd   Rounding
		want float64 // distance from node 1 to node 3
	}{{RoundAuto, 2}, {RoundNearest, 2}, {RoundNone, 1.6}, {RoundTrunc1, 1.6}} {
		p, err := ReadCVRPLIBRounding(strings.NewReader(tinyVRP), tc.rd)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Dist[0*4+2]; got != tc.want {
			t.Errorf("rounding %v: d(1,3) = %v, want %v", tc.rd, got, tc.want)
		}
		if p.Dist[0*4+1] != 5 {
			t.Errorf("rounding %v: d(1,2) = %v, want 5", tc.rd, p.Dist[1])
		}
	}
}

func TestReadErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"NAME : x\nDIMENSION : 3\n", "CAPACITY"},
		{"DIMENSION : 1000000\n", "line 1"},
		{"TYPE : TSP\n", "line 1"},
		{strings.Replace(tinyVRP, "4 3\n", "4 30\n", 1), "DEMAND_SECTION"},
		{strings.Replace(tinyVRP, "3 0 1.6\n", "", 1), "NODE_COORD_SECTION"},
		{strings.Replace(tinyVRP, "3 0 1.6\n", "3 0 x\n", 1), "line 9"},
		{strings.Replace(tinyVRP, "1\n-1\n", "1 2\n-1\n", 1), "DEPOT_SECTION"},
	} {
		_, err := ReadCVRPLIB(strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want one naming %q", err, tc.want)
		}
	}
}

func TestReadExplicitMatrix(t *testing.T) {
	in := `NAME : m
TYPE : CVRP
DIMENSION : 3
EDGE_WEIGHT_TYPE : EXPLICIT
EDGE_WEIGHT_FORMAT : LOWER_ROW
CAPACITY : 5
EDGE_WEIGHT_SECTION
 7
 8 9
DEMAND_SECTION
1 0
2 1
3 1
DEPOT_SECTION
 1
 -1
EOF
`
	p, err := ReadCVRPLIB(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0, 7, 8, 7, 0, 9, 8, 9, 0}
	for i, w := range want {
		if p.Dist[i] != w {
			t.Fatalf("Dist = %v, want %v", p.Dist, want)
		}
	}
}

func FuzzReadCVRPLIB(f *testing.F) {
	f.Add(tinyVRP)
	f.Add(strings.Replace(tinyVRP, "TYPE : CVRP", "TYPE : VRPTW\nVEHICLES : 2\nSERVICE_TIME : 1", 1) + "TIME_WINDOW_SECTION\n1 0 100\n2 0 10\n")
	f.Add("DIMENSION : 2\nCAPACITY : 1\nEDGE_WEIGHT_TYPE : EXPLICIT\nEDGE_WEIGHT_FORMAT : FULL_MATRIX\nEDGE_WEIGHT_SECTION\n0 1 1 0\nDEMAND_SECTION\n1 0\n2 1\n")
	if b, err := os.ReadFile(filepath.Join(dataDir, "A-n32-k5.vrp")); err == nil {
		f.Add(string(b))
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ReadCVRPLIB(strings.NewReader(s))
		if err != nil {
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("reader returned an invalid problem: %v", err)
		}
	})
}

// TestCheckSolutionFile runs the independent checker on a solution written
// by "civic route solve": ROUTE_CHECK=instance.vrp:solution.sol (distances
// by the file's own convention, see RoundAuto; ROUTE_CHECK_ROUND overrides).
func TestCheckSolutionFile(t *testing.T) {
	spec := os.Getenv("ROUTE_CHECK")
	if spec == "" {
		t.Skip("set ROUTE_CHECK=instance.vrp:solution.sol")
	}
	vrp, sol, ok := strings.Cut(spec, ":")
	if !ok {
		t.Fatalf("ROUTE_CHECK=%q, want instance.vrp:solution.sol", spec)
	}
	rd, err := ParseRounding(os.Getenv("ROUTE_CHECK_ROUND"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(vrp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := ReadCVRPLIBRounding(f, rd)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.Open(sol)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	s, err := ReadSolution(g)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkSolution(p, s); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d routes, cost %v: every customer once, capacity, duration and time windows respected", p.Name, len(s.Routes), s.Cost)
}
