// Package pool runs tasks (request handlers) on a bounded set of reused
// worker goroutines.
//
// Dispatch policy: a submitted task starts at once, on an idle worker (the
// most recently idle one) or, when none is idle and fewer than MaxWorkers
// exist, on a new worker; no task ever waits while the limit allows another
// worker. When MaxWorkers are busy the task waits in a bounded FIFO queue for
// at most QueueTimeout; a worker that frees up takes the oldest waiting
// task, and a task that waited longer than QueueTimeout is expired (handed
// to Expire, never run). When the queue is full the task is rejected at
// once and the caller refuses it itself. Submit never blocks: it takes a
// short mutex, never waits for a worker or for room in the queue.
//
// Each idle worker waits on its own one-slot channel and is popped off the
// idle stack when it is given a task, so it can never be counted twice. A
// janitor goroutine, running while any worker exists, expires queued tasks
// that waited too long and stops workers idle longer than IdleTimeout.
package pool

import (
	"fmt"
	"sync"
	"time"
)

// Defaults for the zero Options fields.
const (
	// DefaultMaxWorkers is the worker limit when Options.MaxWorkers <= 0.
	DefaultMaxWorkers = 10000
	// DefaultQueueSize is the queue bound when Options.QueueSize <= 0.
	DefaultQueueSize = 1024
	// DefaultQueueTimeout is the longest queue wait when
	// Options.QueueTimeout <= 0.
	DefaultQueueTimeout = time.Second
	// DefaultIdleTimeout is how long a worker stays idle when
	// Options.IdleTimeout <= 0.
	DefaultIdleTimeout = 10 * time.Second
)

// Options configures a Pool. Run is required; every other field has a default.
type Options[T any] struct {
	// MaxWorkers bounds the worker goroutines, and so the tasks running at
	// once. <= 0 means DefaultMaxWorkers.
	MaxWorkers int

	// QueueSize bounds the tasks that may wait while MaxWorkers are busy.
	// <= 0 means DefaultQueueSize. The queue is one ring, allocated the
	// first time a task has to wait, never grown.
	QueueSize int

	// QueueTimeout is how long a queued task may wait for a worker; after
	// that it is expired. It is enforced by a worker that frees up and by
	// the janitor, which looks every quarter of min(QueueTimeout,
	// IdleTimeout), so a task may wait up to about 1.25 QueueTimeout
	// before Expire is called. <= 0 means DefaultQueueTimeout (1s): long
	// enough to ride out a burst, short enough that the client gets a
	// refusal instead of a hung request.
	QueueTimeout time.Duration

	// IdleTimeout is how long a worker may stay idle before it is stopped
	// (within about a quarter of min(QueueTimeout, IdleTimeout) more).
	// <= 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration

	// Run runs one task on a worker goroutine. A panic in Run is recovered
	// (see Panicked) and the worker goes on serving; a Run that calls
	// runtime.Goexit ends its worker, which is counted out (and replaced
	// if tasks are queued).
	Run func(t T)

	// Expire is called for a queued task that waited QueueTimeout without
	// a worker; that task is then never run. It is called exactly once per
	// expired task, on a worker or the janitor goroutine, never on the
	// goroutine that called Submit and never under the pool's lock (it
	// may call the pool). It should be quick: queued tasks behind it wait.
	// Nil means expired tasks are dropped.
	Expire func(t T)

	// Panicked, if not nil, is called with the task and the recovered
	// value when Run or Expire panics, on the same goroutine. A panic in
	// Panicked itself is not recovered. Nil means the panic is dropped.
	Panicked func(t T, v any)
}

// Result is the outcome of Submit.
type Result uint8

// Submit's outcomes.
const (
	// Started: the task was handed to an idle worker or a new one.
	Started Result = iota + 1
	// Queued: MaxWorkers are busy; the task waits for one, for at most
	// QueueTimeout, and is then run or expired.
	Queued
	// Rejected: MaxWorkers are busy and the queue is full; the pool
	// dropped the task and will neither run nor expire it.
	Rejected
)

// String returns "started", "queued" or "rejected".
func (r Result) String() string {
	switch r {
	case Started:
		return "started"
	case Queued:
		return "queued"
	case Rejected:
		return "rejected"
	}
	return fmt.Sprintf("Result(%d)", uint8(r))
}

// Pool runs tasks of type T on at most MaxWorkers reused goroutines. Its
// methods are safe for concurrent use. The zero Pool is not usable: make
// one with New.
type Pool[T any] struct {
	// immutable after New (tick: and before the first Submit, by tests)
	run          func(T)
	expire       func(T)
	panicked     func(T, any)
	max          int
	queueSize    int
	queueTimeout time.Duration
	idleTimeout  time.Duration
	tick         time.Duration // janitor period

	mu sync.Mutex
	// guarded by mu
	workers int          // live workers: running, idle, or about to run
	idle    []*worker[T] // idle stack: the top (end) is the most recently idle
	queue   []entry[T]   // ring of waiting tasks, nil until first needed
	head    int          // index of the oldest waiting task
	queued  int          // tasks waiting
	janitor bool         // a janitor goroutine is running
	closed  bool         // Close was called

	// immutable after New
	wake chan struct{} // one slot: asks the janitor for a round now
}

// worker is an idle worker's mailbox. Whoever pops it off the idle stack
// owns it until it sends one task on ch (which never blocks: ch has one
// slot and is empty) or closes ch to stop it.
type worker[T any] struct {
	ch    chan T
	since time.Duration // guarded by Pool.mu: when it went idle (clock)
}

// entry is a queued task and when it was queued (clock).
type entry[T any] struct {
	t  T
	at time.Duration
}

// epoch anchors clock; time.Since of a time with a monotonic reading only
// reads the monotonic clock.
var epoch = time.Now()

// clock is the monotonic time since epoch.
func clock() time.Duration { return time.Since(epoch) }

// New returns a Pool running tasks with o.Run. It starts no goroutine:
// workers and the janitor start on demand. It panics if o.Run is nil.
func New[T any](o Options[T]) *Pool[T] {
	if o.Run == nil {
		panic("pool: New with nil Options.Run")
	}
	if o.MaxWorkers <= 0 {
		o.MaxWorkers = DefaultMaxWorkers
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.QueueTimeout <= 0 {
		o.QueueTimeout = DefaultQueueTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	tick := min(o.QueueTimeout, o.IdleTimeout) / 4
	if tick < time.Millisecond {
		tick = time.Millisecond
	}
	return &Pool[T]{
		run:          o.Run,
		expire:       o.Expire,
		panicked:     o.Panicked,
		max:          o.MaxWorkers,
		queueSize:    o.QueueSize,
		queueTimeout: o.QueueTimeout,
		idleTimeout:  o.IdleTimeout,
		tick:         tick,
		wake:         make(chan struct{}, 1),
	}
}

// Submit hands t to the most recently idle worker, or starts a new worker
// for it when none is idle and fewer than MaxWorkers exist (Started); or,
// when MaxWorkers are busy, queues t (Queued) if the queue has room, else
// drops it (Rejected: the caller refuses the task itself). It never blocks
// and never calls Run or Expire itself. After Close it behaves the same,
// except that there are no idle workers to hand t to.
func (p *Pool[T]) Submit(t T) Result {
	w, r := p.place(t)
	if w != nil {
		w.ch <- t // never blocks: w was idle, ch has one free slot
	}
	return r
}

// place decides where t goes. It returns the idle worker it popped for t
// (the caller sends t to it), or starts a worker with t, or queues t.
func (p *Pool[T]) place(t T) (*worker[T], Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		return w, Started
	}
	if p.workers < p.max {
		p.startLocked(t, true)
		return nil, Started
	}
	if p.queued == p.queueSize {
		return nil, Rejected
	}
	if p.queue == nil {
		p.queue = make([]entry[T], p.queueSize)
	}
	i := p.head + p.queued
	if i >= len(p.queue) {
		i -= len(p.queue)
	}
	p.queue[i] = entry[T]{t: t, at: clock()}
	p.queued++
	return nil, Queued
}

// startLocked counts in and starts a worker that runs t first (if has) and
// then looks for more work, and the janitor if none runs.
func (p *Pool[T]) startLocked(t T, has bool) {
	p.workers++
	if !p.janitor {
		p.janitor = true
		go p.sweep()
	}
	go p.work(t, has)
}

// Workers returns the number of live workers: running a task, idle, or
// about to run one. A worker being stopped is no longer counted. It is at
// most MaxWorkers.
func (p *Pool[T]) Workers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers
}

// Busy returns the number of workers that are not idle: running a task (or
// an Expire), or between tasks.
func (p *Pool[T]) Busy() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers - len(p.idle)
}

// Queued returns the number of tasks waiting for a worker.
func (p *Pool[T]) Queued() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.queued
}

// Close stops the idle workers at once. Running tasks finish, and queued
// tasks are still run or expired, by the workers that were busy: once
// closed, a worker that finds the queue empty exits instead of going idle.
// The janitor keeps expiring queued tasks until the last worker has exited,
// then exits too; so once running tasks return, the pool holds no
// goroutine. Submit after Close still works as before: as no worker is
// idle, it starts a worker (which exits when the queue is empty), queues,
// or rejects. Close is idempotent.
func (p *Pool[T]) Close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for i, w := range p.idle {
		close(w.ch)
		p.idle[i] = nil
	}
	p.workers -= len(p.idle)
	p.idle = p.idle[:0]
	p.wakeLocked()
}

// wakeLocked asks the janitor for a round now (to exit, when no worker is
// left after Close), without waiting.
func (p *Pool[T]) wakeLocked() {
	if p.workers == 0 && p.janitor {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
}

// work is a worker goroutine. It runs t first if has, then takes queued
// tasks (expiring stale ones) or waits idle on its mailbox, until it is
// stopped (mailbox closed) or, after Close, finds nothing to do.
func (p *Pool[T]) work(t T, has bool) {
	w := &worker[T]{ch: make(chan T, 1)}
	exited := false
	defer func() {
		if !exited { // runtime.Goexit in Run or Expire
			p.lost()
		}
	}()
	for {
		if has {
			p.call(p.run, t)
		}
		var st step
		t, st = p.next(w)
		switch st {
		case stepRun:
			has = true
		case stepExpire:
			p.call(p.expire, t)
			has = false
		case stepWait:
			t, has = <-w.ch
			if !has {
				exited = true // stopped; already counted out
				return
			}
		case stepExit:
			exited = true // already counted out
			return
		}
	}
}

// step is what a worker does next.
type step uint8

const (
	stepRun    step = iota // run the task next returned
	stepExpire             // expire it, then look again
	stepWait               // wait idle on the mailbox
	stepExit               // exit: closed and nothing queued
)

// next is a worker that is done with its task looking for the next one:
// the oldest queued task (to run, or to expire if it waited too long);
// else, it goes idle on the stack, or after Close it counts itself out.
func (p *Pool[T]) next(w *worker[T]) (T, step) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.queued > 0 {
		now := clock()
		e := p.popLocked()
		if now-e.at > p.queueTimeout {
			return e.t, stepExpire
		}
		return e.t, stepRun
	}
	var zero T
	if p.closed {
		p.workers--
		p.wakeLocked()
		return zero, stepExit
	}
	w.since = clock()
	p.idle = append(p.idle, w)
	return zero, stepWait
}

// popLocked takes the oldest queued task off the ring.
func (p *Pool[T]) popLocked() entry[T] {
	e := p.queue[p.head]
	p.queue[p.head] = entry[T]{} // drop the ring's reference
	p.head++
	if p.head == len(p.queue) {
		p.head = 0
	}
	p.queued--
	return e
}

// call runs f(t) (Run or Expire), recovering a panic and reporting it to
// Panicked. A nil f (no Expire) does nothing.
func (p *Pool[T]) call(f func(T), t T) {
	if f == nil {
		return
	}
	defer func() {
		if v := recover(); v != nil && p.panicked != nil {
			p.panicked(t, v)
		}
	}()
	f(t)
}

// lost counts out a worker whose goroutine is exiting through
// runtime.Goexit (called by Run or Expire). If tasks are queued, a new
// worker takes its place so that they are still served.
func (p *Pool[T]) lost() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.workers--
	if p.queued > 0 {
		var zero T
		p.startLocked(zero, false)
	}
	p.wakeLocked()
}

// sweep is the janitor goroutine: every tick it expires the queued tasks
// that waited longer than QueueTimeout and stops the workers idle longer
// than IdleTimeout (the bottom of the idle stack). It exits when no worker
// is left (Close and the last worker after Close wake it to check at
// once); Submit starts it again with the next worker.
func (p *Pool[T]) sweep() {
	tk := time.NewTicker(p.tick)
	defer tk.Stop()
	var stale []T // owned by the janitor; reused
	for {
		select {
		case <-tk.C:
		case <-p.wake:
		}
		var done bool
		stale, done = p.sweepOnce(stale[:0])
		for i := range stale {
			p.call(p.expire, stale[i])
			var zero T
			stale[i] = zero
		}
		if done {
			return
		}
	}
}

// sweepOnce does one janitor round under the lock: it stops the long-idle
// workers, and appends the stale queued tasks to stale for the caller to
// expire outside the lock. done reports that the janitor should exit.
func (p *Pool[T]) sweepOnce(stale []T) (_ []T, done bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := clock()
	for p.queued > 0 && now-p.queue[p.head].at > p.queueTimeout {
		stale = append(stale, p.popLocked().t)
	}
	// The idle stack is ordered by idle time: the bottom idled first.
	k := 0
	for k < len(p.idle) && now-p.idle[k].since > p.idleTimeout {
		close(p.idle[k].ch)
		k++
	}
	if k > 0 {
		n := copy(p.idle, p.idle[k:])
		clear(p.idle[n:])
		p.idle = p.idle[:n]
		p.workers -= k
	}
	if p.workers == 0 && p.queued == 0 {
		p.janitor = false
		return stale, true
	}
	return stale, false
}
