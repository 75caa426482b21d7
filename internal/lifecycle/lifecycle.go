// Package lifecycle is the one start/stop convention of civic's long-running
// components (the ingest writer, the alert engine and notifier, the
// forecast service, live events, the MQTT broker and subscriber) and the
// small goroutine group they share instead of each writing its own
// started/closed flags and done channels. The dashboard (web.UI) runs no
// goroutine of its own and serves from New: it has only the Close half.
//
// The convention, for a component C:
//
//	func (c *C) Start(ctx context.Context) error
//	func (c *C) Close(ctx context.Context) error
//
// Start begins the component's background work; ctx bounds only what Start
// does before it returns (connecting, a first read), not the work itself,
// which runs until Close. Starting twice, or after Close, is an error.
//
// Close stops taking new work, finishes what was already accepted and
// returns once every goroutine of the component has returned, or when ctx
// ends: then the work still in progress is abandoned (its context is
// canceled) and Close returns ctx's error. Close before Start is fine (it
// only makes a later Start fail), and Close is idempotent: a second Close
// waits again, bounded by its own ctx, and returns nil once the goroutines
// have returned.
//
// A component keeps a Group and implements both methods with it:
//
//	func (c *C) Start(ctx context.Context) error {
//		return c.life.Start(func() error {
//			// start-up work with ctx, then:
//			c.life.Go("loop", c.loop)
//			return nil
//		})
//	}
//
//	func (c *C) Close(ctx context.Context) error { return c.life.Close(ctx) }
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Group runs the goroutines of one component from Start to Close. Its
// zero value is not usable: create it with New.
//
// A goroutine started with Go gets a stop channel, closed when Close
// begins, and a context, canceled when the component stops for good: after
// every Go goroutine has returned, or when Close's ctx ends first. It
// finishes what it accepted once stop is closed and returns; it abandons
// its work and returns promptly once its context ends.
//
// A goroutine started with Serve gets only the context: it serves the Go
// goroutines (a connection that carries their acknowledgements, a
// listener) and runs until every Go goroutine has returned.
type Group struct {
	name string

	mu      sync.Mutex
	state   state
	stop    chan struct{} // closed when Close begins
	up      chan struct{} // closed when the function given to Start returns
	done    chan struct{} // closed when every goroutine has returned
	ctx     context.Context
	cancel  context.CancelFunc
	workers sync.WaitGroup // goroutines started with Go
	servers sync.WaitGroup // goroutines started with Serve
	err     error          // the first error a goroutine returned
}

type state int

const (
	idle state = iota
	starting
	running
	closed
)

// New returns a Group for the component called name (it prefixes the
// errors Start returns, e.g. "ingest writer: already started").
func New(name string) *Group {
	ctx, cancel := context.WithCancel(context.Background())
	return &Group{
		name: name, ctx: ctx, cancel: cancel,
		stop: make(chan struct{}), up: make(chan struct{}), done: make(chan struct{}),
	}
}

// ErrStarted is returned by Start when the Group was started before.
var ErrStarted = errors.New("already started")

// ErrClosed is returned by Start after Close.
var ErrClosed = errors.New("closed")

// Start runs up, which does the component's start-up work and starts its
// goroutines with Go and Serve, and returns up's error. It fails with
// ErrStarted (wrapped) when called a second time, whether the first one
// succeeded or not, and with ErrClosed after Close. A Close that comes
// while up runs waits for it to return.
func (g *Group) Start(up func() error) error {
	g.mu.Lock()
	switch g.state {
	case starting, running:
		g.mu.Unlock()
		return fmt.Errorf("%s: %w", g.name, ErrStarted)
	case closed:
		g.mu.Unlock()
		return fmt.Errorf("%s: %w", g.name, ErrClosed)
	}
	g.state = starting
	g.mu.Unlock()
	defer func() {
		g.mu.Lock()
		if g.state == starting {
			g.state = running
		}
		g.mu.Unlock()
		close(g.up)
	}()
	return up()
}

// Go runs fn in a new goroutine until Close; see Group. Call it from the
// function given to Start. The name says which goroutine failed when fn
// returns an error other than the context's.
func (g *Group) Go(name string, fn func(ctx context.Context, stop <-chan struct{}) error) {
	g.workers.Add(1)
	go func() {
		defer g.workers.Done()
		g.record(name, fn(g.ctx, g.stop))
	}()
}

// Serve runs fn in a new goroutine until every Go goroutine has returned;
// then its context is canceled. Call it from the function given to Start.
func (g *Group) Serve(name string, fn func(ctx context.Context) error) {
	g.servers.Add(1)
	go func() {
		defer g.servers.Done()
		g.record(name, fn(g.ctx))
	}()
}

func (g *Group) record(name string, err error) {
	if err == nil || errors.Is(err, context.Canceled) {
		return
	}
	g.mu.Lock()
	if g.err == nil {
		g.err = fmt.Errorf("%s: %s: %w", g.name, name, err)
	}
	g.mu.Unlock()
}

// Stopping returns the channel Close closes when it begins: whoever hands
// work to the component can check it to refuse work the goroutines would
// no longer take.
func (g *Group) Stopping() <-chan struct{} { return g.stop }

// Context returns the goroutines' context: it ends once the component has
// stopped, or when Close gives up waiting. Work the component starts on
// behalf of its goroutines (a callback from a library it runs) can use it.
func (g *Group) Context() context.Context { return g.ctx }

// Done returns a channel closed once every goroutine has returned after
// Close, or at Close when the Group never started.
func (g *Group) Done() <-chan struct{} { return g.done }

// Close stops the goroutines as described in Group and waits for them
// until ctx ends; then it cancels their context and returns ctx's error
// without waiting further (Done tells when they are gone). Otherwise it
// returns the first error a goroutine returned, if any. Close before
// Start, and Close again, are fine.
func (g *Group) Close(ctx context.Context) error {
	g.mu.Lock()
	prev := g.state
	g.state = closed
	g.mu.Unlock()
	switch prev {
	case idle:
		close(g.stop)
		g.cancel()
		close(g.done)
	case starting, running:
		go func() {
			<-g.up // the goroutines are all started
			close(g.stop)
			g.workers.Wait()
			g.cancel()
			g.servers.Wait()
			close(g.done)
		}()
	}
	select {
	case <-g.done:
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.err
	case <-ctx.Done():
		g.cancel()
		return ctx.Err()
	}
}
