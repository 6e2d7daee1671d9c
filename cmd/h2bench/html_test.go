//go:build linux

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/chromedp/chromedp"

	"github.com/h2loop/h2loop/internal/testutil"
)

// TestHTMLReport writes --html for a run with several status codes and
// opens it in headless Chromium: the page loads with no network, draws
// its three charts (pixels on every canvas) and logs no console error.
func TestHTMLReport(t *testing.T) {
	chromium := testutil.Tool(t, "chromium")
	url := h2cServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		time.Sleep(time.Millisecond)
		w.Write([]byte("hello, world!\n"))
	}))
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	r, _ := runBench(t, "-D", "2", "-R", "400", "-c", "4", "-m", "4", "--html", page, url+"/a", url+"/b", url+"/missing")
	if r.Requests.Succeeded == 0 || r.StatusCodes["404"] == 0 || len(r.PerSecond.OK) < 2 {
		t.Fatalf("%+v %v %v", r.Requests, r.StatusCodes, r.PerSecond)
	}
	b, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	// self-contained: no script, style sheet or image is fetched
	for _, ref := range []string{"<script src", "<link", "<img", "@import"} {
		if strings.Contains(string(b), ref) {
			t.Fatalf("the page refers to an outside resource: %q", ref)
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.DisableGPU, chromedp.WindowSize(1280, 1600))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	// every console error or warning, uncaught exception and browser log
	// entry of level warning or error is a problem
	var problems []string
	messages := chromedp.Console(ctx)
	cctx, stopConsole := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for m, err := range messages {
			if err != nil || cctx.Err() != nil {
				return
			}
			switch m.Type {
			case chromedp.ConsoleError, chromedp.ConsoleWarning, chromedp.ConsoleException, "assert":
				problems = append(problems, fmt.Sprintf("%s: %s", m.Type, m.Text))
			}
		}
	}()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	err = chromedp.Do(wctx, chromedp.Navigate("file://"+page), chromedp.WaitReady(chromedp.CSS(`body[data-ready]`)))
	wcancel()
	if err != nil {
		stopConsole()
		cancel()
		<-done
		t.Fatalf("chromium: %v; console: %q", err, problems)
	}
	ready, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`body`), "data-ready"))
	if err != nil {
		t.Fatal(err)
	}
	painted, err := chromedp.Run(ctx, chromedp.Evaluate[[]int](`Array.from(document.querySelectorAll(".uplot canvas")).map(function (c) {
		var d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data, n = 0;
		for (var i = 3; i < d.length; i += 4) if (d[i] !== 0) n++;
		return n; })`))
	if err != nil {
		t.Fatal(err)
	}
	titles, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll(".uplot .u-title")).map(function (e) { return e.textContent; })`))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond) // let late messages arrive
	stopConsole()
	cancel()
	<-done
	if len(problems) > 0 {
		t.Fatalf("the page logged problems:\n%s", strings.Join(problems, "\n"))
	}
	if ready.Value != "3" || len(painted) != 3 || strings.Join(titles, "|") != "Latency by percentile|Requests per second|Status codes and errors" {
		t.Fatalf("charts: ready %q, canvases %v, titles %q", ready.Value, painted, titles)
	}
	for i, n := range painted {
		if n < 500 {
			t.Fatalf("chart %d (%s) has %d painted pixels: not drawn", i, titles[i], n)
		}
	}
}

// TestPercentileSpectrum checks the points of the percentile chart
// against the histogram: HdrHistogram's ticks, up to the count, ending at
// the maximum.
func TestPercentileSpectrum(t *testing.T) {
	r := &result{hist: map[string]*hdrhistogram.Histogram{}}
	for _, n := range histNames {
		r.hist[n] = newHist()
	}
	for v := int64(1); v <= 1000; v++ {
		record(r.hist["request"], v*1e6) // 1..1000 ms
	}
	record(r.hist["corrected"], 5e6)
	xs, series, names := r.percentileSpectrum()
	if strings.Join(names, ",") != "request,corrected" || xs[0] != 1 || xs[len(xs)-1] != 1000 {
		t.Fatalf("names %v, x from %v to %v", names, xs[0], xs[len(xs)-1])
	}
	req := series["request"]
	for i := 1; i < len(xs); i++ {
		if xs[i] <= xs[i-1] || *req[i] < *req[i-1] {
			t.Fatalf("point %d: x %v after %v, y %v after %v", i, xs[i], xs[i-1], *req[i], *req[i-1])
		}
	}
	// x = 2 is the median, x = 4 the 75th percentile, ...
	for i, x := range xs {
		want := map[float64]float64{2: 500, 4: 750, 8: 875, 16: 937.5, 1000: 1000}[x]
		if want > 0 && (*req[i] < want*0.99 || *req[i] > want*1.01) {
			t.Fatalf("at x = %v: %v ms, want %v", x, *req[i], want)
		}
	}
	if cor := series["corrected"]; cor[0] == nil || *cor[0] < 4.99 || cor[len(cor)-1] == nil || cor[1] != nil {
		t.Fatalf("a one-value histogram: %v", cor)
	}
}
