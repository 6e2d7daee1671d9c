package h2loop

import (
	"runtime"
	"sync"
	"testing"
)

// TestCancelDoneRace runs cancel (from the transport: a reset, the
// connection closing, the close callback) against Done (a handler asking
// for its channel) and against a second cancel, many times. Before
// cancellation was one transition under one lock, cancel set its flag
// before taking the lock Done takes; Done could then make and close the
// channel in between, and cancel closed it again: "close of closed
// channel", which took the process down from netpoll's close callback.
func TestCancelDoneRace(t *testing.T) {
	ctx := new(RequestCtx)
	ctx.req.Owner = ctx
	procs := runtime.GOMAXPROCS(0)
	for i := 0; i < 20000; i++ {
		ctx.reset()
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Add(3)
		go func() { defer wg.Done(); <-start; ctx.cancel() }()
		go func() { defer wg.Done(); <-start; ctx.cancel() }()
		var ch <-chan struct{}
		go func() { defer wg.Done(); <-start; ch = ctx.Done() }()
		close(start)
		wg.Wait()
		select {
		case <-ch:
		default:
			t.Fatalf("iteration %d: Done not closed after cancel", i)
		}
		if !ctx.Canceled() {
			t.Fatalf("iteration %d: Canceled false after cancel", i)
		}
		if procs == 1 && i > 2000 {
			break
		}
	}
	// A Done asked for after the cancel is closed too, and a live
	// request's is open.
	ctx.reset()
	d := ctx.Done()
	select {
	case <-d:
		t.Fatal("Done closed on a live request")
	default:
	}
	ctx.cancel()
	ctx.cancel()
	<-d
	<-ctx.Done()
}
