// Package connlimit guards a network listener against clients that hold
// connections without using them: it caps the connections open at once
// (Accept waits for one to close, so the excess waits in the kernel's
// backlog instead of taking file descriptors) and can give every new
// connection a deadline for its first exchange, which the protocol server
// lifts or moves once the client has said who it is (the MQTT broker does
// so after CONNECT). Both HTTP and MQTT listeners use it; it imports only
// the standard library.
package connlimit

import (
	"net"
	"sync"
	"time"
)

// Options configure a Listener.
type Options struct {
	// Max is the most connections open at once; 0 means no cap.
	Max int
	// FirstDeadline, if set, is the time a new connection has to finish its
	// first exchange: reads and writes fail after it unless the server
	// sets another deadline first.
	FirstDeadline time.Duration
}

// Listener is a net.Listener with a cap and a first deadline.
type Listener struct {
	net.Listener
	opts Options
	sem  chan struct{}
	done chan struct{}
	once sync.Once
}

// Wrap returns ln guarded by opts.
func Wrap(ln net.Listener, opts Options) *Listener {
	l := &Listener{Listener: ln, opts: opts, done: make(chan struct{})}
	if opts.Max > 0 {
		l.sem = make(chan struct{}, opts.Max)
	}
	return l
}

// Accept waits for a free slot, then for a connection.
func (l *Listener) Accept() (net.Conn, error) {
	if l.sem != nil {
		select {
		case l.sem <- struct{}{}:
		case <-l.done:
			return nil, net.ErrClosed
		}
	}
	c, err := l.Listener.Accept()
	if err != nil {
		l.release()
		return nil, err
	}
	if l.opts.FirstDeadline > 0 {
		c.SetDeadline(time.Now().Add(l.opts.FirstDeadline))
	}
	if l.sem == nil {
		return c, nil
	}
	return &conn{Conn: c, release: l.release}, nil
}

func (l *Listener) release() {
	if l.sem != nil {
		<-l.sem
	}
}

// Close stops listening; an Accept waiting for a slot returns at once.
func (l *Listener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// conn gives its slot back when closed, once.
type conn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}
