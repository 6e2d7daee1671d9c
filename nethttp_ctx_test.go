package h2loop_test

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"
)

// Contexts derived from a wrapped request's context with context.WithCancel
// (gRPC's handler transport derives one per call) attach to it without a
// goroutine each, and end with it: when the handler returns, and when the
// client resets the stream.
func TestWrapHandlerDerivedContexts(t *testing.T) {
	const n = 200
	type result struct {
		grown    int // goroutines started while deriving n contexts
		children []context.Context
		during   error // a child's error while the handler runs
	}
	results := make(chan result, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var res result
		before := runtime.NumGoroutine()
		for range n {
			ctx, cancel := context.WithCancel(r.Context())
			_ = cancel // canceled by the parent
			res.children = append(res.children, ctx)
		}
		res.grown = runtime.NumGoroutine() - before
		res.during = res.children[n-1].Err()
		if r.URL.Path == "/reset" {
			w.WriteHeader(202)
			w.(http.Flusher).Flush()
			select {
			case <-res.children[0].Done():
			case <-time.After(10 * time.Second):
			}
		}
		results <- res
	})
	base := startWrapped(t, h, nil)
	c := h2cClient()
	check := func(what string, res result) {
		t.Helper()
		if res.grown >= n/2 {
			t.Fatalf("%s: %d goroutines started to derive %d contexts", what, res.grown, n)
		}
		if res.during != nil {
			t.Fatalf("%s: a derived context was %v while the handler ran", what, res.during)
		}
		for i, ctx := range res.children {
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: derived context %d not canceled", what, i)
			}
			if ctx.Err() != context.Canceled {
				t.Fatalf("%s: derived context %d: %v", what, i, ctx.Err())
			}
		}
	}

	resp, _ := mustDo(t, c, mustRequest(t, "GET", base+"/", nil))
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	check("handler returned", <-results)

	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/reset", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 202 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	cancel() // RST_STREAM(CANCEL)
	check("stream reset", <-results)
	resp.Body.Close()
}
