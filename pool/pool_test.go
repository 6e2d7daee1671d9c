package pool

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunsEveryTaskWithinLimit(t *testing.T) {
	var running, peak, done atomic.Int32
	var wg sync.WaitGroup
	p := New(4, 8, time.Second, func(n int) {
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
	})
	defer p.Close()
	wg.Add(100)
	for i := 0; i < 100; i++ {
		p.Submit(i)
	}
	wg.Wait()
	if done.Load() != 100 {
		t.Fatalf("ran %d tasks, want 100", done.Load())
	}
	if peak.Load() > 4 {
		t.Fatalf("%d tasks ran at once, limit 4", peak.Load())
	}
	if p.Workers() > 4 {
		t.Fatalf("%d workers, limit 4", p.Workers())
	}
}

func TestIdleWorkersExit(t *testing.T) {
	var wg sync.WaitGroup
	p := New(10, 8, 20*time.Millisecond, func(int) { wg.Done() })
	defer p.Close()
	wg.Add(5)
	for i := 0; i < 5; i++ {
		p.Submit(i)
	}
	wg.Wait()
	deadline := time.Now().Add(2 * time.Second)
	for p.Workers() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := p.Workers(); n != 0 {
		t.Fatalf("%d workers left after the idle timeout", n)
	}
}

func TestSubmitReusesIdleWorkerWithoutAllocating(t *testing.T) {
	done := make(chan struct{}, 1)
	p := New(1, 8, time.Minute, func(int) { done <- struct{}{} })
	defer p.Close()
	p.Submit(0)
	<-done
	allocs := testing.AllocsPerRun(1000, func() {
		p.Submit(1)
		<-done
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per task, want 0", allocs)
	}
}

func BenchmarkSubmit(b *testing.B) {
	done := make(chan struct{}, 1)
	p := New(1, 8, time.Minute, func(int) { done <- struct{}{} })
	defer p.Close()
	b.ReportAllocs()
	for b.Loop() {
		p.Submit(1)
		<-done
	}
}

func TestCloseStopsWorkers(t *testing.T) {
	var wg sync.WaitGroup
	p := New(8, 8, time.Minute, func(int) { wg.Done() })
	wg.Add(8)
	for i := 0; i < 8; i++ {
		p.Submit(i)
	}
	wg.Wait()
	p.Close()
	deadline := time.Now().Add(2 * time.Second)
	for p.Workers() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := p.Workers(); n != 0 {
		t.Fatalf("%d workers after Close", n)
	}
	wg.Add(1)
	p.Submit(1) // still runs after Close
	wg.Wait()
}
