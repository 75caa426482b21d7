package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestDemoRefusesRealData runs the binary: --demo on a data folder with a
// real user refuses to start and adds no demo user; --demo-anyway starts.
func TestDemoRefusesRealData(t *testing.T) {
	data := t.TempDir()
	run := func(timeout time.Duration, args ...string) (string, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, civicBin, args...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return out.String(), err
	}
	if out, err := run(30*time.Second, "user", "add", "ops", "--role", "admin", "--data", data); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	out, err := run(30*time.Second, "serve", "--demo", "--data", data, "--addr", "127.0.0.1:0", "--mqtt-addr", "")
	if err == nil || !strings.Contains(out, "--demo-anyway") {
		t.Fatalf("serve --demo on a folder with a real user: %v, want a refusal naming --demo-anyway\n%s", err, out)
	}
	list, err := run(30*time.Second, "user", "list", "--data", data)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(list, "supervisor") || !strings.Contains(list, "ops") {
		t.Fatalf("users after the refusal:\n%s", list)
	}
}
