package pool

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// eventually polls cond until it holds or d passes; then it fails with
// what(), which describes the state at that time.
func eventually(t testing.TB, d time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what())
		}
		time.Sleep(time.Millisecond)
	}
}

// wait waits for wg, failing the test after a bound.
func wait(t testing.TB, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("tasks did not run within 10s")
	}
}

// say is a fixed description for eventually.
func say(s string) func() string { return func() string { return s } }

// waitIdle waits until every worker of p is idle and nothing is queued.
func waitIdle[T any](t testing.TB, p *Pool[T]) {
	t.Helper()
	eventually(t, 5*time.Second, func() bool { return p.Busy() == 0 && p.Queued() == 0 },
		func() string { return fmt.Sprintf("busy %d, queued %d, want 0 and 0", p.Busy(), p.Queued()) })
}

// gone reports whether p has no worker and no janitor goroutine left.
func gone[T any](p *Pool[T]) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.workers == 0 && !p.janitor
}

// left describes what gone waits for, for a failure message.
func left[T any](p *Pool[T]) func() string {
	return func() string {
		p.mu.Lock()
		defer p.mu.Unlock()
		return fmt.Sprintf("%d workers and janitor running %v, want 0 and false", p.workers, p.janitor)
	}
}

// job is a test task: block (when not nil) is received from before done
// is closed.
type job struct {
	block chan struct{}
	done  chan struct{}
}

func newJob(blocking bool) job {
	j := job{done: make(chan struct{})}
	if blocking {
		j.block = make(chan struct{})
	}
	return j
}

func runJob(j job) {
	if j.block != nil {
		<-j.block
	}
	close(j.done)
}

// ran reports whether j has run, waiting up to d for it.
func ran(j job, d time.Duration) bool {
	select {
	case <-j.done:
		return true
	case <-time.After(d):
		return false
	}
}

// TestNoTaskWaitsBehindBlockedWorker is the reported bug. The old Submit
// sent a task to the shared queue when busy < workers; a worker counted
// itself busy only after receiving. With one idle worker, Submit(block)
// and Submit(quick) both saw busy 0 < workers 1 (the worker had not woken
// yet), both went to the queue, the worker took block and quick waited
// behind it forever although the limit (2) allowed another worker. Here
// Submit pops the idle worker for block, so quick gets a new worker.
func TestNoTaskWaitsBehindBlockedWorker(t *testing.T) {
	for round := 0; round < 20; round++ {
		p := New(Options[job]{MaxWorkers: 2, Run: runJob})
		warm := newJob(false)
		p.Submit(warm)
		<-warm.done
		waitIdle(t, p) // one idle worker
		if n := p.Workers(); n != 1 {
			t.Fatalf("%d workers, want 1", n)
		}
		block, quick := newJob(true), newJob(false)
		if r := p.Submit(block); r != Started {
			t.Fatalf("blocking task %v, want started", r)
		}
		if r := p.Submit(quick); r != Started {
			t.Fatalf("quick task %v, want started", r)
		}
		if !ran(quick, 5*time.Second) {
			t.Fatalf("round %d: the quick task waits behind the blocked one", round)
		}
		close(block.block)
		p.Close()
	}
}

// TestBurstGetsOneWorkerEach: n idle workers, a burst of n blocking tasks
// and one quick task; the quick one runs on a new worker. (The old code
// put all n+1 in the shared queue; the n workers took the first n.)
func TestBurstGetsOneWorkerEach(t *testing.T) {
	const n = 16
	p := New(Options[job]{MaxWorkers: n + 1, Run: runJob})
	defer p.Close()
	warm := make([]job, n)
	for i := range warm {
		warm[i] = newJob(true)
		p.Submit(warm[i])
	}
	for i := range warm {
		close(warm[i].block)
		<-warm[i].done
	}
	waitIdle(t, p)
	if w := p.Workers(); w != n {
		t.Fatalf("%d workers, want %d idle", w, n)
	}
	blocked := make([]job, n)
	for i := range blocked {
		blocked[i] = newJob(true)
		if r := p.Submit(blocked[i]); r != Started {
			t.Fatalf("task %d %v, want started", i, r)
		}
	}
	quick := newJob(false)
	if r := p.Submit(quick); r != Started {
		t.Fatalf("quick task %v, want started", r)
	}
	if !ran(quick, 5*time.Second) {
		t.Fatal("the quick task waits behind blocked ones")
	}
	eventually(t, 5*time.Second, func() bool { return p.Workers() == n+1 && p.Busy() == n },
		func() string { return fmt.Sprintf("workers %d busy %d, want %d and %d", p.Workers(), p.Busy(), n+1, n) })
	for i := range blocked {
		close(blocked[i].block)
	}
	waitIdle(t, p)
}

func TestRunsEveryTaskWithinLimit(t *testing.T) {
	var running, peak, done atomic.Int32
	var wg sync.WaitGroup
	p := New(Options[int]{MaxWorkers: 4, QueueSize: 100, QueueTimeout: time.Minute, Run: func(int) {
		defer wg.Done()
		r := running.Add(1)
		for {
			pk := peak.Load()
			if r <= pk || peak.CompareAndSwap(pk, r) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		running.Add(-1)
		done.Add(1)
	}})
	defer p.Close()
	wg.Add(100)
	for i := 0; i < 100; i++ {
		if r := p.Submit(i); r == Rejected {
			t.Fatalf("task %d rejected with room in the queue", i)
		}
		if w := p.Workers(); w > 4 {
			t.Fatalf("%d workers, limit 4", w)
		}
	}
	wait(t, &wg)
	if done.Load() != 100 {
		t.Fatalf("ran %d tasks, want 100", done.Load())
	}
	if peak.Load() > 4 {
		t.Fatalf("%d tasks ran at once, limit 4", peak.Load())
	}
}

// TestQueueAtLimit: at MaxWorkers a task is queued and runs when a worker
// frees; when the queue is full, Submit rejects at once and the rejected
// task never runs.
func TestQueueAtLimit(t *testing.T) {
	p := New(Options[job]{MaxWorkers: 1, QueueSize: 2, QueueTimeout: time.Minute, Run: runJob,
		Expire: func(j job) { t.Errorf("task expired") }})
	defer p.Close()
	a, b, c, d := newJob(true), newJob(false), newJob(false), newJob(false)
	for _, tc := range []struct {
		j    job
		want Result
	}{{a, Started}, {b, Queued}, {c, Queued}, {d, Rejected}} {
		if r := p.Submit(tc.j); r != tc.want {
			t.Fatalf("Submit = %v, want %v", r, tc.want)
		}
	}
	if w, bz, q := p.Workers(), p.Busy(), p.Queued(); w != 1 || bz != 1 || q != 2 {
		t.Fatalf("workers %d busy %d queued %d, want 1 1 2", w, bz, q)
	}
	if ran(b, 20*time.Millisecond) {
		t.Fatal("queued task ran while the only worker was busy")
	}
	close(a.block)
	if !ran(b, 5*time.Second) || !ran(c, 5*time.Second) {
		t.Fatal("queued tasks did not run when the worker freed")
	}
	waitIdle(t, p)
	if ran(d, 0) {
		t.Fatal("rejected task ran")
	}
	if w := p.Workers(); w != 1 {
		t.Fatalf("%d workers, want 1", w)
	}
}

// expiry records Run and Expire calls per task id.
type expiry struct {
	mu      sync.Mutex
	runs    map[int]int
	expires map[int]int
}

func (e *expiry) count(m *map[int]int, id int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if *m == nil {
		*m = map[int]int{}
	}
	(*m)[id]++
}

func (e *expiry) get(m *map[int]int, id int) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return (*m)[id]
}

// TestQueuedTaskExpires: a queued task that waits QueueTimeout while the
// only worker is blocked is expired by the janitor: Expire exactly once,
// Run never. Expire calls the pool, which would deadlock under its lock.
func TestQueuedTaskExpires(t *testing.T) {
	var e expiry
	gate := make(chan struct{})
	var p *Pool[int]
	p = New(Options[int]{MaxWorkers: 1, QueueSize: 4, QueueTimeout: 20 * time.Millisecond,
		Run: func(id int) {
			e.count(&e.runs, id)
			if id == 0 {
				<-gate
			}
		},
		Expire: func(id int) {
			_ = p.Workers() + p.Queued() // not under the lock
			e.count(&e.expires, id)
		}})
	defer p.Close()
	p.Submit(0)
	if r := p.Submit(1); r != Queued {
		t.Fatalf("Submit = %v, want queued", r)
	}
	eventually(t, 5*time.Second, func() bool { return e.get(&e.expires, 1) > 0 }, say("queued task not expired"))
	if q := p.Queued(); q != 0 {
		t.Fatalf("%d queued after expiry", q)
	}
	close(gate)
	waitIdle(t, p)
	time.Sleep(50 * time.Millisecond) // more janitor rounds: still once
	if r, x := e.get(&e.runs, 1), e.get(&e.expires, 1); r != 0 || x != 1 {
		t.Fatalf("expired task: %d runs, %d expires; want 0 and 1", r, x)
	}
}

// TestWorkerExpiresStaleTask: with the janitor too slow to matter, the
// worker that frees up finds a task that waited too long, expires it
// instead of running it, and takes the next one.
func TestWorkerExpiresStaleTask(t *testing.T) {
	var e expiry
	gate := make(chan struct{})
	p := New(Options[int]{MaxWorkers: 1, QueueSize: 4, QueueTimeout: 200 * time.Millisecond,
		Run: func(id int) {
			e.count(&e.runs, id)
			if id == 0 {
				<-gate
			}
		},
		Expire: func(id int) { e.count(&e.expires, id) }})
	p.tick = time.Hour // the janitor never gets to it
	defer p.Close()
	p.Submit(0)
	if r := p.Submit(1); r != Queued {
		t.Fatalf("Submit = %v, want queued", r)
	}
	time.Sleep(300 * time.Millisecond) // task 1 is now stale
	if r := p.Submit(2); r != Queued {
		t.Fatalf("Submit = %v, want queued", r)
	}
	close(gate)
	eventually(t, 5*time.Second, func() bool { return e.get(&e.runs, 2) == 1 }, say("fresh queued task did not run"))
	if r, x := e.get(&e.runs, 1), e.get(&e.expires, 1); r != 0 || x != 1 {
		t.Fatalf("stale task: %d runs, %d expires; want 0 and 1", r, x)
	}
	if x := e.get(&e.expires, 2); x != 0 {
		t.Fatalf("fresh task expired %d times", x)
	}
}

func TestIdleWorkersExit(t *testing.T) {
	var wg sync.WaitGroup
	p := New(Options[int]{MaxWorkers: 10, IdleTimeout: 20 * time.Millisecond, Run: func(int) { wg.Done() }})
	defer p.Close()
	wg.Add(5)
	for i := 0; i < 5; i++ {
		p.Submit(i)
	}
	wait(t, &wg)
	eventually(t, 5*time.Second, func() bool { return gone(p) }, left(p))
	// The pool starts again after going quiet.
	wg.Add(1)
	if r := p.Submit(9); r != Started {
		t.Fatalf("Submit = %v, want started", r)
	}
	wait(t, &wg)
}

// TestIdleStopsLongestIdleFirst: the janitor stops the workers at the
// bottom of the idle stack; a worker kept busy survives.
func TestIdleStopsLongestIdleFirst(t *testing.T) {
	p := New(Options[job]{MaxWorkers: 4, IdleTimeout: 50 * time.Millisecond, Run: runJob})
	defer p.Close()
	js := make([]job, 4)
	for i := range js {
		js[i] = newJob(true)
		p.Submit(js[i])
	}
	for i := range js {
		close(js[i].block)
	}
	waitIdle(t, p)
	// Keep one worker (always the top of the stack) busy with quick tasks.
	deadline := time.Now().Add(5 * time.Second)
	for p.Workers() > 1 {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers, want 1", p.Workers())
		}
		j := newJob(false)
		p.Submit(j)
		<-j.done
		time.Sleep(time.Millisecond)
	}
	if w := p.Workers(); w != 1 {
		t.Fatalf("%d workers, want the busy one", w)
	}
}

func TestCloseStopsWorkers(t *testing.T) {
	var wg sync.WaitGroup
	p := New(Options[int]{MaxWorkers: 8, IdleTimeout: time.Minute, Run: func(int) { wg.Done() }})
	wg.Add(8)
	for i := 0; i < 8; i++ {
		p.Submit(i)
	}
	wait(t, &wg)
	waitIdle(t, p)
	p.Close()
	if n := p.Workers(); n != 0 {
		t.Fatalf("%d workers after Close", n)
	}
	eventually(t, 5*time.Second, func() bool { return gone(p) }, left(p))
	wg.Add(1)
	if r := p.Submit(1); r != Started { // still runs after Close
		t.Fatalf("Submit after Close = %v, want started", r)
	}
	wait(t, &wg)
	eventually(t, 5*time.Second, func() bool { return gone(p) }, left(p))
	p.Close() // idempotent
}

// TestCloseRunsQueuedTasks: tasks queued before Close still run, on the
// workers that were busy, which then exit.
func TestCloseRunsQueuedTasks(t *testing.T) {
	p := New(Options[job]{MaxWorkers: 2, QueueSize: 8, QueueTimeout: time.Minute, Run: runJob})
	a, b := newJob(true), newJob(true)
	p.Submit(a)
	p.Submit(b)
	queued := make([]job, 5)
	for i := range queued {
		queued[i] = newJob(false)
		if r := p.Submit(queued[i]); r != Queued {
			t.Fatalf("Submit = %v, want queued", r)
		}
	}
	p.Close()
	if w := p.Workers(); w != 2 {
		t.Fatalf("Close stopped busy workers: %d left, want 2", w)
	}
	close(a.block)
	for i := range queued {
		if !ran(queued[i], 5*time.Second) {
			t.Fatalf("queued task %d did not run after Close", i)
		}
	}
	if ran(b, 0) {
		t.Fatal("blocked task finished early")
	}
	close(b.block)
	eventually(t, 5*time.Second, func() bool { return gone(p) }, left(p))
}

// TestPanicInRun: a panicking task is reported to Panicked; the worker
// survives, the counts stay right and the pool keeps serving.
func TestPanicInRun(t *testing.T) {
	var panics, runs atomic.Int32
	var wg sync.WaitGroup
	p := New(Options[int]{MaxWorkers: 2, QueueSize: 64, QueueTimeout: time.Minute,
		Run: func(n int) {
			defer wg.Done()
			runs.Add(1)
			if n%2 == 0 {
				panic(fmt.Sprint("boom ", n))
			}
		},
		Panicked: func(n int, v any) {
			if v != fmt.Sprint("boom ", n) {
				t.Errorf("Panicked(%d, %v)", n, v)
			}
			panics.Add(1)
		}})
	defer p.Close()
	wg.Add(40)
	for i := 0; i < 40; i++ {
		if r := p.Submit(i); r == Rejected {
			t.Fatalf("task %d rejected", i)
		}
	}
	wait(t, &wg)
	waitIdle(t, p)
	if r, pn := runs.Load(), panics.Load(); r != 40 || pn != 20 {
		t.Fatalf("%d runs, %d panics; want 40 and 20", r, pn)
	}
	if w := p.Workers(); w < 1 || w > 2 {
		t.Fatalf("%d workers, want 1 or 2", w)
	}
	wg.Add(1)
	if r := p.Submit(1); r != Started {
		t.Fatalf("Submit after panics = %v, want started", r)
	}
	wait(t, &wg)
}

// TestGoexitInRun: a task that ends its goroutine (runtime.Goexit) takes
// its worker with it; the pool counts the worker out and still serves the
// queue.
func TestGoexitInRun(t *testing.T) {
	gate := make(chan struct{})
	var wg sync.WaitGroup
	p := New(Options[int]{MaxWorkers: 1, QueueSize: 8, QueueTimeout: time.Minute,
		Run: func(n int) {
			defer wg.Done()
			if n == 0 {
				<-gate
				runtime.Goexit()
			}
		}})
	defer p.Close()
	wg.Add(4)
	p.Submit(0)
	for i := 1; i < 4; i++ {
		if r := p.Submit(i); r != Queued {
			t.Fatalf("Submit = %v, want queued", r)
		}
	}
	close(gate)
	wait(t, &wg)
	waitIdle(t, p)
	if w := p.Workers(); w != 1 {
		t.Fatalf("%d workers, want 1", w)
	}
}

func TestResultString(t *testing.T) {
	for r, want := range map[Result]string{Started: "started", Queued: "queued", Rejected: "rejected", 0: "Result(0)"} {
		if s := r.String(); s != want {
			t.Errorf("Result(%d).String() = %q, want %q", r, s, want)
		}
	}
}

// TestModel drives the pool from many goroutines with random task
// durations, panics, expiry and (optionally) a Close in the middle, and
// checks: every task is exactly one of run once, expired once, rejected
// at Submit (and a Started task is never expired); never more than
// MaxWorkers run or exist; the counters stay in range; at quiescence
// nothing is busy or queued, and the workers and janitor go away.
func TestModel(t *testing.T) {
	for _, closeMidway := range []bool{false, true} {
		t.Run(fmt.Sprintf("close=%v", closeMidway), func(t *testing.T) { testModel(t, closeMidway) })
	}
}

func testModel(t *testing.T, closeMidway bool) {
	const (
		maxWorkers = 8
		queueSize  = 32
		submitters = 16
		perG       = 1000
		total      = submitters * perG
	)
	var (
		runs, expires [total]atomic.Int32
		results       [total]atomic.Uint32
		running       atomic.Int32
		panics        atomic.Int32
		violations    atomic.Int32
		firstErr      sync.Once
		errMsg        atomic.Value
	)
	fail := func(format string, args ...any) {
		violations.Add(1)
		firstErr.Do(func() { errMsg.Store(fmt.Sprintf(format, args...)) })
	}
	p := New(Options[int]{
		MaxWorkers:   maxWorkers,
		QueueSize:    queueSize,
		QueueTimeout: 3 * time.Millisecond,
		IdleTimeout:  10 * time.Millisecond,
		Run: func(id int) {
			if n := running.Add(1); n > maxWorkers {
				fail("%d tasks running at once", n)
			}
			defer running.Add(-1)
			runs[id].Add(1)
			switch id % 50 {
			case 0:
				time.Sleep(5 * time.Millisecond) // longer than QueueTimeout
			case 1, 2, 3, 4, 5:
				time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
			case 6, 7, 8, 9, 10:
				runtime.Gosched()
			}
			if id%37 == 0 {
				panic("boom")
			}
		},
		Expire: func(id int) { expires[id].Add(1) },
		Panicked: func(id int, v any) {
			if v != "boom" || id%37 != 0 {
				fail("Panicked(%d, %v)", id, v)
			}
			panics.Add(1)
		},
	})
	stop := make(chan struct{})
	var monitor sync.WaitGroup
	monitor.Add(1)
	go func() {
		defer monitor.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if w := p.Workers(); w < 0 || w > maxWorkers {
				fail("Workers() = %d", w)
			}
			if b := p.Busy(); b < 0 || b > maxWorkers {
				fail("Busy() = %d", b)
			}
			if q := p.Queued(); q < 0 || q > queueSize {
				fail("Queued() = %d", q)
			}
			runtime.Gosched()
		}
	}()
	var wg sync.WaitGroup
	for g := 0; g < submitters; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < perG; i++ {
				id := g*perG + i
				if closeMidway && id == total/2 {
					p.Close()
				}
				results[id].Store(uint32(p.Submit(id)))
				switch rand.IntN(4) {
				case 0, 2:
					time.Sleep(time.Duration(rand.IntN(300)) * time.Microsecond)
				case 1:
					runtime.Gosched()
				}
				if i == perG/2 && g%4 == 0 {
					time.Sleep(15 * time.Millisecond) // let workers go idle and stop
				}
			}
		}()
	}
	wg.Wait()

	settled := func() bool {
		for id := range total {
			if Result(results[id].Load()) != Rejected && runs[id].Load()+expires[id].Load() == 0 {
				return false
			}
		}
		return true
	}
	eventually(t, 10*time.Second, settled, say("tasks neither run nor expired"))
	waitIdle(t, p)
	eventually(t, 10*time.Second, func() bool { return gone(p) }, left(p))
	close(stop)
	monitor.Wait()

	var count [4]int
	var nRun, nExpired int
	for id := range total {
		r, nr, ne := Result(results[id].Load()), runs[id].Load(), expires[id].Load()
		count[r]++
		nRun += int(nr)
		nExpired += int(ne)
		switch {
		case r == Started && (nr != 1 || ne != 0),
			r == Queued && nr+ne != 1,
			r == Rejected && nr+ne != 0,
			r != Started && r != Queued && r != Rejected:
			t.Errorf("task %d: %v, run %d times, expired %d times", id, r, nr, ne)
		}
	}
	if v := violations.Load(); v > 0 {
		t.Errorf("%d invariant violations, first: %v", v, errMsg.Load())
	}
	wantPanics := 0
	for id := 0; id < total; id += 37 {
		if runs[id].Load() == 1 {
			wantPanics++
		}
	}
	if int(panics.Load()) != wantPanics {
		t.Errorf("%d panics reported, want %d", panics.Load(), wantPanics)
	}
	t.Logf("started %d, queued %d, rejected %d; run %d, expired %d, panicked %d",
		count[Started], count[Queued], count[Rejected], nRun, nExpired, panics.Load())
}

// TestSubmitAllocatesNothing: handing a task to an idle worker, the
// worker finishing, and the queue path (queue, dequeue) allocate nothing
// once the pool is warm.
func TestSubmitAllocatesNothing(t *testing.T) {
	done := make(chan struct{}, 2)
	p := New(Options[int]{MaxWorkers: 1, QueueSize: 1, Run: func(int) { done <- struct{}{} }})
	defer p.Close()
	var notStarted int
	allocs := testing.AllocsPerRun(1000, func() {
		for p.Busy() != 0 {
			runtime.Gosched()
		}
		if p.Submit(1) != Started {
			notStarted++
		}
		<-done
	})
	if allocs != 0 {
		t.Errorf("idle hand-off: %v allocations per task, want 0", allocs)
	}
	if notStarted > 1 { // the first may start the worker
		t.Errorf("%d tasks not handed to the idle worker", notStarted)
	}

	gate := make(chan struct{})
	q := New(Options[int]{MaxWorkers: 1, QueueSize: 1, QueueTimeout: time.Minute,
		Run: func(n int) {
			if n == 0 {
				<-gate
			}
			done <- struct{}{}
		}})
	defer q.Close()
	var notQueued int
	allocs = testing.AllocsPerRun(1000, func() {
		for q.Busy() != 0 {
			runtime.Gosched()
		}
		q.Submit(0)
		if q.Submit(1) != Queued {
			notQueued++
		}
		gate <- struct{}{}
		<-done
		<-done
	})
	if allocs != 0 {
		t.Errorf("queue path: %v allocations per task pair, want 0", allocs)
	}
	if notQueued != 0 {
		t.Errorf("%d tasks not queued", notQueued)
	}
}

// BenchmarkSubmit: one submitter, one worker; each task is waited for
// before the next is submitted.
func BenchmarkSubmit(b *testing.B) {
	done := make(chan struct{}, 1)
	p := New(Options[int]{MaxWorkers: 1, Run: func(int) { done <- struct{}{} }})
	defer p.Close()
	b.ReportAllocs()
	for b.Loop() {
		if p.Submit(1) == Rejected {
			b.Fatal("rejected")
		}
		<-done
	}
}

// BenchmarkSubmitParallel: GOMAXPROCS submitters share a pool of as many
// workers; each waits for its task before submitting the next.
func BenchmarkSubmitParallel(b *testing.B) {
	p := New(Options[chan struct{}]{MaxWorkers: runtime.GOMAXPROCS(0), QueueSize: 4096,
		Run: func(done chan struct{}) { done <- struct{}{} }})
	defer p.Close()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		done := make(chan struct{}, 1)
		for pb.Next() {
			if p.Submit(done) == Rejected {
				b.Error("rejected")
				return
			}
			<-done
		}
	})
}
