package loop

import (
	"net/http"

	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/http1"
	"github.com/h2loop/h2loop/pool"
	"github.com/valyala/bytebufferpool"
)

// The turn: one goroutine at a time uses an HTTP/1.1 connection's
// protocol state and output (h1conn.busy): the one running input, or,
// with async set, the handler that input gave a request to.
//
// HTTP/1.1 handlers on the worker pool (h1conn.async, the fd reactor):
// input hands a complete request to the pool and returns; the handler has
// the connection's turn until its Finish, which writes the response and
// gives the turn back (finishAsync). Input that arrives meanwhile waits in
// the transport, which takeTurn tells to keep it.

// inline reports whether r's handler runs on the reading goroutine
// (Options.InlineHandlers, Options.Inline).
func (h *h1conn) inline(r *engine.Request) bool {
	return h.core.opts.InlineHandlers || h.core.opts.Inline != nil && h.core.opts.Inline(r)
}

// dispatch hands the complete request to the worker pool.
func (h *h1conn) dispatch() {
	h.core.Metrics.Requests.Add(1)
	h.setServing(h.req)
	h.onWorker = true
	if h.core.pool.Submit(task{r: h.req, t: h}) == pool.Rejected {
		h.onWorker = false // answered here, on the reading goroutine
		h.refuseOverload(h.req, "the wait queue is full")
	}
}

// refuseOverload answers a request whose handler will not run because
// MaxWorkers handlers are busy: 503, and the connection closes (HTTP/1.1
// cannot refuse one request and go on). Counted in Overloaded, logged.
func (h *h1conn) refuseOverload(r *engine.Request, why string) {
	h.core.overloaded(h.remote, why)
	h.keep = false
	h.mu.Lock()
	h.c.Refuse(http.StatusServiceUnavailable, "no worker free")
	h.mu.Unlock()
	h.finishAsync(r)
}

// finishAsync ends the turn of a handler on the pool: the response is
// written, the request released, the requests pipelined behind it served
// right here, and the connection either closes or goes on with the input
// that arrived meanwhile (resume).
func (h *h1conn) finishAsync(r *engine.Request) {
	h.setServing(nil)
	h.req, h.unread = nil, nil
	h.flush()
	h.core.opts.Hooks.Release(r)
	done := !h.keep || h.closed.Load()
	if !done && len(h.pipe) > 0 {
		h.workerRun = true
		used, _, d, _ := h.run(h.pipe, true)
		h.workerRun = false
		h.keepPipe(h.pipe, used, true)
		h.flush()
		done = d || h.closed.Load()
	}
	h.onWorker = false
	done, waiting, peer := h.endTurnHooks(done)
	if done {
		h.close()
		return
	}
	h.resume(h, waiting, peer)
}

// keepPipe keeps src[used:] in the pipe (src may be the pipe itself); an
// empty pipe gives its buffer back.
func (h *h1conn) keepPipe(src []byte, used int, piped bool) {
	rest := src[used:]
	switch {
	case piped:
		h.pipe = h.pipe[:copy(h.pipe, rest)]
	case len(rest) > 0:
		if h.pipeBB == nil {
			h.pipeBB = h1Pipes.Get()
		}
		h.pipe = append(h.pipeBB.B[:0], rest...)
	}
	if len(h.pipe) == 0 && h.pipeBB != nil {
		h.pipeBB.B = h.pipe[:0]
		if cap(h.pipeBB.B) <= 256<<10 {
			h1Pipes.Put(h.pipeBB)
		}
		h.pipeBB, h.pipe = nil, nil
	}
}

// h1Pipes are the buffers of pipelined input.
var h1Pipes bytebufferpool.Pool

// sinkWrite writes b to the socket; a handler on the pool waits while the
// socket refuses output, as a blocking write would.
func (h *h1conn) sinkWrite(b []byte) error {
	if w, ok := h.sink.(interface{ writeWait([]byte) error }); ok && h.onWorker {
		return w.writeWait(b)
	}
	return h.sink.write(b)
}

// takeTurn gives the reading goroutine the turn, or reports false (and
// notes that input waits) while a handler has it.
func (h *h1conn) takeTurn() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy {
		h.waiting = true
		return false
	}
	return true
}

// markWaiting notes that input waits behind the request a handler has;
// false if the turn came back already.
func (h *h1conn) markWaiting() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy {
		h.waiting = true
	}
	return h.busy
}

// peerGone records the peer's FIN. It reports whether the caller may
// process the input left (no one has the turn); otherwise the request
// being served is canceled and its handler's end does it.
func (h *h1conn) peerGone() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.peer = true
	if h.busy {
		if r := h.serving; r != nil {
			h.core.opts.Hooks.Canceled(r)
		}
		return false
	}
	return true
}

// busyTurn reports whether someone has the turn.
func (h *h1conn) busyTurn() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.busy
}

// beginInput takes the turn for a read pass; false if the connection is
// closed.
func (h *h1conn) beginInput(bytes bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed.Load() {
		h.busy = false
		return false
	}
	h.busy = true
	return true
}

// endInput ends a read pass (or an async handler's turn): it reports
// whether the connection is done, and releases what a done connection
// holds.
func (h *h1conn) endInput(done bool) bool {
	done, _, _ = h.endTurnHooks(done)
	return done
}

// endTurnHooks ends the turn: the ConnState report and the closed mark
// come before the turn is given back (the next holder may start a
// request at once); waiting and peer are what the transport must resume.
func (h *h1conn) endTurnHooks(done bool) (_, waiting, peer bool) {
	idle, done := h.turnEnd(done)
	if idle && h.hkActive {
		h.hkActive = false
		h.hk.idle()
	}
	if done {
		h.closed.Store(true)
	}
	up := h.up != nil
	waiting, peer = h.giveTurn()
	if done && !up {
		h.releaseHeld()
	}
	return done, waiting, peer
}

// turnEnd reports, at the end of a turn, whether the connection is idle
// and whether it is done.
func (h *h1conn) turnEnd(done bool) (idle, _ bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed.Load() || h.c.Closed():
		done = true
	case h.c.Phase() == http1.PhaseIdle && h.shutting.Load():
		done = true
	}
	return h.c.Phase() == http1.PhaseIdle && !done, done
}

func (h *h1conn) giveTurn() (waiting, peer bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.busy = false
	waiting, peer = h.waiting, h.peer
	h.waiting = false
	return waiting, peer
}

// claimEnd reports whether the caller is the one to give back what the
// closed connection holds: no one has the turn, and no one did it before.
func (h *h1conn) claimEnd() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.busy || h.ended {
		return false
	}
	h.ended = true
	return true
}
