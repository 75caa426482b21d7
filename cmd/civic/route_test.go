package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func runCmd(t *testing.T, f func(context.Context, *env, []string) error, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, getenv: func(string) string { return "" }}
	err := f(context.Background(), e, args)
	return out.String(), errb.String(), err
}

func TestRouteSolve(t *testing.T) {
	out, stderr, err := runCmd(t, runRoute, "solve", "../../internal/refdata/cvrplib/A-n32-k5.vrp", "--time", "1s", "--seed", "3")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	if !strings.Contains(out, "Route #1:") || !strings.HasSuffix(out, "Cost 784\n") {
		t.Errorf("output:\n%s", out)
	}
	if !strings.Contains(stderr, "cost 784") {
		t.Errorf("no progress on stderr:\n%s", stderr)
	}
}

func TestRouteUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"fly"},
		{"solve"},
		{"solve", "x.vrp", "--time", "soon"},
		{"solve", "x.vrp", "--threads", "0"},
		{"solve", "x.vrp", "--round", "up"},
		{"solve", "a.vrp", "b.vrp"},
	} {
		_, _, err := runCmd(t, runRoute, args...)
		if !errors.Is(err, errUsage) {
			t.Errorf("%q: got %v, want a usage error", args, err)
		}
	}
	if _, _, err := runCmd(t, runRoute, "solve", "missing.vrp"); err == nil || errors.Is(err, errUsage) {
		t.Errorf("missing file: %v", err)
	}
}

func TestBenchRoute(t *testing.T) {
	out, stderr, err := runCmd(t, runBenchRoute, "--time", "300ms", "--only", "^(A-n32-k5|CMT6)$")
	if err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	if !regexp.MustCompile(`^route: mean gap -?\d+\.\d\d% over 2 instances at 300ms each$`).MatchString(last) {
		t.Errorf("last line %q", last)
	}
	if !strings.Contains(out, "A-n32-k5") || !strings.Contains(out, "CMT6") || !strings.Contains(out, "555.43") {
		t.Errorf("table:\n%s", out)
	}
	if !strings.Contains(stderr, "[1/2] A-n32-k5") {
		t.Errorf("no per-instance progress on stderr:\n%s", stderr)
	}
	if _, _, err := runCmd(t, runBenchRoute, "--only", "("); !errors.Is(err, errUsage) {
		t.Errorf("bad regexp: %v", err)
	}
}
