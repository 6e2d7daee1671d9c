package h2loop_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
	"golang.org/x/net/http2/hpack"
)

// FuzzServer drives the whole server path, socket to handler and back, with
// frame sequences decoded structure-aware from the input (fzCompile): DATA,
// HEADERS with HPACK blocks built from a vocabulary of valid and invalid
// fields and representations, CONTINUATION, PRIORITY, RST_STREAM, SETTINGS
// with odd values, PING, GOAWAY, WINDOW_UPDATE with 0 and overflowing
// increments, PUSH_PROMISE, unknown types, padding, stray flags, raw bytes,
// mutations of the last frame's length, flags, type and stream id, repeats
// (floods, rapid resets) and pauses that wait for the server. Each input is
// written on a fresh connection after the preface (in one write, random
// chunks or a dribble), the answer read for a bounded time, then the
// connection closed (FIN, half-close, or abruptly with RST). One server
// serves every input of a fuzz process. The checks:
//
//   - no panic: Stats.Panics stays 0 (handler panics, from /panic, are
//     recovered by design and counted in HandlerPanics);
//   - no hang: after each input a victim (a connection kept across inputs,
//     or a fresh one) gets GET / answered within 1 s; a connection the
//     client half-closed is closed by the server within 2 s;
//   - the server's output is well-formed HTTP/2 a client can follow: frames
//     within the client's SETTINGS_MAX_FRAME_SIZE, response header blocks
//     that decode (HPACK state in step with the client's
//     SETTINGS_HEADER_TABLE_SIZE) into valid responses, no interleaved
//     header blocks, nothing on a stream after its end or on a stream the
//     client never opened, DATA within the windows the client granted,
//     nothing after a GOAWAY with an error;
//   - goroutines and open descriptors (server connections) settle back
//     near their baseline (checked every 100 inputs).
//
// As a plain test it runs the seeds and testdata/fuzz/FuzzServer, then
// checks that goroutines and descriptors are back at their baseline:
// go test -run FuzzServer.
// To fuzz: go test -run XXX -fuzz FuzzServer -fuzztime 10m .
func FuzzServer(f *testing.F) {
	for _, s := range fzSeeds() {
		f.Add(s)
	}
	var once sync.Once
	var fs *fzServer
	f.Cleanup(func() {
		if fs == nil {
			return
		}
		if flag.Lookup("test.fuzz").Value.String() == "" {
			// The seeds only: everything they started must end.
			start := time.Now()
			g, fd := fs.checkGrowth(f.Errorf, 4, 4)
			f.Logf("after %d inputs (%v to settle): %d goroutines (baseline %d), %d descriptors (baseline %d); %v",
				fs.inputs, time.Since(start), g, fs.g0, fd, fs.fd0, fs.srv.Metrics().Snapshot())
		}
		fs.close()
	})
	f.Fuzz(func(t *testing.T, data []byte) {
		once.Do(func() { fs = fzStart(t) })
		if fs == nil {
			t.Fatal("the fuzz server did not start")
		}
		// A hang of the harness itself is a failure too: crash with every
		// goroutine's stack, so that the fuzzer records the input.
		debug.SetTraceback("all")
		watchdog := time.AfterFunc(time.Minute, func() { panic("FuzzServer: one input ran for a minute") })
		defer watchdog.Stop()
		fs.run(t, data)
	})
}

// The server.

// fzServer is the server every input of a fuzz process talks to.
type fzServer struct {
	srv    *h2loop.Server
	addr   string
	logs   *fzLog
	victim *fzVictim // kept across inputs
	stall  fzStall
	inputs int
	g0     int // goroutines at rest
	fd0    int // open descriptors at rest
}

// fzBig is the body of /bytes/N and /stream (1 MiB, made by fzStart).
var fzBig []byte

// fzHandle serves the paths of fzPaths.
func fzHandle(ctx *h2loop.RequestCtx) {
	path := ctx.Path()
	switch {
	case path == "/" || path == "/inline":
		ctx.SetContentType("text/plain")
		ctx.WriteString("hello, world!\n")
	case path == "/echo" || ctx.Method() == "CONNECT":
		var buf [4096]byte
		for {
			n, err := ctx.Read(buf[:])
			if n > 0 {
				ctx.Write(buf[:n])
				if ctx.Flush() != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	case strings.HasPrefix(path, "/delay/"):
		ms, _ := strconv.Atoi(path[len("/delay/"):])
		t := time.NewTimer(time.Duration(min(ms, 2000)) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		ctx.WriteString("delayed\n")
	case path == "/panic":
		panic("FuzzServer: handler panic")
	case path == "/panic-late":
		ctx.WriteString("started")
		ctx.Flush()
		panic("FuzzServer: handler panic after the response started")
	case path == "/abort":
		panic(http.ErrAbortHandler)
	case path == "/body":
		b, err := ctx.Body()
		if err != nil {
			return
		}
		ctx.Write(ctx.FormatInt(int64(len(b))))
	case strings.HasPrefix(path, "/bytes/"):
		n, _ := strconv.Atoi(path[len("/bytes/"):])
		ctx.SetBodyStatic(fzBig[:max(0, min(n, len(fzBig)))])
	case path == "/trailers":
		ctx.Body()
		ctx.WriteString("body")
		ctx.SetTrailer("x-checksum", "42")
	case path == "/reset":
		ctx.WriteString("partial")
		ctx.Flush()
		ctx.Reset()
	case path == "/stream":
		for i := 0; i < 4; i++ {
			ctx.Write(fzBig[:5000])
			if ctx.Flush() != nil {
				return
			}
		}
	case path == "/badheader":
		ctx.SetHeader("connection", "close") // not allowed in HTTP/2: dropped
		ctx.SetHeader("x-ok", "1")
	case path == "/extras" && !ctx.IsPushed():
		// issue 13: 103, a push, ALTSVC, and a priority override
		ctx.SendEarlyHints("</bytes/100>; rel=preload; as=fetch")
		if ctx.PushAllowed() {
			ctx.Push("GET", "/bytes/100")
			ctx.Push("HEAD", "/extras")
		}
		ctx.SendAltSvc("clear")
		ctx.SetPriority(1, true)
		ctx.WriteString("extras")
	default:
		ctx.SetStatus(404)
	}
}

// fzLog counts the server's log lines and keeps the first panics.
type fzLog struct {
	mu     sync.Mutex
	lines  int
	panics []string
}

func (l *fzLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines++
	if bytes.Contains(p, []byte("h2loop: panic in")) && len(l.panics) < 4 {
		l.panics = append(l.panics, string(p[:min(len(p), 16<<10)]))
	}
	return len(p), nil
}

func (l *fzLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d log lines; server panics:\n%s", l.lines, strings.Join(l.panics, "\n"))
}

// fzStart starts the server with small limits, so that short inputs reach
// them, and measures goroutines and descriptors at rest.
func fzStart(t *testing.T) *fzServer {
	fzBig = bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	logs := new(fzLog)
	srv := &h2loop.Server{
		Handler:                   h2loop.HandlerFunc(fzHandle),
		EnablePush:                true,
		MaxConcurrentStreams:      16,
		InitialStreamWindow:       65535,
		InitialConnWindow:         128 << 10,
		MaxHeaderListSize:         8 << 10,
		MaxRequestBodySize:        32 << 10,
		MaxConnBodyBuffer:         128 << 10,
		MaxQueuedControlFrames:    64,
		MaxResetsPerSecond:        20,
		MaxUselessFrames:          64,
		MaxHeaderBlockFrames:      8,
		MaxRejectedHeaderSections: 4,
		BodyStreamThreshold:       1024,
		WriteChunk:                16 << 10,
		SettingsTimeout:           time.Second,
		HeaderTimeout:             time.Second,
		StreamIdleTimeout:         time.Second,
		IdleTimeout:               time.Minute,
		ReadTimeout:               time.Second,
		WriteTimeout:              time.Second,
		MaxWorkers:                64,
		QueueSize:                 32,
		EnableConnectProtocol:     true,
		InlineHandlerFunc:         func(ctx *h2loop.RequestCtx) bool { return ctx.Path() == "/inline" },
		ErrorLog:                  log.New(logs, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	fs := &fzServer{srv: srv, addr: ln.Addr().String(), logs: logs}
	go fs.stall.watch()
	for i := 0; i < 3; i++ { // warm up: pollers, workers, the victim
		fs.checkVictim(t, i == 0)
	}
	time.Sleep(50 * time.Millisecond)
	fs.g0, _ = liveGoroutines()
	fs.fd0 = fzFDs()
	return fs
}

func (fs *fzServer) close() {
	fs.stall.stop.Store(true)
	if fs.victim != nil {
		fs.victim.nc.Close()
	}
	fs.srv.Close()
}

// run plays one input and checks the server afterwards.
func (fs *fzServer) run(t *testing.T, data []byte) {
	p := fzCompile(data)
	fs.inputs++
	nc, err := net.DialTimeout("tcp", fs.addr, 10*time.Second)
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, fzStacks())
	}
	defer nc.Close()
	var chk *fzChecker
	if p.h2 {
		chk = newFzChecker(p.wire)
	}
	rd := fzRead(nc, chk)
	rng := rand.New(rand.NewPCG(p.seed, 0x9e3779b97f4a7c15))
	if err := fzWrite(nc, p, rng, rd); err != nil {
		t.Logf("write: %v", err) // the server may close first
	}
	if p.victim == fzVictimDuring {
		fs.checkVictim(t, false)
	}
	tc := nc.(*net.TCPConn)
	switch p.closing {
	case fzCloseQuiet:
		rd.waitQuiet(p.quiet)
	case fzCloseAbrupt:
		tc.SetLinger(0)
	case fzCloseHalf:
		tc.CloseWrite()
		extend := fs.stall.extender()
		for wait := true; wait; {
			select {
			case <-rd.done:
				wait = false
			case <-time.After(2 * time.Second):
				if !extend() {
					t.Fatalf("hang: the connection is still open 2s after the client's FIN (%d bytes read)\n%s\ninput:\n%s",
						rd.n.Load(), fzStacks(), fzDescribe(p.wire))
				}
			}
		}
	case fzCloseQuietAbrupt:
		rd.waitQuiet(p.quiet)
		tc.SetLinger(0)
	}
	nc.Close()
	<-rd.done
	if chk != nil {
		if chk.err != nil {
			t.Fatalf("server output: %v\nframes: %v\ninput:\n%s", chk.err, chk.summary, fzDescribe(p.wire))
		}
		t.Logf("server frames (type/stream/length/flags): %v", chk.summary)
	}
	if p.victim != fzVictimDuring {
		fs.checkVictim(t, p.victim == fzVictimFresh)
	}
	if n := fs.srv.Metrics().Panics.Load(); n != 0 {
		t.Fatalf("Stats.Panics = %d\n%s\ninput:\n%s", n, fs.logs, fzDescribe(p.wire))
	}
	if fs.inputs%100 == 0 {
		fs.checkGrowth(t.Fatalf, 64, 128)
	}
}

// checkVictim requires GET / to be answered within 1 s, on the victim
// connection kept across inputs or on a fresh one.
func (fs *fzServer) checkVictim(t *testing.T, fresh bool) {
	if fresh {
		v, err := fzDialVictim(fs.addr)
		if err == nil {
			err = v.get(fs.stall.extender())
			v.nc.Close()
		}
		if err != nil {
			t.Fatalf("victim on a fresh connection: %v\n%v\n%s", err, fs.srv.Metrics().Snapshot(), fzStacks())
		}
		return
	}
	if v := fs.victim; v != nil && time.Since(v.used) > 30*time.Second {
		// Idle for half the server's IdleTimeout (the fuzzer was busy
		// elsewhere): its GOAWAY would be no failure.
		v.nc.Close()
		fs.victim = nil
	}
	if fs.victim == nil {
		v, err := fzDialVictim(fs.addr)
		if err != nil {
			t.Fatalf("victim: %v", err)
		}
		fs.victim = v
	}
	if err := fs.victim.get(fs.stall.extender()); err != nil {
		fs.victim.nc.Close()
		fs.victim = nil
		t.Fatalf("victim on its long-lived connection: %v\n%v\n%s", err, fs.srv.Metrics().Snapshot(), fzStacks())
	}
}

// checkGrowth waits up to 5 s for goroutines and descriptors to come back
// within slackG and slackFD of their baseline (while fuzzing, lingering
// closes hold sockets for a second and handlers of the last inputs may
// still be finishing).
func (fs *fzServer) checkGrowth(fatalf func(string, ...any), slackG, slackFD int) (g, fd int) {
	deadline := time.Now().Add(5 * time.Second)
	extend := fs.stall.extender()
	for {
		var stacks string
		g, stacks = liveGoroutines()
		fd = fzFDs()
		if g <= fs.g0+slackG && fd <= fs.fd0+slackFD {
			return g, fd
		}
		if time.Now().After(deadline) && extend() {
			deadline = time.Now().Add(5 * time.Second)
		} else if time.Now().After(deadline) {
			fatalf("after %d inputs: %d goroutines (baseline %d), %d descriptors (baseline %d)\n%v\n%s",
				fs.inputs, g, fs.g0, fd, fs.fd0, fs.srv.Metrics().Snapshot(), stacks)
			return g, fd
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// fzFDs is the number of open descriptors (0 where /proc is missing).
func fzFDs() int {
	ents, _ := os.ReadDir("/proc/self/fd")
	return len(ents)
}

func fzStacks() string {
	_, s := liveGoroutines()
	if len(s) > 256<<10 {
		s = s[:256<<10] + "\n[truncated]"
	}
	return s
}

// The client side of one input.

// fzReader reads the server's output until the connection closes, feeding
// the checker.
type fzReader struct {
	last atomic.Int64 // unix nanoseconds of the last read
	n    atomic.Int64
	done chan struct{}
}

func fzRead(nc net.Conn, chk *fzChecker) *fzReader {
	rd := &fzReader{done: make(chan struct{})}
	rd.last.Store(time.Now().UnixNano())
	go func() {
		defer close(rd.done)
		buf := make([]byte, 32<<10)
		for {
			n, err := nc.Read(buf)
			if n > 0 {
				rd.last.Store(time.Now().UnixNano())
				rd.n.Add(int64(n))
				if chk != nil {
					chk.feed(buf[:n])
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return rd
}

// waitQuiet waits until nothing arrived for q (at most 300 ms), or the
// connection closed.
func (rd *fzReader) waitQuiet(q time.Duration) {
	start := time.Now()
	for {
		since := time.Unix(0, max(rd.last.Load(), start.UnixNano()))
		idle := time.Since(since)
		if idle >= q || time.Since(start) > 300*time.Millisecond {
			return
		}
		select {
		case <-rd.done:
			return
		case <-time.After(q - idle):
		}
	}
}

// fzWrite writes the input's bytes as its write mode says, pausing at its
// sync points until the server is quiet.
func fzWrite(nc net.Conn, p *fzProg, rng *rand.Rand, rd *fzReader) error {
	syncs := p.syncs
	sleeps := 0
	for off := 0; off < len(p.wire); {
		end := len(p.wire)
		if len(syncs) > 0 {
			if syncs[0].off <= off {
				rd.waitQuiet(syncs[0].wait)
				syncs = syncs[1:]
				continue
			}
			end = syncs[0].off
		}
		n := end - off
		switch p.writeMode {
		case fzWriteChunks, fzWriteChunksSleep:
			n = 1 + rng.IntN(n)
		case fzWriteDribble:
			if off < 4096 {
				n = min(n, 1+rng.IntN(16))
			}
		}
		nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if _, err := nc.Write(p.wire[off : off+n]); err != nil {
			return err
		}
		off += n
		if p.writeMode == fzWriteChunksSleep && sleeps < 16 {
			sleeps++
			time.Sleep(time.Duration(rng.IntN(1000)) * time.Microsecond)
		}
	}
	return nil
}

// fzVictim is a well-behaved client: GET / on a connection of its own.
type fzVictim struct {
	nc     net.Conn
	br     *bufio.Reader
	enc    *hpack.Encoder
	encBuf bytes.Buffer
	dec    *hpack.Decoder
	status string
	next   uint32
	used   time.Time
}

func fzDialVictim(addr string) (*fzVictim, error) {
	// Not within the second: a SYN that meets a TIME_WAIT socket of an
	// earlier connection on the same ports is retried after a second.
	nc, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	v := &fzVictim{nc: nc, br: bufio.NewReader(nc), next: 1, used: time.Now()}
	v.enc = hpack.NewEncoder(&v.encBuf)
	v.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) {
		if f.Name == ":status" {
			v.status = f.Value
		}
	})
	nc.SetWriteDeadline(time.Now().Add(10 * time.Second)) // the victim's writes never wait for the server
	if _, err := nc.Write(codec.AppendSettings([]byte(codec.ClientPreface))); err != nil {
		nc.Close()
		return nil, err
	}
	return v, nil
}

// get sends GET / and reads until its response is complete, answering
// SETTINGS and PING and returning connection window credit as it goes. It
// waits 1 s, longer only while extend allows.
func (v *fzVictim) get(extend func() bool) error {
	v.used = time.Now()
	deadline := v.used.Add(time.Second)
	id := v.next
	v.next += 2
	v.encBuf.Reset()
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":path", "/"}, {":authority", "localhost"}} {
		v.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	v.nc.SetWriteDeadline(time.Now().Add(10 * time.Second))
	v.nc.SetReadDeadline(deadline)
	if _, err := v.nc.Write(codec.AppendHeaders(nil, id, true, true, v.encBuf.Bytes())); err != nil {
		return err
	}
	var body []byte
	status := ""
	var hdr [codec.FrameHeaderLen]byte
	for {
		if err := v.readFull(hdr[:], extend); err != nil {
			return fmt.Errorf("stream %d: %w", id, err)
		}
		fh := codec.ParseFrameHeader(hdr[:])
		p := make([]byte, fh.Length)
		if err := v.readFull(p, extend); err != nil {
			return fmt.Errorf("stream %d: %w", id, err)
		}
		var out []byte
		end := false
		switch fh.Type {
		case codec.FrameSettings:
			if !fh.Flags.Has(codec.FlagAck) {
				out = codec.AppendSettingsAck(nil)
			}
		case codec.FramePing:
			if d, err := codec.ParsePing(fh, p); err == nil && !fh.Flags.Has(codec.FlagAck) {
				out = codec.AppendPing(nil, true, d)
			}
		case codec.FrameGoAway:
			ga, _ := codec.ParseGoAway(fh, p)
			return fmt.Errorf("stream %d: GOAWAY %v last stream %d %q", id, ga.Code, ga.LastStreamID, ga.DebugData)
		case codec.FrameRSTStream:
			code, _ := codec.ParseRSTStream(fh, p)
			return fmt.Errorf("stream %d: RST_STREAM %v on stream %d", id, code, fh.StreamID)
		case codec.FrameHeaders, codec.FrameContinuation:
			frag := p
			if fh.Type == codec.FrameHeaders {
				hf, err := codec.ParseHeaders(fh, p)
				if err != nil {
					return err
				}
				frag = hf.Fragment
			}
			if _, err := v.dec.Write(frag); err != nil {
				return fmt.Errorf("stream %d: response block: %w", id, err)
			}
			if fh.Flags.Has(codec.FlagEndHeaders) {
				if err := v.dec.Close(); err != nil {
					return fmt.Errorf("stream %d: response block: %w", id, err)
				}
				if fh.StreamID == id {
					status = v.status
				}
			}
			end = fh.Type == codec.FrameHeaders && fh.Flags.Has(codec.FlagEndStream) && fh.StreamID == id
		case codec.FrameData:
			df, err := codec.ParseData(fh, p)
			if err != nil {
				return err
			}
			if df.FlowLen > 0 {
				out = codec.AppendWindowUpdate(nil, 0, df.FlowLen)
			}
			if fh.StreamID == id {
				body = append(body, df.Data...)
				end = df.EndStream
			}
		}
		if out != nil {
			if _, err := v.nc.Write(out); err != nil {
				return err
			}
		}
		if end {
			if status != "200" || string(body) != "hello, world!\n" {
				return fmt.Errorf("stream %d: status %q body %q", id, status, body)
			}
			return nil
		}
	}
}

func (v *fzVictim) readFull(b []byte, extend func() bool) error {
	for n := 0; n < len(b); {
		m, err := v.br.Read(b[n:])
		n += m
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() && extend() {
				v.nc.SetReadDeadline(time.Now().Add(time.Second))
				continue
			}
			return err
		}
	}
	return nil
}

// fzStall notices when this process is not scheduled (other processes
// took the CPUs: fuzzing, benchmarks): a goroutine sleeps 5 ms at a time
// and records when it woke up much later. A deadline that passes in such
// a period is extended, so that a busy machine is not reported as a hang.
type fzStall struct {
	last atomic.Int64 // unix nanoseconds of the last stall seen
	stop atomic.Bool
}

func (s *fzStall) watch() {
	for !s.stop.Load() {
		t0 := time.Now()
		time.Sleep(5 * time.Millisecond)
		if time.Since(t0) > 50*time.Millisecond {
			s.last.Store(time.Now().UnixNano())
		}
	}
}

// extender returns a func that reports whether a deadline that has just
// passed may be extended: the process stalled since the wait (or its last
// extension) began, at most 10 times.
func (s *fzStall) extender() func() bool {
	since, n := time.Now(), 0
	return func() bool {
		stalled := s.last.Load() >= since.UnixNano()
		since = time.Now()
		if n++; !stalled || n > 10 {
			return false
		}
		return true
	}
}

// The checks on the server's output.

// fzTolerateIdleReset, while true, lets the server answer a request on a
// stream it reset before the client opened it: a PRIORITY frame that
// depends on itself, or is not 5 bytes long, on an idle stream is answered
// with RST_STREAM, but a HEADERS frame that follows on that stream still
// opens it and its response comes after the reset, which the client has
// taken as the stream's end (a known engine issue, reported to the lead;
// set to false once fixed).
const fzTolerateIdleReset = false

// fzChecker follows the server's output as a client would.
type fzChecker struct {
	// from the client's frames, all of them (what the server did not
	// process only loosens the bounds)
	connCredit   int64            // 65535 + connection WINDOW_UPDATE increments
	streamCredit map[uint32]int64 // stream WINDOW_UPDATE increments
	maxInitial   int64            // largest SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame     uint32           // largest SETTINGS_MAX_FRAME_SIZE
	tableSizes   [][]uint32       // SETTINGS_HEADER_TABLE_SIZE values of each SETTINGS frame, in order
	opened       map[uint32]bool  // streams the client sent HEADERS on, and the ones we promised
	idleReset    map[uint32]bool  // see fzTolerateIdleReset

	pend       []byte
	dec        *codec.HeaderDecoder
	blk        codec.HeaderBlock
	contID     uint32 // header block in progress
	contKind   codec.BlockKind
	contEnd    bool // its HEADERS had END_STREAM
	sentData   int64
	streamSent map[uint32]int64
	final      map[uint32]bool // final response HEADERS seen
	ended      map[uint32]bool // END_STREAM or RST_STREAM seen
	goAwayErr  bool
	goAwayLast uint32
	lastPush   uint32 // the last stream promised with PUSH_PROMISE
	err        error
	summary    []string // the first frames, for the log
}

func newFzChecker(wire []byte) *fzChecker {
	c := &fzChecker{
		connCredit:   codec.DefaultInitialWindowSize,
		streamCredit: map[uint32]int64{},
		maxInitial:   codec.DefaultInitialWindowSize,
		maxFrame:     codec.DefaultMaxFrameSize,
		opened:       map[uint32]bool{},
		idleReset:    map[uint32]bool{},
		dec:          codec.NewHeaderDecoder(codec.DefaultHeaderTableSize, 1<<24),
		streamSent:   map[uint32]int64{},
		final:        map[uint32]bool{},
		ended:        map[uint32]bool{},
		goAwayLast:   codec.MaxStreamID,
	}
	b := wire[len(codec.ClientPreface):]
	for len(b) >= codec.FrameHeaderLen {
		fh := codec.ParseFrameHeader(b)
		end := codec.FrameHeaderLen + int(fh.Length)
		if end > len(b) {
			break
		}
		p := b[codec.FrameHeaderLen:end]
		b = b[end:]
		switch fh.Type {
		case codec.FrameHeaders:
			c.opened[fh.StreamID] = true
		case codec.FramePriority:
			if pp, err := codec.ParsePriority(fh, p); fzTolerateIdleReset && !c.opened[fh.StreamID] && (err != nil || pp.StreamDep == fh.StreamID) {
				c.idleReset[fh.StreamID] = true
			}
		case codec.FrameWindowUpdate:
			if incr, err := codec.ParseWindowUpdate(fh, p); err == nil {
				if fh.StreamID == 0 {
					c.connCredit += int64(incr)
				} else {
					c.streamCredit[fh.StreamID] += int64(incr)
				}
			}
		case codec.FrameSettings:
			sf, err := codec.ParseSettings(fh, p)
			if err != nil || sf.Ack {
				continue
			}
			var sizes []uint32
			for i := 0; i < sf.Len(); i++ {
				switch s := sf.At(i); s.ID {
				case codec.SettingInitialWindowSize:
					c.maxInitial = max(c.maxInitial, int64(s.Value))
				case codec.SettingMaxFrameSize:
					c.maxFrame = max(c.maxFrame, s.Value)
				case codec.SettingHeaderTableSize:
					sizes = append(sizes, s.Value)
				}
			}
			c.tableSizes = append(c.tableSizes, sizes)
		}
	}
	return c
}

func (c *fzChecker) fail(format string, args ...any) {
	if c.err == nil {
		c.err = fmt.Errorf(format, args...)
	}
}

func (c *fzChecker) feed(b []byte) {
	if c.err != nil {
		return
	}
	c.pend = append(c.pend, b...)
	for c.err == nil && len(c.pend) >= codec.FrameHeaderLen {
		fh := codec.ParseFrameHeader(c.pend)
		if fh.Length > c.maxFrame {
			c.fail("%v frame of %d bytes, the client allows %d", fh.Type, fh.Length, c.maxFrame)
			return
		}
		end := codec.FrameHeaderLen + int(fh.Length)
		if end > len(c.pend) {
			break
		}
		c.frame(fh, c.pend[codec.FrameHeaderLen:end])
		c.pend = c.pend[end:]
	}
	c.pend = append(c.pend[:0], c.pend...)
}

// frame checks one frame of the server (after the engine harness's
// checkFrames, engine/fuzz_test.go).
func (c *fzChecker) frame(fh codec.FrameHeader, p []byte) {
	if len(c.summary) < 40 {
		c.summary = append(c.summary, fmt.Sprintf("%v/%d/%d/0x%x", fh.Type, fh.StreamID, fh.Length, uint8(fh.Flags)))
		if ga, err := codec.ParseGoAway(fh, p); fh.Type == codec.FrameGoAway && err == nil {
			c.summary = append(c.summary, fmt.Sprintf("(%v %q)", ga.Code, ga.DebugData))
		}
	}
	if c.goAwayErr {
		c.fail("%v after a GOAWAY with an error", fh.Type)
		return
	}
	if c.contID != 0 && (fh.Type != codec.FrameContinuation || fh.StreamID != c.contID) {
		c.fail("%v on stream %d inside the header block of stream %d", fh.Type, fh.StreamID, c.contID)
		return
	}
	id := fh.StreamID
	onStream := func() {
		switch {
		case id == 0:
			c.fail("%v on stream %d", fh.Type, id)
		case !c.opened[id]:
			c.fail("%v on stream %d, which neither the client opened nor we promised", fh.Type, id)
		case c.ended[id]:
			c.fail("%v on stream %d after it ended", fh.Type, id)
		case id%2 == 1 && id > c.goAwayLast && !c.final[id]:
			c.fail("%v on stream %d above the GOAWAY's last stream %d", fh.Type, id, c.goAwayLast)
		}
	}
	var err error
	switch fh.Type {
	case codec.FrameData:
		onStream()
		var df codec.DataFrame
		if df, err = codec.ParseData(fh, p); err == nil {
			if !c.final[id] {
				c.fail("DATA on stream %d before its response HEADERS", id)
			}
			c.sentData += int64(df.FlowLen)
			c.streamSent[id] += int64(df.FlowLen)
			if c.sentData > c.connCredit {
				c.fail("%d DATA bytes sent, the connection window allows %d", c.sentData, c.connCredit)
			}
			if got, allowed := c.streamSent[id], c.maxInitial+c.streamCredit[id]; got > allowed {
				c.fail("stream %d: %d DATA bytes sent, its window allows at most %d", id, got, allowed)
			}
			if df.EndStream {
				c.ended[id] = true
			}
		}
	case codec.FrameHeaders:
		onStream()
		var hf codec.HeadersFrame
		if hf, err = codec.ParseHeaders(fh, p); err == nil {
			c.contKind = codec.BlockResponse
			if c.final[id] {
				c.contKind = codec.BlockTrailers
				if !hf.EndStream {
					c.fail("trailers without END_STREAM on stream %d", id)
				}
			}
			c.dec.Begin(id, c.contKind, &c.blk)
			if werr := c.dec.Write(hf.Fragment); werr != nil {
				c.fail("stream %d: response block does not decode: %v", id, werr)
			}
			c.contEnd = hf.EndStream
			if hf.EndStream {
				c.ended[id] = true
			}
			if hf.EndHeaders {
				c.endBlock(id)
			} else {
				c.contID = id
			}
		}
	case codec.FramePushPromise:
		onStream()
		var pp codec.PushPromiseFrame
		if pp, err = codec.ParsePushPromise(fh, p); err == nil {
			pid := pp.PromisedStreamID
			if id%2 == 0 || pid%2 != 0 || pid <= c.lastPush {
				c.fail("PUSH_PROMISE on stream %d promises %d after %d", id, pid, c.lastPush)
			}
			c.lastPush = pid
			c.opened[pid] = true
			c.contKind = codec.BlockRequest
			c.dec.Begin(id, c.contKind, &c.blk)
			if werr := c.dec.Write(pp.Fragment); werr != nil {
				c.fail("stream %d: promised request block does not decode: %v", id, werr)
			}
			c.contEnd = false
			if pp.EndHeaders {
				c.endBlock(id)
			} else {
				c.contID = id
			}
		}
	case codec.FrameAltSvc:
		var a codec.AltSvcFrame
		if a, err = codec.ParseAltSvc(fh, p); err == nil && !a.Valid() {
			c.fail("invalid ALTSVC on stream %d (origin %q)", id, a.Origin)
		}
	case codec.FrameContinuation:
		if c.contID == 0 {
			c.fail("CONTINUATION without a header block")
			return
		}
		var frag []byte
		if frag, err = codec.ParseContinuation(fh, p); err == nil {
			if werr := c.dec.Write(frag); werr != nil {
				c.fail("stream %d: response block does not decode: %v", id, werr)
			}
			if fh.Flags.Has(codec.FlagEndHeaders) {
				c.contID = 0
				c.endBlock(id)
			}
		}
	case codec.FrameRSTStream:
		if id == 0 {
			c.fail("RST_STREAM on stream 0")
		}
		_, err = codec.ParseRSTStream(fh, p)
		if c.idleReset[id] {
			delete(c.idleReset, id)
		} else {
			c.ended[id] = true
		}
	case codec.FrameSettings:
		var sf codec.SettingsFrame
		if sf, err = codec.ParseSettings(fh, p); err == nil && sf.Ack {
			if len(c.tableSizes) == 0 {
				c.fail("SETTINGS ACK for no SETTINGS")
				return
			}
			for _, v := range c.tableSizes[0] {
				c.dec.SetMaxDynamicTableSize(v)
			}
			c.tableSizes = c.tableSizes[1:]
		}
	case codec.FramePing:
		if id != 0 {
			c.fail("PING on stream %d", id)
		}
		_, err = codec.ParsePing(fh, p)
	case codec.FrameWindowUpdate:
		_, err = codec.ParseWindowUpdate(fh, p)
	case codec.FrameGoAway:
		var ga codec.GoAwayFrame
		if ga, err = codec.ParseGoAway(fh, p); err == nil {
			if ga.LastStreamID > c.goAwayLast {
				c.fail("GOAWAY last stream %d after %d", ga.LastStreamID, c.goAwayLast)
			}
			c.goAwayLast = ga.LastStreamID
			c.goAwayErr = ga.Code != codec.ErrCodeNo
		}
	default:
		c.fail("server sent a %v frame (type %d)", fh.Type, fh.Type)
	}
	if err != nil {
		c.fail("server sent a malformed %v frame: %v", fh.Type, err)
	}
}

func (c *fzChecker) endBlock(id uint32) {
	if err := c.dec.End(); err != nil {
		c.fail("stream %d: invalid response %v block: %v", id, c.contKind, err)
		return
	}
	if c.contKind == codec.BlockRequest {
		if m := c.blk.Method; m != "GET" && m != "HEAD" || c.blk.Authority == "" || c.blk.Path == "" {
			c.fail("stream %d: promised request %s %s %s", id, m, c.blk.Authority, c.blk.Path)
		}
		return
	}
	if c.contKind != codec.BlockResponse {
		return
	}
	switch s := c.blk.Status; {
	case s >= 100 && s < 200:
		if c.contEnd {
			c.fail("stream %d: interim response %d with END_STREAM", id, s)
		}
	case s >= 200 && s <= 599:
		c.final[id] = true
	default:
		c.fail("stream %d: status %d", id, s)
	}
}

// The input format.

// fzProg is an input compiled to the bytes a client writes. The input is
// read byte by byte (zeros after its end): three header bytes, then
// operations, each an op byte and its arguments (see fzProg.op).
type fzProg struct {
	in     []byte
	wire   []byte
	spans  [][2]int // [start, end) in wire of each frame an op made
	syncs  []fzSync
	next   uint32 // the next new stream id
	last   uint32 // the last new stream id
	h2     bool   // the preface is intact: the output is HTTP/2
	seed   uint64
	quiet  time.Duration
	victim int
	// how the input is written and the connection closed
	writeMode, closing int
}

type fzSync struct {
	off  int
	wait time.Duration
}

// Header byte 0: bits 0-2 the preface (7: one byte of it corrupted, 6:
// no SETTINGS after it, else the SETTINGS variant of bits 3-4). Header
// byte 1: bits 0-1 the write mode, 2-3 the close, 4-5 the victim, 6-7 the
// quiet time (2, 5, 10, 25 ms). Header byte 2: with byte 0, the seed of
// the write chunks; the corrupted preface byte.
const (
	fzWriteOnce = iota
	fzWriteChunks
	fzWriteDribble
	fzWriteChunksSleep
)

const (
	fzCloseQuiet       = iota // wait until the server is quiet, then FIN
	fzCloseAbrupt             // RST at once
	fzCloseHalf               // FIN at once, then read until the server closes
	fzCloseQuietAbrupt        // wait until the server is quiet, then RST
)

const (
	fzVictimAfter  = iota // the long-lived victim, after the close
	fzVictimAfter2        // (the same)
	fzVictimDuring        // the long-lived victim, before the close
	fzVictimFresh         // a fresh victim connection, after the close
)

// Operations (op byte % 16).
const (
	fzOpHeaders = iota // idSel flags tmpl path style n (field repr)*n [pad] [depSel weight] [cut]*splits
	fzOpHeaders2
	fzOpData         // idSel flags sizeSel fill [pad]
	fzOpPriority     // idSel depSel weight lenSel
	fzOpRST          // idSel code lenSel
	fzOpSettings     // flags (id valSel [u32])*n
	fzOpPing         // flags data*8
	fzOpGoAway       // lastSel code debugLen
	fzOpWindowUpdate // idSel incSel [u32]
	fzOpContinuation // idSel flags n (field repr)*n
	fzOpPushPromise  // idSel flags
	fzOpUnknown      // type flags idSel len
	fzOpRaw          // n byte*n
	fzOpMutate       // kind arg... (the last frame)
	fzOpRepeat       // k n1 n2 (the last 1+k%3 frames, k&0x80: new stream ids)
	fzOpSync         // ms (pause until the server is quiet)
)

// Stream id selectors (idSel % 16).
const (
	fzNew  = 0 // 0-5: a new stream
	fzLast = 6 // 6-8: the last new stream
)

// HEADERS templates (tmpl % 8).
const (
	fzGET       = iota // :method GET, :scheme http, :path, :authority
	fzPOST             // :method POST, ...
	fzBadOrder         // a regular field before the pseudo-header fields
	fzTrailers         // no pseudo-header fields
	fzConnectWS        // extended CONNECT (RFC 8441)
	fzConnect          // plain CONNECT
	fzHEAD             // :method HEAD
	fzNone             // only the extra fields
)

// HEADERS and DATA flag bits of the op (not the frame's).
const (
	fzEndStream = 0x01
	fzNoEnd     = 0x02 // leave END_HEADERS off
	fzPadded    = 0x04
	fzPriority  = 0x08
	// bits 4-5: CONTINUATION cuts
	fzStrayFlags = 0x40 // undefined flag bits set
	fzOversize   = 0x80 // do not split fragments at 16384
)

const fzMaxWire = 256 << 10

var fzPaths = []string{"/", "/echo", "/delay/5", "/delay/200", "/panic", "/panic-late", "/abort",
	"/body", "/bytes/100", "/bytes/70000", "/trailers", "/reset", "/inline", "/stream", "/badheader",
	"/extras", "", "*", "noslash", "/a?b=c", "/%zz"}

var fzFields = [][2]string{
	{":method", "GET"}, {":method", "POST"}, {":method", "CONNECT"}, {":method", "get"},
	{":scheme", "http"}, {":scheme", "https"}, {":scheme", ""}, {":path", "/"}, {":path", ""},
	{":authority", "localhost"}, {":authority", ""}, {":protocol", "websocket"}, {":status", "200"}, {":bogus", "x"},
	{"content-length", "0"}, {"content-length", "5"}, {"content-length", "100000"}, {"content-length", "-1"},
	{"content-length", "1,1"}, {"content-length", "99999999999999999999"},
	{"te", "trailers"}, {"te", "gzip"}, {"connection", "close"}, {"keep-alive", "1"}, {"proxy-connection", "x"},
	{"upgrade", "h2c"}, {"transfer-encoding", "chunked"}, {"host", "localhost"}, {"host", "elsewhere"},
	{"cookie", "a=1"}, {"cookie", "b=2"}, {"expect", "100-continue"}, {"x-a", "1"}, {"X-Upper", "v"},
	{"x-nul", "a\x00b"}, {"x-crlf", "a\r\nb"}, {"x-sp", " v "}, {"", "e"}, {"x-colon:", "v"}, {"x-del", "\x7f"},
	{"x-utf8", "h\xc3\xa9"}, {"content-type", "application/grpc"}, {"grpc-timeout", "1S"},
	{"accept-encoding", "gzip, deflate"}, {"user-agent", "fuzz"},
	{"x-big", strings.Repeat("v", 5000)}, {"x-huge", strings.Repeat("w", 70000)},
}

// fzStatic is the HPACK static table (RFC 7541 Appendix A): names, and the
// values of the entries that have one.
var fzStatic = strings.Split(":authority :method :method :path :path :scheme :scheme :status :status :status "+
	":status :status :status :status accept-charset accept-encoding accept-language accept-ranges accept "+
	"access-control-allow-origin age allow authorization cache-control content-disposition content-encoding "+
	"content-language content-length content-location content-range content-type cookie date etag expect "+
	"expires from host if-match if-modified-since if-none-match if-range if-unmodified-since last-modified "+
	"link location max-forwards proxy-authenticate proxy-authorization range referer refresh retry-after "+
	"server set-cookie strict-transport-security transfer-encoding user-agent vary via www-authenticate", " ")

var fzStaticValues = map[int]string{2: "GET", 3: "POST", 4: "/", 5: "/index.html", 6: "http", 7: "https",
	8: "200", 9: "204", 10: "206", 11: "304", 12: "400", 13: "404", 14: "500", 16: "gzip, deflate"}

func fzStaticIndex(name, value string) (nameIdx, exact int) {
	for i, n := range fzStatic {
		if n != name {
			continue
		}
		if nameIdx == 0 {
			nameIdx = i + 1
		}
		if v, ok := fzStaticValues[i+1]; ok && v == value {
			return nameIdx, i + 1
		}
	}
	return nameIdx, 0
}

func fzVarInt(dst []byte, flags byte, bits uint, v uint64) []byte {
	limit := uint64(1)<<bits - 1
	if v < limit {
		return append(dst, flags|byte(v))
	}
	dst = append(dst, flags|byte(limit))
	for v -= limit; v >= 128; v >>= 7 {
		dst = append(dst, byte(v)|0x80)
	}
	return append(dst, byte(v))
}

func fzString(dst []byte, s string, huff bool) []byte {
	if huff {
		return hpack.AppendHuffmanString(fzVarInt(dst, 0x80, 7, hpack.HuffmanEncodeLength(s)), s)
	}
	return append(fzVarInt(dst, 0, 7, uint64(len(s))), s...)
}

// fzField appends one HPACK field representation (RFC 7541 §6) chosen by
// repr: bits 0-2 the kind, bits 3-5 its argument, bit 7 Huffman coding.
func fzField(dst []byte, name, value string, repr byte) []byte {
	huff := repr&0x80 != 0
	arg := int(repr>>3) & 7
	nameIdx, exact := fzStaticIndex(name, value)
	literal := func(first byte, bits uint) []byte {
		if nameIdx > 0 && arg&1 != 0 {
			dst = fzVarInt(dst, first, bits, uint64(nameIdx))
		} else {
			dst = fzString(append(dst, first), name, huff)
		}
		return fzString(dst, value, huff)
	}
	switch repr % 8 {
	case 0, 7: // literal with incremental indexing
		return literal(0x40, 6)
	case 1: // literal without indexing
		return literal(0x00, 4)
	case 2: // literal never indexed
		return literal(0x10, 4)
	case 3: // the static entry when there is one
		if exact > 0 {
			return fzVarInt(dst, 0x80, 7, uint64(exact))
		}
		arg |= 1
		return literal(0x40, 6)
	case 4: // a dynamic table entry, maybe beyond the table
		return fzVarInt(dst, 0x80, 7, uint64(62+arg))
	case 5: // a dynamic table size update, valid only at the block's start
		return fzVarInt(dst, 0x20, 5, []uint64{0, 64, 4096, 8192, 1 << 20, 4096, 100, 1 << 32}[arg])
	default: // index 0, invalid
		return append(dst, 0x80)
	}
}

func fzCompile(data []byte) *fzProg {
	p := &fzProg{in: data, next: 1, h2: true}
	h0, h1, h2 := p.b(), p.b(), p.b()
	p.writeMode, p.closing, p.victim = int(h1&3), int(h1>>2&3), int(h1>>4&3)
	p.quiet = []time.Duration{2, 5, 10, 25}[h1>>6] * time.Millisecond
	p.seed = uint64(h0)<<8 | uint64(h2)
	p.wire = append(p.wire, codec.ClientPreface...)
	switch h0 & 7 {
	case 7: // a corrupted preface: HTTP/1.1 or a closed connection
		p.wire[int(h2)%len(p.wire)] ^= 1 | h0>>3
		p.h2 = false
	case 6: // no SETTINGS: it must come first
	default:
		settings := [][]codec.Setting{nil,
			{{ID: codec.SettingInitialWindowSize, Value: 100}},
			{{ID: codec.SettingHeaderTableSize, Value: 0}, {ID: codec.SettingMaxFrameSize, Value: 1 << 20}},
			{{ID: codec.SettingInitialWindowSize, Value: 0}, {ID: codec.SettingEnablePush, Value: 0}},
		}[h0>>3&3]
		p.wire = codec.AppendSettings(p.wire, settings...)
	}
	for ops := 0; len(p.in) > 0 && ops < 512 && len(p.wire) < fzMaxWire; ops++ {
		p.op()
	}
	return p
}

func (p *fzProg) b() byte {
	if len(p.in) == 0 {
		return 0
	}
	c := p.in[0]
	p.in = p.in[1:]
	return c
}

func (p *fzProg) u32() uint32 {
	return uint32(p.b())<<24 | uint32(p.b())<<16 | uint32(p.b())<<8 | uint32(p.b())
}

// frame appends a frame; the stream id is written raw (reserved bit too).
func (p *fzProg) frame(typ codec.FrameType, flags codec.Flags, id uint32, payload ...[]byte) {
	n := 0
	for _, b := range payload {
		n += len(b)
	}
	start := len(p.wire)
	p.wire = append(p.wire, byte(n>>16), byte(n>>8), byte(n), byte(typ), byte(flags),
		byte(id>>24), byte(id>>16), byte(id>>8), byte(id))
	for _, b := range payload {
		p.wire = append(p.wire, b...)
	}
	p.spans = append(p.spans, [2]int{start, len(p.wire)})
}

func (p *fzProg) newID() uint32 {
	id := p.next
	p.last = id
	if p.next += 2; p.next > codec.MaxStreamID {
		p.next = 1
	}
	return id
}

func (p *fzProg) streamID(sel byte) uint32 {
	switch sel % 16 {
	case 0, 1, 2, 3, 4, 5:
		return p.newID()
	case 6, 7, 8:
		return max(p.last, 1)
	case 9:
		return max(p.last, 3) - 2
	case 10:
		return 0
	case 11:
		return p.last + 1 // even
	case 12:
		return codec.MaxStreamID
	case 13:
		return p.next + 2 // idle
	case 14:
		return max(p.last, 1) | 1<<31 // the reserved bit
	default:
		return p.u32()
	}
}

// priority returns a 5-byte priority field: dependency, weight.
func (p *fzProg) priority(id uint32) []byte {
	sel, w := p.b(), p.b()
	dep := []uint32{0, p.last, id, uint32(sel>>2) | 1}[sel&3] // id: depends on itself
	if sel&0x80 != 0 {
		dep |= 1 << 31 // exclusive
	}
	return []byte{byte(dep >> 24), byte(dep >> 16), byte(dep >> 8), byte(dep), w}
}

func (p *fzProg) extras(blk []byte, n int) []byte {
	for i := 0; i < n; i++ {
		f := fzFields[int(p.b())%len(fzFields)]
		blk = fzField(blk, f[0], f[1], p.b())
	}
	return blk
}

func fzTemplate(blk []byte, tmpl byte, path string, style byte) []byte {
	var kv []string
	switch tmpl % 8 {
	case fzGET, fzBadOrder:
		kv = []string{":method", "GET", ":scheme", "http", ":path", path, ":authority", "localhost"}
		if tmpl%8 == fzBadOrder {
			kv = append([]string{"x-a", "1"}, kv...)
		}
	case fzPOST:
		kv = []string{":method", "POST", ":scheme", "http", ":path", path, ":authority", "localhost"}
	case fzConnectWS:
		kv = []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", path, ":authority", "localhost"}
	case fzConnect:
		kv = []string{":method", "CONNECT", ":authority", "localhost:80"}
	case fzHEAD:
		kv = []string{":method", "HEAD", ":scheme", "http", ":path", path, ":authority", "localhost"}
	}
	for i := 0; i < len(kv); i += 2 {
		blk = fzField(blk, kv[i], kv[i+1], style)
	}
	return blk
}

// headerBlock frames blk as typ (HEADERS or PUSH_PROMISE, whose fixed
// fields are prefix) and CONTINUATION frames, as the op's flags say.
func (p *fzProg) headerBlock(typ codec.FrameType, id uint32, flags byte, prefix, blk []byte) {
	var ff codec.Flags
	var pad []byte
	if flags&fzEndStream != 0 && typ == codec.FrameHeaders {
		ff |= codec.FlagEndStream
	}
	if flags&fzPadded != 0 {
		ff |= codec.FlagPadded
		pad = make([]byte, p.b())
		prefix = append([]byte{byte(len(pad))}, prefix...)
	}
	if flags&fzPriority != 0 && typ == codec.FrameHeaders {
		ff |= codec.FlagPriority
		prefix = append(prefix, p.priority(id)...)
	}
	if flags&fzStrayFlags != 0 {
		ff |= 0x02 | 0x10 | 0x40 | 0x80
	}
	var frags [][]byte
	rest := blk
	for i := int(flags>>4) & 3; i > 0; i-- {
		cut := len(rest) * int(p.b()) / 256
		frags = append(frags, rest[:cut])
		rest = rest[cut:]
	}
	frags = append(frags, rest)
	if flags&fzOversize == 0 {
		var split [][]byte
		for _, f := range frags {
			for len(f) > codec.DefaultMaxFrameSize-300 {
				split = append(split, f[:codec.DefaultMaxFrameSize-300])
				f = f[codec.DefaultMaxFrameSize-300:]
			}
			split = append(split, f)
		}
		frags = split
	}
	for i, f := range frags {
		fl := ff
		if i == len(frags)-1 && flags&fzNoEnd == 0 {
			fl |= codec.FlagEndHeaders
		}
		if i == 0 {
			p.frame(typ, fl, id, prefix, f, pad)
		} else {
			p.frame(codec.FrameContinuation, fl&^(codec.FlagEndStream|codec.FlagPadded|codec.FlagPriority), id, f)
		}
	}
}

func (p *fzProg) op() {
	switch p.b() % 16 {
	case fzOpHeaders, fzOpHeaders2:
		id, flags, tmpl, path, style := p.streamID(p.b()), p.b(), p.b(), fzPaths[int(p.b())%len(fzPaths)], p.b()
		blk := p.extras(fzTemplate(nil, tmpl, path, style), int(p.b()%6))
		p.headerBlock(codec.FrameHeaders, id, flags, nil, blk)
	case fzOpData:
		id, flags, size, fill := p.streamID(p.b()), p.b(), p.b(), p.b()
		n := []int{0, 1, 5, 14, 100, 1000, 4096, 16384, 16385, 65535, int(fill) * 37}[int(size)%11]
		var ff codec.Flags
		if flags&fzEndStream != 0 {
			ff |= codec.FlagEndStream
		}
		if flags&fzStrayFlags != 0 {
			ff |= 0x02 | 0x04 | 0x20 | 0x80
		}
		data := bytes.Repeat([]byte{'a' + fill%26}, n)
		if flags&fzPadded != 0 {
			pad := p.b()
			p.frame(codec.FrameData, ff|codec.FlagPadded, id, []byte{pad}, data, make([]byte, pad))
		} else {
			p.frame(codec.FrameData, ff, id, data)
		}
	case fzOpPriority:
		id := p.streamID(p.b())
		pr := p.priority(id)
		if p.b()%8 == 7 {
			pr = pr[:4]
		}
		p.frame(codec.FramePriority, 0, id, pr)
	case fzOpRST:
		id, code, l := p.streamID(p.b()), p.b()%16, p.b()
		pl := []byte{0, 0, 0, code}
		if l%8 == 7 {
			pl = append(pl, 0)
		}
		p.frame(codec.FrameRSTStream, 0, id, pl)
	case fzOpSettings:
		flags := p.b()
		var pl []byte
		for i := int(flags>>1) % 7; i > 0; i-- {
			ids := []uint16{1, 2, 3, 4, 5, 6, 8, 7, 9, 0, 0xffff}
			id, sel := ids[int(p.b())%len(ids)], int(p.b())%16
			vals := []uint32{0, 1, 2, 100, 4096, 16383, 16384, 65535, 65536, 1 << 20, 1<<24 - 1, 1 << 24,
				1<<31 - 1, 1 << 31, 0xffffffff}
			var v uint32
			if sel < len(vals) {
				v = vals[sel]
			} else {
				v = p.u32()
			}
			pl = append(pl, byte(id>>8), byte(id), byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
		}
		var ff codec.Flags
		if flags&1 != 0 {
			ff = codec.FlagAck
			if flags&0x10 == 0 {
				pl = nil
			}
		}
		p.frame(codec.FrameSettings, ff, uint32(flags>>7), pl)
	case fzOpPing:
		flags := p.b()
		var d [8]byte
		for i := range d {
			d[i] = p.b()
		}
		pl := d[:]
		if flags&0x40 != 0 {
			pl = pl[:7]
		}
		p.frame(codec.FramePing, codec.Flags(flags&1), uint32(flags>>7), pl)
	case fzOpGoAway:
		sel, code, dl := p.b(), p.b(), p.b()
		last := []uint32{0, p.last, codec.MaxStreamID, p.next}[sel%4]
		pl := []byte{byte(last >> 24), byte(last >> 16), byte(last >> 8), byte(last), 0, 0, 0, code % 16}
		p.frame(codec.FrameGoAway, 0, uint32(dl>>7), pl, bytes.Repeat([]byte("d"), int(dl%32)))
	case fzOpWindowUpdate:
		id, sel := p.streamID(p.b()), p.b()
		incs := []uint32{0, 1, 14, 100, 16384, 65535, 65536, 1 << 20, 1 << 30, 1<<31 - 1, 1<<31 | 1}
		var v uint32
		if i := int(sel&0x7f) % 12; i < len(incs) {
			v = incs[i]
		} else {
			v = p.u32()
		}
		pl := []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
		if sel&0x80 != 0 {
			pl = pl[:3]
		}
		p.frame(codec.FrameWindowUpdate, 0, id, pl)
	case fzOpContinuation:
		id, flags := p.streamID(p.b()), p.b()
		p.frame(codec.FrameContinuation, codec.Flags(flags), id, p.extras(nil, int(p.b()%4)))
	case fzOpPushPromise:
		id, flags := p.streamID(p.b()), p.b()
		promised := p.next + 1
		p.headerBlock(codec.FramePushPromise, id, flags&^(fzPriority|fzEndStream),
			[]byte{byte(promised >> 24), byte(promised >> 16), byte(promised >> 8), byte(promised)},
			fzTemplate(nil, fzGET, "/", 3))
	case fzOpUnknown:
		typ, flags, id, n := 10+p.b()%246, p.b(), p.streamID(p.b()), p.b()
		p.frame(codec.FrameType(typ), codec.Flags(flags), id, bytes.Repeat([]byte("u"), int(n%64)))
	case fzOpRaw:
		for n := p.b() % 64; n > 0; n-- {
			p.wire = append(p.wire, p.b())
		}
	case fzOpMutate:
		p.mutate()
	case fzOpRepeat:
		p.repeat()
	case fzOpSync:
		if ms := p.b(); len(p.syncs) < 8 {
			p.syncs = append(p.syncs, fzSync{off: len(p.wire), wait: time.Duration(1+ms%20) * time.Millisecond})
		}
	}
}

// mutate changes the header of the last frame an op made: its length, flags,
// type or stream id, or cuts its payload short.
func (p *fzProg) mutate() {
	kind, arg := p.b(), p.b()
	if len(p.spans) == 0 {
		return
	}
	sp := &p.spans[len(p.spans)-1]
	h := p.wire[sp[0] : sp[0]+codec.FrameHeaderLen]
	n := sp[1] - sp[0] - codec.FrameHeaderLen
	switch kind % 6 {
	case 0:
		l := []int{0, n - 1, n + 1, codec.DefaultMaxFrameSize + 1, 1<<24 - 1, int(arg) << 8, int(arg)}[int(arg)%7]
		l = max(l, 0)
		h[0], h[1], h[2] = byte(l>>16), byte(l>>8), byte(l)
	case 1:
		h[4] ^= arg
	case 2:
		h[3] = arg
	case 3:
		id := p.streamID(arg)
		h[5], h[6], h[7], h[8] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
	case 4:
		h[5] |= 0x80
	case 5: // only when it is the last thing written: nothing follows to shift
		if sp[1] == len(p.wire) && n > 0 {
			cut := int(arg)%n + 1
			p.wire = p.wire[:len(p.wire)-cut]
			sp[1] -= cut
		}
	}
}

// repeat appends copies of the last frames an op made (floods, rapid
// resets); with new stream ids when asked.
func (p *fzProg) repeat() {
	k, n1, n2 := p.b(), p.b(), p.b()
	group := min(1+int(k&0x7f)%3, len(p.spans))
	if group == 0 {
		return
	}
	spans := p.spans[len(p.spans)-group:]
	count := 1 + int(n1%64)*(1+int(n2%16))
	for i := 0; i < count && len(p.wire) < fzMaxWire; i++ {
		id := p.newID()
		for _, sp := range spans {
			start := len(p.wire)
			p.wire = append(p.wire, p.wire[sp[0]:sp[1]]...)
			if h := p.wire[start:]; k&0x80 != 0 && (h[5]|h[6]|h[7]|h[8]) != 0 {
				h[5], h[6], h[7], h[8] = byte(id>>24), byte(id>>16), byte(id>>8), byte(id)
			}
		}
	}
}

// fzDescribe lists the frames of an input for a failure report.
func fzDescribe(wire []byte) string {
	var sb strings.Builder
	if !bytes.HasPrefix(wire, []byte(codec.ClientPreface)) {
		fmt.Fprintf(&sb, "corrupted preface %q\n", wire[:min(len(wire), 64)])
		return sb.String()
	}
	b := wire[len(codec.ClientPreface):]
	for i := 0; len(b) >= codec.FrameHeaderLen; i++ {
		fh := codec.ParseFrameHeader(b)
		end := min(len(b), codec.FrameHeaderLen+int(fh.Length))
		if i < 100 {
			p := b[codec.FrameHeaderLen:end]
			fmt.Fprintf(&sb, "  %v(%d) flags 0x%02x stream %d len %d: %x\n", fh.Type, uint8(fh.Type), uint8(fh.Flags),
				fh.StreamID, fh.Length, p[:min(len(p), 48)])
		} else if i == 100 {
			sb.WriteString("  ...\n")
		}
		b = b[end:]
	}
	if len(b) > 0 {
		fmt.Fprintf(&sb, "  %d trailing bytes %x\n", len(b), b)
	}
	return sb.String()
}

// Seeds.

func fzPathIndex(path string) byte {
	for i, p := range fzPaths {
		if p == path {
			return byte(i)
		}
	}
	panic("no path " + path)
}

// fzF is an extra field: its vocabulary index and representation.
func fzF(name, value string, repr byte) []byte {
	for i, f := range fzFields {
		if f[0] == name && f[1] == value {
			return []byte{byte(i), repr}
		}
	}
	panic("no field " + name)
}

// fzReq is a HEADERS op: template tmpl on path, static-table style.
func fzReq(idSel, flags, tmpl byte, path string, extras ...[]byte) []byte {
	b := []byte{fzOpHeaders, idSel, flags, tmpl, fzPathIndex(path), 3, byte(len(extras))}
	for _, e := range extras {
		b = append(b, e...)
	}
	return b
}

func fzData(idSel, flags, sizeSel byte) []byte { return []byte{fzOpData, idSel, flags, sizeSel, 7} }

// fzSeed joins a header (preface mode, write/close/victim modes, seed)
// and ops.
func fzSeed(h0, h1 byte, ops ...[]byte) []byte {
	return append([]byte{h0, h1, 0}, bytes.Join(ops, nil)...)
}

// fzSeeds are hand-made valid sequences and the control frames around
// them; the fuzzer mutates them.
func fzSeeds() [][]byte {
	const es = fzEndStream
	return [][]byte{
		fzSeed(0, 0, fzReq(fzNew, es, fzGET, "/")),
		fzSeed(0, 0, fzReq(fzNew, 0, fzPOST, "/echo"), fzData(fzLast, es, 2)),
		fzSeed(0, 0, fzReq(fzNew, 0, fzPOST, "/trailers"), fzData(fzLast, 0, 4),
			fzReq(fzLast, es, fzTrailers, "/", fzF("x-a", "1", 0))),
		fzSeed(0, 0, fzReq(fzNew, es, fzGET, "/delay/200"), []byte{fzOpSync, 4},
			[]byte{fzOpRST, fzLast, byte(codec.ErrCodeCancel), 0}, fzReq(fzNew, es, fzGET, "/")),
		fzSeed(0, 0, fzReq(fzNew, 0, fzPOST, "/body", fzF("content-length", "5", 0)), fzData(fzLast, es, 2)),
		// SETTINGS_INITIAL_WINDOW_SIZE 100: responses wait for WINDOW_UPDATE.
		fzSeed(1<<3, 3<<6, fzReq(fzNew, es, fzGET, "/bytes/70000"), []byte{fzOpSync, 9},
			[]byte{fzOpWindowUpdate, 10, 7}, []byte{fzOpWindowUpdate, fzLast, 7},
			fzReq(fzNew, es, fzGET, "/stream"), []byte{fzOpSync, 9}, []byte{fzOpWindowUpdate, fzLast, 7}),
		fzSeed(0, 0, fzReq(fzNew, es, fzGET, "/panic"), fzReq(fzNew, es, fzGET, "/panic-late"),
			fzReq(fzNew, es, fzGET, "/abort"), fzReq(fzNew, es, fzGET, "/badheader"),
			fzReq(fzNew, es, fzGET, "/inline"), fzReq(fzNew, es, fzGET, "/reset"), fzReq(fzNew, es, fzGET, "/")),
		// A header block in three pieces; one padded, with a priority.
		fzSeed(0, 0, append(fzReq(fzNew, es|2<<4, fzGET, "/", fzF("user-agent", "fuzz", 0x80)), 80, 160),
			append(fzReq(fzNew, es|fzPadded|fzPriority, fzHEAD, "/"), 10, 0, 200)),
		// Control frames.
		fzSeed(0, 0, []byte{fzOpPing, 0, 1, 2, 3, 4, 5, 6, 7, 8}, []byte{fzOpSettings, 1},
			[]byte{fzOpSettings, 2 << 1, 0, 4, 3, 8}, []byte{fzOpPriority, 13, 1, 16, 0},
			[]byte{fzOpWindowUpdate, 10, 3}, []byte{fzOpUnknown, 0, 0, 10, 8},
			fzReq(fzNew, es, fzGET, "/"), []byte{fzOpGoAway, 1, 0, 0}),
		// Extended CONNECT, then a half-close.
		fzSeed(0, fzCloseHalf<<2, fzReq(fzNew, 0, fzConnectWS, "/echo"), fzData(fzLast, 0, 3),
			fzData(fzLast, es, 2)),
		// A dribbled upload, checked by a fresh victim.
		fzSeed(0, fzWriteDribble|fzVictimFresh<<4, fzReq(fzNew, 0, fzPOST, "/echo"), fzData(fzLast, 0, 7),
			append(fzData(fzLast, fzPadded, 5), 30), fzData(fzLast, es, 0)),
		// Issue 13: a 103, pushes, ALTSVC and a priority override; the
		// client resets a pushed stream.
		fzSeed(0, 0, fzReq(fzNew, es, fzGET, "/extras"), fzReq(fzNew, es, fzGET, "/extras"), []byte{fzOpSync, 4},
			[]byte{fzOpRST, 2, byte(codec.ErrCodeCancel), 0}, fzReq(fzNew, es, fzGET, "/")),
	}
}
