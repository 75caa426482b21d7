package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// quickStartCommands returns the shell commands of the README's "Quick
// start" section, in order: every line of its sh blocks, continuation
// lines joined, comment-only lines left out.
func quickStartCommands(t *testing.T, readme string) []string {
	t.Helper()
	_, sec, ok := strings.Cut(readme, "\n## Quick start\n")
	if !ok {
		t.Fatal(`README.md has no "## Quick start" section`)
	}
	if i := strings.Index(sec, "\n## "); i >= 0 {
		sec = sec[:i]
	}
	var cmds []string
	in := false
	cont := ""
	for line := range strings.Lines(sec) {
		line = strings.TrimRight(line, "\r\n")
		switch {
		case strings.HasPrefix(line, "```sh"):
			in = true
			continue
		case strings.HasPrefix(line, "```"):
			in = false
			continue
		}
		if !in {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cont += strings.TrimSuffix(line, "\\")
			continue
		}
		line, cont = cont+line, ""
		if s := strings.TrimSpace(line); s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		cmds = append(cmds, line)
	}
	return cmds
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestReadmeQuickStart runs every command of the README's quick start, as
// printed, from the repository's root against a fresh `make build`: a
// command that fails fails the test. `civic serve` runs in the background
// until it answers, and is stopped (Ctrl-C) at the end, where it must exit
// cleanly. Three things are changed so that the test can run beside a
// developer's civic: the data folder ./civic-data and the ports 8080 and
// 1884 become a temporary folder and free ports.
func TestReadmeQuickStart(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := quickStartCommands(t, string(readme))
	all := strings.Join(cmds, "\n")
	for _, want := range []string{"make build", "civic serve", "./civic-data", "127.0.0.1:8080", "127.0.0.1:1884", "/api/v1/readings", "D-0001"} {
		if !strings.Contains(all, want) {
			t.Fatalf("the quick start has no %q:\n%s", want, all)
		}
	}
	data := filepath.Join(t.TempDir(), "civic-data")
	httpAddr, mqttAddr := freeAddr(t), freeAddr(t)
	rewrite := strings.NewReplacer("./civic-data", data, "127.0.0.1:8080", httpAddr, "127.0.0.1:1884", mqttAddr)

	var script strings.Builder
	script.WriteString(`set -euo pipefail
serve_pid=
stop_serve() { if [ -n "$serve_pid" ]; then kill -INT "$serve_pid" 2>/dev/null || true; sleep 20; kill -KILL "$serve_pid" 2>/dev/null || true; fi; }
trap stop_serve EXIT
wait_http() {
  for _ in $(seq 1 300); do
    curl -fsS -o /dev/null "$1/healthz" 2>/dev/null && return 0
    kill -0 "$serve_pid" 2>/dev/null || { echo "civic serve exited:"; cat "$SERVE_LOG"; return 1; }
    sleep 1
  done
  echo "civic serve does not answer on $1"; return 1
}
`)
	serves := 0
	for _, c := range cmds {
		run := rewrite.Replace(c)
		fmt.Fprintf(&script, "echo \"+ [$(date +%%T)]\" %s >&2\n", shellQuote(c))
		if strings.HasPrefix(strings.TrimSpace(c), "civic serve") {
			serves++
			// Long-running: start it, wait until it answers, go on.
			// The braces keep a trailing comment from hiding the
			// redirection; exec makes $! civic's own pid, so that it gets
			// the Ctrl-C (a background subshell of a script ignores SIGINT).
			fmt.Fprintf(&script, "{\nexec %s\n} >\"$SERVE_LOG\" 2>&1 </dev/null &\nserve_pid=$!\nwait_http http://%s\n", run, httpAddr)
			continue
		}
		script.WriteString(run + "\necho\n")
	}
	if serves != 1 {
		t.Fatalf("the quick start starts civic serve %d times, want once", serves)
	}
	// The server stops on Ctrl-C and exits 0.
	script.WriteString("kill -INT \"$serve_pid\"; status=0; wait \"$serve_pid\" || status=$?; serve_pid=\n" +
		"[ $status -eq 0 ] || { echo \"civic serve exited $status after Ctrl-C\"; cat \"$SERVE_LOG\"; exit 1; }\n")

	work := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.WaitDelay = 30 * time.Second
	cmd.Dir = root
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "MAKEFLAGS", "MAKELEVEL", "MFLAGS", "CGO_ENABLED", "GOFLAGS":
			continue // from an outer make test or go test -race
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "CGO_ENABLED=0", "SERVE_LOG="+filepath.Join(work, "serve.log"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	err = cmd.Run()
	if err != nil {
		t.Fatalf("a quick-start command failed (%v); the last '+' line is the one:\n%s\nstdout:\n%s", err, errb.String(), out.String())
	}
	t.Logf("quick start ran in %v", time.Since(start).Round(time.Second))
	for _, want := range []string{`"fill_scale":"percent"`, `{"accepted":1,"duplicates":0}`, "civic "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the quick start's output has no %q:\n%s", want, out.String())
		}
	}
}

// shellQuote quotes s for bash, as one word taken literally.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
