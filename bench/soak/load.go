package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// phase is one bounded period of load against the server.
type phase struct {
	cfg      *Config
	addr     string
	st       *Stats
	tr       *Tracker
	deadline time.Time // no operation starts after it

	rapidSlots []*rawSlot

	reqOK     atomic.Int64 // requests that completed successfully (each one a server request)
	rawResets atomic.Int64 // RST_STREAM(CANCEL) sent on streams still sending their body
	rawConns  atomic.Int64 // raw HTTP/2 connections that got the server's SETTINGS
	flowViol  atomic.Int64 // DATA the server sent beyond our windows

	mu      sync.Mutex
	closers []func()
	wg      sync.WaitGroup
	workers atomic.Int64 // load goroutines still running
}

func (p *phase) onClose(f func()) {
	p.mu.Lock()
	p.closers = append(p.closers, f)
	p.mu.Unlock()
}

// closeAll closes every client resource of the phase. It returns the
// closers it ran (each may be run again: they are idempotent).
func (p *phase) closeAll() []func() {
	p.mu.Lock()
	cs := p.closers
	p.closers = nil
	p.mu.Unlock()
	for i := len(cs) - 1; i >= 0; i-- {
		cs[i]()
	}
	return cs
}

func (p *phase) ok(op string, start time.Time, requests int) {
	p.st.OK(op, time.Since(start))
	p.reqOK.Add(int64(requests))
}

// okID, explainedID and unexplainedID count the outcome of the tracked
// request id and record it with the client (for the handler report).
func (p *phase) okID(id uint64, op string, start time.Time) {
	p.tr.ClientDone(id, "ok")
	p.ok(op, start, 1)
}

func (p *phase) explainedID(id uint64, op, kind string) {
	p.tr.ClientDone(id, "explained: "+kind)
	p.st.Explained(op, kind)
}

func (p *phase) unexplainedID(id uint64, op, kind string, detail any) {
	p.tr.ClientDone(id, "UNEXPLAINED: "+kind)
	p.st.Unexplained(op, kind, detail)
}

// spawn starts n workers that each run fn in a loop until the phase
// deadline or maxOps operations (at most maxOpsPerWorker).
func (p *phase) spawn(n, maxOps int, seed int64, fn func(rng *rand.Rand, i int)) {
	if maxOps <= 0 || maxOps > maxOpsPerWorker {
		maxOps = maxOpsPerWorker
	}
	for i := 0; i < n; i++ {
		p.wg.Add(1)
		p.workers.Add(1)
		go func(i int) {
			defer p.wg.Done()
			defer p.workers.Add(-1)
			rng := rand.New(rand.NewSource(seed + int64(i)*7919))
			for op := 0; op < maxOps && time.Now().Before(p.deadline); op++ {
				fn(rng, i)
			}
		}(i)
	}
}

const maxOpsPerWorker = 1_000_000

func pause(rng *rand.Rand, maxMs int) {
	if maxMs > 0 {
		time.Sleep(time.Duration(rng.Intn(maxMs*1000)) * time.Microsecond)
	}
}

func between(rng *rand.Rand, lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + rng.Intn(hi-lo+1)
}

// ---------------------------------------------------------------------------
// Errors, by kind

var (
	errPlanned = errors.New("planned cancellation")
	errTimeout = errors.New("client timeout")

	reKindAddr = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+`)
	reKindNum  = regexp.MustCompile(`\b\d+\b`)
)

// kindOf turns an error into a short kind: addresses and numbers become N.
func kindOf(err error) string {
	s := err.Error()
	s = reKindAddr.ReplaceAllString(s, "ADDR")
	s = reKindNum.ReplaceAllString(s, "N")
	if len(s) > 110 {
		s = s[:110]
	}
	return s
}

// opCtx is an operation's context with an optional planned cancellation
// and a timeout; both mark the tracked client gone before they cancel.
type opCtx struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	timers []*time.Timer
	tr     *Tracker
	id     uint64
}

func newOpCtx(tr *Tracker, id uint64, timeout, planned time.Duration) *opCtx {
	ctx, cancel := context.WithCancelCause(context.Background())
	o := &opCtx{ctx: ctx, cancel: cancel, tr: tr, id: id}
	fire := func(cause error) func() {
		return func() {
			if id != 0 {
				tr.Gone(id)
			}
			cancel(cause)
		}
	}
	if planned > 0 {
		o.timers = append(o.timers, time.AfterFunc(planned, fire(errPlanned)))
	}
	o.timers = append(o.timers, time.AfterFunc(timeout, fire(errTimeout)))
	return o
}

// cause is nil, errPlanned or errTimeout.
func (o *opCtx) cause() error {
	if o.ctx.Err() == nil {
		return nil
	}
	return context.Cause(o.ctx)
}

// stop ends the operation: its client is gone (if its handler still runs,
// say after a failed check of the answer, its cancellation is not
// spurious), then the context is canceled.
func (o *opCtx) stop() {
	for _, t := range o.timers {
		t.Stop()
	}
	if o.id != 0 {
		o.tr.Gone(o.id)
	}
	o.cancel(nil)
}

// ---------------------------------------------------------------------------
// Clients

func h2cTransport(dialed func(net.Conn)) *http2.Transport {
	return &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, network, addr)
			if err == nil && dialed != nil {
				dialed(c)
			}
			return c, err
		},
	}
}

func (p *phase) h2cClients(n int) []*http.Client {
	cs := make([]*http.Client, n)
	for i := range cs {
		t := h2cTransport(nil)
		p.onClose(t.CloseIdleConnections)
		cs[i] = &http.Client{Transport: t}
	}
	return cs
}

func (p *phase) url(path string) string { return "http://" + p.addr + path }

// get does a GET with ctx and returns the status and body.
func get(ctx context.Context, c *http.Client, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// ---------------------------------------------------------------------------
// h2c (http2.Transport): short GETs and long polls on the same connections

func (p *phase) shortGet(op string, c *http.Client) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShortLimit)
	code, body, err := get(ctx, c, p.url("/"))
	timedOut := ctx.Err() != nil
	cancel()
	switch {
	case timedOut:
		p.st.Unexplained(op, fmt.Sprintf("no response within %v", p.cfg.ShortLimit), err)
	case err != nil:
		p.st.Unexplained(op, kindOf(err), err)
	case code != 200 || !bytes.Equal(body, hello):
		p.st.Unexplained(op, fmt.Sprintf("status %d or wrong body", code), fmt.Sprintf("%d %q", code, clip(string(body), 80)))
	default:
		p.ok(op, start, 1)
	}
}

// longPoll does GET /delay/ms; with cancelAt > 0 the client cancels it
// then (RST_STREAM over HTTP/2, a closed connection over HTTP/1.1).
func (p *phase) longPoll(op string, c *http.Client, ms int, cancelAt time.Duration) {
	id := newID()
	p.tr.Client(id, op)
	start := time.Now()
	timeout := time.Duration(ms)*time.Millisecond + p.cfg.ShortLimit + time.Second
	o := newOpCtx(p.tr, id, timeout, cancelAt)
	code, body, err := get(o.ctx, c, p.url(fmt.Sprintf("/delay/%d?id=%d", ms, id)))
	cause := o.cause()
	o.stop()
	elapsed := time.Since(start)
	switch {
	case cause == errPlanned:
		if err == nil && code == 200 {
			p.okID(id, op, start) // answered just before the cancellation
		} else {
			p.explainedID(id, op, "canceled by the client (planned)")
		}
	case cause == errTimeout:
		p.unexplainedID(id, op, fmt.Sprintf("no response within delay+%v", timeout-time.Duration(ms)*time.Millisecond), err)
	case err != nil:
		p.unexplainedID(id, op, kindOf(err), err)
	case code != 200 || string(body) != fmt.Sprintf("delayed %dms\n", ms):
		p.unexplainedID(id, op, fmt.Sprintf("status %d or wrong body", code), fmt.Sprintf("%d %q", code, clip(string(body), 80)))
	case elapsed < time.Duration(ms)*time.Millisecond:
		p.unexplainedID(id, op, "answered before its delay", elapsed)
	default:
		p.okID(id, op, start)
	}
}

func (p *phase) runH2C(s scale, seed int64) {
	clients := p.h2cClients(s.h2cConns)
	p.spawn(s.shortWorkers, 0, seed, func(rng *rand.Rand, i int) {
		p.shortGet("h2c GET /", clients[(i+rng.Intn(2))%len(clients)])
		pause(rng, s.shortPauseMs)
	})
	p.spawn(s.pollWorkers, 0, seed+1, func(rng *rand.Rand, i int) {
		c := clients[rng.Intn(len(clients))]
		if rng.Intn(100) < 35 {
			// Canceled at least 1.2 s before the delay ends: a handler that
			// misses the cancellation outlives its client by more than 1 s.
			ms := between(rng, 1500, 4000)
			p.longPoll("h2c GET /delay (cancel)", c, ms, time.Duration(between(rng, 50, ms-1200))*time.Millisecond)
		} else {
			p.longPoll("h2c GET /delay", c, between(rng, 50, 4000), 0)
		}
	})
	// A long streaming echo (12 MiB through the default 8 MiB body limit),
	// full duplex through http2.Transport.
	p.spawn(s.longEchoWorkers, 2, seed+2, func(rng *rand.Rand, i int) {
		p.longEcho("h2c POST /echo 12MiB", 12<<20, rng)
	})
}

// longEcho streams size bytes to /echo through http2.Transport and checks
// what comes back as it arrives.
func (p *phase) longEcho(op string, size int64, rng *rand.Rand) {
	t := h2cTransport(nil)
	defer t.CloseIdleConnections()
	c := &http.Client{Transport: t}
	id := newID()
	p.tr.Client(id, op)
	start := time.Now()
	o := newOpCtx(p.tr, id, 60*time.Second, 0)
	defer o.stop()
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(o.ctx, "POST", p.url(fmt.Sprintf("/echo?id=%d", id)), pr)
	req.Header.Set("content-type", "application/octet-stream")
	// The writer has its own random source and is waited for: rng is the
	// worker's, used again as soon as this returns.
	wrng := rand.New(rand.NewSource(rng.Int63()))
	wdone := make(chan struct{})
	defer func() { <-wdone }()
	go func() {
		defer close(wdone)
		buf := make([]byte, 32<<10)
		for off := int64(0); off < size; {
			n := min(int64(between(wrng, 1, len(buf))), size-off)
			fillPattern(buf[:n], id, off)
			if _, err := pw.Write(buf[:n]); err != nil {
				return
			}
			off += n
		}
		pw.Close()
	}()
	resp, err := c.Do(req)
	if err != nil {
		pr.CloseWithError(err)
		p.failCause(id, op, o, err, "before the response headers")
		return
	}
	defer resp.Body.Close()
	defer pr.CloseWithError(errors.New("done"))
	if resp.StatusCode != 200 {
		p.unexplainedID(id, op, fmt.Sprintf("status %d", resp.StatusCode), resp.Status)
		return
	}
	var got int64
	buf := make([]byte, 64<<10)
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if bad := checkPattern(buf[:n], id, got); bad >= 0 {
				p.unexplainedID(id, op, "echoed bytes differ", fmt.Sprintf("at offset %d", bad))
				return
			}
			got += int64(n)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			p.failCause(id, op, o, err, fmt.Sprintf("after %s of %s echoed", mib(got), mib(size)))
			return
		}
	}
	if got != size {
		p.unexplainedID(id, op, "echo ended short", fmt.Sprintf("%d of %d bytes", got, size))
		return
	}
	p.okID(id, op, start)
}

func mib(n int64) string { return fmt.Sprintf("%.2f MiB", float64(n)/(1<<20)) }

// failCause counts err of an operation with context o.
func (p *phase) failCause(id uint64, op string, o *opCtx, err error, where string) {
	switch o.cause() {
	case errPlanned:
		p.explainedID(id, op, "canceled by the client (planned)")
	case errTimeout:
		p.unexplainedID(id, op, "client timeout "+where, err)
	default:
		p.unexplainedID(id, op, kindOf(err)+" ("+reKindNum.ReplaceAllString(where, "N")+")", fmt.Sprintf("%v %s", err, where))
	}
}

// ---------------------------------------------------------------------------
// Raw HTTP/2 with tiny windows: streaming echoes

type rawSlot struct {
	mu     sync.Mutex
	c      *h2Conn
	window int32
}

func (p *phase) rawConn(s *rawSlot) (*h2Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c != nil {
		select {
		case <-s.c.dead:
			p.flowViol.Add(s.c.flowViolations.Swap(0))
			s.c = nil
		default:
			return s.c, nil
		}
	}
	c, err := dialH2(p.addr, s.window, 5*time.Second)
	if err != nil {
		return nil, err
	}
	p.rawConns.Add(1)
	s.c = c
	p.onClose(func() {
		c.Close()
		<-c.dead
		p.flowViol.Add(c.flowViolations.Swap(0))
	})
	return c, nil
}

func (p *phase) runRawEcho(s scale, seed int64) {
	var slots []*rawSlot
	for i := 0; i < s.rawConns; i++ {
		w := int32(2048)
		if i%2 == 1 {
			w = 1024
		}
		slots = append(slots, &rawSlot{window: w})
	}
	p.spawn(s.rawWorkers, 0, seed, func(rng *rand.Rand, i int) {
		slot := slots[i%len(slots)]
		win := fmt.Sprintf("win %dK", slot.window/1024)
		c, err := p.rawConn(slot)
		if err != nil {
			p.st.Unexplained("h2 raw connect", kindOf(err), err)
			time.Sleep(100 * time.Millisecond)
			return
		}
		switch r := rng.Intn(100); {
		case r < 45:
			size := between(rng, 1, 256<<10)
			if rng.Intn(20) == 0 {
				size = between(rng, 256<<10, 1<<20)
			}
			p.rawEcho("h2 POST /echo bulk ("+win+")", c, rng, int64(size))
		case r < 65:
			p.rawPingPong("h2 POST /echo ping-pong ("+win+")", c, rng)
		case r < 90:
			p.rawEchoCancel("h2 POST /echo (RST mid-body, "+win+")", c, rng)
		default:
			p.rawGet("h2 GET / ("+win+")", c)
		}
		pause(rng, 2)
	})
}

// runRapidCancel resets very short requests around the moment they end:
// RST_STREAM racing the handler's return, the release of its request and
// the reuse of its context. Each worker has its own connection and stays
// well under the server's MaxResetsPerSecond (200 per connection).
func (p *phase) runRapidCancel(s scale, seed int64) {
	p.spawn(s.rapidCancelWorkers, 0, seed, func(rng *rand.Rand, i int) {
		slot := p.rapidSlots[i]
		c, err := p.rawConn(slot)
		if err != nil {
			p.st.Unexplained("h2 raw connect", kindOf(err), err)
			time.Sleep(100 * time.Millisecond)
			return
		}
		p.rapidCancel("h2 GET /delay/0-2 + RST at 0-2.5ms", c, rng)
		// At most 3 resets per 20 ms: 150/s on this connection.
		time.Sleep(time.Duration(between(rng, 20, 30)) * time.Millisecond)
	})
}

func (p *phase) rapidCancel(op string, c *h2Conn, rng *rand.Rand) {
	type req struct {
		id    uint64
		st    *h2Stream
		start time.Time
		at    time.Duration
	}
	var reqs []req
	for k := 0; k < 3; k++ {
		id := newID()
		p.tr.Client(id, op)
		start := time.Now()
		st, err := c.open("GET", fmt.Sprintf("/delay/%d?id=%d", rng.Intn(3), id), true)
		if err != nil {
			p.st.Unexplained(op, kindOf(err), err)
			break
		}
		reqs = append(reqs, req{id, st, start, time.Duration(rng.Intn(2500)) * time.Microsecond})
	}
	sort.Slice(reqs, func(i, j int) bool { return reqs[i].at < reqs[j].at })
	for _, r := range reqs {
		time.Sleep(time.Until(r.start.Add(r.at)))
		p.tr.Gone(r.id)
		st := r.st
		st.mu.Lock()
		done := st.ended || st.err != nil
		if !done {
			st.err = errors.New("reset by the client")
		}
		st.mu.Unlock()
		if done {
			if err := st.failed(); err != nil {
				p.unexplainedID(r.id, op, kindOf(err), err)
			} else {
				p.okID(r.id, op, r.start)
			}
			continue
		}
		if err := c.reset(st); err != nil {
			p.unexplainedID(r.id, op, "RST_STREAM: "+kindOf(err), err)
			continue
		}
		p.explainedID(r.id, op, "reset by the client (planned)")
	}
}

// rawFail counts a failed raw stream operation and resets the stream.
func (p *phase) rawFail(op string, c *h2Conn, st *h2Stream, id uint64, kind string, detail any) {
	if id != 0 {
		p.tr.Gone(id)
	}
	if st != nil {
		st.mu.Lock()
		done := st.ended || st.err != nil
		if st.err == nil {
			st.err = errors.New("reset by the client")
		}
		st.mu.Unlock()
		if !done {
			c.reset(st)
		}
	}
	p.unexplainedID(id, op, kind, detail)
}

func (p *phase) rawGet(op string, c *h2Conn) {
	start := time.Now()
	st, err := c.open("GET", "/", true)
	if err != nil {
		p.st.Unexplained(op, kindOf(err), err)
		return
	}
	var body []byte
	deadline := time.Now().Add(p.cfg.ShortLimit)
	for {
		data, ended, err := c.recv(st, deadline)
		body = append(body, data...)
		if ended {
			break
		}
		if err != nil {
			if errors.Is(err, errDeadline) {
				p.rawFail(op, c, st, 0, fmt.Sprintf("no response within %v", p.cfg.ShortLimit), err)
			} else {
				p.rawFail(op, c, st, 0, kindOf(err), err)
			}
			return
		}
	}
	if st.Status() != 200 || !bytes.Equal(body, hello) {
		p.st.Unexplained(op, fmt.Sprintf("status %d or wrong body", st.Status()), fmt.Sprintf("%q", clip(string(body), 80)))
		return
	}
	p.ok(op, start, 1)
}

// sendPattern sends size bytes of the payload of seed id from offset off in
// random chunks, ending the stream if end.
func sendPattern(c *h2Conn, st *h2Stream, rng *rand.Rand, id uint64, off, size int64, end bool, deadline time.Time) error {
	buf := make([]byte, 16<<10)
	if size == 0 && end {
		return c.send(st, nil, true, deadline)
	}
	for done := int64(0); done < size; {
		n := min(int64(between(rng, 1, len(buf))), size-done)
		fillPattern(buf[:n], id, off+done)
		done += n
		if err := c.send(st, buf[:n], end && done == size, deadline); err != nil {
			return err
		}
	}
	return nil
}

// readEcho reads the echo of st until want bytes (from offset *got) arrived,
// or the stream ended if want < 0.
func readEcho(c *h2Conn, st *h2Stream, id uint64, got *int64, want int64, deadline time.Time) (ended bool, err error) {
	for want < 0 || *got < want {
		data, end, err := c.recv(st, deadline)
		if len(data) > 0 {
			if bad := checkPattern(data, id, *got); bad >= 0 {
				return false, fmt.Errorf("echoed bytes differ at offset %d", bad)
			}
			*got += int64(len(data))
		}
		if end {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
	return false, nil
}

func (p *phase) rawEcho(op string, c *h2Conn, rng *rand.Rand, size int64) {
	id := newID()
	p.tr.Client(id, op)
	start := time.Now()
	st, err := c.open("POST", fmt.Sprintf("/echo?id=%d", id), false, "content-type", "application/octet-stream")
	if err != nil {
		p.unexplainedID(id, op, kindOf(err), err)
		return
	}
	deadline := time.Now().Add(p.cfg.StreamTimeout)
	srng := rand.New(rand.NewSource(rng.Int63()))
	sent := make(chan error, 1)
	go func() { sent <- sendPattern(c, st, srng, id, 0, size, true, deadline) }()
	var got int64
	ended, err := readEcho(c, st, id, &got, -1, deadline)
	if err != nil || !ended {
		kind := rawErrKind(err, got, size)
		p.rawFail(op, c, st, id, kind, fmt.Sprintf("%v (echoed %d of %d bytes)", err, got, size))
		<-sent
		return
	}
	serr := <-sent
	switch {
	case st.Status() != 200:
		p.unexplainedID(id, op, fmt.Sprintf("status %d", st.Status()), fmt.Sprintf("echoed %d of %d bytes, send: %v", got, size, serr))
	case serr != nil:
		p.unexplainedID(id, op, "send: "+kindOf(serr), serr)
	case got != size:
		p.unexplainedID(id, op, "echo ended short", fmt.Sprintf("%d of %d bytes", got, size))
	default:
		p.okID(id, op, start)
	}
}

func rawErrKind(err error, got, size int64) string {
	switch {
	case errors.Is(err, errDeadline) && got == 0:
		return "client timeout, nothing echoed"
	case errors.Is(err, errDeadline):
		return "client timeout, echo stalled midway"
	case err != nil && strings.Contains(err.Error(), "RST_STREAM"):
		return kindOf(err) + fmt.Sprintf(" (after >= %s echoed)", mibFloor(got))
	case err != nil:
		return kindOf(err)
	}
	return "stream did not end"
}

// mibFloor rounds n down to a power of two MiB bucket, for error kinds.
func mibFloor(n int64) string {
	if n < 1<<20 {
		return "0 MiB"
	}
	m := int64(1)
	for m*2 <= n>>20 {
		m *= 2
	}
	return fmt.Sprintf("%d MiB", m)
}

// rawPingPong sends small chunks one at a time and waits for each echo
// before the next: a full-duplex exchange.
func (p *phase) rawPingPong(op string, c *h2Conn, rng *rand.Rand) {
	id := newID()
	p.tr.Client(id, op)
	start := time.Now()
	st, err := c.open("POST", fmt.Sprintf("/echo?id=%d", id), false, "content-type", "application/octet-stream")
	if err != nil {
		p.unexplainedID(id, op, kindOf(err), err)
		return
	}
	rounds := between(rng, 2, 8)
	var off, got int64
	for r := 0; r < rounds; r++ {
		n := int64(between(rng, 1, 1500))
		deadline := time.Now().Add(p.cfg.RoundTimeout)
		if err := sendPattern(c, st, rng, id, off, n, false, deadline); err != nil {
			p.rawFail(op, c, st, id, "send: "+kindOf(err), err)
			return
		}
		off += n
		ended, err := readEcho(c, st, id, &got, off, deadline)
		if err != nil || ended {
			kind := fmt.Sprintf("no echo of round %d within %v", min(r, 1), p.cfg.RoundTimeout)
			if r > 0 {
				kind = fmt.Sprintf("no echo of a later round within %v", p.cfg.RoundTimeout)
			}
			if !errors.Is(err, errDeadline) {
				kind = rawErrKind(err, got, off)
				if ended {
					kind = "stream ended before the request body"
				}
			}
			p.rawFail(op, c, st, id, kind, fmt.Sprintf("%v (round %d, echoed %d of %d bytes)", err, r, got, off))
			return
		}
	}
	deadline := time.Now().Add(p.cfg.RoundTimeout)
	if err := c.send(st, nil, true, deadline); err != nil {
		p.rawFail(op, c, st, id, "send END_STREAM: "+kindOf(err), err)
		return
	}
	ended, err := readEcho(c, st, id, &got, -1, deadline)
	switch {
	case err != nil || !ended:
		p.rawFail(op, c, st, id, "after END_STREAM: "+rawErrKind(err, got, off), err)
	case got != off:
		p.unexplainedID(id, op, "echo length differs", fmt.Sprintf("%d of %d", got, off))
	case st.Status() != 200:
		p.unexplainedID(id, op, fmt.Sprintf("status %d", st.Status()), nil)
	default:
		p.okID(id, op, start)
	}
}

// rawEchoCancel sends part of a body (below or above the 64 KiB the server
// buffers before the handler starts), reads the echo meanwhile, then
// resets the stream.
func (p *phase) rawEchoCancel(op string, c *h2Conn, rng *rand.Rand) {
	id := newID()
	p.tr.Client(id, op)
	st, err := c.open("POST", fmt.Sprintf("/echo?id=%d", id), false, "content-type", "application/octet-stream")
	if err != nil {
		p.unexplainedID(id, op, kindOf(err), err)
		return
	}
	size := int64(between(rng, 1, 32<<10))
	if rng.Intn(2) == 0 {
		size = int64(between(rng, 96<<10, 400<<10))
	}
	deadline := time.Now().Add(p.cfg.StreamTimeout)
	srng := rand.New(rand.NewSource(rng.Int63()))
	sent := make(chan error, 1)
	go func() { sent <- sendPattern(c, st, srng, id, 0, size, false, deadline) }()
	// Read the echo until everything sent came back (only if the handler
	// runs: above 64 KiB) or a short wait passed.
	var got int64
	want := int64(0)
	if size > 64<<10 {
		want = size
	}
	_, rerr := readEcho(c, st, id, &got, want, deadline)
	serr := <-sent
	if (rerr != nil && !errors.Is(rerr, errDeadline)) || serr != nil {
		err := rerr
		if err == nil {
			err = serr
		}
		p.rawFail(op, c, st, id, "before the reset: "+rawErrKind(err, got, size), err)
		return
	}
	if rerr != nil {
		p.rawFail(op, c, st, id, "before the reset: client timeout, echoed "+map[bool]string{true: "nothing", false: "part"}[got == 0], rerr)
		return
	}
	time.Sleep(time.Duration(rng.Intn(50)) * time.Millisecond)
	p.tr.Gone(id)
	st.mu.Lock()
	st.err = errors.New("reset by the client")
	st.mu.Unlock()
	if err := c.reset(st); err != nil {
		p.unexplainedID(id, op, "RST_STREAM: "+kindOf(err), err)
		return
	}
	p.rawResets.Add(1)
	p.explainedID(id, op, "reset by the client (planned)")
}

// ---------------------------------------------------------------------------
// gRPC through WrapHandler

func (p *phase) grpcClients(n int) ([]testpb.TestServiceClient, error) {
	var out []testpb.TestServiceClient
	for i := 0; i < n; i++ {
		cc, err := grpc.NewClient(p.addr,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(32<<20), grpc.MaxCallSendMsgSize(32<<20)))
		if err != nil {
			return nil, err
		}
		p.onClose(func() { cc.Close() })
		out = append(out, testpb.NewTestServiceClient(cc))
	}
	return out, nil
}

func (p *phase) grpcCtx(id uint64, timeout, planned time.Duration) *opCtx {
	o := newOpCtx(p.tr, id, timeout, planned)
	o.ctx = metadata.AppendToOutgoingContext(o.ctx, "soak-id", strconv.FormatUint(id, 10))
	return o
}

// grpcFail counts a failed call with context o.
func (p *phase) grpcFail(id uint64, op string, o *opCtx, err error, where string) {
	switch o.cause() {
	case errPlanned:
		if status.Code(err) == codes.Canceled {
			p.explainedID(id, op, "canceled by the client (planned)")
			return
		}
		p.unexplainedID(id, op, "planned cancel gave "+status.Code(err).String(), err)
	case errTimeout:
		p.unexplainedID(id, op, "client timeout "+where, err)
	default:
		s := status.Convert(err)
		p.unexplainedID(id, op, s.Code().String()+": "+kindOf(errors.New(s.Message()))+" ("+where+")", err)
	}
}

func (p *phase) runGRPC(s scale, seed int64) error {
	tcs, err := p.grpcClients(s.grpcConns)
	if err != nil {
		return err
	}
	p.spawn(s.grpcWorkers, 0, seed, func(rng *rand.Rand, i int) {
		tc := tcs[rng.Intn(len(tcs))]
		switch r := rng.Intn(100); {
		case r < 40:
			p.grpcUnary(tc, rng)
		case r < 55:
			p.grpcClientStream("grpc client-stream", tc, rng, between(rng, 1, 20), between(rng, 0, 32<<10), 10*time.Second)
		case r < 70:
			p.grpcServerStream(tc, rng, false)
		case r < 80:
			p.grpcServerStream(tc, rng, true)
		case r < 88:
			p.grpcBidiPingPong(tc, rng, false)
		case r < 92:
			p.grpcBidiPingPong(tc, rng, true)
		default:
			p.grpcBidiSendAll(tc, rng)
		}
		pause(rng, 2)
	})
	// One long client stream per worker: 10 MiB, beyond the default 8 MiB
	// request body limit.
	p.spawn(s.longGRPCWorkers, 2, seed+1, func(rng *rand.Rand, i int) {
		p.grpcClientStream("grpc client-stream 10MiB", tcs[0], rng, 80, 128<<10, 60*time.Second)
	})
	return nil
}

func (p *phase) grpcUnary(tc testpb.TestServiceClient, rng *rand.Rand) {
	op := "grpc unary"
	size := between(rng, 0, 2<<10)
	switch r := rng.Intn(100); {
	case r < 2:
		size = between(rng, 256<<10, 1<<20)
	case r < 20:
		size = between(rng, 2<<10, 64<<10)
	}
	start := time.Now()
	o := p.grpcCtx(0, p.cfg.StreamTimeout, 0)
	defer o.stop()
	body := pattern(uint64(size), size)
	resp, err := tc.UnaryCall(o.ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: body}})
	if err != nil {
		p.grpcFail(0, op, o, err, "")
		return
	}
	if !bytes.Equal(resp.GetPayload().GetBody(), body) {
		p.st.Unexplained(op, "wrong echo", fmt.Sprintf("%d bytes for %d", len(resp.GetPayload().GetBody()), size))
		return
	}
	p.ok(op, start, 1)
}

func (p *phase) grpcClientStream(op string, tc testpb.TestServiceClient, rng *rand.Rand, msgs, maxSize int, timeout time.Duration) {
	id := newID()
	p.tr.Client(id, op)
	start := time.Now()
	o := p.grpcCtx(id, timeout, 0)
	defer o.stop()
	stream, err := tc.StreamingInputCall(o.ctx)
	if err != nil {
		p.grpcFail(id, op, o, err, "at the start")
		return
	}
	total := 0
	for i := 0; i < msgs; i++ {
		n := between(rng, 0, maxSize)
		if maxSize >= 64<<10 {
			n = maxSize
		}
		if err := stream.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: pattern(uint64(i), n)}}); err != nil {
			// The real error is the call's status.
			_, rerr := stream.CloseAndRecv()
			if rerr == nil {
				rerr = err
			}
			p.grpcFail(id, op, o, rerr, fmt.Sprintf("after %s sent", mibFloor(int64(total))))
			return
		}
		total += n
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		p.grpcFail(id, op, o, err, fmt.Sprintf("after all %s sent", mibFloor(int64(total))))
		return
	}
	if int(resp.GetAggregatedPayloadSize()) != total {
		p.unexplainedID(id, op, "wrong aggregated size", fmt.Sprintf("%d for %d", resp.GetAggregatedPayloadSize(), total))
		return
	}
	p.okID(id, op, start)
}

func (p *phase) grpcServerStream(tc testpb.TestServiceClient, rng *rand.Rand, cancel bool) {
	op := "grpc server-stream"
	n := between(rng, 1, 20)
	params := make([]*testpb.ResponseParameters, n)
	for i := range params {
		params[i] = &testpb.ResponseParameters{Size: int32(between(rng, 0, 16<<10)), IntervalUs: int32(between(rng, 0, 30000))}
	}
	stopAfter := -1
	if cancel {
		op = "grpc server-stream (cancel)"
		n = 20
		params = make([]*testpb.ResponseParameters, n)
		for i := range params {
			params[i] = &testpb.ResponseParameters{Size: int32(between(rng, 0, 4<<10)), IntervalUs: 100000}
		}
		stopAfter = between(rng, 1, 5)
	}
	id := newID()
	p.tr.Client(id, op)
	start := time.Now()
	o := p.grpcCtx(id, p.cfg.StreamTimeout, 0)
	defer o.stop()
	stream, err := tc.StreamingOutputCall(o.ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: params})
	if err != nil {
		p.grpcFail(id, op, o, err, "at the start")
		return
	}
	for i := 0; i < n; i++ {
		if i == stopAfter {
			p.tr.Gone(id)
			o.cancel(errPlanned)
			_, err := stream.Recv()
			for err == nil {
				_, err = stream.Recv()
			}
			p.grpcFail(id, op, o, err, "")
			return
		}
		m, err := stream.Recv()
		if err != nil {
			p.grpcFail(id, op, o, err, fmt.Sprintf("at message N of %d", n))
			return
		}
		if !bytes.Equal(m.GetPayload().GetBody(), pattern(0, int(params[i].GetSize()))) {
			p.unexplainedID(id, op, "wrong message", fmt.Sprintf("message %d: %d bytes", i, len(m.GetPayload().GetBody())))
			return
		}
	}
	if _, err := stream.Recv(); err != io.EOF {
		p.grpcFail(id, op, o, err, "at the end")
		return
	}
	p.okID(id, op, start)
}

// grpcBidiPingPong exchanges one request and its answers at a time: it
// needs the handler to run while the request stream is open.
func (p *phase) grpcBidiPingPong(tc testpb.TestServiceClient, rng *rand.Rand, cancel bool) {
	op := "grpc bidi ping-pong"
	rounds := between(rng, 2, 6)
	stopAfter := -1
	if cancel {
		op = "grpc bidi (cancel)"
		stopAfter = between(rng, 1, rounds-1)
	}
	id := newID()
	p.tr.Client(id, op)
	start := time.Now()
	o := p.grpcCtx(id, p.cfg.StreamTimeout, 0)
	defer o.stop()
	stream, err := tc.FullDuplexCall(o.ctx)
	if err != nil {
		p.grpcFail(id, op, o, err, "at the start")
		return
	}
	for r := 0; r < rounds; r++ {
		if r == stopAfter {
			p.tr.Gone(id)
			o.cancel(errPlanned)
			_, err := stream.Recv()
			p.grpcFail(id, op, o, err, "")
			return
		}
		msg := pattern(uint64(r), between(rng, 1, 4<<10))
		// Not 0: a ResponseParameters of size 0 asks for the payload back.
		size := between(rng, 1, 8<<10)
		err := stream.Send(&testpb.StreamingOutputCallRequest{
			ResponseParameters: []*testpb.ResponseParameters{{}, {Size: int32(size)}},
			Payload:            &testpb.Payload{Body: msg},
		})
		if err != nil {
			_, rerr := stream.Recv()
			p.grpcFail(id, op, o, rerr, "sending")
			return
		}
		// Each round must be answered within RoundTimeout.
		t := time.AfterFunc(p.cfg.RoundTimeout, func() { p.tr.Gone(id); o.cancel(errTimeout) })
		m1, err := stream.Recv()
		var m2 *testpb.StreamingOutputCallResponse
		if err == nil {
			m2, err = stream.Recv()
		}
		t.Stop()
		if err != nil {
			where := fmt.Sprintf("waiting for round %d's answer (%v)", min(r, 1), p.cfg.RoundTimeout)
			if r > 0 {
				where = fmt.Sprintf("waiting for a later round's answer (%v)", p.cfg.RoundTimeout)
			}
			p.grpcFail(id, op, o, err, where)
			return
		}
		if !bytes.Equal(m1.GetPayload().GetBody(), msg) || !bytes.Equal(m2.GetPayload().GetBody(), pattern(0, size)) {
			p.unexplainedID(id, op, "wrong answer", fmt.Sprintf("round %d", r))
			return
		}
	}
	if err := stream.CloseSend(); err != nil {
		p.grpcFail(id, op, o, err, "CloseSend")
		return
	}
	if _, err := stream.Recv(); err != io.EOF {
		p.grpcFail(id, op, o, err, "after CloseSend")
		return
	}
	p.okID(id, op, start)
}

// grpcBidiSendAll sends every request and half-closes before reading the
// answers: a bidi call that does not need the handler to start early.
func (p *phase) grpcBidiSendAll(tc testpb.TestServiceClient, rng *rand.Rand) {
	op := "grpc bidi send-all"
	id := newID()
	p.tr.Client(id, op)
	start := time.Now()
	o := p.grpcCtx(id, p.cfg.StreamTimeout, 0)
	defer o.stop()
	stream, err := tc.FullDuplexCall(o.ctx)
	if err != nil {
		p.grpcFail(id, op, o, err, "at the start")
		return
	}
	n := between(rng, 1, 8)
	var want [][]byte
	for i := 0; i < n; i++ {
		msg := pattern(uint64(i), between(rng, 1, 4<<10))
		want = append(want, msg)
		if err := stream.Send(&testpb.StreamingOutputCallRequest{
			ResponseParameters: []*testpb.ResponseParameters{{}},
			Payload:            &testpb.Payload{Body: msg},
		}); err != nil {
			_, rerr := stream.Recv()
			p.grpcFail(id, op, o, rerr, "sending")
			return
		}
	}
	if err := stream.CloseSend(); err != nil {
		p.grpcFail(id, op, o, err, "CloseSend")
		return
	}
	for i := 0; i < n; i++ {
		m, err := stream.Recv()
		if err != nil {
			p.grpcFail(id, op, o, err, "receiving")
			return
		}
		if !bytes.Equal(m.GetPayload().GetBody(), want[i]) {
			p.unexplainedID(id, op, "wrong answer", fmt.Sprintf("message %d", i))
			return
		}
	}
	if _, err := stream.Recv(); err != io.EOF {
		p.grpcFail(id, op, o, err, "at the end")
		return
	}
	p.okID(id, op, start)
}

// ---------------------------------------------------------------------------
// Connection churn: connections opened, used and closed abruptly

func (p *phase) runChurn(s scale, seed int64) {
	p.spawn(s.churnWorkers, 0, seed, func(rng *rand.Rand, i int) {
		switch r := rng.Intn(100); {
		case r < 35:
			p.churnH2Abort(rng)
		case r < 60:
			p.churnTransport(rng)
		case r < 75:
			p.churnTCP(rng)
		default:
			p.churnH1Abort("churn h1 /delay, abrupt close", rng)
		}
		pause(rng, s.churnPauseMs)
	})
}

// churnH2Abort opens a raw HTTP/2 connection, starts a long poll, a partial
// echo upload and a GET, then closes the socket in the middle of them.
func (p *phase) churnH2Abort(rng *rand.Rand) {
	op := "churn h2 abort mid-request"
	c, err := dialH2(p.addr, 65535, 5*time.Second)
	if err != nil {
		p.st.Unexplained(op, "connect: "+kindOf(err), err)
		return
	}
	p.rawConns.Add(1)
	defer func() {
		c.Close()
		<-c.dead
		p.flowViol.Add(c.flowViolations.Swap(0))
	}()
	pollID, echoID := newID(), newID()
	p.tr.Client(pollID, op)
	p.tr.Client(echoID, op)
	if _, err := c.open("GET", fmt.Sprintf("/delay/%d?id=%d", between(rng, 1500, 3000), pollID), true); err != nil {
		p.st.Unexplained(op, "open: "+kindOf(err), err)
		return
	}
	est, err := c.open("POST", fmt.Sprintf("/echo?id=%d", echoID), false)
	if err != nil {
		p.st.Unexplained(op, "open: "+kindOf(err), err)
		return
	}
	gst, err := c.open("GET", "/", true)
	if err != nil {
		p.st.Unexplained(op, "open: "+kindOf(err), err)
		return
	}
	// Part of an upload, above or below the 64 KiB buffered before the
	// handler starts.
	size := int64(between(rng, 1, 160<<10))
	abortAt := time.Now().Add(time.Duration(between(rng, 20, 400)) * time.Millisecond)
	if err := sendPattern(c, est, rng, echoID, 0, size, false, abortAt); err != nil && !errors.Is(err, errDeadline) {
		p.st.Unexplained(op, "upload: "+kindOf(err), err)
		return
	}
	// The GET should be answered meanwhile.
	start := time.Now()
	var body []byte
	for {
		data, ended, err := c.recv(gst, time.Now().Add(p.cfg.ShortLimit))
		body = append(body, data...)
		if ended {
			break
		}
		if err != nil {
			p.st.Unexplained(op, "GET / beside the others: "+kindOf(err), err)
			return
		}
	}
	if gst.Status() != 200 || !bytes.Equal(body, hello) {
		p.st.Unexplained(op, "GET / beside the others: wrong response", gst.Status())
		return
	}
	p.reqOK.Add(1)
	time.Sleep(time.Until(abortAt))
	p.tr.Gone(pollID)
	p.tr.Gone(echoID)
	p.tr.ClientDone(pollID, "explained: aborted by the client (planned)")
	p.tr.ClientDone(echoID, "explained: aborted by the client (planned)")
	c.close(rng.Intn(2) == 0)
	p.st.OK(op, time.Since(start))
}

// churnTransport uses a fresh http2.Transport for a few requests; half the
// time it kills the socket under a long poll.
func (p *phase) churnTransport(rng *rand.Rand) {
	op := "churn h2c transport"
	var mu sync.Mutex
	var conns []net.Conn
	t := h2cTransport(func(c net.Conn) { mu.Lock(); conns = append(conns, c); mu.Unlock() })
	defer t.CloseIdleConnections()
	c := &http.Client{Transport: t}
	start := time.Now()
	n := between(rng, 1, 4)
	for i := 0; i < n; i++ {
		ctx, cancel := context.WithTimeout(context.Background(), p.cfg.ShortLimit)
		code, body, err := get(ctx, c, p.url("/"))
		cancel()
		if err != nil || code != 200 || !bytes.Equal(body, hello) {
			p.st.Unexplained(op, "GET /: "+kindOfOr(err, code), err)
			return
		}
		p.reqOK.Add(1)
	}
	if rng.Intn(2) == 0 {
		p.st.OK(op, time.Since(start))
		return
	}
	op = "churn h2c transport, conn killed under /delay"
	id := newID()
	p.tr.Client(id, op)
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	delay := between(rng, 1500, 3000) // rng is this goroutine's: not shared with the one below
	go func() {
		_, _, err := get(ctx, c, p.url(fmt.Sprintf("/delay/%d?id=%d", delay, id)))
		done <- err
	}()
	time.Sleep(time.Duration(between(rng, 50, 300)) * time.Millisecond)
	p.tr.Gone(id)
	mu.Lock()
	for _, c := range conns {
		c.Close()
	}
	mu.Unlock()
	if err := <-done; err == nil {
		p.unexplainedID(id, op, "the long poll succeeded on a closed connection", nil)
		return
	}
	p.explainedID(id, op, "aborted by the client (planned)")
}

func kindOfOr(err error, code int) string {
	if err != nil {
		return kindOf(err)
	}
	return fmt.Sprintf("status %d or wrong body", code)
}

// churnTCP connects and closes, sending nothing or part of a preface or of
// an HTTP/1.1 request line first.
func (p *phase) churnTCP(rng *rand.Rand) {
	op := "churn tcp connect+close"
	start := time.Now()
	c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		p.st.Unexplained(op, kindOf(err), err)
		return
	}
	switch rng.Intn(3) {
	case 1:
		c.Write([]byte(http2.ClientPreface[:between(rng, 1, len(http2.ClientPreface))]))
	case 2:
		req := "GET /delay/10 HTTP/1.1\r\nHost: soak\r\n"
		c.Write([]byte(req[:between(rng, 1, len(req))]))
	}
	if rng.Intn(2) == 0 {
		c.(*net.TCPConn).SetLinger(0)
	}
	c.Close()
	p.st.OK(op, time.Since(start))
}

// churnH1Abort sends an HTTP/1.1 long poll and closes the socket while the
// handler waits: the handler's ctx.Done() should fire.
func (p *phase) churnH1Abort(op string, rng *rand.Rand) {
	c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		p.st.Unexplained(op, kindOf(err), err)
		return
	}
	p.h1Abort(op, c, rng)
}

func (p *phase) h1Abort(op string, c net.Conn, rng *rand.Rand) {
	id := newID()
	p.tr.Client(id, op)
	ms := between(rng, 2500, 4000)
	c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c, "GET /delay/%d?id=%d HTTP/1.1\r\nHost: soak\r\n\r\n", ms, id); err != nil {
		c.Close()
		p.unexplainedID(id, op, kindOf(err), err)
		return
	}
	time.Sleep(time.Duration(between(rng, 100, 800)) * time.Millisecond)
	p.tr.Gone(id)
	if rng.Intn(2) == 0 {
		c.(*net.TCPConn).SetLinger(0)
	}
	c.Close()
	p.explainedID(id, op, "aborted by the client (planned)")
}

// ---------------------------------------------------------------------------
// HTTP/1.1: net/http keep-alive client, and raw sockets

func (p *phase) runH1(s scale, seed int64) {
	var protos http.Protocols
	protos.SetHTTP1(true)
	tr := &http.Transport{Protocols: &protos, MaxIdleConnsPerHost: 8, DisableCompression: true}
	p.onClose(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	p.spawn(s.h1Workers, 0, seed, func(rng *rand.Rand, i int) {
		switch r := rng.Intn(100); {
		case r < 40:
			p.shortGet("h1 GET /", c)
		case r < 65:
			p.h1Echo("h1 POST /echo", c, rng)
		case r < 80:
			p.longPoll("h1 GET /delay", c, between(rng, 50, 1000), 0)
		default:
			// Canceled 1.2 s or more before the end: net/http closes the
			// connection, the handler's ctx.Done() should fire.
			ms := between(rng, 2000, 3500)
			p.longPoll("h1 GET /delay (cancel: conn closed)", c, ms, time.Duration(between(rng, 50, ms-1200))*time.Millisecond)
		}
		pause(rng, 3)
	})
	p.spawn(s.h1RawWorkers, 0, seed+1, func(rng *rand.Rand, i int) {
		p.h1RawSession(rng)
		pause(rng, 10)
	})
}

func (p *phase) h1Echo(op string, c *http.Client, rng *rand.Rand) {
	size := between(rng, 0, 128<<10)
	seed := rng.Uint64()
	body := pattern(seed, size)
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), p.cfg.StreamTimeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "POST", p.url("/echo"), bytes.NewReader(body))
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			p.st.Unexplained(op, fmt.Sprintf("no response within %v", p.cfg.StreamTimeout), err)
		} else {
			p.st.Unexplained(op, kindOf(err), err)
		}
		return
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		p.st.Unexplained(op, "body: "+kindOf(err), err)
	case resp.StatusCode != 200:
		p.st.Unexplained(op, fmt.Sprintf("status %d", resp.StatusCode), resp.Status)
	case !bytes.Equal(got, body):
		p.st.Unexplained(op, "echo differs", fmt.Sprintf("%d bytes for %d", len(got), size))
	default:
		p.ok(op, start, 1)
	}
}

// h1RawSession sends a few keep-alive requests on one socket, then closes
// it politely or, a third of the time, under a long poll.
func (p *phase) h1RawSession(rng *rand.Rand) {
	op := "h1 raw keep-alive"
	c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
	if err != nil {
		p.st.Unexplained(op, kindOf(err), err)
		return
	}
	br := bufio.NewReader(c)
	n := between(rng, 2, 10)
	for i := 0; i < n; i++ {
		start := time.Now()
		c.SetDeadline(time.Now().Add(p.cfg.StreamTimeout))
		var req *http.Request
		var want []byte
		if rng.Intn(2) == 0 {
			req, _ = http.NewRequest("GET", p.url("/"), nil)
			want = hello
		} else {
			want = pattern(rng.Uint64(), between(rng, 0, 64<<10))
			req, _ = http.NewRequest("POST", p.url("/echo"), bytes.NewReader(want))
		}
		if err := req.Write(c); err != nil {
			c.Close()
			p.st.Unexplained(op, "write: "+kindOf(err), err)
			return
		}
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			c.Close()
			p.st.Unexplained(op, "read: "+kindOf(err), err)
			return
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || !bytes.Equal(got, want) {
			c.Close()
			p.st.Unexplained(op, "response: "+kindOfOr(err, resp.StatusCode), fmt.Sprintf("%v %d, %d bytes for %d", err, resp.StatusCode, len(got), len(want)))
			return
		}
		if resp.Close {
			c.Close()
			p.st.Unexplained(op, "server closed a keep-alive connection", nil)
			return
		}
		p.ok(op, start, 1)
	}
	c.SetDeadline(time.Time{})
	if rng.Intn(3) == 0 {
		p.h1Abort("h1 raw /delay, abrupt close after keep-alive", c, rng)
		return
	}
	c.Close()
}
