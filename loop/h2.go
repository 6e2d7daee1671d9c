package loop

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/pool"
)

// ErrCanceled is returned to a handler whose stream was reset or whose
// connection died.
var ErrCanceled = errors.New("h2loop: stream canceled")

// ErrInterim is returned by Interim when the final response has started
// or the status is not an informational one the protocol can carry.
var ErrInterim = errors.New("h2loop: no interim response possible")

// ErrBodyClosed is returned by ReadBody after CloseBody.
var ErrBodyClosed = errors.New("h2loop: request body closed")

// sink writes a connection's output to its socket.
type sink interface {
	// write writes all of b (blocking, bounded by the write timeout); b is
	// not retained after it returns.
	write(b []byte) error
	// closeSocket closes the socket.
	closeSocket()
	// buffered is how many received bytes wait to be processed; it may be
	// called from any goroutine.
	buffered() int
	// netConn is the connection's socket as a net.Conn (nil in memory).
	netConn() net.Conn
	// hooks are the socket's ConnState and ConnContext hooks, or nil.
	hooks() *connHooks
}

// h2conn glues one engine.Conn to a socket. Every engine call happens under mu.
type h2conn struct {
	// immutable after start
	core   *Core
	sink   sink
	remote net.Addr
	rstr   addrString

	mu   sync.Mutex
	wait *waiters // handlers blocked on body bytes or the send window, from the first; guarded by mu
	// flags: flagClosed (the socket is closed: the engine is aborted; set
	// under mu), flagEnding (the engine ended the connection, its error
	// counted; closing follows), flagShutdownReq (a graceful shutdown is
	// asked for, started by whoever holds mu next; shutdownDone, under mu,
	// says it started)
	flags        atomic.Uint32
	shutdownDone bool
	inLoop       bool // the reading goroutine will flush when it is done
	flushing     bool // a worker is about to flush
	tls          bool // immutable after start
	// tasks are the requests dispatched to the worker pool and not
	// submitted yet, inline those whose handlers run at the end of the
	// input pass: pooled lists, held only from a Dispatch until they are
	// taken (nil while idle). inlineReq is the request whose handler runs
	// inline right now (it must never wait for the reading goroutine,
	// which is running it).
	tasks     *taskList
	inline    *taskList
	inlineReq atomic.Pointer[engine.Request] // set without mu: only its own goroutine compares it with its request

	// engv is the engine, inline: a connection's protocol state is one
	// allocation.
	engv engine.Conn
}

func newH2Conn(core *Core, s sink, remote net.Addr, isTLS bool) *h2conn {
	h := &h2conn{core: core, sink: s, remote: remote, tls: isTLS}
	h.engv.Init(core.engineConfig(remote), h, &core.Metrics, time.Now())
	if isTLS {
		h.engv.StartTLS()
	}
	return h
}

const (
	flagClosed uint32 = 1 << iota
	flagEnding
	flagShutdownReq
)

func (h *h2conn) is(f uint32) bool { return h.flags.Load()&f != 0 }
func (h *h2conn) set(f uint32)     { h.flags.Or(f) }

// setOld sets f and reports whether it was set already.
func (h *h2conn) setOld(f uint32) bool { return h.flags.Or(f)&f != 0 }

// waiters returns the connection's waiters, allocated when a handler first
// waits (most connections never have one). mu is held.
func (h *h2conn) waiters() *waiters {
	if h.wait == nil {
		h.wait = new(waiters)
	}
	return h.wait
}

// engine.Callbacks, called under mu.

func (h *h2conn) AcquireRequest() *engine.Request { return h.core.opts.Hooks.Acquire() }

func (h *h2conn) Dispatch(r *engine.Request) {
	t := task{r: r, t: h}
	if r.BodyComplete() && !r.Pushed && (h.core.opts.InlineHandlers || h.core.opts.Inline != nil && h.core.opts.Inline(r)) {
		if h.inline == nil {
			h.inline = taskLists.Get().(*taskList)
		}
		h.inline.t = append(h.inline.t, t)
		return
	}
	if h.tasks == nil {
		h.tasks = taskLists.Get().(*taskList)
	}
	h.tasks.t = append(h.tasks.t, t)
}

// taskList is a list of tasks to submit, pooled: a connection holds one
// only while it dispatches, so none grows a list of its own (a batch of
// requests costs no allocation, and an idle connection holds no list).
type taskList struct{ t []task }

var taskLists = sync.Pool{New: func() any { return new(taskList) }}

// takeTasks takes the dispatched tasks over; mu is held.
func (h *h2conn) takeTasks() *taskList {
	tl := h.tasks
	h.tasks = nil
	return tl
}

// submitList submits the tasks of tl (nil: none) and gives the list back.
func (h *h2conn) submitList(tl *taskList) {
	if tl == nil {
		return
	}
	h.submit(tl.t)
	putTaskList(tl)
}

// putTaskList gives tl, whose tasks were cleared, back to the pool.
func putTaskList(tl *taskList) {
	if cap(tl.t) <= 4096 {
		tl.t = tl.t[:0]
		taskLists.Put(tl)
	}
}

func (h *h2conn) Wake(r *engine.Request) {
	h.wait.wake(r)
	if r.Canceled && r.Owner != nil {
		h.core.opts.Hooks.Canceled(r)
	}
}

func (h *h2conn) ReleaseRequest(r *engine.Request) { h.core.opts.Hooks.Release(r) }

// input feeds buffered bytes to the engine. It returns the bytes consumed,
// the bytes needed for the next frame, and whether the connection is done.
// The caller holds no lock and has set inLoop. The handlers of the requests
// that completed are handed to the worker pool afterwards, without the lock;
// the pool never blocks.
func (h *h2conn) input(buf []byte) (used, need int, done bool) {
	tasks, used, need, done := h.feed(buf)
	h.submitList(tasks)
	return used, need, done
}

func (h *h2conn) feed(buf []byte) (tasks *taskList, used, need int, done bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	defer func() {
		if p := recover(); p != nil {
			h.core.recovered("HTTP/2 input", h.remote, p)
			h.closeAfterPanic()
			used, need, done = 0, 0, true
		}
		// Requests dispatched before a panic still get their handler
		// (which finds them canceled): that is what releases them.
		tasks = h.takeTasks()
	}()
	if h.is(flagEnding) {
		return nil, 0, 0, true // closing for too much unprocessed input: the rest is dropped
	}
	used, err := h.engv.Feed(buf)
	need = h.engv.Need(buf[used:])
	done = err != nil || h.engv.Closed()
	if done {
		h.set(flagEnding)
	}
	return nil, used, need, done
}

// submit hands tasks to the worker pool. A task the pool refuses (every
// worker busy and the wait queue full) is refused on its stream at once.
func (h *h2conn) submit(tasks []task) {
	for i := range tasks {
		if h.core.pool.Submit(tasks[i]) == pool.Rejected {
			h.refuse(tasks[i].r, "the wait queue is full")
		}
		tasks[i] = task{}
	}
}

// refuse answers a request whose handler will not run because MaxWorkers
// handlers are busy: RST_STREAM(REFUSED_STREAM), which tells the client
// that nothing was processed and the request may be retried (RFC 9113
// §8.7). Counted in Overloaded and logged (one line a second at most).
func (h *h2conn) refuse(r *engine.Request, why string) {
	h.core.overloaded(h.remote, why)
	h.mu.Lock()
	defer h.unlock("refuse")
	h.engv.Refuse(r)
	if !h.inLoop {
		h.flushLocked()
	}
}

// unlock is deferred by every method that holds mu: the lock is released
// on every path, and a panic there closes the connection (counted, logged
// with its stack) instead of the process.
func (h *h2conn) unlock(where string) {
	if p := recover(); p != nil {
		h.core.recovered(where, h.remote, p)
		h.closeAfterPanic()
	}
	h.mu.Unlock()
}

// unlockCanceled is unlock for the calls a handler makes that return an
// error: after a panic the handler gets ErrCanceled.
func (h *h2conn) unlockCanceled(where string, err *error) {
	if p := recover(); p != nil {
		h.core.recovered(where, h.remote, p)
		h.closeAfterPanic()
		*err = ErrCanceled
	}
	h.mu.Unlock()
}

// closeAfterPanic closes the connection, with mu held, after a panic left
// its engine in an unknown state.
func (h *h2conn) closeAfterPanic() {
	defer func() {
		if p := recover(); p != nil {
			// The engine panics again while aborting: close the socket
			// without it.
			h.set(flagClosed)
			h.wait.wakeAll()
			go h.sink.closeSocket()
			h.core.remove(h)
		}
	}()
	h.set(flagEnding)
	h.closeLocked()
}

// runInline runs the handlers queued for inline execution.
func (h *h2conn) runInline() {
	for {
		tl := h.takeInline()
		if tl == nil {
			return
		}
		tasks := tl.t
		for i := range tasks {
			h.setInline(tasks[i].r)
			h.core.serve(tasks[i].r, tasks[i].t)
			h.setInline(nil)
			tasks[i] = task{}
		}
		putTaskList(tl)
	}
}

// takeInline takes the list of inline handlers to run over (nil: none).
func (h *h2conn) takeInline() *taskList {
	h.mu.Lock()
	defer h.mu.Unlock()
	tl := h.inline
	h.inline = nil
	return tl
}

func (h *h2conn) setInline(r *engine.Request) { h.inlineReq.Store(r) }

// beginLoop and endLoop bracket a batch of input processing: responses
// finished meanwhile are flushed once, at endLoop.
func (h *h2conn) beginLoop() {
	h.mu.Lock()
	h.inLoop = true
	h.mu.Unlock()
}

func (h *h2conn) endLoop() {
	h.runInline()
	h.mu.Lock()
	defer h.unlock("HTTP/2 flush")
	h.inLoop = false
	if h.is(flagShutdownReq) {
		h.shutdownLocked()
	}
	h.flushLocked()
}

// flushLocked writes the engine's output, then as much queued DATA as the
// windows allow, chunk by chunk. Called with mu held.
func (h *h2conn) flushLocked() {
	fc := h.fdSink()
	for !h.is(flagClosed) {
		if fc != nil {
			if !h.flushFD(fc) {
				return
			}
		} else if out := h.engv.Output(); len(out) > 0 {
			err := h.sink.write(out)
			h.engv.ConsumeOutput(len(out))
			if err != nil {
				h.closeLocked()
				return
			}
		} else {
			h.engv.ConsumeOutput(0) // lets an idle connection return its buffer
		}
		if !h.engv.HasPendingData() || h.sinkFull() {
			break
		}
		h.engv.WritePending()
		if h.engv.OutputLen() == 0 {
			break
		}
	}
	if h.engv.Closed() && !h.is(flagClosed) {
		if fc != nil {
			h.handOverOutput(fc)
		}
		h.closeLocked()
	}
}

// flushSoon flushes now, unless the reading goroutine or another worker is
// about to: a worker yields once before flushing so that responses finished
// at about the same time share one write.
func (h *h2conn) flushSoon() {
	if h.inLoop || h.flushing {
		return
	}
	h.flushing = true
	h.mu.Unlock()
	runtime.Gosched()
	h.mu.Lock()
	h.flushing = false
	if !h.inLoop {
		h.flushLocked()
	}
}

func (h *h2conn) closeLocked() {
	if h.is(flagClosed) {
		return
	}
	h.set(flagClosed)
	h.engv.Abort()
	h.wait.wakeAll()
	if fc := h.fdSink(); fc != nil {
		fc.closeSocket() // never blocks, and queues the close itself
	} else {
		go h.sink.closeSocket() // not under mu: netpoll runs the close callback (onClosed, which takes mu) synchronously
	}
	h.core.remove(h)
}

// onClosed is called when the socket closed under us. When we closed it
// ourselves (closeLocked, with mu held), closed is already set and the
// callback, which netpoll may run synchronously inside Close, returns at once.
func (h *h2conn) onClosed() {
	defer h.core.remove(h)
	if h.is(flagClosed) {
		return
	}
	h.mu.Lock()
	defer h.unlock("HTTP/2 close")
	if !h.is(flagClosed) {
		h.set(flagClosed)
		h.engv.Abort()
		h.wait.wakeAll()
	}
}

// Transport, called by handlers.

func (h *h2conn) ReadBody(r *engine.Request, p []byte) (n int, err error) {
	if len(p) == 0 {
		return 0, nil
	}
	h.mu.Lock()
	defer h.unlockCanceled("ReadBody", &err)
	for {
		n, eof := h.engv.ReadBody(r, p)
		if n > 0 {
			if h.engv.OutputLen() > 0 {
				h.flushSoon()
			}
			if eof {
				return n, io.EOF // the last bytes: no extra call needed to learn it
			}
			return n, nil
		}
		if r.BodyClosed() {
			return 0, ErrBodyClosed
		}
		if eof {
			return 0, io.EOF
		}
		if r.Canceled || h.is(flagClosed) || r.StreamDone() {
			return 0, ErrCanceled
		}
		h.waiters().wait(&h.mu, r)
	}
}

func (h *h2conn) AckBody(r *engine.Request, n int) {
	h.mu.Lock()
	defer h.unlock("AckBody")
	h.engv.AckBody(r, n)
	h.flushSoon()
}

func (h *h2conn) CloseBody(r *engine.Request) {
	h.mu.Lock()
	defer h.unlock("CloseBody")
	h.engv.CloseBody(r)
	h.wait.wake(r)
	h.flushSoon()
}

func (h *h2conn) Flush(r *engine.Request) (err error) {
	h.mu.Lock()
	defer h.unlockCanceled("Flush", &err)
	if h.is(flagClosed) || !h.engv.Flush(r) {
		return ErrCanceled
	}
	if r == h.inlineReq.Load() {
		// Running on the reading goroutine: write now (the end of the
		// input pass waits for this handler), and never wait for
		// WINDOW_UPDATE, which would wait for ourselves. What the windows
		// do not allow stays queued and goes out as they open.
		h.flushLocked()
		return nil
	}
	// The frames are in the connection's output: written now, or by the
	// reading goroutine at the end of its input pass, or by the worker
	// already about to flush, so that the flushes of responses made in
	// one wake-up share one write (gRPC's handler flushes after every
	// message). The output is bounded (WriteChunk): what does not fit
	// stays pending below, until a writer has made room.
	if h.engv.OutputLen() > 0 {
		h.flushSoon()
	}
	for r.Pending() > 0 {
		if r.Canceled || h.is(flagClosed) || r.StreamDone() {
			return ErrCanceled
		}
		h.waiters().wait(&h.mu, r)
	}
	h.engv.CompactBody(r)
	return nil
}

func (h *h2conn) Finish(r *engine.Request) {
	h.mu.Lock()
	defer h.unlock("Finish")
	h.engv.Respond(r)
	h.flushSoon()
}

// Abort is Reset, which may be called from any goroutine.
func (h *h2conn) Abort(r *engine.Request) { h.Reset(r) }

func (h *h2conn) Interim(r *engine.Request, status, from int) (err error) {
	h.mu.Lock()
	defer h.unlockCanceled("Interim", &err)
	if h.is(flagClosed) || r.Canceled || r.StreamDone() {
		return ErrCanceled
	}
	if !h.engv.Interim(r, status, from) {
		return ErrInterim
	}
	h.flushLocked()
	return nil
}

// H2Frames is implemented by the HTTP/2 transport: frames only HTTP/2
// has, sent from a handler.
type H2Frames interface {
	// AltSvc sends an ALTSVC frame with value on r's stream.
	AltSvc(r *engine.Request, value string) error
	// Origin sends an ORIGIN frame listing origins.
	Origin(origins []string) error
	// Push promises a request on r's stream and starts its handler (see
	// engine.Conn.Push).
	Push(r *engine.Request, method, authority, path string, fields []string) error
	// PushAllowed reports whether a push may succeed now.
	PushAllowed() bool
}

func (h *h2conn) Push(r *engine.Request, method, authority, path string, fields []string) (err error) {
	tasks, err := h.push(r, method, authority, path, fields)
	h.submitList(tasks) // the promised request's handler, on the pool
	return err
}

func (h *h2conn) push(r *engine.Request, method, authority, path string, fields []string) (tasks *taskList, err error) {
	h.mu.Lock()
	defer h.unlockCanceled("Push", &err)
	if h.is(flagClosed) {
		return nil, ErrCanceled
	}
	err = h.engv.Push(r, method, authority, path, fields)
	// Take the dispatched request now: the reading goroutine submits
	// only what its own input dispatched.
	tasks = h.takeTasks()
	if err == nil {
		h.flushLocked() // the promise goes out before the parent's response refers to it
	}
	return tasks, err
}

func (h *h2conn) PushAllowed() bool {
	h.mu.Lock()
	defer h.unlock("PushAllowed")
	return !h.is(flagClosed) && h.engv.PushAllowed()
}

func (h *h2conn) AltSvc(r *engine.Request, value string) (err error) {
	h.mu.Lock()
	defer h.unlockCanceled("AltSvc", &err)
	if h.is(flagClosed) || !h.engv.AltSvc(r, value) {
		return ErrCanceled
	}
	h.flushSoon()
	return nil
}

func (h *h2conn) Origin(origins []string) (err error) {
	h.mu.Lock()
	defer h.unlockCanceled("Origin", &err)
	if h.is(flagClosed) || !h.engv.SendOrigin(origins) {
		return ErrCanceled
	}
	h.flushSoon()
	return nil
}

func (h *h2conn) Reset(r *engine.Request) {
	h.mu.Lock()
	defer h.unlock("Reset")
	h.engv.Cancel(r, codec.ErrCodeCancel)
	h.flushSoon()
}

func (h *h2conn) RemoteAddr() net.Addr { return realAddr(h.remote) }

func (h *h2conn) RemoteAddrString() string     { return h.rstr.get(h.remote) }
func (h *h2conn) LocalAddr() net.Addr          { return localAddr(h.sink) }
func (h *h2conn) Proto() string                { return "HTTP/2.0" }
func (h *h2conn) ConnContext() context.Context { return h.sink.hooks().context() }
func (h *h2conn) connHooks() *connHooks        { return h.sink.hooks() }
func (h *h2conn) TLSState() *tls.ConnectionState {
	if s, ok := h.sink.(*stdConn); ok {
		return s.tlsState // the TLS transport's
	}
	return nil
}

func (h *h2conn) TLS() bool { return h.tls }

// closer

func (h *h2conn) tick(now time.Time) {
	// netpoll reads whatever the peer sends, also while this connection's
	// goroutine is blocked writing to a peer that does not read: bound what
	// piles up (the lock may be held by that very writer, so check first).
	if n := h.sink.buffered(); n > h.core.opts.MaxBufferedInput && h.tooMuchInput(n) {
		return
	}
	if !h.mu.TryLock() {
		return // busy (a blocked write holds the lock): try at the next tick
	}
	defer h.unlock("HTTP/2 tick")
	if !h.is(flagClosed) {
		if h.is(flagShutdownReq) {
			h.shutdownLocked()
		}
		h.engv.Tick(now)
		if !h.inLoop {
			h.flushLocked()
		}
	}
}

// tooMuchInput closes a connection whose unprocessed input is above
// MaxBufferedInput (counted as a flood, logged), once; it reports whether
// this call did it.
func (h *h2conn) tooMuchInput(n int) bool {
	if h.is(flagClosed) || h.setOld(flagEnding) {
		return false
	}
	h.core.Metrics.FloodErrors.Add(1)
	h.core.logEvent(slog.LevelWarn, logAttrs{remote: h.remote, code: codec.ErrCodeEnhanceYourCalm.String(), counter: "FloodErrors"},
		"h2loop: %v: %d bytes of unprocessed input (MaxBufferedInput %d), closing", h.remote, n, h.core.opts.MaxBufferedInput)
	// Tell the client why, if its socket takes it at once (it may not
	// be reading: never wait for it), then close.
	if tw, ok := h.sink.(interface{ tryWrite([]byte) }); ok && h.mu.TryLock() {
		func() {
			defer h.unlock("too much input")
			h.engv.Calm("too much unprocessed input")
			tw.tryWrite(h.engv.Output())
			h.engv.ConsumeOutput(len(h.engv.Output()))
		}()
	}
	go h.sink.closeSocket()
	return true
}

// shutdown starts a graceful shutdown. It never waits for the lock (a
// write to a peer that does not read may hold it for WriteTimeout): when
// the lock is busy, the end of the current input pass or the next tick
// starts it.
func (h *h2conn) shutdown() {
	h.set(flagShutdownReq)
	if !h.mu.TryLock() {
		return
	}
	defer h.unlock("HTTP/2 shutdown")
	h.shutdownLocked()
	if !h.inLoop {
		h.flushLocked()
	}
}

func (h *h2conn) shutdownLocked() {
	if !h.is(flagClosed) && !h.shutdownDone {
		h.shutdownDone = true
		h.engv.Shutdown()
	}
}

// close closes the connection at once. It never waits for the lock: when
// it is busy, the socket is closed under its holder, whose write then
// fails, and the close callback finishes the job.
func (h *h2conn) close() {
	if !h.mu.TryLock() {
		h.set(flagEnding)
		go h.sink.closeSocket()
		return
	}
	defer h.unlock("HTTP/2 close")
	h.closeLocked()
}

// idle reports whether the connection has finished; it takes no lock.
func (h *h2conn) idle() bool { return h.is(flagClosed) }

// h2Upgrade is an HTTP/1.1 request that asked for h2c with "Upgrade: h2c":
// the 101 response is written; the request becomes stream 1.
type h2Upgrade struct {
	settings []byte // the decoded HTTP2-Settings payload
	req      *engine.Request
}

func newH2ConnUpgrade(core *Core, s sink, remote net.Addr, isTLS bool, up *h2Upgrade) *h2conn {
	h := newH2Conn(core, s, remote, isTLS)
	tasks, err := h.upgrade(up)
	if err != nil {
		core.logf("h2loop: h2c upgrade from %v: %v", remote, err)
	}
	h.submitList(tasks)
	return h
}

func (h *h2conn) upgrade(up *h2Upgrade) (tasks *taskList, err error) {
	h.mu.Lock()
	defer h.unlock("h2c upgrade")
	err = h.engv.Upgrade(up.settings, up.req)
	tasks = h.takeTasks()
	h.flushLocked()
	return tasks, err
}
