package loop

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"math"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/http1"
	"github.com/valyala/bytebufferpool"
)

// HTTP/1.1 connections: glue between a socket and an http1.Conn, which
// holds the protocol. Requests are served one at a time, in order: a
// pipelined request waits in the input buffer until the response before
// it is done. Responses of requests that arrived together are written
// together. A transport either runs each handler on the goroutine that
// reads the socket (the std and netpoll paths: input returns once the
// handlers of the complete requests are done), or, with async set (the fd
// reactor), hands it to the worker pool: input then returns at once, and
// the handler's Finish resumes the connection (resume).

// h1DrainTime is how long input is discarded after an error response
// before the connection closes (one to two ticks).
const h1DrainTime = time.Second

// h1FlushAt is the output size that is written at once even though more
// pipelined requests are waiting.
const h1FlushAt = 32 << 10

// h1conn serves HTTP/1.1 on one connection.
type h1conn struct {
	// immutable after newH1Conn (tlsState: set by the TLS transport
	// before the first request; async and resume by the fd reactor)
	core     *Core
	sink     sink
	hk       *connHooks
	remote   net.Addr
	rstr     addrString
	tlsState *tls.ConnectionState
	tls      bool
	scheme   string
	async    bool                                    // handlers go to the worker pool (h1_turn.go)
	resume   func(h *h1conn, waiting, peerDone bool) // async: see finishAsync

	// owned by whoever has the turn: the goroutine running input, or (async)
	// the handler of the request being served
	strs *http1.Interner // made at the first request; the fd reactor shares its poller's
	req  *engine.Request // the request whose head arrived, or being served
	up   *h2Upgrade
	keep bool // the last response left the connection open

	// watch, when set (by a transport whose reading goroutine runs the
	// handler and so cannot see the client go), watches the socket while a
	// handler runs, calling disconnected when the client is gone; the
	// function it returns stops the watch.
	watch func() (stop func())

	closed   atomic.Bool // the socket is closed or closing: write nothing more
	shutting atomic.Bool // Shutdown: finish the current request, then close
	hijacked atomic.Bool // the handler took the connection (Hijack)

	// owned by the reading goroutine while a handler runs: where the
	// request being served ends in the input buffer, for Hijack
	consumed  int    // bytes of the input buffer up to the request's end
	unread    []byte // the input after it (pipelined bytes)
	stopWatch func() // stops watch, if it runs
	hkActive  bool   // StateActive was reported: bytes of a request came
	inlineNow bool   // async, but this handler runs inline on the reading goroutine
	syncServe bool   // the handler runs on the goroutine that runs input (or the pipe)
	workerRun bool   // async: a worker serves the pipe's requests itself
	pipe      []byte // async: pipelined input behind a dispatched request (h1_turn.go)
	pipeBB    *bytebufferpool.ByteBuffer
	onWorker  bool // async: the handler has the turn, on a worker (writes may wait)

	mu      sync.Mutex
	c       http1.Conn      // the protocol; its output is used outside mu only by whoever has the turn
	busy    bool            // someone has the turn (input runs, or an async handler)
	ended   bool            // the connection's request and buffers were given back
	waiting bool            // async: input came while a handler had the turn
	peer    bool            // async: the peer sent its FIN
	serving *engine.Request // the request whose handler runs
}

func newH1Conn(core *Core, s sink, remote net.Addr, isTLS bool) *h1conn {
	h := &h1conn{core: core, sink: s, remote: remote, tls: isTLS, scheme: "http", hk: s.hooks()}
	if isTLS {
		h.scheme = "https"
	}
	e := &core.opts.Engine
	maxBody := e.MaxRequestBodySize
	if maxBody < 0 {
		maxBody = math.MaxInt64 // negative: no limit
	}
	h.c.Init(&http1.Config{
		Limits:        http1.Limits{MaxHeadBytes: int(e.MaxHeaderListSize)},
		MaxBody:       maxBody,
		TLS:           isTLS,
		IdleTimeout:   e.IdleTimeout,
		HeaderTimeout: e.HeaderTimeout,
		ReadTimeout:   core.opts.ReadTimeout,
		DrainTime:     h1DrainTime,
	})
	return h
}

// input consumes the complete requests at the start of buf, serving each
// before reading the next (async: dispatching the first and returning). It
// returns the bytes consumed, how many bytes buf[used:] must grow to
// before the next step can be taken, and whether the connection is done.
// After an h2c upgrade it stops right after the upgraded request: the rest
// of buf belongs to HTTP/2 (see takeUpgrade).
func (h *h1conn) input(buf []byte) (used, need int, done bool) {
	if !h.beginInput(len(buf) > 0) {
		return 0, 0, true
	}
	if len(buf) > 0 && !h.hkActive && h.hk != nil {
		// "StateActive represents a connection that has read 1 or more
		// bytes of a request" (net/http's ConnState).
		h.hkActive = true
		h.hk.busy()
	}
	src, piped := buf, len(h.pipe) > 0
	if piped {
		// Pipelined input the connection kept comes first (async only).
		h.pipe = append(h.pipe, buf...)
		src = h.pipe
	}
	used, need, done, dispatched := h.run(src, piped)
	switch {
	case piped:
		if !dispatched {
			h.keepPipe(src, used, true)
		}
		used, need = len(buf), 0 // the connection holds the rest
	case dispatched:
		used = len(buf) // the rest went to the pipe
	}
	if dispatched {
		return used, 0, false // the handler's turn now: it ends the pass
	}
	h.flush()
	return used, need, h.endInput(done)
}

// run feeds src to the protocol until it needs more input, the
// connection is done or upgraded, or (async) a request went to the pool,
// the input after it kept in the pipe. piped says src is the pipe (no
// upgrade then: "A server MAY ignore a received Upgrade header field",
// RFC 9110 §7.8).
func (h *h1conn) run(src []byte, piped bool) (used, need int, done, dispatched bool) {
	for !done && h.up == nil && !dispatched {
		n, ev, need1 := h.feed(src[used:], !piped)
		used += n
		switch ev {
		case http1.EventNone:
			need = need1
		case http1.EventHead:
			h.startRequest()
			continue
		case http1.EventRequest:
			if h.req == nil {
				h.startRequest()
			}
			h.takeBody()
			if h.async && !h.workerRun && !h.inline(h.req) {
				dispatched = true
				h.keepPipe(src, used, piped)
				h.consumed, h.unread = 0, h.pipe // for Hijack
				h.dispatch()
				continue
			}
			h.consumed, h.unread = used, src[used:]
			h.inlineNow = h.async && !h.workerRun
			h.syncServe = true
			done = h.serve(len(src) == used)
			h.inlineNow, h.syncServe = false, false
			h.unread = nil
			continue
		case http1.EventUpgrade:
			if h.req == nil {
				h.startRequest()
			}
			h.takeBody()
			h.up = &h2Upgrade{settings: h.c.UpgradeSettings(), req: h.req}
			h.req = nil
			continue
		case http1.EventError:
			done = h.refused()
			continue
		}
		break
	}
	return used, need, done, dispatched
}

// feed runs the protocol on in.
func (h *h1conn) feed(in []byte, upgrade bool) (int, http1.Event, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shutting.Load() {
		h.c.Shutdown()
	}
	h.c.AllowUpgrade(upgrade)
	n, ev := h.c.Feed(in)
	return n, ev, h.c.Need()
}

// startRequest turns the head just parsed into a request (the head
// borrows from the input, which may not stay).
func (h *h1conn) startRequest() {
	r := h.core.opts.Hooks.Acquire()
	if h.strs == nil {
		h.strs = new(http1.Interner)
	}
	h.c.FillHeader(&r.Header, h.strs, h.scheme)
	h.req = r
}

// takeBody copies the complete body and trailers into the request.
func (h *h1conn) takeBody() {
	h.req.SetBody(h.c.RequestBody())
	h.c.FillTrailer(&h.req.Trailer, h.strs)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.c.ReleaseBody()
}

// serve runs the handler of the complete request on this goroutine. last
// reports that nothing more is buffered. It returns whether the
// connection is done.
func (h *h1conn) serve(last bool) bool {
	r := h.req
	h.core.Metrics.Requests.Add(1)
	h.setServing(r)
	if h.watch != nil {
		h.stopWatch = h.watch()
	}
	h.core.serve(r, h)
	if h.stopWatch != nil {
		h.stopWatch()
		h.stopWatch = nil
	}
	h.setServing(nil)
	h.req = nil
	if last || len(h.output()) >= h1FlushAt {
		h.flush()
	}
	h.core.opts.Hooks.Release(r)
	return !h.keep || h.closed.Load()
}

// refused counts and logs the input the protocol refused; it reports
// whether the connection is done at once (otherwise it drains).
func (h *h1conn) refused() bool {
	h.mu.Lock()
	e, closed := h.c.Err(), h.c.Closed()
	h.mu.Unlock()
	m := &h.core.Metrics
	counter := "Malformed"
	switch e.Status {
	case 413:
		m.BodyTooLarge.Add(1)
		counter = "BodyTooLarge"
	case 414, 431:
		m.HeaderTooLarge.Add(1)
		counter = "HeaderTooLarge"
	default:
		m.Malformed.Add(1)
	}
	h.core.logEvent(slog.LevelWarn, logAttrs{remote: h.remote, counter: counter}, "h2loop: http/1.1 from %v: %v", h.remote, e)
	if r := h.req; r != nil {
		h.req = nil
		h.core.opts.Hooks.Release(r)
	}
	return closed
}

// output is the protocol's pending output.
func (h *h1conn) output() []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.c.Output()
}

// flush writes the pending output.
func (h *h1conn) flush() error {
	out := h.output()
	if len(out) == 0 {
		return nil
	}
	err := h.write(out)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.c.ConsumeOutput(len(out))
	return err
}

// write writes b to the socket unless the connection is closed; a failed
// write closes it.
func (h *h1conn) write(b []byte) error {
	if h.closed.Load() {
		return ErrCanceled
	}
	if err := h.sinkWrite(b); err != nil {
		h.abort()
		return ErrCanceled
	}
	return nil
}

// abort closes the connection from the goroutine with the turn: the
// handler still running sees its request canceled.
func (h *h1conn) abort() {
	if h.closed.Swap(true) {
		return
	}
	h.cancelServing(true)
	h.sink.closeSocket()
}

// disconnected cancels the request being served when the client hangs up:
// its ctx.Done closes, so a handler waiting on it stops, as over HTTP/2.
func (h *h1conn) disconnected() { h.cancelServing(false) }

// takeUpgrade returns, once, the request that input accepted for an h2c
// upgrade; the 101 response has been written.
func (h *h1conn) takeUpgrade() *h2Upgrade {
	up := h.up
	if up == nil {
		return nil
	}
	h.up = nil
	if h.hkActive {
		// The HTTP/2 connection counts its streams from here.
		h.hkActive = false
		h.hk.idle()
	}
	return up
}

// Response writing.

func statusOf(r *engine.Request) int {
	if r.Status == 0 {
		return 200
	}
	return r.Status
}

// appendHead appends the status line and header section of r's response;
// body is the body length (-1: unknown). Called with mu held.
func (h *h1conn) appendHead(r *engine.Request, streamed bool, body int) {
	if h.shutting.Load() {
		h.c.Shutdown()
	}
	if n := declaredLength(r); streamed && n >= 0 && len(r.Trailers) == 0 {
		h.c.StartResponseLength(statusOf(r), n)
	} else {
		h.c.StartResponse(statusOf(r), streamed, len(r.Trailers) > 0)
	}
	for i := range r.RespHeader {
		if kv := &r.RespHeader[i]; kv.Bytes {
			h.c.HeaderFieldBytes(kv.Name, r.HeaderValueBytes(kv))
		} else {
			h.c.HeaderField(kv.Name, kv.Value)
		}
	}
	h.c.EndHead(body, h.core.opts.Date())
	r.MarkHeadersSent()
}

// declaredLength is the content-length r's handler set, -1 if none (or
// not a length).
func declaredLength(r *engine.Request) int64 {
	for i := range r.RespHeader {
		if kv := &r.RespHeader[i]; kv.Name == "content-length" {
			v := kv.Value
			if kv.Bytes {
				v = string(r.HeaderValueBytes(kv))
			}
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 || v[0] == '+' {
				return -1
			}
			return n
		}
	}
	return -1
}

// appendBody appends body bytes, or writes them straight from the
// handler's buffer (after what is pending) when they are large; bytes
// beyond a length the handler declared are dropped.
func (h *h1conn) appendBody(b []byte) {
	h.mu.Lock()
	b = h.c.Clip(b)
	direct := h.c.WriteBody(b)
	h.mu.Unlock()
	if !direct {
		return
	}
	if h.flush() == nil {
		h.write(b)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.c.DirectWritten()
}

// Transport, called by the handler.

// ReadBody reads from the request body, which is complete before the
// handler starts.
func (h *h1conn) ReadBody(r *engine.Request, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, eof := r.ReadBuffered(p)
	if n == 0 && eof {
		return 0, io.EOF
	}
	return n, nil
}

// AckBody does nothing: HTTP/1.1 has no flow control of its own.
func (h *h1conn) AckBody(r *engine.Request, n int) {}

// CloseBody does nothing: the body is complete before the handler starts,
// so no read waits, and the connection reads on.
func (h *h1conn) CloseBody(r *engine.Request) {}

// Flush sends the response head and the body written so far; the body
// continues in chunks (HTTP/1.1) or until the connection closes (HTTP/1.0).
func (h *h1conn) Flush(r *engine.Request) error {
	if h.closed.Load() {
		return ErrCanceled
	}
	if !r.HeadersSent() {
		h.mu.Lock()
		h.appendHead(r, true, -1)
		h.mu.Unlock()
	}
	h.appendBody(r.RespBody)
	r.ResetResponse()
	return h.flush()
}

// Finish writes the rest of the response once the handler returned.
func (h *h1conn) Finish(r *engine.Request) {
	r.MarkHandlerDone()
	if !h.closed.Load() {
		if !r.HeadersSent() {
			h.mu.Lock()
			h.appendHead(r, false, len(r.RespBody))
			h.mu.Unlock()
		}
		h.appendBody(r.RespBody)
		h.mu.Lock()
		if h.c.Chunked() {
			for i := range r.Trailers {
				if kv := &r.Trailers[i]; kv.Bytes {
					h.c.TrailerFieldBytes(kv.Name, r.HeaderValueBytes(kv))
				} else {
					h.c.TrailerField(kv.Name, kv.Value)
				}
			}
		}
		h.keep = h.c.EndResponse()
		h.mu.Unlock()
	}
	if h.async && !h.syncServe {
		h.finishAsync(r)
	}
}

// Abort closes the connection from any goroutine (a handler's deadline
// timer): the handler's writes fail from then on.
func (h *h1conn) Abort(r *engine.Request) { h.abort() }

// Interim writes an informational response (103 Early Hints, say) with
// the fields r.RespHeader[from:]. "A server MUST NOT send a 1xx response
// to an HTTP/1.0 client" (RFC 9110 §15.2): for one it does nothing.
func (h *h1conn) Interim(r *engine.Request, status, from int) error {
	if h.closed.Load() {
		return ErrCanceled
	}
	if status < 100 || status > 199 || status == 101 || r.HeadersSent() {
		return ErrInterim
	}
	h.mu.Lock()
	if !h.c.Interim(status) {
		h.mu.Unlock()
		return nil
	}
	for i := max(from, 0); i < len(r.RespHeader); i++ {
		if kv := &r.RespHeader[i]; kv.Bytes {
			h.c.HeaderFieldBytes(kv.Name, r.HeaderValueBytes(kv))
		} else {
			h.c.HeaderField(kv.Name, kv.Value)
		}
	}
	h.c.EndHead(-1, "")
	h.mu.Unlock()
	return h.flush()
}

// Reset closes the connection: HTTP/1.1 has no way to abort one response.
func (h *h1conn) Reset(r *engine.Request) {
	h.mu.Lock()
	h.c.Abort()
	h.mu.Unlock()
	h.abort()
}

func (h *h1conn) RemoteAddr() net.Addr { return realAddr(h.remote) }

func (h *h1conn) RemoteAddrString() string     { return h.rstr.get(h.remote) }
func (h *h1conn) LocalAddr() net.Addr          { return localAddr(h.sink) }
func (h *h1conn) Proto() string                { return "HTTP/1.1" }
func (h *h1conn) ConnContext() context.Context { return h.hk.context() }

// connHooks is nil: an HTTP/1.1 connection reports its states as bytes
// of a request arrive and its response is done, not around handlers.
func (h *h1conn) connHooks() *connHooks          { return nil }
func (h *h1conn) TLSState() *tls.ConnectionState { return h.tlsState }

func (h *h1conn) TLS() bool { return h.tls }

// closer, called from other goroutines.

// tick closes a connection that sat too long between requests or in a
// request head or body (see http1.Conn.Expired).
func (h *h1conn) tick(now time.Time) {
	h.sink.buffered() // the fd reactor enforces WriteTimeout there
	if h.expired(now) && !h.closed.Load() {
		h.core.Metrics.Timeouts.Add(1)
		h.core.logEvent(slog.LevelWarn, logAttrs{remote: h.remote, counter: "Timeouts"}, "h2loop: http/1.1 from %v: timeout", h.remote)
		h.close()
	}
}

// shutdown closes the connection now if it is between requests, or after
// the response in progress (which then says "Connection: close").
func (h *h1conn) shutdown() {
	h.shutting.Store(true)
	if h.between() {
		h.close()
	}
}

// close closes the socket at once, unless a handler took it.
func (h *h1conn) close() {
	if h.hijacked.Load() {
		return
	}
	h.closed.Store(true)
	h.cancelServing(false)
	h.sink.closeSocket()
	h.core.remove(h)
}

// idle reports whether the connection is finished.
func (h *h1conn) idle() bool { return h.closed.Load() }

// onClosed is called once the socket is closed. Whoever has the turn
// releases what the connection holds when it ends it; otherwise it is
// released here.
func (h *h1conn) onClosed() {
	h.closed.Store(true)
	h.cancelServing(false) // a handler on a worker learns at once
	h.releaseHeld()
	h.core.remove(h)
}

// releaseHeld gives back the request and buffers of a closed connection,
// once, unless someone has the turn (who then does it when the turn ends).
func (h *h1conn) releaseHeld() {
	if !h.claimEnd() {
		return
	}
	if r := h.req; r != nil {
		h.req = nil
		h.core.opts.Hooks.Release(r)
	}
	if up := h.up; up != nil {
		h.up = nil
		h.core.opts.Hooks.Release(up.req)
	}
	h.keepPipe(nil, 0, true) // empty: its buffer goes back
	h.mu.Lock()
	defer h.mu.Unlock()
	h.c.Close()
}

// The sections under mu, each released by defer (the turn's: h1_turn.go).

// setServing records the request whose handler runs (nil when it returned).
func (h *h1conn) setServing(r *engine.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.serving = r
}

func (h *h1conn) isServing(r *engine.Request) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.serving == r
}

// cancelServing cancels the request whose handler runs, if any; mark also
// marks it canceled for the engine.
func (h *h1conn) cancelServing(mark bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.serving; r != nil {
		if mark {
			r.Canceled = true
		}
		h.core.opts.Hooks.Canceled(r)
	}
}

// expired reports whether the connection has been in its phase too long.
func (h *h1conn) expired(now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.c.Expired(now)
}

// between reports whether no request is in progress.
func (h *h1conn) between() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.c.Between() && !h.busy
}
