package whatif

import (
	"context"
	"testing"
	"time"
)

func TestQuick(t *testing.T) {
	start := time.Now()
	r, err := Run(context.Background(), Options{Bins: 200, Days: 14, Seed: 1, PlanTime: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Policies {
		t.Logf("%-9s %+v extra %d unserved %d plan %.1fs imbalance %.3f", p.Policy, p.Total, p.ExtraTrucks, p.Unserved, p.PlanSeconds, p.Waste.Imbalance())
	}
	t.Log(r.Summary, time.Since(start))
}
