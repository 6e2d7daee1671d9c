package h2loop_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/internal/testutil"
)

// Server.Gauges follows streams and connections as they open, are reset by
// the client, and close: the levels reach what is open at each step and go
// back to zero.
func TestGaugesFollowStreams(t *testing.T) {
	release := make(chan struct{})
	addr, srv := startServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			select {
			case <-ctx.Done():
			case <-release:
			}
		})
	})
	const conns, streams = 3, 10
	want := func(what string, g h2loop.Gauges) {
		t.Helper()
		var got h2loop.Gauges
		deadline := time.Now().Add(20 * time.Second)
		for {
			got = srv.Gauges()
			got.Workers = 0 // idle workers linger: not a level this test predicts
			if got == g {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: gauges %+v, want %+v", what, got, g)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	want("before any request", h2loop.Gauges{})

	var clients []*http.Client
	var cancels []context.CancelFunc
	var wg sync.WaitGroup
	for range conns {
		c := testutil.H2CClient()
		clients = append(clients, c)
		for range streams {
			ctx, cancel := context.WithCancel(context.Background())
			cancels = append(cancels, cancel)
			req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+addr+"/", nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if resp, err := c.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
		}
	}
	want("all streams open", h2loop.Gauges{OpenConns: conns, OpenStreams: conns * streams, BusyWorkers: conns * streams})

	// The client resets half of them (RST_STREAM(CANCEL)).
	for _, cancel := range cancels[:len(cancels)/2] {
		cancel()
	}
	left := conns*streams - len(cancels)/2
	want("half reset", h2loop.Gauges{OpenConns: conns, OpenStreams: int64(left), BusyWorkers: left})

	// The rest complete; then the connections close.
	close(release)
	wg.Wait()
	want("all complete", h2loop.Gauges{OpenConns: conns})
	for _, c := range clients {
		c.CloseIdleConnections()
	}
	for _, cancel := range cancels {
		cancel()
	}
	want("connections closed", h2loop.Gauges{})
}
