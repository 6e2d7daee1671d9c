//go:build !race

package bench

import (
	"runtime"
	"runtime/debug"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop/bench/internal/h2c"
)

// TestWarmConnsProcessAllocsFD: once its connections are open and warm,
// a batch of requests costs the whole process no allocation at all:
// h2loop on the fd reactor (poller, engine, HPACK, worker pool, the hello
// handler) and the client in this process (bench/internal/h2c, which
// allocates nothing in steady state), 8 connections with 16 streams in
// flight each, as h2load -c 8 -m 16 would send them.
//
// What the count excludes, and why:
//   - Opening the connections and warming them (their first requests fill
//     the HPACK tables, the pools and the worker pool): that is per
//     connection, and the bound of TestIdleConnHeapFD covers it.
//   - The garbage collector is off during the batch (debug.SetGCPercent(-1)):
//     a collection empties every sync.Pool, and refilling one is an
//     allocation that depends on when the collector ran, not on the
//     requests. Nothing else is excluded: runtime.ReadMemStats does not
//     allocate, the client goroutines were started before the first
//     reading and are released through a WaitGroup and channels.
//   - sync.Pool's own bookkeeping: a pool whose objects are taken on one
//     processor and put back on another (a request is acquired on the
//     poller and released by a worker) grows its per-processor queue, one
//     allocation that doubles it, when a batch puts more back on one
//     processor than any batch before; and the worker pool starts a
//     goroutine when a batch runs more handlers at once than any before.
//     Both are high-water marks that depend on scheduling, not on the
//     number of requests.
//   - The server's once-a-second tick, which makes the Date header's
//     string for the next second (two allocations a second, whatever the
//     traffic).
//
// So up to ten short batches are run, and one of them must make no
// allocation at all: an allocation per request, per connection wake-up or
// per response would show in every batch.
func TestWarmConnsProcessAllocsFD(t *testing.T) {
	t.Setenv("H2LOOP_REACTOR", "fd")
	s := startH2loop(t, false)
	defer s.stop()
	const (
		nconns  = 8
		streams = 16
		batch   = 500 // requests per connection: a batch takes well under the tick's second
	)
	conns := make([]*h2c.Conn, nconns)
	for i := range conns {
		c, err := h2c.Dial(s.addr, h2c.Request{}, streams)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns[i] = c
	}
	// One goroutine per connection, started now: a batch is a signal on
	// start and a WaitGroup, neither of which allocates.
	var wg sync.WaitGroup
	start := make([]chan int, nconns)
	errs := make([]error, nconns)
	for i := range conns {
		start[i] = make(chan int)
		go func(i int) {
			for n := range start[i] {
				if err := conns[i].Run(n); err != nil && errs[i] == nil {
					errs[i] = err
				}
				wg.Done()
			}
		}(i)
	}
	defer func() {
		for i := range start {
			close(start[i])
		}
	}()
	run := func(n int) {
		wg.Add(nconns)
		for i := range start {
			start[i] <- n
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
		}
	}
	for range 3 {
		run(batch) // warm-up: HPACK tables, pools, workers
	}
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var m0, m1 runtime.MemStats
	var allocs [10]uint64
	for k := range allocs {
		time.Sleep(10 * time.Millisecond) // let the workers of the last batch go idle
		runtime.ReadMemStats(&m0)
		run(batch)
		runtime.ReadMemStats(&m1)
		allocs[k] = m1.Mallocs - m0.Mallocs
		if allocs[k] == 0 {
			t.Logf("batch %d: 0 allocations for %d requests on %d warm connections (before it: %v)", k+1, nconns*batch, nconns, allocs[:k])
			return
		}
	}
	t.Fatalf("allocations in each of %d batches of %d requests on warm connections: %v, want 0 in one", len(allocs), nconns*batch, allocs)
}
