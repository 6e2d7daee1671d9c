package loop

import (
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop/engine"
)

// A wake-up for one request wakes its waiters and nobody else's; wakeAll
// wakes everyone; once warmed up, waiting allocates nothing.
func TestWaitersWakeTheirRequestOnly(t *testing.T) {
	var mu sync.Mutex
	var ws waiters
	reqs := make([]*engine.Request, 4)
	for i := range reqs {
		reqs[i] = new(engine.Request)
	}
	woken := make(chan int, 8)
	start := func(i int) {
		go func() {
			mu.Lock()
			ws.wait(&mu, reqs[i])
			mu.Unlock()
			woken <- i
		}()
	}
	waiting := func(n int) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			mu.Lock()
			got := len(ws.list)
			mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d waiters, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for i := range reqs {
		start(i)
	}
	start(2) // two waiters on request 2
	waiting(5)
	mu.Lock()
	ws.wake(reqs[2])
	mu.Unlock()
	for range 2 {
		if i := <-woken; i != 2 {
			t.Fatalf("waiter of request %d woken by request 2's wake-up", i)
		}
	}
	waiting(3)
	mu.Lock()
	ws.wake(new(engine.Request)) // nobody waits for it
	ws.wakeAll()
	mu.Unlock()
	seen := map[int]bool{}
	for range 3 {
		seen[<-woken] = true
	}
	if !seen[0] || !seen[1] || !seen[3] || len(ws.list) != 0 {
		t.Fatalf("wakeAll woke %v, %d still listed", seen, len(ws.list))
	}

	// Steady state: a wait and its wake-up reuse a waiter.
	r := reqs[0]
	ready := make(chan struct{})
	done := make(chan struct{})
	go func() {
		for range ready {
			mu.Lock()
			ws.wait(&mu, r)
			mu.Unlock()
			done <- struct{}{}
		}
	}()
	allocs := testing.AllocsPerRun(100, func() {
		ready <- struct{}{}
		for {
			mu.Lock()
			n := len(ws.list)
			if n == 1 {
				ws.wake(r)
			}
			mu.Unlock()
			if n == 1 {
				break
			}
			runtime.Gosched()
		}
		<-done
	})
	close(ready)
	if allocs != 0 {
		t.Fatalf("%v allocations per wait", allocs)
	}
}
