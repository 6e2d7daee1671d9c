//go:build linux

package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A threshold is one --fail-on condition: when it holds after the run,
// h2bench prints one line naming it and exits with exitThreshold. As in
// h2load, a run that completes exits 0 otherwise, however many requests
// failed: the thresholds are how a CI job fails a run.
//
//	failed>1%        share of requests that failed (of "requests: total")
//	failed>0         number of requests that failed (also errored, timeout, not-sent)
//	p99>50ms         latency percentile of successful requests (p50, p90,
//	                 p99, p99.9, p99.99, max, mean), raw: to the last byte
//	corrected.p99>1s the same of the open loop's corrected latency
//	rps<10000        requests per second
type threshold struct {
	text   string // as given
	metric string
	op     string // ">", ">=", "<", "<="
	value  float64
	pct    bool // value is a percentage of the total
}

// exitThreshold is the exit status of a run that crossed a --fail-on
// threshold (1 stays h2load's: bad options or a run that could not start).
const exitThreshold = 2

var countMetrics = map[string]func(*result) int64{
	"failed":   func(r *result) int64 { return r.Requests.Failed },
	"errored":  func(r *result) int64 { return r.Requests.Errored },
	"timeout":  func(r *result) int64 { return r.Requests.Timeout },
	"not-sent": func(r *result) int64 { return r.Requests.NotSent },
}

var percentiles = map[string]float64{"p50": 50, "p90": 90, "p95": 95, "p99": 99, "p99.9": 99.9, "p99.99": 99.99}

func parseThreshold(s string) (threshold, error) {
	t := threshold{text: s}
	i := strings.IndexAny(s, "<>")
	if i <= 0 {
		return t, fmt.Errorf("--fail-on: %q: want METRIC>VALUE or METRIC<VALUE (e.g. failed>1%%, p99>50ms, rps<1000)", s)
	}
	t.metric, t.op = strings.TrimSpace(s[:i]), s[i:i+1]
	v := s[i+1:]
	if strings.HasPrefix(v, "=") {
		t.op += "="
		v = v[1:]
	}
	v = strings.TrimSpace(v)
	name := strings.TrimPrefix(t.metric, "corrected.")
	bad := fmt.Errorf("--fail-on: %q: bad value %q for %s", s, v, t.metric)
	switch {
	case countMetrics[t.metric] != nil:
		if strings.HasSuffix(v, "%") {
			t.pct, v = true, strings.TrimSuffix(v, "%")
		}
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return t, bad
		}
		t.value = f
	case t.metric == "rps":
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return t, bad
		}
		t.value = f
	case percentiles[name] > 0 || name == "max" || name == "mean":
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return t, bad
		}
		t.value = float64(d)
	default:
		return t, fmt.Errorf("--fail-on: %q: unknown metric %q (failed, errored, timeout, not-sent, p50..p99.99, max, mean, corrected.p99..., rps)", s, t.metric)
	}
	return t, nil
}

// measure returns the threshold's metric in r and how to print it.
func (t threshold) measure(r *result) (float64, string) {
	if f := countMetrics[t.metric]; f != nil {
		n := f(r)
		if !t.pct {
			return float64(n), fmt.Sprintf("%d", n)
		}
		p := 0.0
		if r.Requests.Total > 0 {
			p = 100 * float64(n) / float64(r.Requests.Total)
		}
		return p, fmt.Sprintf("%.3g%% (%d of %d)", p, n, r.Requests.Total)
	}
	if t.metric == "rps" {
		return r.ReqPerSec, fmt.Sprintf("%.2f", r.ReqPerSec)
	}
	h := r.hist["request"]
	name := t.metric
	if n, ok := strings.CutPrefix(name, "corrected."); ok {
		h, name = r.hist["corrected"], n
	}
	var v float64
	switch name {
	case "max":
		v = float64(h.Max())
	case "mean":
		v = h.Mean()
	default:
		v = float64(h.ValueAtPercentile(percentiles[name]))
	}
	if h.TotalCount() == 0 {
		return v, "none measured"
	}
	return v, fmtDuration(v / 1e9)
}

// crossed reports whether the threshold holds in r. A latency threshold
// with nothing measured holds for "<" (nothing is below) and not for ">".
func (t threshold) crossed(r *result) (bool, string) {
	v, s := t.measure(r)
	switch t.op {
	case ">":
		return v > t.value, s
	case ">=":
		return v >= t.value, s
	case "<":
		return v < t.value, s
	}
	return v <= t.value, s
}

// checkThresholds returns one line for each threshold r crosses.
func checkThresholds(ts []threshold, r *result) []string {
	var out []string
	for _, t := range ts {
		if ok, got := t.crossed(r); ok {
			out = append(out, fmt.Sprintf("h2bench: threshold crossed: --fail-on %s (%s was %s)", t.text, t.metric, got))
		}
	}
	return out
}
