package bench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestPlanCPU runs the plan benchmark on a small city with the solver's
// budget in CPU time and a CPU profile: the last line has the documented
// shape, the CPU time is reported and the profile is written.
func TestPlanCPU(t *testing.T) {
	var out bytes.Buffer
	prof := filepath.Join(t.TempDir(), "cpu.out")
	err := Plan(context.Background(), PlanOptions{Bins: 300, Due: 60, MayGo: -1, Trucks: 4, Time: 300 * time.Millisecond,
		Seed: 1, CPU: true, CPUProfile: prof, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, re := range []string{`(?m)^note: solver budgets count CPU time`, `(?m)^plan: [0-9.]+ s wall, [0-9.]+ s CPU$`,
		`plan: 60 bins due, \d+ routes, \d+ km, [0-9.]+ s\n$`} {
		if !regexp.MustCompile(re).MatchString(text) {
			t.Errorf("output does not match %s:\n%s", re, text)
		}
	}
	if st, err := os.Stat(prof); err != nil || st.Size() == 0 {
		t.Errorf("profile: %v, %v", st, err)
	}
}
