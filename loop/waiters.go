package loop

import (
	"sync"

	"github.com/h2loop/h2loop/engine"
)

// waiters are the handlers of one HTTP/2 connection that wait, with its
// mutex held, for something to happen to their request: body bytes, room
// in the send window, the stream's end. The engine tells which request an
// event concerns (Callbacks.Wake), so only that request's handlers wake:
// a connection carrying 64 streaming calls does not wake 64 goroutines
// for every DATA frame, as one sync.Cond for the connection did. The
// connection's end wakes them all.
type waiters struct {
	// guarded by the connection's mutex
	list []waiting // waiting now: a wake-up scans one array
	free []*waiter // reused: waiting allocates nothing once the connection has warmed up
}

// waiting is a listed waiter and the request it waits on.
type waiting struct {
	r *engine.Request
	w *waiter
}

// waiter is one waiting handler's wake-up channel. It has one slot and
// holds nothing while the waiter is listed: the wake-up that unlists it
// never blocks.
type waiter struct {
	ch chan struct{}
}

// wait is sync.Cond.Wait for events on r: it releases mu (held by the
// caller), waits until r's (or every) waiter is woken, and takes mu again.
// As with a sync.Cond, the caller checks its condition again in a loop.
func (ws *waiters) wait(mu *sync.Mutex, r *engine.Request) {
	var w *waiter
	if n := len(ws.free); n > 0 {
		w = ws.free[n-1]
		ws.free[n-1] = nil
		ws.free = ws.free[:n-1]
	} else {
		w = &waiter{ch: make(chan struct{}, 1)}
	}
	ws.list = append(ws.list, waiting{r, w})
	mu.Unlock()
	<-w.ch
	mu.Lock()
	ws.free = append(ws.free, w)
}

// wake wakes the waiters of r (none on a nil ws). Called with the mutex
// held.
func (ws *waiters) wake(r *engine.Request) {
	if ws == nil {
		return
	}
	kept := ws.list[:0]
	for _, x := range ws.list {
		if x.r == r {
			x.w.ch <- struct{}{}
			continue
		}
		kept = append(kept, x)
	}
	clear(ws.list[len(kept):])
	ws.list = kept
}

// wakeAll wakes every waiter (none on a nil ws). Called with the mutex
// held.
func (ws *waiters) wakeAll() {
	if ws == nil {
		return
	}
	for _, x := range ws.list {
		x.w.ch <- struct{}{}
	}
	clear(ws.list)
	ws.list = ws.list[:0]
}
