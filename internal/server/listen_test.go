package server_test

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/server"
)

// serveGuarded serves the fixture's handler on a loopback port the way
// civic serve does.
func serveGuarded(t *testing.T, o server.ListenOptions) string {
	t.Helper()
	f := newFixture(t, server.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, guarded := server.HTTPServer(f.h, ln, o, nil)
	go srv.Serve(guarded)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// closedWithin reports whether the server ends c (EOF, perhaps after a
// 408 answer, or a reset) within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	// The server closing with bytes of ours still unread resets the
	// connection (ECONNRESET) instead of ending it (EOF): closed too. Only
	// the deadline means the connection stayed open.
	var ne net.Error
	return !errors.As(err, &ne) || !ne.Timeout()
}

func TestSlowClientsAreCut(t *testing.T) {
	addr := serveGuarded(t, server.ListenOptions{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 600 * time.Millisecond})
	t.Run("headers never finished", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n")
		if !closedWithin(c, 3*time.Second) {
			t.Fatal("a request whose headers never end is still open after 3 s")
		}
	})
	t.Run("body dripped", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "POST /api/v1/session HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
		stop := make(chan struct{})
		defer close(stop)
		go func() { // a byte every 100 ms: never idle long, never done
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
					if _, err := io.WriteString(c, " "); err != nil {
						return
					}
				}
			}
		}()
		start := time.Now()
		if !closedWithin(c, 5*time.Second) {
			t.Fatal("a dripped body is still being read after 5 s")
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("cut after %v, want about the 600 ms read timeout", d)
		}
	})
	t.Run("a quick request is served", func(t *testing.T) {
		res, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("healthz %d", res.StatusCode)
		}
	})
}

func TestHTTPConnectionCap(t *testing.T) {
	addr := serveGuarded(t, server.ListenOptions{MaxConns: 2})
	var held []net.Conn
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		held = append(held, c)
	}
	time.Sleep(100 * time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	r := bufio.NewReader(c)
	if line, err := r.ReadString('\n'); err == nil {
		t.Fatalf("a third connection beyond the cap of 2 was served: %q", line)
	}
	held[0].Close()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if line, err := r.ReadString('\n'); err != nil || !strings.Contains(line, "200") {
		t.Fatalf("after a slot was freed: %q, %v", line, err)
	}
}
