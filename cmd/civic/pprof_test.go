package main

import (
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/civic-city/civic/internal/server"
)

// TestPprofAddr: --pprof-addr takes loopback addresses only, and the
// profiles it serves include the heap but not the command line.
func TestPprofAddr(t *testing.T) {
	dir := t.TempDir()
	for _, addr := range []string{"127.0.0.1:0", "[::1]:6060", "localhost:6060"} {
		if _, err := parseServe(t, nil, "--data", dir, "--pprof-addr", addr); err != nil {
			t.Errorf("--pprof-addr %s: %v", addr, err)
		}
	}
	for _, addr := range []string{"0.0.0.0:6060", ":6060", "192.168.1.2:6060", "example.org:6060", "6060"} {
		_, err := parseServe(t, nil, "--data", dir, "--pprof-addr", addr)
		if err == nil || !strings.Contains(err.Error(), "--pprof-addr") {
			t.Errorf("--pprof-addr %s: got %v, want an error naming --pprof-addr", addr, err)
		}
	}
	c, err := parseServe(t, map[string]string{"CIVIC_PPROF_ADDR": "127.0.0.1:6061"}, "--data", dir)
	if err != nil || c.PprofAddr != "127.0.0.1:6061" {
		t.Errorf("CIVIC_PPROF_ADDR: addr %q, err %v", c.PprofAddr, err)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := server.ServeProfiles(ln, slog.New(slog.DiscardHandler))
	defer stop()
	base := "http://" + ln.Addr().String()
	for path, want := range map[string]int{"/debug/pprof/heap": http.StatusOK, "/debug/pprof/goroutine": http.StatusOK,
		"/debug/pprof/cmdline": http.StatusNotFound} {
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, resp.StatusCode, want)
		}
	}
}
