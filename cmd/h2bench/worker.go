//go:build linux

package main

import (
	"errors"
	"math"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"golang.org/x/sys/unix"

	"github.com/h2loop/h2loop/client"
	"github.com/h2loop/h2loop/codec"
)

// A worker is one of the -t threads: one goroutine that drives its clients'
// connections through its own epoll instance (level-triggered), the way
// h2load drives its clients from one libev loop per thread. Cleartext
// sockets are non-blocking file descriptors read and written directly; TLS
// connections run crypto/tls on two goroutines each (bridge.go) and hand
// their bytes over through the worker's eventfd.
//
// Everything a worker owns (clients, sessions, statistics) is touched only
// by its goroutine, so nothing on the request path takes a lock.
type worker struct {
	// immutable after newWorker
	id   int
	cfg  *config
	set  *client.RequestSet
	base time.Time // the run's time origin, shared by all workers
	addr unix.Sockaddr
	fam  int

	// owned by the worker goroutine
	epfd    int
	tfd     int // timerfd for the earliest deadline
	efd     int // eventfd: bridged (TLS) connections have news
	events  []unix.EpollEvent
	now     int64 // ns since base, read once per loop iteration
	armed   int64 // deadline the timerfd is armed for (0: none)
	timers  timerHeap
	clients []*benchClient
	dirty   []*benchClient
	st      *threadStats
	log     *logWriter

	nclients    int   // clients of this worker
	nreqs       int64 // requests of this worker (closed loop); 0: unlimited
	made        int   // clients started so far
	connRate    int   // clients per rate period (0: all at once)
	live        int   // clients not finished
	phase       int
	mainStart   int64     // start of the measured phase
	mainEnd     int64     // -D: its planned end
	mainStop    int64     // its actual end: -D's end, or when every client stopped
	sched       *schedule // -R: the worker's open-loop schedule
	rr          int       // round-robin cursor for the open-loop scheduler
	retry       []int64   // intended starts of refused requests to re-issue
	reqCursor   int       // next URI for open-loop requests
	progress    *progress
	lastPublish int64

	protos map[string]bool // application protocols seen
	notes  []string        // remarks for the report

	// bridged connections with pending input, guarded by bmu
	bmu    sync.Mutex
	bready []*bridge
}

// phases of a run (h2load's Phase)
const (
	phaseWarmup = iota
	phaseMain
	phaseOver
)

// timer kinds
const (
	tkConnRate = iota // worker: start more clients (-r)
	tkWarmupEnd
	tkMainEnd
	tkSched    // worker: open-loop schedule
	tkProgress // worker: publish progress
	tkIdle     // client: -N
	tkActive   // client: -T
	tkRPS      // client: --rps schedule
	tkRetry    // client: reconnect after a delay
)

func newWorker(id int, cfg *config, set *client.RequestSet, base time.Time, addr unix.Sockaddr, fam int,
	nclients int, nreqs int64, connRate int, pr *progress) (*worker, error) {
	w := &worker{id: id, cfg: cfg, set: set, base: base, addr: cloneSockaddr(addr), fam: fam,
		nclients: nclients, nreqs: nreqs, connRate: connRate, st: newThreadStats(), progress: pr,
		events: make([]unix.EpollEvent, 256)}
	var err error
	if w.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, err
	}
	if w.tfd, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC); err != nil {
		return nil, err
	}
	if w.efd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		return nil, err
	}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, w.tfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: -1}); err != nil {
		return nil, err
	}
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, w.efd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: -2}); err != nil {
		return nil, err
	}
	w.st.ReqTodo = nreqs
	if pr != nil {
		w.st.interval = newHist()
	}
	for i := 0; i < nclients; i++ {
		todo := int64(-1)
		if !cfg.timed() && !cfg.openLoop() {
			todo = nreqs / int64(nclients)
			if int64(i) < nreqs%int64(nclients) {
				todo++
			}
		}
		w.clients = append(w.clients, newBenchClient(w, i, todo))
	}
	return w, nil
}

func (w *worker) close() {
	unix.Close(w.epfd)
	unix.Close(w.tfd)
	unix.Close(w.efd)
}

// clock returns nanoseconds since the run's origin (monotonic).
func (w *worker) clock() int64 { return int64(time.Since(w.base)) }

// run drives the worker until every client has finished.
func (w *worker) run() {
	w.now = w.clock()
	if w.cfg.timed() {
		w.phase = phaseMain
		if w.cfg.warmup > 0 {
			w.phase = phaseWarmup
			w.timers.push(w.now+int64(w.cfg.warmup), -1, tkWarmupEnd)
			w.mainStart = w.now + int64(w.cfg.warmup)
		} else {
			w.mainStart = w.now
		}
		w.mainEnd = w.mainStart + int64(w.cfg.duration)
		w.timers.push(w.mainEnd, -1, tkMainEnd)
	} else {
		w.phase = phaseMain
		w.mainStart = w.now
	}
	if w.cfg.openLoop() {
		total := int64(-1)
		if !w.cfg.timed() {
			total = w.nreqs
		}
		w.sched = newSchedule(w.mainStart, w.cfg.reqRate/float64(w.cfg.nthreads), total)
		w.timers.push(w.sched.t0, -1, tkSched)
	}
	if w.progress != nil {
		w.timers.push(w.now+int64(time.Second), -1, tkProgress)
	}
	w.live = w.nclients
	w.startClients()
	if w.connRate > 0 && w.made < w.nclients {
		w.timers.push(w.now+int64(w.cfg.ratePeriod), -1, tkConnRate)
	}
	for w.live > 0 {
		w.armTimer()
		n, err := unix.EpollWait(w.epfd, w.events, -1)
		w.now = w.clock()
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			panic("h2bench: epoll_wait: " + err.Error())
		}
		for i := 0; i < n; i++ {
			ev := &w.events[i]
			switch ev.Fd {
			case -1:
				var b [8]byte
				unix.Read(w.tfd, b[:])
				w.armed = 0
			case -2:
				var b [8]byte
				unix.Read(w.efd, b[:])
				w.bridgeEvents()
			default:
				c := w.clients[ev.Fd]
				c.onEvent(ev.Events, ev.Pad)
			}
		}
		w.runTimers()
		w.flushDirty()
		// A goroutine that runs 10 ms without passing through the
		// scheduler is preempted by the runtime's monitor thread, which
		// then keeps polling every 20 µs: under load that cost more CPU
		// than the preemption saves. Yielding once per loop (a few hundred
		// requests) keeps the monitor asleep.
		runtime.Gosched()
	}
	if w.mainStop == 0 {
		w.mainStop = w.now // every client stopped before -D's end (or no -D)
	}
	w.st.MeasuredNS = max(0, w.mainStop-w.mainStart)
	if w.sched != nil {
		w.countNotSent()
	}
	if w.progress != nil {
		w.publish()
	}
	if w.log != nil {
		w.log.flush()
	}
}

// startClients starts the next batch of clients: all of them, or -r's share
// of this worker per rate period.
func (w *worker) startClients() {
	n := w.nclients - w.made
	if w.connRate > 0 {
		n = min(n, w.connRate)
	}
	for i := 0; i < n; i++ {
		c := w.clients[w.made]
		w.made++
		c.clientStart = w.now
		c.connect()
	}
}

func (w *worker) flushDirty() {
	for _, c := range w.dirty {
		c.dirty = false
		c.flush()
	}
	w.dirty = w.dirty[:0]
}

// armTimer points the timerfd at the earliest deadline.
func (w *worker) armTimer() {
	if len(w.timers) == 0 {
		return
	}
	at := w.timers[0].at
	if at == w.armed {
		return
	}
	d := at - w.clock()
	if d < 1000 {
		d = 1000 // already due: fire almost at once
	}
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d)}
	if err := unix.TimerfdSettime(w.tfd, 0, &spec, nil); err == nil {
		w.armed = at
	}
}

// runTimers runs every due timer.
func (w *worker) runTimers() {
	for len(w.timers) > 0 && w.timers[0].at <= w.now {
		t := w.timers.pop()
		if t.client >= 0 {
			c := w.clients[t.client]
			if t.gen == c.timerGen[t.kind] {
				c.onTimer(t.kind, t.at)
			}
			continue
		}
		switch t.kind {
		case tkConnRate:
			w.startClients()
			if w.made < w.nclients {
				w.timers.push(t.at+int64(w.cfg.ratePeriod), -1, tkConnRate)
			}
		case tkWarmupEnd:
			w.phase = phaseMain
			for _, c := range w.clients {
				c.clientStart = w.now
				c.success = 0
			}
		case tkMainEnd:
			if w.sched != nil {
				w.dispatchOpenLoop() // what is due by the end goes out (and is in flight at the end)
			}
			w.phase = phaseOver
			w.mainStop = w.now
			w.stopAll()
		case tkSched:
			w.dispatchOpenLoop()
		case tkProgress:
			w.publish()
			w.timers.push(t.at+int64(time.Second), -1, tkProgress)
		}
	}
}

// stopAll ends a timing-based run: requests in flight are not counted.
func (w *worker) stopAll() {
	for _, c := range w.clients {
		c.stop()
	}
}

// dispatchOpenLoop issues every due request of the worker's schedule on
// clients with a free stream, and counts those that cannot start on time.
func (w *worker) dispatchOpenLoop() {
	s := w.sched
	if w.phase == phaseOver {
		return
	}
	due := s.due(w.now)
	for s.issued < due {
		c := w.pickFree()
		if c == nil {
			break
		}
		c.issue(s.intended(s.issued))
		s.issued++
	}
	s.countLate(due, w.st)
	if s.total < 0 || s.issued < s.total {
		next := s.intended(max(due, s.issued))
		if next <= w.now {
			next = w.now + 1
		}
		w.timers.push(next, -1, tkSched)
	}
	if s.total >= 0 && s.issued >= s.total {
		for _, c := range w.clients {
			c.maybeFinish()
		}
	}
}

// pickFree returns a connected client with a free stream, round robin.
func (w *worker) pickFree() *benchClient {
	n := len(w.clients)
	for i := 0; i < n; i++ {
		c := w.clients[w.rr]
		w.rr++
		if w.rr == n {
			w.rr = 0
		}
		if c.sess != nil && c.state == stConnected && c.sess.CanSubmit() > 0 && !c.retiring {
			return c
		}
	}
	return nil
}

// openLoopWork reports whether the worker's schedule has a request due now,
// and takes it.
func (w *worker) takeDue() (intended int64, ok bool) {
	if len(w.retry) > 0 {
		intended = w.retry[0]
		w.retry = w.retry[1:]
		return intended, true
	}
	s := w.sched
	if s == nil || w.phase == phaseOver {
		return 0, false
	}
	if s.issued < s.due(w.now) {
		i := s.intended(s.issued)
		s.issued++
		return i, true
	}
	return 0, false
}

// openLoopDone reports whether the worker's schedule has nothing left.
func (w *worker) openLoopDone() bool {
	if w.phase == phaseOver {
		return true
	}
	s := w.sched
	return s.total >= 0 && s.issued >= s.total && len(w.retry) == 0
}

// countNotSent accounts, at the end of an open-loop run, the scheduled
// requests that were never sent: those due before the measured phase ended
// (with -n: all N) that no stream was free for, and refused requests never
// re-issued. They count as failed and errored, as h2load counts requests
// it never issued; the corrected latency of each one that was due runs to
// the end of the measured phase (wrk2's rule: a request that never went
// out waited at least that long).
func (w *worker) countNotSent() {
	s, st, end := w.sched, w.st, w.mainStop
	scheduled := s.total
	if scheduled < 0 {
		scheduled = s.due(end)
	}
	st.Scheduled = scheduled
	n := max(0, scheduled-s.issued)
	for _, at := range w.retry {
		record(st.correct, end-at)
	}
	n += int64(len(w.retry))
	w.retry = w.retry[:0]
	s.recordRamp(st.correct, s.issued, scheduled, end)
	st.NotSent += n
	if n > 0 {
		st.errCount(errNotSent, 0, n)
		why := "no stream was free for them before the measured phase ended"
		if w.live == 0 && w.cfg.timed() && end < w.mainEnd {
			why = "every client had stopped (see the other errors) before -D's end"
		}
		st.cause(errNotSent, 0, why)
	}
}

// recordRamp records in h the corrected latencies end - intended(k) of the
// requests k in [from, to) due by end. The values fall by one interval per
// request, so runs of requests whose values share a histogram bucket
// (a relative width of about 1/2048) are recorded at once: the cost is
// bounded by the number of buckets, not by the number of requests.
func (s *schedule) recordRamp(h *hdrhistogram.Histogram, from, to, end int64) {
	for k := from; k < to; {
		v := end - s.intended(k)
		if v < 0 {
			return // this one and every later one were not due yet
		}
		m := max(1, int64(float64(v)/2048/s.interval))
		m = min(m, to-k)
		mid := v - int64(float64(m-1)*s.interval/2)
		if mid < histLowest {
			mid = histLowest
		} else if mid > histHighest {
			mid = histHighest
		}
		_ = h.RecordValues(mid, m)
		k += m
	}
}

// schedule is an open-loop sequence of intended start times: request k is
// due at t0 + k*interval (nothing is stored per request), or at
// t0 + offsets[k] for a timing script.
type schedule struct {
	t0       int64
	interval float64 // ns
	offsets  []int64 // --timing-script-file (shared, read-only); nil: interval
	total    int64   // -1: unlimited
	issued   int64
	lateUpTo int64 // requests already judged for lateness
}

func newSchedule(t0 int64, perSecond float64, total int64) *schedule {
	return &schedule{t0: t0, interval: 1e9 / perSecond, total: total}
}

func (s *schedule) intended(k int64) int64 {
	if s.offsets != nil {
		return s.t0 + s.offsets[k]
	}
	return s.t0 + int64(math.Round(float64(k)*s.interval))
}

// due returns how many requests are due at now; for a timing script, only
// whether the next one is (issued+1 if so).
func (s *schedule) due(now int64) int64 {
	if s.offsets != nil {
		if s.issued < s.total && s.t0+s.offsets[s.issued] <= now {
			return s.issued + 1
		}
		return s.issued
	}
	if now < s.t0 {
		return 0
	}
	d := int64(float64(now-s.t0)/s.interval) + 1
	if s.total >= 0 && d > s.total {
		d = s.total
	}
	return d
}

// countLate counts the due requests that could not be issued at their
// intended time because every stream slot was busy.
func (s *schedule) countLate(due int64, st *threadStats) {
	from := max(s.issued, s.lateUpTo)
	if due > from {
		st.Late += due - from
	}
	if due > s.lateUpTo {
		s.lateUpTo = due
	}
}

// publish hands this worker's progress since the last call to the shared
// progress line.
func (w *worker) publish() {
	if w.progress == nil {
		return
	}
	inflight := 0
	for _, c := range w.clients {
		inflight += c.inflight
	}
	w.progress.add(w.id, w.st, inflight)
}

// bridgeEvents processes the input that TLS connections handed over.
func (w *worker) bridgeEvents() {
	w.bmu.Lock()
	ready := w.bready
	w.bready = nil
	w.bmu.Unlock()
	for _, b := range ready {
		b.c.onBridge(b)
	}
}

// timerHeap is a binary min-heap of deadlines. Entries of clients carry a
// generation: a timer whose generation no longer matches the client's is
// stale and ignored when it fires.
type timer struct {
	at     int64
	client int32
	kind   uint8
	gen    uint32
}

type timerHeap []timer

func (h *timerHeap) push(at int64, client int32, kind uint8) { h.pushGen(at, client, kind, 0) }

func (h *timerHeap) pushGen(at int64, client int32, kind uint8, gen uint32) {
	*h = append(*h, timer{at: at, client: client, kind: kind, gen: gen})
	a := *h
	i := len(a) - 1
	for i > 0 {
		p := (i - 1) / 2
		if a[p].at <= a[i].at {
			break
		}
		a[p], a[i] = a[i], a[p]
		i = p
	}
}

func (h *timerHeap) pop() timer {
	a := *h
	t := a[0]
	n := len(a) - 1
	a[0] = a[n]
	a = a[:n]
	i := 0
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && a[r].at < a[l].at {
			m = r
		}
		if a[i].at <= a[m].at {
			break
		}
		a[i], a[m] = a[m], a[i]
		i = m
	}
	*h = a
	return t
}

// logWriter buffers --log-file lines of one worker.
type logWriter struct {
	f    *os.File
	buf  []byte
	wall int64 // unix µs at the run's origin
}

func (l *logWriter) line(start int64, status int, dur int64) {
	l.buf = strconv.AppendInt(l.buf, l.wall+start/1000, 10)
	l.buf = append(l.buf, '\t')
	l.buf = strconv.AppendInt(l.buf, int64(status), 10)
	l.buf = append(l.buf, '\t')
	l.buf = strconv.AppendInt(l.buf, dur/1000, 10)
	l.buf = append(l.buf, '\n')
	if len(l.buf) > 64<<10 {
		l.flush()
	}
}

func (l *logWriter) flush() {
	if len(l.buf) > 0 {
		l.f.Write(l.buf)
		l.buf = l.buf[:0]
	}
}

// cloneSockaddr copies a socket address: x/sys/unix caches the raw form
// inside it on every Connect, so each worker needs its own.
func cloneSockaddr(sa unix.Sockaddr) unix.Sockaddr {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return &unix.SockaddrInet4{Port: a.Port, Addr: a.Addr}
	case *unix.SockaddrInet6:
		return &unix.SockaddrInet6{Port: a.Port, ZoneId: a.ZoneId, Addr: a.Addr}
	case *unix.SockaddrUnix:
		return &unix.SockaddrUnix{Name: a.Name}
	}
	return sa
}

// resolve returns the socket address to connect to (-B unix:PATH: that
// socket).
func resolve(cfg *config) (unix.Sockaddr, int, error) {
	if cfg.unixPath != "" {
		return &unix.SockaddrUnix{Name: cfg.unixPath}, unix.AF_UNIX, nil
	}
	addr := cfg.dialAddr
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: ta.Port}
		copy(sa.Addr[:], ip4)
		return sa, unix.AF_INET, nil
	}
	sa := &unix.SockaddrInet6{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To16())
	return sa, unix.AF_INET6, nil
}

var _ = codec.ErrCodeNo

// noteNote adds a remark to the report once.
func (w *worker) noteNote(s string) {
	for _, n := range w.notes {
		if n == s {
			return
		}
	}
	w.notes = append(w.notes, s)
}
