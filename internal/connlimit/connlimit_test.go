package connlimit_test

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/connlimit"
)

// echo serves ln: each connection gets back what it sends.
func echo(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}

func dial(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// answers reports whether c echoes a byte within d.
func answers(c net.Conn, d time.Duration) bool {
	c.SetDeadline(time.Now().Add(d))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte{'x'}); err != nil {
		return false
	}
	var b [1]byte
	_, err := io.ReadFull(c, b[:])
	return err == nil
}

func TestCapWaitsForAFreeSlot(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := connlimit.Wrap(raw, connlimit.Options{Max: 2})
	defer ln.Close()
	go echo(ln)
	a, b := dial(t, ln.Addr().String()), dial(t, ln.Addr().String())
	if !answers(a, 2*time.Second) || !answers(b, 2*time.Second) {
		t.Fatal("the first two connections are not served")
	}
	c := dial(t, ln.Addr().String())
	if answers(c, 300*time.Millisecond) {
		t.Fatal("a third connection was served beyond the cap of 2")
	}
	a.Close()
	if !answers(c, 2*time.Second) {
		t.Fatal("the third connection is not served after one of the first closed")
	}
}

func TestFirstDeadlineClosesSilentClients(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := connlimit.Wrap(raw, connlimit.Options{Max: 10, FirstDeadline: 200 * time.Millisecond})
	defer ln.Close()
	go echo(ln)
	c := dial(t, ln.Addr().String())
	time.Sleep(500 * time.Millisecond)
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte{'x'})
	var b [1]byte
	if n, err := c.Read(b[:]); err != io.EOF {
		t.Fatalf("a silent client past its first deadline read %d bytes, err %v; want the server to have closed it (EOF)", n, err)
	}
}

func TestCloseReleasesAWaitingAccept(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := connlimit.Wrap(raw, connlimit.Options{Max: 1})
	first := dial(t, ln.Addr().String())
	if _, err := ln.Accept(); err != nil {
		t.Fatal(err)
	}
	_ = first
	done := make(chan error, 1)
	go func() { _, err := ln.Accept(); done <- err }()
	time.Sleep(50 * time.Millisecond)
	ln.Close()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("Accept after Close returned a connection")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Accept waiting for a slot did not return after Close")
	}
}
