// Package pool runs handlers on a bounded set of worker goroutines.
package pool

import (
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs tasks of type T with at most Max goroutines. Workers are started
// on demand and stopped by a janitor when they have been idle for a whole
// idle period; idle workers are reused, so steady state starts no goroutine
// and allocates nothing per task. A worker waits with a plain channel
// receive, the cheapest hand-off Go has.
type Pool[T any] struct {
	// immutable after New
	run   func(T)
	max   int32
	idle  time.Duration
	tasks chan item[T]
	stop  chan struct{}

	workers atomic.Int32
	busy    atomic.Int32
	served  atomic.Uint64 // tasks run, read by the janitor
	once    sync.Once
	jan     sync.Once
}

// item is a task, or a request for one worker to exit.
type item[T any] struct {
	t    T
	quit bool
}

// New returns a pool that calls run for each submitted task with at most max
// concurrent workers (max <= 0 means 10000), a queue of queue tasks (<= 0:
// 1024) and idle workers stopped after about idle (<= 0: 10s).
func New[T any](max, queue int, idle time.Duration, run func(T)) *Pool[T] {
	if max <= 0 {
		max = 10000
	}
	if queue <= 0 {
		queue = 1024
	}
	if idle <= 0 {
		idle = 10 * time.Second
	}
	return &Pool[T]{run: run, max: int32(max), idle: idle, tasks: make(chan item[T], queue), stop: make(chan struct{})}
}

// Submit hands t to a worker. It starts a worker when none is idle and the
// limit allows; otherwise it queues t, blocking while the queue is full.
func (p *Pool[T]) Submit(t T) {
	if p.busy.Load() >= p.workers.Load() {
		for {
			n := p.workers.Load()
			if n >= p.max {
				break
			}
			if p.workers.CompareAndSwap(n, n+1) {
				p.busy.Add(1)
				p.jan.Do(func() { go p.janitor() })
				go p.worker(t)
				return
			}
		}
	}
	p.tasks <- item[T]{t: t}
}

func (p *Pool[T]) worker(t T) {
	p.run(t)
	p.served.Add(1)
	p.busy.Add(-1)
	for {
		it := <-p.tasks
		if it.quit {
			break
		}
		p.busy.Add(1)
		p.run(it.t)
		p.served.Add(1)
		p.busy.Add(-1)
	}
	p.workers.Add(-1)
}

// janitor stops idle workers: once per idle period it asks the workers that
// stayed idle through the whole period (as far as the counts tell) to exit.
func (p *Pool[T]) janitor() {
	t := time.NewTicker(p.idle)
	defer t.Stop()
	minIdle := p.workers.Load() - p.busy.Load()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		// minIdle is the fewest idle workers seen during the period; that
		// many were surplus all along.
		surplus := minIdle
		for i := int32(0); i < surplus; i++ {
			select {
			case p.tasks <- item[T]{quit: true}:
			default:
				i = surplus
			}
		}
		minIdle = p.workers.Load() - p.busy.Load() - surplus
		if minIdle < 0 {
			minIdle = 0
		}
		// Sample the idle count a few times during the next period.
		for k := 0; k < 8; k++ {
			select {
			case <-p.stop:
				return
			case <-time.After(p.idle / 9):
			}
			if n := p.workers.Load() - p.busy.Load(); n < minIdle {
				minIdle = n
			}
		}
	}
}

// Workers is the number of live worker goroutines.
func (p *Pool[T]) Workers() int { return int(p.workers.Load()) }

// Close asks every worker to exit once the tasks queued before it are
// done; tasks already running finish. A task submitted after Close still
// runs (on a new worker).
func (p *Pool[T]) Close() {
	p.once.Do(func() { close(p.stop) })
	for i := p.workers.Load(); i > 0; i-- {
		select {
		case p.tasks <- item[T]{quit: true}:
		default:
			return
		}
	}
}
