package h2loop_test

import (
	"context"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
)

// The native API's header names mean what net/http's do: SetHeader
// replaces, AddHeader adds, names are case-insensitive both ways (sent in
// lower case over HTTP/2), and every response carries a Date.
func TestNativeHeaderSemantics(t *testing.T) {
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			ctx.SetContentType("text/plain")
			ctx.SetHeader("Content-Type", "application/json") // replaces
			ctx.AddHeader("X-Multi", "one")
			ctx.AddHeader("x-multi", "two")
			ctx.SetHeader("X-Gone", "1")
			ctx.DelHeader("x-gone")
			ctx.SetHeader("X-Agent", ctx.Header("User-Agent")) // case-insensitive lookup
			if ctx.Path() == "/nodate" {
				ctx.SetHeader("date", "")
			}
			ctx.WriteString("{}")
		})
	})
	for _, c := range []*http.Client{h2cClient(), {Timeout: 10 * time.Second}} {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Header.Set("User-Agent", "tester/1")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		h := resp.Header
		if !slices.Equal(h["Content-Type"], []string{"application/json"}) || !slices.Equal(h["X-Multi"], []string{"one", "two"}) ||
			h.Get("X-Gone") != "" || h.Get("X-Agent") != "tester/1" {
			t.Fatalf("%s: headers %v", resp.Proto, h)
		}
		d, err := http.ParseTime(h.Get("Date"))
		if err != nil || time.Since(d) > 5*time.Second || time.Until(d) > 5*time.Second {
			t.Fatalf("%s: Date %q: %v", resp.Proto, h.Get("Date"), err)
		}
		resp, err = c.Get("http://" + addr + "/nodate")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if _, ok := resp.Header["Date"]; ok {
			t.Fatalf("%s: Date sent although suppressed", resp.Proto)
		}
	}
}

// ctx.Context is a context.Context for database drivers and clients:
// canceled when the client resets the stream, and when the handler
// returns; it derives from Server.BaseContext.
func TestRequestContext(t *testing.T) {
	type key struct{}
	seen := make(chan context.Context, 2)
	errs := make(chan error, 1)
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.BaseContext = func() context.Context { return context.WithValue(context.Background(), key{}, "base") }
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			c := ctx.Context()
			if c != ctx.Context() {
				errs <- io.ErrUnexpectedEOF
			}
			seen <- c
			if ctx.Path() == "/wait" {
				select {
				case <-c.Done():
				case <-time.After(10 * time.Second):
				}
				return
			}
			ctx.WriteString("ok")
		})
	})
	resp, err := h2cClient().Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := <-seen
	if c.Value(key{}) != "base" {
		t.Fatal("Context does not derive from BaseContext")
	}
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Context not canceled after the handler returned")
	}

	rctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(rctx, "GET", "http://"+addr+"/wait", nil)
	go func() {
		c := <-seen
		cancel() // the client resets the stream
		select {
		case <-c.Done():
			if c.Err() != context.Canceled {
				errs <- c.Err()
			}
			errs <- nil
		case <-time.After(5 * time.Second):
			errs <- context.DeadlineExceeded
		}
	}()
	h2cClient().Do(req)
	if err := <-errs; err != nil {
		t.Fatalf("Context after the client's reset: %v", err)
	}
}

// RegisterOnShutdown's functions run when Shutdown starts, so a long-lived
// handler can be told to finish and Shutdown completes gracefully.
func TestRegisterOnShutdown(t *testing.T) {
	stop := make(chan struct{})
	started := make(chan struct{})
	addr, srv, done := servedServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			close(started)
			<-stop // a stream that lives until told to stop
			ctx.WriteString("bye")
		})
	})
	srv.RegisterOnShutdown(func() { close(stop) })
	got := make(chan string, 1)
	go func() {
		resp, err := h2cClient().Get("http://" + addr + "/stream")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if b := <-got; b != "bye" {
		t.Fatalf("the long-lived stream ended with %q", b)
	}
	wantServeClosed(t, done)
}
