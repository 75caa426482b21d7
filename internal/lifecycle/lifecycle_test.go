package lifecycle_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/civic-city/civic/internal/lifecycle"
)

func TestGroupDrainsThenStopsServers(t *testing.T) {
	g := lifecycle.New("test")
	queue := make(chan int, 10)
	var handled atomic.Int64
	var order []string
	served := make(chan struct{})
	err := g.Start(func() error {
		g.Go("worker", func(ctx context.Context, stop <-chan struct{}) error {
			for {
				select {
				case <-queue:
					handled.Add(1)
				case <-stop:
					for {
						select {
						case <-queue:
							handled.Add(1)
						default:
							order = append(order, "worker")
							return nil
						}
					}
				}
			}
		})
		g.Serve("server", func(ctx context.Context) error {
			<-ctx.Done()
			<-served
			return ctx.Err()
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		queue <- i
	}
	close(served)
	if err := g.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := handled.Load(); got != 5 {
		t.Errorf("handled %d, want 5: Close must drain", got)
	}
	if g.Context().Err() == nil {
		t.Error("context not canceled after Close")
	}
	select {
	case <-g.Done():
	default:
		t.Error("Done not closed after Close")
	}
	if err := g.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := g.Start(func() error { return nil }); !errors.Is(err, lifecycle.ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
}

func TestGroupStartTwice(t *testing.T) {
	g := lifecycle.New("test")
	if err := g.Start(func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := g.Start(func() error { return nil }); !errors.Is(err, lifecycle.ErrStarted) {
		t.Errorf("second Start = %v, want ErrStarted", err)
	}
	if err := g.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestGroupCloseBeforeStart(t *testing.T) {
	g := lifecycle.New("test")
	for range 2 {
		if err := g.Close(context.Background()); err != nil {
			t.Fatalf("Close before Start: %v", err)
		}
	}
	select {
	case <-g.Stopping():
	default:
		t.Error("Stopping not closed")
	}
	if err := g.Start(func() error { t.Error("up ran after Close"); return nil }); !errors.Is(err, lifecycle.ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
}

// TestGroupCloseTimeout: when ctx ends first, Close cancels the
// goroutines' context and returns ctx's error; a later Close waits for
// them.
func TestGroupCloseTimeout(t *testing.T) {
	g := lifecycle.New("test")
	release := make(chan struct{})
	must(t, g.Start(func() error {
		g.Go("stuck", func(ctx context.Context, stop <-chan struct{}) error {
			<-stop
			select {
			case <-release:
				return nil
			case <-ctx.Done():
				<-release
				return ctx.Err()
			}
		})
		return nil
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := g.Close(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close = %v, want deadline exceeded", err)
	}
	if g.Context().Err() == nil {
		t.Error("context not canceled when Close gave up")
	}
	close(release)
	if err := g.Close(context.Background()); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestGroupError(t *testing.T) {
	g := lifecycle.New("test")
	boom := errors.New("boom")
	must(t, g.Start(func() error {
		g.Go("failing", func(context.Context, <-chan struct{}) error { return boom })
		return nil
	}))
	if err := g.Close(context.Background()); !errors.Is(err, boom) {
		t.Errorf("Close = %v, want boom", err)
	}
}

// TestGroupCloseDuringStart: a Close that comes while Start runs waits
// for it, then stops what it started.
func TestGroupCloseDuringStart(t *testing.T) {
	g := lifecycle.New("test")
	inUp, release := make(chan struct{}), make(chan struct{})
	var stopped atomic.Bool
	go func() {
		_ = g.Start(func() error {
			close(inUp)
			<-release
			g.Go("loop", func(ctx context.Context, stop <-chan struct{}) error {
				<-stop
				stopped.Store(true)
				return nil
			})
			return nil
		})
	}()
	<-inUp
	closed := make(chan error, 1)
	go func() { closed <- g.Close(context.Background()) }()
	time.Sleep(10 * time.Millisecond)
	close(release)
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if !stopped.Load() {
		t.Error("Close returned before the goroutine Start started had stopped")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
