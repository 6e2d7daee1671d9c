package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2loop/h2loop"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// soakServer is the one h2loop.Server of a run, with default settings but
// for its handler and its error log.
type soakServer struct {
	srv   *h2loop.Server
	gs    *grpc.Server
	addr  string
	port  int
	log   *logCounter // the server's ErrorLog
	nplog *logCounter // netpoll's own log (global to the process)
	serve chan error

	// tracker is the current phase's; handlers keep the one they started with.
	tracker atomic.Pointer[Tracker]

	entered atomic.Int64 // handler calls started (native and gRPC)
	exited  atomic.Int64 // ... and returned
}

func startServer() (*soakServer, error) {
	s := &soakServer{log: newLogCounter(), nplog: newLogCounter(), serve: make(chan error, 1)}
	captureNetpollLog(s.nplog)
	s.tracker.Store(newTracker())
	s.gs = grpc.NewServer()
	testpb.RegisterTestServiceServer(s.gs, &testService{s: s})
	grpcHandler := h2loop.WrapHandler(s.gs)
	s.srv = &h2loop.Server{
		Handler: h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			s.entered.Add(1)
			defer s.exited.Add(1)
			if strings.HasPrefix(ctx.Header("content-type"), "application/grpc") {
				grpcHandler.Serve(ctx)
				return
			}
			s.native(ctx)
		}),
		ErrorLog: log.New(s.log, "", 0),
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.addr = ln.Addr().String()
	s.port = ln.Addr().(*net.TCPAddr).Port
	s.srv.Addr = s.addr
	go func() { s.serve <- s.srv.Serve(ln) }()
	return s, nil
}

// close shuts the server down (Shutdown with 5 s, then the gRPC server),
// bounded: a shutdown that hangs is reported, with the goroutines it left.
func (s *soakServer) close(limit time.Duration) error {
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		err := s.srv.Shutdown(ctx)
		if err != nil {
			err = fmt.Errorf("Shutdown: %w", err)
		}
		select {
		case serr := <-s.serve:
			if err == nil && serr != nil && serr != h2loop.ErrServerClosed {
				err = fmt.Errorf("Serve returned %w", serr)
			}
		case <-time.After(5 * time.Second):
			if err == nil {
				err = errors.New("Serve did not return within 5s of Shutdown")
			}
		}
		s.gs.Stop()
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(limit):
		return fmt.Errorf("Shutdown did not return within %v", limit)
	}
}

var hello = []byte("hello, world!\n")

func queryID(path string) (string, uint64) {
	i := strings.IndexByte(path, '?')
	if i < 0 {
		return path, 0
	}
	q := path[i+1:]
	path = path[:i]
	if strings.HasPrefix(q, "id=") {
		id, _ := strconv.ParseUint(q[3:], 10, 64)
		return path, id
	}
	return path, 0
}

// native serves GET /, GET /delay/MS and POST /echo.
func (s *soakServer) native(ctx *h2loop.RequestCtx) {
	path, id := queryID(ctx.Path())
	method := ctx.Method()
	switch {
	case path == "/" && (method == "GET" || method == "HEAD"):
		ctx.SetContentType("text/plain")
		ctx.SetBodyStatic(hello)
	case strings.HasPrefix(path, "/delay/") && method == "GET":
		ms, err := strconv.Atoi(path[len("/delay/"):])
		if err != nil || ms < 0 || ms > 600000 {
			ctx.SetStatus(400)
			ctx.SetBodyString("bad delay\n")
			return
		}
		tr := s.tracker.Load()
		h := tr.HandlerStart(id, "delay")
		t := time.NewTimer(time.Duration(ms) * time.Millisecond)
		select {
		case <-t.C:
			// Ran to the end: the tracker compares this with the moment
			// the client left, if it did.
			tr.HandlerEnd(h, "timer", false)
		case <-ctx.Done():
			t.Stop()
			tr.HandlerEnd(h, "done", true)
			return
		}
		ctx.SetContentType("text/plain")
		ctx.SetBodyString("delayed " + strconv.Itoa(ms) + "ms\n")
	case path == "/echo" && method == "POST":
		tr := s.tracker.Load()
		h := tr.HandlerStart(id, "echo")
		buf := make([]byte, 32<<10)
		for {
			n, err := ctx.Read(buf)
			ctx.Write(buf[:n])
			if err == io.EOF {
				tr.HandlerEnd(h, "eof", false)
				return
			}
			if err != nil {
				tr.HandlerEnd(h, "read: "+err.Error(), ctx.Canceled() || isCanceled(err))
				return
			}
			if err := ctx.Flush(); err != nil {
				tr.HandlerEnd(h, "flush: "+err.Error(), true)
				return
			}
		}
	default:
		ctx.SetStatus(404)
		ctx.SetBodyString("not found\n")
	}
}

func isCanceled(err error) bool {
	return err != nil && strings.Contains(err.Error(), "canceled")
}

// testService implements grpc.testing.TestService: unary echo, client
// streaming (sum of sizes), server streaming (ResponseParameters with
// intervals) and full duplex (one answer per ResponseParameters, at once).
type testService struct {
	testpb.UnimplementedTestServiceServer
	s *soakServer
}

func grpcID(ctx context.Context) uint64 {
	md, _ := metadata.FromIncomingContext(ctx)
	if v := md.Get("soak-id"); len(v) == 1 {
		id, _ := strconv.ParseUint(v[0], 10, 64)
		return id
	}
	return 0
}

func (t *testService) track(ctx context.Context, kind string) (*Tracker, *handlerRec) {
	tr := t.s.tracker.Load()
	return tr, tr.HandlerStart(grpcID(ctx), kind)
}

func (t *testService) end(ctx context.Context, tr *Tracker, h *handlerRec, err error) {
	if err == nil {
		tr.HandlerEnd(h, "ok", false)
		return
	}
	canceled := ctx.Err() != nil || status.Code(err) == codes.Canceled
	tr.HandlerEnd(h, "error: "+err.Error(), canceled)
}

func (t *testService) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	if s := req.GetResponseStatus(); s != nil && s.Code != 0 {
		return nil, status.Error(codes.Code(s.Code), s.Message)
	}
	return &testpb.SimpleResponse{Payload: &testpb.Payload{Body: req.GetPayload().GetBody()}}, nil
}

func (t *testService) StreamingInputCall(stream testpb.TestService_StreamingInputCallServer) (err error) {
	tr, h := t.track(stream.Context(), "grpc-client-stream")
	defer func() { t.end(stream.Context(), tr, h, err) }()
	var n int
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return stream.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: int32(n)})
		}
		if err != nil {
			return err
		}
		n += len(req.GetPayload().GetBody())
	}
}

func (t *testService) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, stream testpb.TestService_StreamingOutputCallServer) (err error) {
	ctx := stream.Context()
	tr, h := t.track(ctx, "grpc-server-stream")
	defer func() { t.end(ctx, tr, h, err) }()
	for _, p := range req.GetResponseParameters() {
		if us := p.GetIntervalUs(); us > 0 {
			tm := time.NewTimer(time.Duration(us) * time.Microsecond)
			select {
			case <-tm.C:
			case <-ctx.Done():
				tm.Stop()
				return status.FromContextError(ctx.Err()).Err()
			}
		}
		if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: pattern(0, int(p.GetSize()))}}); err != nil {
			return err
		}
	}
	return nil
}

func (t *testService) FullDuplexCall(stream testpb.TestService_FullDuplexCallServer) (err error) {
	ctx := stream.Context()
	tr, h := t.track(ctx, "grpc-bidi")
	defer func() { t.end(ctx, tr, h, err) }()
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		for _, p := range req.GetResponseParameters() {
			body := pattern(0, int(p.GetSize()))
			if p.GetSize() == 0 {
				body = req.GetPayload().GetBody()
			}
			if err := stream.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: body}}); err != nil {
				return err
			}
		}
	}
}

// ---------------------------------------------------------------------------
// The server's error log, counted by kind.

type logCounter struct {
	mu      sync.Mutex
	partial []byte
	kinds   map[string]*logKind
	total   int64
	panics  int64
}

type logKind struct {
	n      int64
	sample string
}

func newLogCounter() *logCounter { return &logCounter{kinds: map[string]*logKind{}} }

func (l *logCounter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := strings.IndexByte(string(l.partial), '\n')
		if i < 0 {
			break
		}
		line := string(l.partial[:i])
		l.partial = l.partial[i+1:]
		l.line(line)
	}
	return len(p), nil
}

var (
	reAddr   = regexp.MustCompile(`\d+\.\d+\.\d+\.\d+:\d+|\[[0-9a-f:]+\]:\d+`)
	reNumber = regexp.MustCompile(`\b\d+\b`)
	reHex    = regexp.MustCompile(`0x[0-9a-f]+`)
)

func (l *logCounter) line(line string) {
	if strings.HasPrefix(line, "\t") || strings.HasPrefix(line, "goroutine ") || line == "" ||
		strings.HasPrefix(line, "panic(") || strings.HasSuffix(line, ")") && strings.Contains(line, "(") && !strings.Contains(line, "h2loop:") {
		return // a stack trace line following a panic line
	}
	l.total++
	if strings.Contains(line, "panic") {
		l.panics++
	}
	k := reAddr.ReplaceAllString(line, "ADDR")
	k = reHex.ReplaceAllString(k, "X")
	k = reNumber.ReplaceAllString(k, "N")
	if len(k) > 90 {
		k = k[:90]
	}
	e := l.kinds[k]
	if e == nil {
		e = &logKind{sample: line}
		l.kinds[k] = e
	}
	e.n++
}

type logSnap struct {
	total, panics int64
	kinds         map[string]logKind
}

func (l *logCounter) snapshot() logSnap {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := logSnap{total: l.total, panics: l.panics, kinds: map[string]logKind{}}
	for k, v := range l.kinds {
		s.kinds[k] = *v
	}
	return s
}

// diff is what was logged since before.
func (s logSnap) diff(before logSnap) logSnap {
	d := logSnap{total: s.total - before.total, panics: s.panics - before.panics, kinds: map[string]logKind{}}
	for k, v := range s.kinds {
		if n := v.n - before.kinds[k].n; n > 0 {
			d.kinds[k] = logKind{n: n, sample: v.sample}
		}
	}
	return d
}

func (s logSnap) sorted() []string {
	keys := make([]string, 0, len(s.kinds))
	for k := range s.kinds {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return s.kinds[keys[i]].n > s.kinds[keys[j]].n })
	return keys
}

// ---------------------------------------------------------------------------
// Payloads

// patTable is the source of every payload: byte i of the payload with seed
// s is patTable[(s+i)%len].
var patTable = func() []byte {
	b := make([]byte, 1<<20+4093)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}()

// pattern returns n bytes of the payload with seed s (a new slice).
func pattern(s uint64, n int) []byte {
	b := make([]byte, n)
	fillPattern(b, s, 0)
	return b
}

// fillPattern fills b with the payload of seed s from offset off.
func fillPattern(b []byte, s uint64, off int64) {
	start := int((s + uint64(off)) % uint64(len(patTable)))
	for len(b) > 0 {
		n := copy(b, patTable[start:])
		b = b[n:]
		start = 0
	}
}

// checkPattern reports the first offset where b differs from the payload
// of seed s at offset off, or -1.
func checkPattern(b []byte, s uint64, off int64) int64 {
	start := int((s + uint64(off)) % uint64(len(patTable)))
	var done int64
	for len(b) > 0 {
		seg := patTable[start:]
		if len(seg) > len(b) {
			seg = seg[:len(b)]
		}
		if string(seg) != string(b[:len(seg)]) {
			for i := range seg {
				if seg[i] != b[i] {
					return off + done + int64(i)
				}
			}
		}
		b = b[len(seg):]
		done += int64(len(seg))
		start = 0
	}
	return -1
}
