package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// civicBin is the binary under test, built once by TestMain.
var civicBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "civic-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	civicBin = filepath.Join(dir, "civic")
	build := exec.Command("go", "build", "-o", civicBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building civic:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// civicCmd runs the built binary to completion and returns its stdout.
func civicCmd(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command(civicBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("civic %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

// serverProc is a running `civic serve`.
type serverProc struct {
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
}

var listenLine = regexp.MustCompile(`listening on (http://\S+)`)

// startServer starts civic serve on a random port and waits until it answers.
func startServer(t *testing.T, data string) *serverProc {
	t.Helper()
	cmd := exec.Command(civicBin, "serve", "--addr", "127.0.0.1:0", "--mqtt-addr", "", "--data", data, "--log-format", "text")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &bytes.Buffer{}
	cmd.Stderr = logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serverProc{cmd: cmd, logs: logs}
	t.Cleanup(func() { p.kill() })
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
	}()
	select {
	case p.base = <-found:
	case <-time.After(30 * time.Second):
		t.Fatalf("civic serve did not report its address; logs:\n%s", logs.String())
	}
	return p
}

func (p *serverProc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_ = p.cmd.Wait()
	}
}

// call sends a JSON request and decodes the JSON answer into out (if non-nil).
func call(t *testing.T, method, url, key string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: decoding %q: %v", method, url, raw, err)
		}
	}
	return resp.StatusCode
}

var keyLine = regexp.MustCompile(`(?m)^key: (\S+)$`)

// TestEndToEnd starts the real binary, creates a key with the CLI, registers
// a bin and its sensor, ingests readings, reads them back, and checks that
// what was acknowledged survives a SIGKILL and restart.
func TestEndToEnd(t *testing.T) {
	data := t.TempDir()
	m := keyLine.FindStringSubmatch(civicCmd(t, "key", "add", "--scope", "admin", "--name", "e2e", "--data", data))
	if m == nil {
		t.Fatal("civic key add printed no key")
	}
	key := m[1]

	srv := startServer(t, data)
	api := srv.base + "/api/v1"

	if code := call(t, "POST", api+"/bins", key, map[string]any{
		"id": "B-1", "name": "Market St & 12th", "lat": 39.9522, "lon": -75.1600, "stream": "trash", "capacity_l": 568, "compacting": true,
	}, nil); code != http.StatusCreated {
		t.Fatalf("create bin: status %d, want 201; logs:\n%s", code, srv.logs)
	}
	if code := call(t, "POST", api+"/devices", key, map[string]any{
		"id": "S-1", "bin_id": "B-1", "kind": "ultrasonic", "fill_scale": "percent",
	}, nil); code != http.StatusCreated {
		t.Fatalf("create device: status %d, want 201", code)
	}

	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	var readings []map[string]any
	for i := range 50 {
		readings = append(readings, map[string]any{
			"device": "S-1", "time": start.Add(time.Duration(i) * time.Minute).Format(time.RFC3339), "fill": float64(i + 10), "battery": 0.9,
		})
	}
	batch := map[string]any{"readings": readings}
	var res struct{ Accepted, Duplicates int }
	if code := call(t, "POST", api+"/readings", key, batch, &res); code != http.StatusAccepted {
		t.Fatalf("ingest: status %d, want 202; logs:\n%s", code, srv.logs)
	}
	if res.Accepted != 50 || res.Duplicates != 0 {
		t.Fatalf("ingest: got accepted %d duplicates %d, want 50 and 0", res.Accepted, res.Duplicates)
	}
	if code := call(t, "POST", api+"/readings", key, batch, &res); code != http.StatusAccepted || res.Accepted != 0 || res.Duplicates != 50 {
		t.Fatalf("resend: status %d accepted %d duplicates %d, want 202, 0, 50", code, res.Accepted, res.Duplicates)
	}

	// A bad reading rejects the whole batch and names its index and field.
	bad := map[string]any{"readings": []map[string]any{
		{"device": "S-1", "time": start.Add(-time.Hour).Format(time.RFC3339), "fill": 20},
		{"device": "S-1", "time": start.Add(-2 * time.Hour).Format(time.RFC3339), "fill": 900},
	}}
	var apiErr struct {
		Error struct{ Code, Message, Field string }
	}
	if code := call(t, "POST", api+"/readings", key, bad, &apiErr); code != http.StatusBadRequest {
		t.Fatalf("bad batch: status %d, want 400", code)
	}
	if apiErr.Error.Field != "readings[1].fill" {
		t.Errorf("bad batch: field %q, want readings[1].fill", apiErr.Error.Field)
	}

	checkStored := func(base string) {
		t.Helper()
		var bin struct {
			State struct{ Fill float64 } `json:"state"`
		}
		if code := call(t, "GET", base+"/api/v1/bins/B-1", key, nil, &bin); code != http.StatusOK {
			t.Fatalf("get bin: status %d", code)
		}
		if got, want := bin.State.Fill, 0.59; got < want-1e-9 || got > want+1e-9 {
			t.Errorf("bin state fill = %v, want %v (59%% converted from the device's percent scale)", got, want)
		}
		var raw struct {
			Readings []map[string]any `json:"readings"`
		}
		url := fmt.Sprintf("%s/api/v1/bins/B-1/readings?raw=true&from=%s&to=%s", base,
			start.Add(-3*time.Hour).Format(time.RFC3339), start.Add(2*time.Hour).Format(time.RFC3339))
		if code := call(t, "GET", url, key, nil, &raw); code != http.StatusOK {
			t.Fatalf("get readings: status %d", code)
		}
		if len(raw.Readings) != 50 {
			t.Errorf("stored readings = %d, want 50 (the rejected batch must store nothing)", len(raw.Readings))
		}
	}
	checkStored(srv.base)

	// What was acknowledged survives a crash.
	srv.kill()
	srv2 := startServer(t, data)
	checkStored(srv2.base)
}
