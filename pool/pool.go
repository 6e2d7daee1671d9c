// Package pool runs handlers on a bounded set of worker goroutines.
package pool

import (
	"sync"
	"sync/atomic"
	"time"
)

// Pool runs tasks of type T with at most Max goroutines. Workers are started
// on demand and exit after IdleTimeout without work; idle workers are reused,
// so steady state starts no goroutine and allocates nothing per task.
type Pool[T any] struct {
	// immutable after New
	run     func(T)
	max     int32
	idle    time.Duration
	tasks   chan T
	stopped chan struct{}

	workers atomic.Int32
	busy    atomic.Int32
	once    sync.Once
	wg      sync.WaitGroup
}

// New returns a pool that calls run for each submitted task with at most max
// concurrent workers (max <= 0 means 10000) and a queue of queue tasks.
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
	return &Pool[T]{run: run, max: int32(max), idle: idle, tasks: make(chan T, queue), stopped: make(chan struct{})}
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
				p.wg.Add(1)
				go p.worker(t)
				return
			}
		}
	}
	p.tasks <- t
}

func (p *Pool[T]) worker(t T) {
	defer p.wg.Done()
	p.run(t)
	p.busy.Add(-1)
	timer := time.NewTimer(p.idle)
	defer timer.Stop()
	worked := false
	for {
		select {
		case t = <-p.tasks:
			p.busy.Add(1)
			p.run(t)
			p.busy.Add(-1)
			worked = true
		case <-timer.C:
			if worked {
				worked = false
				timer.Reset(p.idle)
				continue
			}
			// Exit unless a task is waiting (it would otherwise be stranded).
			select {
			case t = <-p.tasks:
				p.busy.Add(1)
				p.run(t)
				p.busy.Add(-1)
				timer.Reset(p.idle)
				continue
			default:
			}
			p.workers.Add(-1)
			return
		case <-p.stopped:
			p.workers.Add(-1)
			return
		}
	}
}

// Workers is the number of live worker goroutines.
func (p *Pool[T]) Workers() int { return int(p.workers.Load()) }

// Close stops idle workers; tasks already running finish. Submit must not be
// called after Close.
func (p *Pool[T]) Close() {
	p.once.Do(func() { close(p.stopped) })
}
