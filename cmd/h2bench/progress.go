//go:build linux

package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// progress prints one line a second while the run goes on: requests per
// second in the last second, requests done, in flight, and p99 so far.
// Workers publish to it once a second (worker.publish), so the line costs
// the request path nothing.
type progress struct {
	cfg *config
	out io.Writer

	mu       sync.Mutex // guards the fields below
	done     map[int]int64
	inflight map[int]int
	hist     *hdrhistogram.Histogram // cumulative latency of successful requests
	last     int64
	lastAt   time.Time
	began    time.Time
	quit     chan struct{}
	finished chan struct{}
}

func newProgress(cfg *config, out io.Writer) *progress {
	return &progress{cfg: cfg, out: out, done: map[int]int64{}, inflight: map[int]int{},
		hist: newHist(), quit: make(chan struct{}), finished: make(chan struct{})}
}

// add publishes worker id's figures (called on the worker's goroutine).
func (p *progress) add(id int, st *threadStats, inflight int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done[id] = st.Done
	p.inflight[id] = inflight
	if st.interval != nil {
		p.hist.Merge(st.interval)
		st.interval.Reset()
	}
}

func (p *progress) start() {
	p.began = time.Now()
	p.lastAt = p.began
	go func() {
		defer close(p.finished)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case now := <-t.C:
				p.line(now)
			}
		}
	}()
}

func (p *progress) stop() {
	close(p.quit)
	<-p.finished
}

func (p *progress) line(now time.Time) {
	p.mu.Lock()
	var done int64
	inflight := 0
	for _, d := range p.done {
		done += d
	}
	for _, f := range p.inflight {
		inflight += f
	}
	p99 := p.hist.ValueAtPercentile(99)
	p.mu.Unlock()
	rate := float64(done-p.last) / now.Sub(p.lastAt).Seconds()
	p.last, p.lastAt = done, now
	pct := ""
	if p.cfg.nreqs > 0 && !p.cfg.openLoop() {
		pct = fmt.Sprintf(" (%d%%)", done*100/p.cfg.nreqs)
	}
	fmt.Fprintf(p.out, "progress: %s, %.0f req/s, %d done%s, %d in flight, p99 %s\n",
		now.Sub(p.began).Round(time.Second), rate, done, pct, inflight, fmtDuration(float64(p99)/1e9))
}
