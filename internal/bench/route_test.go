package bench

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/route"
)

// TestCheckRoutes: the bench's independent checker accepts a valid
// solution and names each kind of violation.
func TestCheckRoutes(t *testing.T) {
	// Depot 0 and customers 1..3 on a line, one unit apart.
	n := 4
	p := &route.Problem{N: n, Demand: []int{0, 1, 1, 1}, Capacity: 2, Service: []float64{0, 1, 1, 1}}
	p.Dist = make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			p.Dist[i*n+j] = float64(max(i-j, j-i))
		}
	}
	p.Ready = []float64{0, 0, 5, 0}
	p.Due = []float64{20, 3, 8, 4}
	ok := &route.Solution{Routes: [][]int{{1, 2}, {3}}, Cost: 4 + 6}
	if err := checkRoutes(p, ok); err != nil {
		t.Fatalf("valid solution rejected: %v", err)
	}
	tests := []struct {
		name string
		sol  *route.Solution
		want string
	}{
		{"late", &route.Solution{Routes: [][]int{{2, 1}, {3}}, Cost: 4 + 6}, "customer 1 served at"},
		{"twice", &route.Solution{Routes: [][]int{{1, 2}, {3, 1}}, Cost: 10}, "served twice"},
		{"missing", &route.Solution{Routes: [][]int{{1, 2}}, Cost: 4}, "customer 3 not served"},
		{"cost", &route.Solution{Routes: [][]int{{1, 2}, {3}}, Cost: 9}, "stated cost"},
	}
	for _, tt := range tests {
		err := checkRoutes(p, tt.sol)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
	small := *p
	small.Capacity = 1
	if err := checkRoutes(&small, ok); err == nil || !strings.Contains(err.Error(), "load 2 over capacity 1") {
		t.Errorf("capacity: got %v", err)
	}
}

// TestGapPercent: a cost equal to the best known but for floating-point
// noise has no gap (the table printed -0.00 for C1_10_1), while real
// differences, above or below, keep their sign.
func TestGapPercent(t *testing.T) {
	bks := 42444.8
	noise := 0.0 // 42444.799999999996
	for _, d := range []float64{9462.4, 14709.3, 18273.1} {
		noise += d
	}
	for _, tc := range []struct {
		cost, want float64
	}{
		{bks, 0},
		{noise, 0},
		{bks * (1 - 1e-12), 0},
		{bks * 1.01, 1},
		{bks * 0.99, -1},
		{bks - 0.1, -0.1 / bks * 100},
	} {
		if got := gapPercent(tc.cost, bks); math.Abs(got-tc.want) > 1e-9 || (tc.want == 0 && math.Signbit(got)) {
			t.Errorf("gapPercent(%v, %v) = %v, want %v", tc.cost, bks, got, tc.want)
		}
		if tc.want == 0 && fmt.Sprintf("%.2f", gapPercent(tc.cost, bks)) != "0.00" {
			t.Errorf("gapPercent(%v, %v) prints %.2f", tc.cost, bks, gapPercent(tc.cost, bks))
		}
	}
}
