package main

import (
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"time"
)

// Config is one soak run.
type Config struct {
	Duration time.Duration // total load time
	Phase    time.Duration // load time of one phase; each phase ends with a drain and checks
	Verbose  bool
	Out      io.Writer
	Seed     int64
	// Race scales the load down and the latency bounds up (the race
	// detector makes everything 5-10x slower).
	Race bool

	MaxLag        time.Duration // how long a handler may outlive its client
	ShortLimit    time.Duration // a GET / (and its like) must be answered within it
	RoundTimeout  time.Duration // one round of a full-duplex exchange must be answered within it
	StreamTimeout time.Duration // a whole streaming request must end within it
	DrainTimeout  time.Duration // the load must stop within it after the phase's end
	CloseLimit    time.Duration // the server must close its side of every connection within it once the clients closed theirs
	SettleTimeout time.Duration // handlers and goroutines must be back within it after the drain

	GoroutineSlack int    // goroutines allowed above the pre-phase count (idle pool workers excluded)
	HeapSlack      uint64 // heap in use allowed above the pre-phase value (plus a quarter of it)
}

// DefaultConfig returns the defaults for d of load in phases of phase.
func DefaultConfig(d, phase time.Duration, race bool) Config {
	c := Config{
		Duration: d, Phase: phase, Race: race, Seed: time.Now().UnixNano(),
		MaxLag:        time.Second,
		ShortLimit:    2 * time.Second,
		RoundTimeout:  3 * time.Second,
		StreamTimeout: 20 * time.Second,
		DrainTimeout:  90 * time.Second,
		CloseLimit:    2 * time.Second,
		SettleTimeout: 15 * time.Second,

		GoroutineSlack: 25,
		HeapSlack:      16 << 20,
	}
	if race {
		c.ShortLimit = 5 * time.Second
		c.RoundTimeout = 6 * time.Second
		c.StreamTimeout = 40 * time.Second
		c.CloseLimit = 3 * time.Second
	}
	return c
}

// scale is how much load of each kind a phase runs.
type scale struct {
	h2cConns, shortWorkers, shortPauseMs, pollWorkers, longEchoWorkers int
	rawConns, rawWorkers, rapidCancelWorkers                           int
	grpcConns, grpcWorkers, longGRPCWorkers                            int
	churnWorkers, churnPauseMs                                         int
	h1Workers, h1RawWorkers                                            int
}

func (c *Config) scale() scale {
	if c.Race {
		return scale{
			h2cConns: 6, shortWorkers: 8, shortPauseMs: 6, pollWorkers: 8, longEchoWorkers: 1,
			rawConns: 2, rawWorkers: 4, rapidCancelWorkers: 2,
			grpcConns: 2, grpcWorkers: 6, longGRPCWorkers: 1,
			churnWorkers: 2, churnPauseMs: 60,
			h1Workers: 3, h1RawWorkers: 1,
		}
	}
	return scale{
		h2cConns: 12, shortWorkers: 24, shortPauseMs: 4, pollWorkers: 16, longEchoWorkers: 1,
		rawConns: 4, rawWorkers: 8, rapidCancelWorkers: 4,
		grpcConns: 3, grpcWorkers: 12, longGRPCWorkers: 1,
		churnWorkers: 4, churnPauseMs: 30,
		h1Workers: 6, h1RawWorkers: 2,
	}
}

// warmScale is the warm-up's: one of each, so that lazily built state
// (pools, gRPC's codecs, the pool's janitor) exists before the baselines.
func warmScale() scale {
	return scale{
		h2cConns: 2, shortWorkers: 2, shortPauseMs: 5, pollWorkers: 2,
		rawConns: 2, rawWorkers: 2, rapidCancelWorkers: 1,
		grpcConns: 1, grpcWorkers: 2,
		churnWorkers: 1, churnPauseMs: 50,
		h1Workers: 1, h1RawWorkers: 1,
	}
}

// PhaseResult is what one phase did and found.
type PhaseResult struct {
	Name                string
	Load, Drain, Settle time.Duration
	Stats               *Stats
	Lag                 lagReport
	GBefore, GAfter     goroutineCensus
	HeapBefore          uint64
	HeapAfter           uint64
	Counters            map[string]uint64 // server counters, delta over the phase
	Log                 logSnap           // server error log lines of the phase
	NetpollLog          logSnap           // netpoll's log lines of the phase
	SocketsBefore       sockets           // at the start
	SocketsAtLimit      sockets           // CloseLimit after the clients closed everything
	SocketsAfter        sockets           // after the settle
	HandlersEntered     int64
	HandlersRunning     int64
	ReqOK               int64
	RawResets, RawConns int64
	FlowViolations      int64
	Failures            []string
}

// Result is a whole run.
type Result struct {
	Phases          []*PhaseResult
	Total           *Stats
	GStart, GEnd    goroutineCensus
	HeapStart       uint64
	HeapEnd         uint64
	Failures        []string // "phase N: check: detail"
	Wall            time.Duration
	CountersTotal   map[string]uint64
	LogTotal        logSnap
	ServerCloseErr  error
	FinalCheckFails []string
}

// Failed reports whether any check failed.
func (r *Result) Failed() bool { return len(r.Failures) > 0 }

// Run starts the server, runs the warm-up and the phases, prints the
// reports to cfg.Out and returns the result. An error means the run could
// not happen at all (the server did not start).
func Run(cfg Config) (*Result, error) {
	if cfg.Out == nil {
		cfg.Out = io.Discard
	}
	if cfg.Phase <= 0 {
		cfg.Phase = 10 * time.Second
	}
	w := cfg.Out
	begin := time.Now()
	srv, err := startServer()
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(w, "soak: h2loop server on %s (default settings); load %v in phases of %v; seed %d; race %v\n",
		srv.addr, cfg.Duration, cfg.Phase, cfg.Seed, cfg.Race)

	res := &Result{Total: newStats()}
	counters0 := srv.srv.Metrics().Snapshot()
	log0 := srv.log.snapshot()

	// Warm-up: checked for errors, not for resources (its baseline is cold).
	warm := runPhase(&cfg, srv, "warm-up", 2*time.Second, warmScale(), cfg.Seed-1, false)
	res.Phases = append(res.Phases, warm)
	report(w, &cfg, warm)

	res.GStart = settledCensus()
	res.HeapStart = heapInuse()
	left := cfg.Duration
	for n := 1; left > 0; n++ {
		d := min(cfg.Phase, left)
		left -= d
		name := fmt.Sprintf("phase %d/%d", n, n+int((left+cfg.Phase-1)/cfg.Phase))
		pr := runPhase(&cfg, srv, name, d, cfg.scale(), cfg.Seed+int64(n)*1_000_003, true)
		res.Phases = append(res.Phases, pr)
		report(w, &cfg, pr)
	}
	res.GEnd = settledCensus()
	res.HeapEnd = heapInuse()
	res.CountersTotal = diffCounters(srv.srv.Metrics().Snapshot(), counters0)
	res.LogTotal = srv.log.snapshot().diff(log0)

	for _, pr := range res.Phases {
		res.Total.Merge(pr.Stats)
		for _, f := range pr.Failures {
			res.Failures = append(res.Failures, pr.Name+": "+f)
		}
	}
	// Over the whole run: goroutines and heap back where they started.
	if g := res.GEnd.counted() - res.GStart.counted(); g > cfg.GoroutineSlack {
		res.FinalCheckFails = append(res.FinalCheckFails, fmt.Sprintf("goroutines: %d at the end, %d at the start (+%d > %d)", res.GEnd.counted(), res.GStart.counted(), g, cfg.GoroutineSlack))
	}
	if lim := heapLimit(&cfg, res.HeapStart); res.HeapEnd > lim {
		res.FinalCheckFails = append(res.FinalCheckFails, fmt.Sprintf("heap: %s at the end, %s at the start (limit %s)", mib(int64(res.HeapEnd)), mib(int64(res.HeapStart)), mib(int64(lim))))
	}
	gClose := takeCensus()
	res.ServerCloseErr = srv.close(20 * time.Second)
	if res.ServerCloseErr != nil {
		res.FinalCheckFails = append(res.FinalCheckFails, "server shutdown: "+res.ServerCloseErr.Error())
		fmt.Fprintf(w, "\nserver shutdown failed: %v; goroutines that appeared meanwhile:\n", res.ServerCloseErr)
		printGrowth(w, "  ", gClose, takeCensus(), 20)
	}
	for _, f := range res.FinalCheckFails {
		res.Failures = append(res.Failures, "run: "+f)
	}
	res.Wall = time.Since(begin)
	summary(w, &cfg, res)
	return res, nil
}

func abs(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

func heapLimit(cfg *Config, before uint64) uint64 { return before + before/4 + cfg.HeapSlack }

func heapInuse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// settledCensus takes a goroutine census after a short pause for
// goroutines that are just ending.
func settledCensus() goroutineCensus {
	time.Sleep(100 * time.Millisecond)
	return takeCensus()
}

func diffCounters(after, before map[string]uint64) map[string]uint64 {
	d := map[string]uint64{}
	for k, v := range after {
		d[k] = v - before[k]
	}
	return d
}

func runPhase(cfg *Config, srv *soakServer, name string, d time.Duration, s scale, seed int64, checkResources bool) *PhaseResult {
	pr := &PhaseResult{Name: name, Load: d}
	gBefore := settledCensus()
	heapBefore := heapInuse()
	counters0 := srv.srv.Metrics().Snapshot()
	log0 := srv.log.snapshot()
	nplog0 := srv.nplog.snapshot()
	entered0 := srv.entered.Load()
	pr.SocketsBefore = socketCensus(srv.port)

	tr := newTracker()
	tr.prev = srv.tracker.Load()
	srv.tracker.Store(tr)
	p := &phase{cfg: cfg, addr: srv.addr, st: newStats(), tr: tr, deadline: time.Now().Add(d)}
	start := time.Now()
	p.runH2C(s, seed)
	p.runRawEcho(s, seed+100)
	for i := 0; i < s.rapidCancelWorkers; i++ {
		p.rapidSlots = append(p.rapidSlots, &rawSlot{window: 65535})
	}
	p.runRapidCancel(s, seed+150)
	if err := p.runGRPC(s, seed+200); err != nil {
		pr.Failures = append(pr.Failures, "grpc client: "+err.Error())
	}
	p.runChurn(s, seed+300)
	p.runH1(s, seed+400)

	// Drain: the workers stop starting operations at the deadline and
	// every operation is bounded; then the clients are closed.
	drained := make(chan struct{})
	go func() { p.wg.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-time.After(time.Until(p.deadline) + cfg.DrainTimeout):
		pr.Failures = append(pr.Failures, fmt.Sprintf("drain: %d load goroutines still running %v after the phase's end (a client operation is not bounded)", p.workers.Load(), cfg.DrainTimeout))
	}
	closers := p.closeAll()
	// Every client socket is closed: the server must close its side soon.
	closed := time.Now()
	for {
		pr.SocketsAtLimit = socketCensus(srv.port)
		if !pr.SocketsAtLimit.ok || pr.SocketsAtLimit.server == 0 || time.Since(closed) > cfg.CloseLimit {
			break
		}
		time.Sleep(50 * time.Millisecond)
		// http2.Transport's CloseIdleConnections leaves a connection that
		// is not idle yet: one whose last request was canceled just
		// before waits for the answer to the PING it sent with the
		// RST_STREAM. Close again once the answer is in; a connection the
		// server never answers stays open and fails the check.
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	select {
	case <-drained:
	case <-time.After(10 * time.Second):
	}
	pr.Drain = time.Since(start) - d
	if pr.Drain < 0 {
		pr.Drain = 0
	}

	// Settle: every handler returned and the goroutines are back.
	settleStart := time.Now()
	for {
		running := srv.entered.Load() - srv.exited.Load()
		g := takeCensus()
		if running == 0 && tr.running() == 0 && (!checkResources || g.counted() <= gBefore.counted()+cfg.GoroutineSlack) {
			break
		}
		if time.Since(settleStart) > cfg.SettleTimeout {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	pr.Settle = time.Since(settleStart)
	now := time.Now()
	pr.Lag = tr.check(now, cfg.MaxLag)
	pr.HandlersRunning = srv.entered.Load() - srv.exited.Load()
	pr.HandlersEntered = srv.entered.Load() - entered0
	pr.Counters = diffCounters(srv.srv.Metrics().Snapshot(), counters0)
	pr.Log = srv.log.snapshot().diff(log0)
	pr.NetpollLog = srv.nplog.snapshot().diff(nplog0)
	pr.SocketsAfter = socketCensus(srv.port)
	pr.Stats = p.st
	pr.ReqOK = p.reqOK.Load()
	pr.RawResets = p.rawResets.Load()
	pr.RawConns = p.rawConns.Load()
	pr.FlowViolations = p.flowViol.Load()

	// The phase and most of the tracker go before the heap is measured.
	tr.prune()
	p, tr = nil, nil
	pr.GBefore = gBefore
	pr.GAfter = takeCensus()
	pr.HeapBefore = heapBefore
	pr.HeapAfter = heapInuse()
	if checkResources && pr.HeapAfter > heapLimit(cfg, heapBefore) {
		// Give the runtime a little longer (sweeping, finalizers).
		for i := 0; i < 10 && pr.HeapAfter > heapLimit(cfg, heapBefore); i++ {
			time.Sleep(200 * time.Millisecond)
			pr.HeapAfter = heapInuse()
		}
	}
	pr.check(cfg, checkResources)
	return pr
}

// check fills pr.Failures.
func (pr *PhaseResult) check(cfg *Config, resources bool) {
	fail := func(format string, args ...any) { pr.Failures = append(pr.Failures, fmt.Sprintf(format, args...)) }
	if _, _, un := pr.Stats.Totals(); un > 0 {
		fail("unexplained: %d requests ended in an unexplained way (see the errors by kind)", un)
	}
	outlived := pr.Lag.outlived
	if pr.Lag.orphans > 0 {
		fail("handler lifetime: %d handlers ran for a request whose client is unknown (it started more than a phase after its client registered)", pr.Lag.orphans)
	}
	if outlived > 0 {
		fail("handler lifetime: %d handlers outlived their client by more than %v (%d still running, %d ran to the end of their delay, %d started after their client left; max lag %v)",
			outlived, cfg.MaxLag, pr.Lag.stillRunning, pr.Lag.ranToEnd, pr.Lag.startedLate, roundDur(pr.Lag.maxLag))
	}
	if pr.Lag.spurious > 0 {
		fail("spurious cancellation: %d handlers saw their request canceled while the client still waited", pr.Lag.spurious)
	}
	if pr.HandlersRunning != 0 {
		fail("handlers: %d handler calls still running %v after the drain", pr.HandlersRunning, roundDur(pr.Settle))
	}
	if pr.SocketsAtLimit.ok && pr.SocketsAtLimit.server > 0 {
		fail("server connections: %s sockets on the server's port still open %v after every client closed its connections (%s after the settle)",
			pr.SocketsAtLimit, cfg.CloseLimit, pr.SocketsAfter)
	}
	if pr.FlowViolations > 0 {
		fail("flow control: the server sent DATA beyond our stream window %d times", pr.FlowViolations)
	}
	if resources {
		if g := pr.GAfter.counted() - pr.GBefore.counted(); g > cfg.GoroutineSlack {
			fail("goroutines: %d after the phase, %d before (+%d > %d; idle pool workers not counted)", pr.GAfter.counted(), pr.GBefore.counted(), g, cfg.GoroutineSlack)
		}
		if lim := heapLimit(cfg, pr.HeapBefore); pr.HeapAfter > lim {
			fail("heap: %s in use after the phase, %s before (limit %s)", mib(int64(pr.HeapAfter)), mib(int64(pr.HeapBefore)), mib(int64(lim)))
		}
	}
	c := pr.Counters
	if v, ok := c["requests"]; ok {
		if v < uint64(pr.ReqOK) {
			fail("counters: requests %d < %d requests the clients saw completed", v, pr.ReqOK)
		}
		if v < uint64(pr.HandlersEntered) {
			fail("counters: requests %d < %d handler calls", v, pr.HandlersEntered)
		}
	}
	if pr.HandlersEntered < pr.ReqOK {
		fail("counters: %d handler calls < %d requests the clients saw completed", pr.HandlersEntered, pr.ReqOK)
	}
	if v, ok := c["resets_received"]; ok && v < uint64(pr.RawResets) {
		fail("counters: resets_received %d < %d RST_STREAM the raw clients sent on open streams", v, pr.RawResets)
	}
	if v, ok := c["conns"]; ok && v < uint64(pr.RawConns) {
		fail("counters: conns %d < %d raw HTTP/2 connections that got the server's SETTINGS", v, pr.RawConns)
	}
	// Well-behaved clients: no protocol error, malformed request or flood.
	// Every request of the load fits the default limits, and every client
	// either completes or closes: none of these may move.
	for _, k := range []string{"protocol_errors", "malformed", "flood_errors", "header_too_large", "body_too_large",
		"refused", "conn_errors", "timeouts", "overloaded", "conns_rejected", "panics", "handler_panics", "bad_response_fields"} {
		if v := c[k]; v > 0 {
			fail("counters: %s = %d from well-behaved clients", k, v)
		}
	}
	if pr.Log.panics > 0 {
		fail("server log: %d panic lines", pr.Log.panics)
	}
}

func report(w io.Writer, cfg *Config, pr *PhaseResult) {
	status := "PASS"
	if len(pr.Failures) > 0 {
		status = "FAIL"
	}
	fmt.Fprintf(w, "\n=== %s: %s (load %v, drain %v, settle %v)\n", pr.Name, status, pr.Load, roundDur(pr.Drain), roundDur(pr.Settle))
	pr.Stats.Print(w, "  ")
	fmt.Fprintf(w, "  handlers: %d calls, %d running after the drain; %d tracked, %d whose client left first (max lag %v), %d outlived it by > %v (%d ran to the end of their delay, %d still running), %d spurious cancellations\n",
		pr.HandlersEntered, pr.HandlersRunning, pr.Lag.tracked, pr.Lag.clientGone, roundDur(pr.Lag.maxLag),
		pr.Lag.outlived, cfg.MaxLag, pr.Lag.ranToEnd, pr.Lag.stillRunning, pr.Lag.spurious)
	if len(pr.Lag.byKindOutlive) > 0 {
		keys := make([]string, 0, len(pr.Lag.byKindOutlive))
		for k := range pr.Lag.byKindOutlive {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(w, "    outlived their client: %5d  %s\n", pr.Lag.byKindOutlive[k], k)
		}
	}
	max := 5
	if cfg.Verbose {
		max = 30
	}
	spurious, orphans := 0, 0
	for _, v := range pr.Lag.violations {
		if v.spurious {
			if spurious < max {
				client := "the client's operation had not ended"
				if v.clientOutcome != "" {
					client = fmt.Sprintf("the client's operation ended %v %s the handler: %s", roundDur(abs(v.clientEnd)), map[bool]string{true: "after", false: "before"}[v.clientEnd >= 0], v.clientOutcome)
				}
				dup := ""
				if v.dups > 0 {
					dup = fmt.Sprintf("; %d more handlers ran for the same request (a client retry)", v.dups)
				}
				fmt.Fprintf(w, "    spurious: %s handler (%s) ended %q %v after it started while its client waited; %s%s\n",
					v.kind, v.op, clip(v.how, 100), roundDur(v.sinceStart), client, dup)
			}
			spurious++
		}
		if v.orphan {
			if orphans < max {
				fmt.Fprintf(w, "    orphan: %s handler (id unknown to this phase and the one before) ended %q\n", v.kind, clip(v.how, 100))
			}
			orphans++
		}
	}
	shown := 0
	for _, v := range pr.Lag.violations {
		if v.spurious || v.orphan {
			continue
		}
		if shown == max {
			fmt.Fprintf(w, "    ... %d more\n", pr.Lag.outlived-max)
			break
		}
		shown++
		late := ""
		if v.startLag > 0 {
			late = fmt.Sprintf(", started %v after its client left", roundDur(v.startLag))
		}
		if v.running {
			fmt.Fprintf(w, "    lag %v: %s handler (%s) still running%s\n", roundDur(v.lag), v.kind, v.op, late)
		} else {
			fmt.Fprintf(w, "    lag %v: %s handler (%s) ended by %q%s\n", roundDur(v.lag), v.kind, v.op, clip(v.how, 100), late)
		}
	}
	fmt.Fprintf(w, "  goroutines: %d before, %d after (+%d idle pool workers before, %d after); heap in use: %s before, %s after\n",
		pr.GBefore.counted(), pr.GAfter.counted(), pr.GBefore.idleWorker, pr.GAfter.idleWorker, mib(int64(pr.HeapBefore)), mib(int64(pr.HeapAfter)))
	if pr.GAfter.counted() > pr.GBefore.counted()+cfg.GoroutineSlack || cfg.Verbose {
		printGrowth(w, "    ", pr.GBefore, pr.GAfter, max)
	}
	fmt.Fprintf(w, "  server sockets: %s at the start, %s %v after the clients closed, %s after the settle; fds %d -> %d\n",
		pr.SocketsBefore, pr.SocketsAtLimit, cfg.CloseLimit, pr.SocketsAfter, pr.SocketsBefore.fds, pr.SocketsAfter.fds)
	fmt.Fprintf(w, "  server counters (delta): %s\n", countersLine(pr.Counters))
	fmt.Fprintf(w, "  client side: %d requests completed, %d raw RST_STREAM sent, %d raw connections\n", pr.ReqOK, pr.RawResets, pr.RawConns)
	if pr.Log.total > 0 {
		fmt.Fprintf(w, "  server error log: %d lines (%d panic)\n", pr.Log.total, pr.Log.panics)
		for i, k := range pr.Log.sorted() {
			if i == max {
				fmt.Fprintf(w, "    ... %d more kinds\n", len(pr.Log.kinds)-max)
				break
			}
			fmt.Fprintf(w, "    %6d  %s\n", pr.Log.kinds[k].n, clip(pr.Log.kinds[k].sample, 160))
		}
	}
	if pr.NetpollLog.total > 0 {
		fmt.Fprintf(w, "  netpoll log: %d lines\n", pr.NetpollLog.total)
		for i, k := range pr.NetpollLog.sorted() {
			if i == 3 {
				break
			}
			fmt.Fprintf(w, "    %6d  %s\n", pr.NetpollLog.kinds[k].n, clip(pr.NetpollLog.kinds[k].sample, 160))
		}
	}
	for _, f := range pr.Failures {
		fmt.Fprintf(w, "  FAIL %s\n", f)
	}
}

func countersLine(c map[string]uint64) string {
	keys := make([]string, 0, len(c))
	for k, v := range c {
		if v != 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%d", k, c[k])
	}
	return b.String()
}

func summary(w io.Writer, cfg *Config, r *Result) {
	fmt.Fprintf(w, "\n=== summary: %d phases + warm-up, wall time %v\n", len(r.Phases)-1, r.Wall.Round(100*time.Millisecond))
	r.Total.Print(w, "  ")
	fmt.Fprintf(w, "  goroutines: %d at the start, %d at the end (idle pool workers: %d, %d)\n",
		r.GStart.counted(), r.GEnd.counted(), r.GStart.idleWorker, r.GEnd.idleWorker)
	if r.GEnd.counted() > r.GStart.counted()+cfg.GoroutineSlack || cfg.Verbose {
		printGrowth(w, "    ", r.GStart, r.GEnd, 10)
	}
	fmt.Fprintf(w, "  heap in use: %s at the start, %s at the end\n", mib(int64(r.HeapStart)), mib(int64(r.HeapEnd)))
	fmt.Fprintf(w, "  server counters (run): %s\n", countersLine(r.CountersTotal))
	fmt.Fprintf(w, "  server error log: %d lines (%d panic)\n", r.LogTotal.total, r.LogTotal.panics)
	fmt.Fprintf(w, "  phases: ")
	for i, pr := range r.Phases {
		if i > 0 {
			fmt.Fprint(w, ", ")
		}
		if len(pr.Failures) > 0 {
			fmt.Fprintf(w, "%s FAIL(%d)", pr.Name, len(pr.Failures))
		} else {
			fmt.Fprintf(w, "%s ok", pr.Name)
		}
	}
	fmt.Fprintln(w)
	if len(r.Failures) == 0 {
		fmt.Fprintln(w, "RESULT: PASS")
		return
	}
	fmt.Fprintf(w, "RESULT: FAIL (%d failed checks)\n", len(r.Failures))
	// Failed checks, each kind once with the phases it failed in.
	type agg struct {
		phases []string
		first  string
	}
	byCheck := map[string]*agg{}
	var order []string
	for _, f := range r.Failures {
		name, rest, _ := strings.Cut(f, ": ")
		check, detail, _ := strings.Cut(rest, ":")
		if check == "counters" {
			// one line per counter
			if fs := strings.Fields(detail); len(fs) > 0 {
				check += " " + fs[0]
			}
		}
		a := byCheck[check]
		if a == nil {
			a = &agg{first: rest}
			byCheck[check] = a
			order = append(order, check)
		}
		a.phases = append(a.phases, name)
	}
	for _, c := range order {
		fmt.Fprintf(w, "  %s — in %s; e.g. %s\n", c, strings.Join(byCheck[c].phases, ", "), byCheck[c].first)
	}
}
