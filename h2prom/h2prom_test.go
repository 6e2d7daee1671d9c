package h2prom_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/h2prom"
	"github.com/h2loop/h2loop/internal/testutil"
	"github.com/prometheus/client_golang/prometheus"
	promtest "github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// serve starts srv on a loopback port and shuts it down at the end of the test.
func serve(t *testing.T, srv *h2loop.Server) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String()
}

// TestCollectorScrape serves requests over HTTP/2 and HTTP/1.1, holds one
// HTTP/2 stream open in its handler, and scrapes the collector with
// client_golang's own test utilities.
func TestCollectorScrape(t *testing.T) {
	release := make(chan struct{})
	holding := make(chan struct{}, 1)
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
		if ctx.Path() == "/hold" {
			holding <- struct{}{}
			<-release
		}
		ctx.SetBodyString("ok\n")
	})}
	addr := serve(t, srv)
	reg := prometheus.NewRegistry()
	reg.MustRegister(h2prom.NewCollector(srv, h2prom.Options{ConstLabels: prometheus.Labels{"server": "test"}}))

	const h2Requests, h1Requests = 7, 3
	h2c := testutil.H2CClient()
	for range h2Requests {
		get(t, h2c, "http://"+addr+"/")
	}
	h1 := &http.Client{Transport: &http.Transport{}, Timeout: 30 * time.Second}
	for range h1Requests {
		get(t, h1, "http://"+addr+"/")
	}
	held := make(chan error, 1)
	go func() {
		resp, err := h2c.Get("http://" + addr + "/hold")
		if err == nil {
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		held <- err
	}()
	<-holding
	// A worker that just finished a handler counts as busy until it is
	// idle again: wait for the levels to settle (they must reach these).
	want := map[string]float64{"h2loop_open_connections": 2, "h2loop_open_streams": 1, "h2loop_busy_workers": 1}
	for deadline := time.Now().Add(20 * time.Second); ; {
		got := gatherAll(t, reg)
		settled := true
		for k, v := range want {
			settled = settled && got[k] == v
		}
		if settled {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("levels did not settle: %v", got)
		}
		time.Sleep(10 * time.Millisecond)
	}

	problems, err := promtest.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}

	// One HTTP/2 connection (the h2c client reuses it) and one HTTP/1.1
	// keep-alive connection are open; the held request is the one open
	// stream and the one busy worker; every request before it was counted.
	text := fmt.Sprintf(`
# HELP h2loop_requests_total Requests dispatched to handlers, HTTP/2 and HTTP/1.1.
# TYPE h2loop_requests_total counter
h2loop_requests_total{server="test"} %d
# HELP h2loop_connections_total HTTP/2 connections started (prior knowledge, h2c upgrade, TLS).
# TYPE h2loop_connections_total counter
h2loop_connections_total{server="test"} 1
# HELP h2loop_open_connections Accepted connections not yet closed, of every kind (what MaxConns bounds).
# TYPE h2loop_open_connections gauge
h2loop_open_connections{server="test"} 2
# HELP h2loop_open_streams HTTP/2 streams open.
# TYPE h2loop_open_streams gauge
h2loop_open_streams{server="test"} 1
# HELP h2loop_busy_workers Handler workers running a handler.
# TYPE h2loop_busy_workers gauge
h2loop_busy_workers{server="test"} 1
# HELP h2loop_handler_panics_total Handlers that panicked (stream reset, panic logged).
# TYPE h2loop_handler_panics_total counter
h2loop_handler_panics_total{server="test"} 0
`, h2Requests+h1Requests+1)
	if err := promtest.GatherAndCompare(reg, strings.NewReader(text),
		"h2loop_requests_total", "h2loop_connections_total", "h2loop_open_connections",
		"h2loop_open_streams", "h2loop_busy_workers", "h2loop_handler_panics_total"); err != nil {
		t.Error(err)
	}
	// The HTTP/2 responses carried "ok\n" each as DATA.
	if got := gatherValue(t, reg, "h2loop_data_sent_bytes_total"); got < float64(3*h2Requests) {
		t.Errorf("h2loop_data_sent_bytes_total = %v, want at least %d", got, 3*h2Requests)
	}

	close(release)
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	h2c.CloseIdleConnections()
	h1.CloseIdleConnections()
	// Once the clients hang up, the levels go back to zero.
	deadline := time.Now().Add(20 * time.Second)
	for {
		conns := gatherValue(t, reg, "h2loop_open_connections")
		streams := gatherValue(t, reg, "h2loop_open_streams")
		if conns == 0 && streams == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the clients closed: open_connections %v, open_streams %v", conns, streams)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCollectorMapsEveryField checks that every counter of h2loop.Stats and
// every field of h2loop.Gauges is exported, each under its own name, with
// the value of that field.
func TestCollectorMapsEveryField(t *testing.T) {
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {})}
	defer srv.Close()
	reg := prometheus.NewRegistry()
	reg.MustRegister(h2prom.NewCollector(srv, h2prom.Options{Namespace: "x"}))
	before := gatherAll(t, reg)

	// Add a distinct amount to each counter and find which metric moved.
	st := srv.Metrics()
	v := reflect.ValueOf(st).Elem()
	uint64Type := reflect.TypeFor[atomic.Uint64]()
	delta := map[string]uint64{}
	for i := range v.NumField() {
		f := v.Type().Field(i)
		if f.Type != uint64Type {
			continue
		}
		d := uint64(1000 + i)
		v.Field(i).Addr().Interface().(*atomic.Uint64).Add(d)
		delta[f.Name] = d
	}
	after := gatherAll(t, reg)
	seen := map[string]string{}
	for name, d := range delta {
		found := ""
		for metric, val := range after {
			if val-before[metric] == float64(d) {
				found = metric
			}
		}
		if found == "" {
			t.Errorf("Stats.%s (+%d) is not exported", name, d)
			continue
		}
		if !strings.HasSuffix(found, "_total") {
			t.Errorf("Stats.%s exported as %s, a counter without _total", name, found)
		}
		if prev, dup := seen[found]; dup {
			t.Errorf("Stats.%s and Stats.%s both exported as %s", name, prev, found)
		}
		seen[found] = name
	}
	if len(delta) < 20 {
		t.Errorf("found %d counters in Stats: the reflection walk is broken", len(delta))
	}
	// Gauges: every field of h2loop.Gauges is exported as a gauge.
	types := gatherTypes(t, reg)
	nGauges := 0
	for _, tp := range types {
		if tp == dto.MetricType_GAUGE {
			nGauges++
		}
	}
	if want := reflect.TypeFor[h2loop.Gauges]().NumField(); nGauges != want {
		t.Errorf("%d gauges exported, h2loop.Gauges has %d fields", nGauges, want)
	}
	if len(types) != len(delta)+nGauges {
		t.Errorf("%d metrics exported, want %d counters and %d gauges", len(types), len(delta), nGauges)
	}
}

func get(t *testing.T, c *http.Client, url string) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
}

func gatherAll(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.Counter != nil:
				out[mf.GetName()] = m.Counter.GetValue()
			case m.Gauge != nil:
				out[mf.GetName()] = m.Gauge.GetValue()
			}
		}
	}
	return out
}

func gatherTypes(t *testing.T, reg *prometheus.Registry) map[string]dto.MetricType {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dto.MetricType{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf.GetType()
	}
	return out
}

func gatherValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	v, ok := gatherAll(t, reg)[name]
	if !ok {
		t.Fatalf("%s not gathered", name)
	}
	return v
}
