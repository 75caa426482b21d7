package main

import (
	"bytes"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestServeRefusesBusyPorts: civic serve binds every listener before it
// says it listens, so a port in use ends it with an error naming the flag
// that chooses the port, and no "listening" line.
func TestServeRefusesBusyPorts(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().String()
	for _, tc := range []struct {
		name string
		args []string
		flag string
	}{
		{"HTTP", []string{"--addr", port, "--mqtt-addr", ""}, "--addr"},
		{"MQTT", []string{"--addr", "127.0.0.1:0", "--mqtt-addr", port}, "--mqtt-addr"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--data", t.TempDir(), "--log-format", "text"}, tc.args...)
			cmd := exec.Command(civicBin, args...)
			var out, errb bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err = <-done:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("civic serve with %s in use still runs after 60s\nstdout: %s", tc.flag, out.String())
			}
			if err == nil {
				t.Fatalf("civic serve with %s in use exited 0", tc.flag)
			}
			if strings.Contains(out.String(), "listening") {
				t.Errorf("it said it listens before failing:\n%s", out.String())
			}
			if msg := errb.String(); !strings.Contains(msg, "with "+tc.flag) || !strings.Contains(msg, port) {
				t.Errorf("the error names neither %s nor %s:\n%s", tc.flag, port, msg)
			}
		})
	}
}
