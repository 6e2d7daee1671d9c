package h2loop_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
)

// recordLog is a slog.Handler that keeps the records.
type recordLog struct {
	mu   sync.Mutex
	recs []logRecord
}

type logRecord struct {
	level slog.Level
	msg   string
	attrs map[string]string
}

func (l *recordLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *recordLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *recordLog) WithGroup(string) slog.Handler            { return l }
func (l *recordLog) Handle(_ context.Context, r slog.Record) error {
	rec := logRecord{level: r.Level, msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	l.recs = append(l.recs, rec)
	l.mu.Unlock()
	return nil
}

// find waits (at most 10 s) for a record whose message contains msg.
func (l *recordLog) find(t *testing.T, msg string) logRecord {
	t.Helper()
	for i := 0; i < 1000; i++ {
		l.mu.Lock()
		for _, r := range l.recs {
			if strings.Contains(r.msg, msg) {
				l.mu.Unlock()
				return r
			}
		}
		l.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	t.Fatalf("no record with %q in %+v", msg, l.recs)
	return logRecord{}
}

func wantAttrs(t *testing.T, r logRecord, level slog.Level, want map[string]string) {
	t.Helper()
	if r.level != level {
		t.Errorf("%q: level %v, want %v", r.msg, r.level, level)
	}
	for k, v := range want {
		if r.attrs[k] != v {
			t.Errorf("%q: attribute %s = %q, want %q (all: %v)", r.msg, k, r.attrs[k], v, r.attrs)
		}
	}
}

// With Server.Logger set, the server's log lines are structured records:
// a stream reset by the engine (remote, stream, code), an HTTP/1.1 request
// refused (remote, counter), a handler's panic (error level, stream,
// method, path, counter); ErrorLog, also set, gets nothing.
func TestSlogRecords(t *testing.T) {
	rl := &recordLog{}
	var errorLog bytes.Buffer
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.Logger = slog.New(rl)
		s.ErrorLog = log.New(&errorLog, "", 0)
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			if ctx.Path() == "/panic" {
				panic("boom")
			}
			ctx.WriteString("ok")
		})
	})

	// HTTP/2: an upper-case header name makes the request malformed:
	// RST_STREAM(PROTOCOL_ERROR) on stream 1.
	rc := dialRaw(t, addr)
	rc.handshake()
	rc.write(rc.headers(1, true, ":method", "GET", ":scheme", "http", ":path", "/", ":authority", "x", "X-Upper", "1"))
	for {
		f := rc.mustRead()
		if f.Type == codec.FrameRSTStream {
			break
		}
	}
	local := rc.nc.LocalAddr().String()
	r := rl.find(t, "stream 1 reset")
	wantAttrs(t, r, slog.LevelWarn, map[string]string{"remote": local, "stream": "1", "code": "PROTOCOL_ERROR"})

	// A handler's panic on stream 3 of the same connection.
	rc.write(rc.get(3, "/panic"))
	r = rl.find(t, "panic serving")
	wantAttrs(t, r, slog.LevelError, map[string]string{"remote": local, "stream": "3", "method": "GET", "path": "/panic", "counter": "HandlerPanics"})
	if !strings.Contains(r.msg, "boom") || !strings.Contains(r.msg, "goroutine") {
		t.Errorf("panic record without the value or the stack: %q", r.msg)
	}

	// HTTP/1.1: a malformed request line.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil || resp.StatusCode != 400 {
		t.Fatalf("malformed HTTP/1.1 request: %v %v", resp, err)
	}
	r = rl.find(t, "http/1.1 from")
	wantAttrs(t, r, slog.LevelWarn, map[string]string{"remote": c.LocalAddr().String(), "counter": "Malformed"})

	if errorLog.Len() != 0 {
		t.Errorf("ErrorLog used although Logger is set: %q", errorLog.String())
	}
}

// AccessLog sees every request after its handler, with the status (0 for
// a panic) and the handler's time, for native and wrapped handlers.
func TestAccessLog(t *testing.T) {
	type entry struct {
		method, path string
		status       int
		elapsed      time.Duration
	}
	entries := make(chan entry, 8)
	access := func(ctx *h2loop.RequestCtx, status int, elapsed time.Duration) {
		entries <- entry{ctx.Method(), ctx.Path(), status, elapsed}
	}
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.AccessLog = access
		s.ErrorLog = log.New(io.Discard, "", 0)
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			switch ctx.Path() {
			case "/panic":
				panic("boom")
			case "/slow":
				time.Sleep(20 * time.Millisecond)
			case "/teapot":
				ctx.SetStatus(418)
			}
			ctx.WriteString("ok")
		})
	})
	c := h2cClient()
	for _, p := range []string{"/", "/teapot", "/slow"} {
		mustDo(t, c, mustRequest(t, "GET", "http://"+addr+p, nil))
	}
	if resp, err := c.Get("http://" + addr + "/panic"); err == nil {
		resp.Body.Close()
	}
	got := map[string]entry{}
	for range 4 {
		e := <-entries
		got[e.path] = e
	}
	for p, status := range map[string]int{"/": 200, "/teapot": 418, "/slow": 200, "/panic": 0} {
		if e := got[p]; e.status != status || e.method != "GET" {
			t.Errorf("%s: %+v, want status %d", p, e, status)
		}
	}
	if got["/slow"].elapsed < 20*time.Millisecond {
		t.Errorf("/slow took %v by AccessLog, it sleeps 20ms", got["/slow"].elapsed)
	}

	url := startWrapped(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusCreated)
	}), func(s *h2loop.Server) { s.AccessLog = access })
	mustDo(t, c, mustRequest(t, "POST", url+"/made", nil))
	if e := <-entries; e.status != 201 || e.method != "POST" || e.path != "/made" {
		t.Errorf("wrapped: %+v", e)
	}
}
