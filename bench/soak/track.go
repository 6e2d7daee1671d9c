package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// ---------------------------------------------------------------------------
// Outcomes of client operations

// opStat counts the outcomes of one kind of client operation.
type opStat struct {
	ok          int64
	explained   int64
	unexplained int64
	// errs by error kind; explained or not is part of errKind.
	errs map[errKind]*errStat
	lat  latency
}

type errKind struct {
	kind      string
	explained bool
}

type errStat struct {
	n      int64
	sample string
}

// Stats are the client-side outcomes of one phase (or, merged, of the run).
type Stats struct {
	mu  sync.Mutex
	ops map[string]*opStat
}

func newStats() *Stats { return &Stats{ops: map[string]*opStat{}} }

func (s *Stats) op(name string) *opStat {
	o := s.ops[name]
	if o == nil {
		o = &opStat{errs: map[errKind]*errStat{}}
		s.ops[name] = o
	}
	return o
}

// OK counts a successful operation that took d.
func (s *Stats) OK(op string, d time.Duration) {
	s.mu.Lock()
	o := s.op(op)
	o.ok++
	o.lat.add(d)
	s.mu.Unlock()
}

// Explained counts an operation that ended with an error the harness
// caused or expects (a planned cancellation, an abort by the client).
func (s *Stats) Explained(op, kind string) { s.fail(op, kind, true, "") }

// Unexplained counts an operation that ended in a way it should not have:
// an error nobody asked for, wrong bytes, a timeout of a request that should
// have finished.
func (s *Stats) Unexplained(op, kind string, detail any) {
	s.fail(op, kind, false, fmt.Sprint(detail))
}

func (s *Stats) fail(op, kind string, explained bool, sample string) {
	s.mu.Lock()
	o := s.op(op)
	if explained {
		o.explained++
	} else {
		o.unexplained++
	}
	k := errKind{kind, explained}
	e := o.errs[k]
	if e == nil {
		e = &errStat{sample: sample}
		o.errs[k] = e
	}
	e.n++
	s.mu.Unlock()
}

// Totals returns ok, explained and unexplained counts over all ops.
func (s *Stats) Totals() (ok, explained, unexplained int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.ops {
		ok += o.ok
		explained += o.explained
		unexplained += o.unexplained
	}
	return
}

// Merge adds o's counts into s.
func (s *Stats) Merge(o *Stats) {
	o.mu.Lock()
	defer o.mu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for name, src := range o.ops {
		dst := s.op(name)
		dst.ok += src.ok
		dst.explained += src.explained
		dst.unexplained += src.unexplained
		dst.lat.merge(&src.lat)
		for k, e := range src.errs {
			d := dst.errs[k]
			if d == nil {
				d = &errStat{sample: e.sample}
				dst.errs[k] = d
			}
			d.n += e.n
		}
	}
}

// Print writes the table of operations and the errors by kind.
func (s *Stats) Print(w io.Writer, indent string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.ops))
	for n := range s.ops {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(w, "%s%-48s %9s %9s %11s   %s\n", indent, "requests by kind", "ok", "explained", "UNEXPLAINED", "latency of ok: p50 p99 max")
	var tok, tex, tun int64
	for _, n := range names {
		o := s.ops[n]
		tok += o.ok
		tex += o.explained
		tun += o.unexplained
		mark := ""
		if o.unexplained > 0 {
			mark = "  <-"
		}
		fmt.Fprintf(w, "%s%-48s %9d %9d %11d   %s%s\n", indent, n, o.ok, o.explained, o.unexplained, o.lat.String(), mark)
	}
	fmt.Fprintf(w, "%s%-48s %9d %9d %11d\n", indent, "total", tok, tex, tun)
	type row struct {
		op string
		k  errKind
		e  *errStat
	}
	var rows []row
	for _, n := range names {
		for k, e := range s.ops[n].errs {
			rows = append(rows, row{n, k, e})
		}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].k.explained != rows[j].k.explained {
			return !rows[i].k.explained
		}
		if rows[i].op != rows[j].op {
			return rows[i].op < rows[j].op
		}
		return rows[i].k.kind < rows[j].k.kind
	})
	if len(rows) > 0 {
		fmt.Fprintf(w, "%serrors by kind:\n", indent)
	}
	for _, r := range rows {
		tag := "explained  "
		if !r.k.explained {
			tag = "UNEXPLAINED"
		}
		fmt.Fprintf(w, "%s  %s %7d  %s: %s\n", indent, tag, r.e.n, r.op, r.k.kind)
		if !r.k.explained && r.e.sample != "" {
			fmt.Fprintf(w, "%s                        e.g. %s\n", indent, clip(r.e.sample, 200))
		}
	}
}

func clip(s string, n int) string {
	s = strings.ReplaceAll(s, "\n", " | ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// latency is a coarse log-scale histogram (bucket i holds durations below
// 2^i µs), enough for p50/p99/max.
type latency struct {
	b   [40]int64
	n   int64
	max time.Duration
}

func (l *latency) add(d time.Duration) {
	us := d.Microseconds()
	i := 0
	for us > 0 && i < len(l.b)-1 {
		us >>= 1
		i++
	}
	l.b[i]++
	l.n++
	if d > l.max {
		l.max = d
	}
}

func (l *latency) merge(o *latency) {
	for i := range l.b {
		l.b[i] += o.b[i]
	}
	l.n += o.n
	if o.max > l.max {
		l.max = o.max
	}
}

func (l *latency) quantile(q float64) time.Duration {
	if l.n == 0 {
		return 0
	}
	want := int64(float64(l.n)*q + 0.5)
	if want < 1 {
		want = 1
	}
	var c int64
	for i, v := range l.b {
		c += v
		if c >= want {
			d := time.Duration(int64(1)<<i) * time.Microsecond
			if d > l.max {
				d = l.max
			}
			return d
		}
	}
	return l.max
}

func (l *latency) String() string {
	if l.n == 0 {
		return "-"
	}
	return fmt.Sprintf("<%v <%v %v", roundDur(l.quantile(0.5)), roundDur(l.quantile(0.99)), roundDur(l.max))
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(100 * time.Microsecond)
	default:
		return d.Round(time.Microsecond)
	}
}

// ---------------------------------------------------------------------------
// Handlers against their clients

var nextID atomic.Uint64

// newID names one tracked request; it travels in the path (?id=N) or, for
// gRPC, in the soak-id metadata.
func newID() uint64 { return nextID.Add(1) }

// Tracker pairs the handlers that may outlive their client (long polls,
// streaming echoes, gRPC streams) with what their client did: when the
// client went away (a planned cancellation, a timeout, an abort), and when
// the handler ended and how. There is one per phase; after its checks it is
// pruned to the clients that left before any handler ran for them and kept
// as the next phase's prev, so that a handler starting late (after its
// phase) is still judged against its client.
type Tracker struct {
	mu       sync.Mutex
	clients  map[uint64]*clientRec
	handlers map[uint64]*handlerRec
	prev     *Tracker // the previous phase's, pruned; read only
}

type clientRec struct {
	op      string
	start   time.Time
	gone    time.Time // zero while the client still wants the response
	outcome string    // how the client's operation ended ("" while running)
	ended   time.Time
	dups    int // handlers beyond the first for this id (a retried request)
}

// HandlerRec is one tracked handler's life.
type handlerRec struct {
	id    uint64
	kind  string
	start time.Time
	end   time.Time // zero while running
	how   string    // how it ended: "timer", "done", "eof", "error: ..."
	// canceledWhileWanted: the handler saw its request canceled (ctx.Done,
	// ErrCanceled, a gRPC context error) while the client had not gone.
	canceledWhileWanted bool
	orphan              bool // no client record, in this phase or the previous one
}

func newTracker() *Tracker {
	return &Tracker{clients: map[uint64]*clientRec{}, handlers: map[uint64]*handlerRec{}}
}

// Client registers a tracked request before it is sent.
func (t *Tracker) Client(id uint64, op string) {
	t.mu.Lock()
	t.clients[id] = &clientRec{op: op, start: time.Now()}
	t.mu.Unlock()
}

// Gone records that the client of id stopped waiting for its response
// (before it cancels, resets or closes anything).
func (t *Tracker) Gone(id uint64) {
	now := time.Now()
	t.mu.Lock()
	if c := t.clients[id]; c != nil && c.gone.IsZero() {
		c.gone = now
	}
	t.mu.Unlock()
}

// ClientDone records how the client's operation for id ended.
func (t *Tracker) ClientDone(id uint64, outcome string) {
	now := time.Now()
	t.mu.Lock()
	if c := t.clients[id]; c != nil && c.outcome == "" {
		c.outcome, c.ended = outcome, now
	}
	t.mu.Unlock()
}

// client returns the record of id from this phase or the previous one
// (a copy), and whether there is one.
func (t *Tracker) client(id uint64) (clientRec, bool) {
	t.mu.Lock()
	c := t.clients[id]
	var r clientRec
	if c != nil {
		r = *c
	}
	t.mu.Unlock()
	if c != nil {
		return r, true
	}
	if t.prev != nil {
		return t.prev.client(id)
	}
	return r, false
}

// HandlerStart records the start of the handler of id.
func (t *Tracker) HandlerStart(id uint64, kind string) *handlerRec {
	h := &handlerRec{id: id, kind: kind, start: time.Now()}
	if id == 0 {
		return h // untracked (no id)
	}
	t.mu.Lock()
	if old := t.handlers[id]; old != nil {
		// The same request served twice (a client retry): counted with
		// the client, the first handler is the one reported.
		if c := t.clients[id]; c != nil {
			c.dups++
		}
		t.mu.Unlock()
		h.how = "duplicate"
		return h
	}
	t.handlers[id] = h
	t.mu.Unlock()
	return h
}

// HandlerEnd records the end of h. canceled says the handler ended because
// its request was canceled (ctx.Done fired, a read failed with ErrCanceled).
func (t *Tracker) HandlerEnd(h *handlerRec, how string, canceled bool) {
	now := time.Now()
	wanted, orphan := false, false
	if h.id != 0 {
		c, ok := t.client(h.id)
		orphan = !ok
		wanted = canceled && ok && c.gone.IsZero()
	}
	t.mu.Lock()
	h.end = now
	h.how = how
	h.canceledWhileWanted = wanted
	h.orphan = orphan
	t.mu.Unlock()
}

// lagViolation is a handler that outlived its client by more than the
// allowed lag, or was canceled while its client still waited.
type lagViolation struct {
	op, kind, how string
	lag           time.Duration // handler end (or now) minus the client's departure
	startLag      time.Duration // handler start minus the client's departure, when positive
	running       bool
	spurious      bool
	orphan        bool
	// For spurious cancellations: the client's side of the story.
	clientOutcome string
	sinceStart    time.Duration // handler end minus handler start
	clientEnd     time.Duration // client's end minus the handler's end (negative: before)
	dups          int
}

// lagReport checks every tracked handler at time now.
type lagReport struct {
	tracked       int // handlers tracked
	clientGone    int // ... whose client went away before the handler ended
	maxLag        time.Duration
	violations    []lagViolation
	ranToEnd      int // handlers whose timer fired although the client had gone >maxLag earlier
	stillRunning  int
	startedLate   int // outliving handlers that started after their client had left
	spurious      int
	orphans       int // handlers whose client is unknown (started more than a phase late)
	outlived      int // handlers that outlived their client (or still run)
	byKindOutlive map[string]int
}

func (t *Tracker) check(now time.Time, allowed time.Duration) lagReport {
	t.mu.Lock()
	handlers := make([]*handlerRec, 0, len(t.handlers))
	for _, h := range t.handlers {
		handlers = append(handlers, h)
	}
	t.mu.Unlock()
	r := lagReport{byKindOutlive: map[string]int{}}
	for _, hp := range handlers {
		t.mu.Lock()
		h := *hp
		t.mu.Unlock()
		r.tracked++
		c, known := t.client(h.id)
		op := h.kind
		if known {
			op = c.op
		}
		if !known {
			r.orphans++
			r.violations = append(r.violations, lagViolation{op: op, kind: h.kind, how: h.how, orphan: true, running: h.end.IsZero()})
			continue
		}
		if h.canceledWhileWanted {
			r.spurious++
			v := lagViolation{op: op, kind: h.kind, how: h.how, spurious: true, clientOutcome: c.outcome,
				sinceStart: h.end.Sub(h.start), dups: c.dups}
			if !c.ended.IsZero() {
				v.clientEnd = c.ended.Sub(h.end)
			}
			r.violations = append(r.violations, v)
		}
		end := h.end
		running := end.IsZero()
		if running {
			end = now
		}
		if c.gone.IsZero() {
			if running {
				r.stillRunning++
				r.violations = append(r.violations, lagViolation{op: op, kind: h.kind, how: "still running, client never left", running: true, lag: now.Sub(h.start)})
			}
			continue
		}
		if !running && !end.After(c.gone) {
			continue // done before its client left
		}
		r.clientGone++
		lag := end.Sub(c.gone)
		if lag > r.maxLag {
			r.maxLag = lag
		}
		if lag > allowed || running {
			if running {
				r.stillRunning++
			} else if h.how == "timer" {
				r.ranToEnd++
			}
			r.byKindOutlive[op]++
			v := lagViolation{op: op, kind: h.kind, how: h.how, lag: lag, running: running}
			if h.start.After(c.gone) {
				v.startLag = h.start.Sub(c.gone)
				r.startedLate++
			}
			r.violations = append(r.violations, v)
		}
	}
	sort.Slice(r.violations, func(i, j int) bool { return r.violations[i].lag > r.violations[j].lag })
	// Keep the worst few of each sort (the counts are complete): a broken
	// server must not make the reports themselves grow the heap.
	var kept []lagViolation
	var nOut, nSpur, nOrph int
	for _, v := range r.violations {
		switch {
		case v.spurious:
			if nSpur++; nSpur <= maxKept {
				kept = append(kept, v)
			}
		case v.orphan:
			if nOrph++; nOrph <= maxKept {
				kept = append(kept, v)
			}
		default:
			if nOut++; nOut <= maxKept {
				kept = append(kept, v)
			}
		}
	}
	r.outlived = nOut
	r.violations = kept
	return r
}

const maxKept = 50

// running is how many tracked handlers have not ended.
func (t *Tracker) running() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, h := range t.handlers {
		if h.end.IsZero() {
			n++
		}
	}
	return n
}

// prune keeps only what a late handler of the next phase may need: the
// clients that left without any handler having run for them. It drops the
// link to the phase before.
func (t *Tracker) prune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for id, c := range t.clients {
		if _, ran := t.handlers[id]; ran || c.gone.IsZero() {
			delete(t.clients, id)
		}
	}
	t.handlers = map[uint64]*handlerRec{}
	t.prev = nil
}
