//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/h2loop/h2loop/codec"
)

// result is every figure of a run (or of several merged runs). It is what
// --json writes and what merge reads; the text report is printed from it.
type result struct {
	Version   string   `json:"version"` // "h2bench/1"
	Start     string   `json:"start,omitempty"`
	Args      []string `json:"args,omitempty"`
	Runs      int      `json:"runs"` // 1, or the number of merged runs
	Protocol  string   `json:"protocol"`
	Notes     []string `json:"notes,omitempty"`
	Duration  float64  `json:"duration_s"` // wall time, warm-up included (merged: the longest run)
	Measured  float64  `json:"measured_s"` // the denominator of every rate: the measured phase
	Warmup    float64  `json:"warmup_s,omitempty"`
	ReqPerSec float64  `json:"requests_per_second"`
	BytesPerS float64  `json:"bytes_per_second"`
	OpenLoop  float64  `json:"open_loop_rate,omitempty"` // -R, requests/s intended

	Requests struct {
		Total     int64 `json:"total"`
		Started   int64 `json:"started"`
		Done      int64 `json:"done"`
		Succeeded int64 `json:"succeeded"`
		Success   int64 `json:"completed"` // closed without error, any status (h2load's req_success)
		Failed    int64 `json:"failed"`
		Errored   int64 `json:"errored"`
		Timeout   int64 `json:"timeout"`
		Late      int64 `json:"late_starts"` // open loop: could not start on time
		Retried   int64 `json:"retried"`     // refused unprocessed by the server, issued again
		// open loop: Scheduled = Done + Timeout + Unfinished (sent) + NotSent
		Scheduled  int64 `json:"scheduled,omitempty"`  // open loop: requests due in the measured phase (-n: all)
		NotSent    int64 `json:"not_sent,omitempty"`   // open loop: scheduled, never sent (in failed and errored)
		Unfinished int64 `json:"unfinished,omitempty"` // -D: in flight when the measured phase ended (not counted)
	} `json:"requests"`
	StatusClasses [6]int64         `json:"status_classes"` // index: status/100; [0]: none
	StatusCodes   map[string]int64 `json:"status_codes"`
	Errors        map[string]int64 `json:"errors,omitempty"`
	// ErrorCauses holds, per row of Errors, why the first of them happened.
	ErrorCauses map[string]string `json:"error_causes,omitempty"`
	Traffic     struct {
		Total        int64   `json:"total"`
		Headers      int64   `json:"headers"`
		HeadersDec   int64   `json:"headers_decompressed"`
		Data         int64   `json:"data"`
		SpaceSavings float64 `json:"space_savings"`
	} `json:"traffic"`
	// Push is set with --enable-push: the promises accepted and refused,
	// and the pushed responses' DATA octets (not in traffic.data).
	Push        *pushResult `json:"push,omitempty"`
	Connections struct {
		Made         int64 `json:"made"`
		Established  int64 `json:"established"`
		Reconnects   int64 `json:"reconnects"`
		Failed       int64 `json:"failed"` // established, then failed: error, close or timeout
		GoAways      int64 `json:"goaway_received"`
		HTTP2        int64 `json:"http2"`
		HTTP1        int64 `json:"http1"`
		ALPNFallback int64 `json:"alpn_fallback"`
		Upgraded     int64 `json:"upgraded"`
		UpgradeNo    int64 `json:"upgrade_declined"`
	} `json:"connections"`
	RequestTime sdAcc `json:"request_time_ns"` // exact, successful requests
	// Histograms (nanoseconds), hdrhistogram V2 compressed, base64.
	Histograms map[string]string `json:"histograms"`
	// Percentiles (nanoseconds) read from the histograms, for convenience.
	Percentiles map[string]map[string]int64 `json:"percentiles"`
	Connect     []float64                   `json:"connect_s"`  // per connection
	FirstByte   []float64                   `json:"ttfb_s"`     // per connection: connect start -> first byte
	ClientRPS   []float64                   `json:"client_rps"` // per client
	// PerSecond counts the requests that ended in each second of the
	// measured phase (merged: second by second).
	PerSecond struct {
		OK     []int64 `json:"completed"`
		Failed []int64 `json:"failed"`
	} `json:"per_second"`
	hist map[string]*hdrhistogram.Histogram // decoded Histograms
}

// pushResult is the push section of a result (--enable-push).
type pushResult struct {
	Received int64 `json:"received"` // promises accepted
	Refused  int64 `json:"refused"`  // promises reset by the client
	Bytes    int64 `json:"bytes"`    // DATA payload octets of pushed responses
}

var histNames = []string{"request", "ttfb", "queue", "corrected", "failed"}

// collect merges the workers' statistics into a result.
func collect(cfg *config, stats []*threadStats, elapsed time.Duration) *result {
	r := &result{Version: "h2bench/1", Runs: 1, Duration: elapsed.Seconds(), hist: map[string]*hdrhistogram.Histogram{}}
	for _, n := range histNames {
		r.hist[n] = newHist()
	}
	codes := [600]int64{}
	errs := [nErrKinds][errCodes]int64{}
	causes := [nErrKinds][errCodes]string{}
	for _, s := range stats {
		q := &r.Requests
		q.Total += s.ReqTodo
		q.Started += s.Started
		q.Done += s.Done
		q.Succeeded += s.StatusSuccess
		q.Success += s.Success
		q.Failed += s.Failed
		q.Errored += s.Errored
		q.Timeout += s.TimedOut
		q.Late += s.Late
		q.Retried += s.Retried
		q.Scheduled += s.Scheduled
		q.NotSent += s.NotSent
		q.Unfinished += s.Unfinished
		r.Measured = math.Max(r.Measured, float64(s.MeasuredNS)/1e9)
		r.Traffic.Total += s.BytesTotal
		r.Traffic.Headers += s.BytesHead
		r.Traffic.HeadersDec += s.BytesHeadDecomp
		r.Traffic.Data += s.BytesBody
		if cfg.enablePush {
			if r.Push == nil {
				r.Push = &pushResult{}
			}
			r.Push.Received += s.PushesReceived
			r.Push.Refused += s.PushesRefused
			r.Push.Bytes += s.BytesPushed
		}
		for i, v := range s.Status {
			codes[i] += v
		}
		for k := range s.Errors {
			for j, v := range s.Errors[k] {
				errs[k][j] += v
				if causes[k][j] == "" {
					causes[k][j] = s.Causes[k][j]
				}
			}
		}
		c := &r.Connections
		c.Made += s.ConnsMade
		c.Established += s.ConnsOK
		c.Reconnects += s.Reconnects
		c.Failed += s.ConnsFailed
		c.GoAways += s.GoAways
		c.HTTP2 += s.ProtoH2
		c.HTTP1 += s.ProtoH1
		c.ALPNFallback += s.ALPNFallback
		c.Upgraded += s.Upgraded
		c.UpgradeNo += s.UpgradeNo
		r.RequestTime.merge(s.reqAcc)
		r.hist["request"].Merge(s.request)
		r.hist["ttfb"].Merge(s.ttfb)
		r.hist["queue"].Merge(s.queue)
		r.hist["corrected"].Merge(s.correct)
		r.hist["failed"].Merge(s.failed)
		r.Connect = append(r.Connect, s.connect...)
		r.FirstByte = append(r.FirstByte, s.connTTFB...)
		r.ClientRPS = append(r.ClientRPS, s.clientRPS...)
		r.PerSecond.OK = addSeries(r.PerSecond.OK, s.perSecOK)
		r.PerSecond.Failed = addSeries(r.PerSecond.Failed, s.perSecBad)
	}
	if cfg.timed() {
		// h2load: total is what was done in the measured phase; the open
		// loop adds what it scheduled and never sent
		r.Requests.Total = r.Requests.Done
		if cfg.openLoop() {
			r.Requests.Total += r.Requests.Timeout + r.Requests.NotSent
		}
	}
	// h2load: "Requests which have not been issued due to connection
	// errors, are counted towards req_failed and req_error."
	if notIssued := r.Requests.Total - r.Requests.Succeeded - r.Requests.Failed; notIssued > 0 {
		r.Requests.Failed += notIssued
		r.Requests.Errored += notIssued
	}
	r.StatusCodes = map[string]int64{}
	for i, v := range codes {
		if v == 0 {
			continue
		}
		if i == 0 {
			r.StatusCodes["none"] += v
		} else {
			r.StatusCodes[strconv.Itoa(i)] = v
			if i/100 < 6 {
				r.StatusClasses[i/100] += v
			}
		}
	}
	r.Errors = map[string]int64{}
	r.ErrorCauses = map[string]string{}
	for k := range errs {
		for j, v := range errs[k] {
			if v == 0 {
				continue
			}
			name := errKindNames[k]
			if k == errGoAway || k == errReset || k == errProtocol || k == errMalformed {
				if j == errCodes-1 {
					name += " (other code)"
				} else {
					name += " (" + codec.ErrCode(j).String() + ")"
				}
			}
			r.Errors[name] += v
			if causes[k][j] != "" && r.ErrorCauses[name] == "" {
				r.ErrorCauses[name] = causes[k][j]
			}
		}
	}
	// Every rate divides by the measured time: with -D, the main duration,
	// or less if every client stopped before its end (h2load divides by
	// -D's value whatever happened); otherwise the wall time of the run.
	if !cfg.timed() {
		r.Measured = elapsed.Seconds()
	} else {
		r.Warmup = cfg.warmup.Seconds()
	}
	if cfg.openLoop() {
		r.OpenLoop = cfg.reqRate
	}
	r.finish()
	return r
}

// finish computes the derived figures and encodes the histograms.
func (r *result) finish() {
	if r.Measured > 0 {
		r.ReqPerSec = float64(r.Requests.Success) / r.Measured
		r.BytesPerS = float64(r.Traffic.Total) / r.Measured
	}
	r.Traffic.SpaceSavings = 0
	if r.Traffic.HeadersDec > 0 {
		r.Traffic.SpaceSavings = 1 - float64(r.Traffic.Headers)/float64(r.Traffic.HeadersDec)
	}
	r.Histograms = map[string]string{}
	r.Percentiles = map[string]map[string]int64{}
	for _, n := range histNames {
		h := r.hist[n]
		if h.TotalCount() > 0 {
			r.Percentiles[n] = map[string]int64{"p50": h.ValueAtPercentile(50), "p90": h.ValueAtPercentile(90),
				"p99": h.ValueAtPercentile(99), "p99.9": h.ValueAtPercentile(99.9), "p99.99": h.ValueAtPercentile(99.99),
				"max": h.Max(), "min": h.Min(), "count": h.TotalCount()}
		}
		if b, err := r.hist[n].Encode(hdrhistogram.V2CompressedEncodingCookieBase); err == nil {
			r.Histograms[n] = string(b)
		}
	}
}

// writeJSON writes r to the file path, or to stdout if path is "-".
func writeJSON(path string, stdout io.Writer, r *result) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" {
		_, err = stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// readJSON loads a result written by --json and decodes its histograms.
func readJSON(path string) (*result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r := &result{}
	if err := json.Unmarshal(b, r); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if !strings.HasPrefix(r.Version, "h2bench/") {
		return nil, fmt.Errorf("%s: not an h2bench result", path)
	}
	r.hist = map[string]*hdrhistogram.Histogram{}
	for _, n := range histNames {
		h := newHist()
		if enc, ok := r.Histograms[n]; ok && enc != "" {
			d, err := hdrhistogram.Decode([]byte(enc))
			if err != nil {
				return nil, fmt.Errorf("%s: histogram %s: %v", path, n, err)
			}
			h.Merge(d)
		}
		r.hist[n] = h
	}
	return r, nil
}

// mergeResults combines runs made at the same time from several machines:
// counts add up, histograms merge, the duration is the longest run's, and
// the request rate is the sum of the runs' rates.
func mergeResults(rs []*result) *result {
	m := &result{Version: "h2bench/1", hist: map[string]*hdrhistogram.Histogram{},
		StatusCodes: map[string]int64{}, Errors: map[string]int64{}, ErrorCauses: map[string]string{}}
	for _, n := range histNames {
		m.hist[n] = newHist()
	}
	var rps, bps float64
	protos := map[string]bool{}
	for _, r := range rs {
		m.Runs += max(r.Runs, 1)
		m.Duration = math.Max(m.Duration, r.Duration)
		m.Measured = math.Max(m.Measured, r.Measured)
		rps += r.ReqPerSec
		bps += r.BytesPerS
		m.OpenLoop += r.OpenLoop
		for _, p := range strings.Split(r.Protocol, ", ") {
			if p != "" && !protos[p] {
				protos[p] = true
				if m.Protocol != "" {
					m.Protocol += ", "
				}
				m.Protocol += p
			}
		}
		m.Notes = dedup(append(m.Notes, r.Notes...))
		a, b := &m.Requests, &r.Requests
		a.Total += b.Total
		a.Started += b.Started
		a.Done += b.Done
		a.Succeeded += b.Succeeded
		a.Success += b.Success
		a.Failed += b.Failed
		a.Errored += b.Errored
		a.Timeout += b.Timeout
		a.Late += b.Late
		a.Retried += b.Retried
		a.Scheduled += b.Scheduled
		a.NotSent += b.NotSent
		a.Unfinished += b.Unfinished
		for i, v := range r.StatusClasses {
			m.StatusClasses[i] += v
		}
		for k, v := range r.StatusCodes {
			m.StatusCodes[k] += v
		}
		for k, v := range r.Errors {
			m.Errors[k] += v
		}
		for k, v := range r.ErrorCauses {
			if m.ErrorCauses[k] == "" {
				m.ErrorCauses[k] = v
			}
		}
		m.Traffic.Total += r.Traffic.Total
		m.Traffic.Headers += r.Traffic.Headers
		m.Traffic.HeadersDec += r.Traffic.HeadersDec
		m.Traffic.Data += r.Traffic.Data
		if r.Push != nil {
			if m.Push == nil {
				m.Push = &pushResult{}
			}
			m.Push.Received += r.Push.Received
			m.Push.Refused += r.Push.Refused
			m.Push.Bytes += r.Push.Bytes
		}
		c, d := &m.Connections, &r.Connections
		c.Made += d.Made
		c.Established += d.Established
		c.Reconnects += d.Reconnects
		c.Failed += d.Failed
		c.GoAways += d.GoAways
		c.HTTP2 += d.HTTP2
		c.HTTP1 += d.HTTP1
		c.ALPNFallback += d.ALPNFallback
		c.Upgraded += d.Upgraded
		c.UpgradeNo += d.UpgradeNo
		m.RequestTime.merge(r.RequestTime)
		for _, n := range histNames {
			m.hist[n].Merge(r.hist[n])
		}
		m.Connect = append(m.Connect, r.Connect...)
		m.FirstByte = append(m.FirstByte, r.FirstByte...)
		m.ClientRPS = append(m.ClientRPS, r.ClientRPS...)
		m.PerSecond.OK = addSeries(m.PerSecond.OK, r.PerSecond.OK)
		m.PerSecond.Failed = addSeries(m.PerSecond.Failed, r.PerSecond.Failed)
	}
	m.finish()
	m.ReqPerSec, m.BytesPerS = rps, bps
	if n := startSpread(rs); n > time.Second {
		m.Notes = append(m.Notes, fmt.Sprintf("the runs started up to %v apart: they did not all overlap (--start-at starts them together)", n.Round(100*time.Millisecond)))
	}
	return m
}

// addSeries adds b to a element by element, extending a as needed.
func addSeries(a, b []int64) []int64 {
	for i, v := range b {
		if i == len(a) {
			a = append(a, 0)
		}
		a[i] += v
	}
	return a
}

// startSpread returns how far apart the runs started.
func startSpread(rs []*result) time.Duration {
	var lo, hi time.Time
	for _, r := range rs {
		t, err := time.Parse(time.RFC3339Nano, r.Start)
		if err != nil {
			continue
		}
		if lo.IsZero() || t.Before(lo) {
			lo = t
		}
		if t.After(hi) {
			hi = t
		}
	}
	return hi.Sub(lo)
}

func mergeMain(args []string, stdout, stderr io.Writer) int {
	var out, page string
	var files []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--json" && i+1 < len(args):
			out = args[i+1]
			i++
		case strings.HasPrefix(a, "--json="):
			out = strings.TrimPrefix(a, "--json=")
		case a == "--html" && i+1 < len(args):
			page = args[i+1]
			i++
		case strings.HasPrefix(a, "--html="):
			page = strings.TrimPrefix(a, "--html=")
		default:
			files = append(files, a)
		}
	}
	if len(files) == 0 {
		fmt.Fprintln(stderr, "merge: no result files given")
		return 1
	}
	var rs []*result
	for _, f := range files {
		r, err := readJSON(f)
		if err != nil {
			fmt.Fprintln(stderr, "merge:", err)
			return 1
		}
		rs = append(rs, r)
	}
	m := mergeResults(rs)
	m.Args = append([]string{"merge"}, files...)
	text := stdout
	if out == "-" {
		text = stderr
	}
	fmt.Fprintf(text, "merged %d runs (%s)\n", m.Runs, strings.Join(files, ", "))
	writeReport(text, m)
	if out != "" {
		if err := writeJSON(out, stdout, m); err != nil {
			fmt.Fprintln(stderr, "merge:", err)
			return 1
		}
	}
	if page != "" {
		if err := writeHTML(page, m); err != nil {
			fmt.Fprintln(stderr, "merge:", err)
			return 1
		}
	}
	return 0
}

// ---- text report ----

// fmtDuration formats seconds as h2load does: "us" below 1 ms (integer),
// else "ms" or "s" with two decimals.
func fmtDuration(t float64) string {
	switch {
	case t >= 1:
		return dtos(t) + "s"
	case t >= 0.001:
		return dtos(t*1000) + "ms"
	}
	return strconv.FormatInt(int64(t*1e6), 10) + "us"
}

// dtos formats with two decimals, rounding half away from zero.
func dtos(v float64) string {
	m := int64(math.Round(100 * v))
	f := m % 100
	if f < 0 {
		f = -f
	}
	return fmt.Sprintf("%d.%02d", m/100, f)
}

// utosFunit formats a byte count with h2load's K/M/G units (powers of 1024).
func utosFunit(n int64) string {
	switch {
	case n >= 1<<30:
		return dtos(float64(n)/(1<<30)) + "G"
	case n >= 1<<20:
		return dtos(float64(n)/(1<<20)) + "M"
	case n >= 1<<10:
		return dtos(float64(n)/(1<<10)) + "K"
	}
	return strconv.FormatInt(n, 10)
}

// sdRow is one row of the min/max/mean/sd table.
type sdRow struct {
	min, max, mean, sd, within float64
}

// rowOf computes a row from samples the way h2load does (population sd,
// share of samples within mean +/- sd).
func rowOf(v []float64) sdRow {
	if len(v) == 0 {
		return sdRow{}
	}
	r := sdRow{min: math.Inf(1), max: math.Inf(-1)}
	var a, q float64
	for i, x := range v {
		r.min = math.Min(r.min, x)
		r.max = math.Max(r.max, x)
		na := a + (x-a)/float64(i+1)
		q += (x - a) * (x - na)
		a = na
	}
	r.mean, r.sd = a, math.Sqrt(q/float64(len(v)))
	n := 0
	for _, x := range v {
		if x >= r.mean-r.sd && x <= r.mean+r.sd {
			n++
		}
	}
	r.within = 100 * float64(n) / float64(len(v))
	return r
}

// requestRow computes the "time for request" row from the exact sums and
// the histogram (for the share within mean +/- sd).
func (r *result) requestRow() sdRow {
	a := r.RequestTime
	if a.N == 0 {
		return sdRow{}
	}
	row := sdRow{min: float64(a.Min) / 1e9, max: float64(a.Max) / 1e9, mean: a.mean() / 1e9, sd: a.sd() / 1e9}
	lo, hi := a.mean()-a.sd(), a.mean()+a.sd()
	var in int64
	for _, b := range r.hist["request"].Distribution() {
		if b.Count == 0 {
			continue
		}
		mid := float64(b.From+b.To) / 2
		if mid >= lo && mid <= hi {
			in += b.Count
		}
	}
	if t := r.hist["request"].TotalCount(); t > 0 {
		row.within = 100 * float64(in) / float64(t)
	}
	return row
}

func writeReport(w io.Writer, r *result) {
	q := &r.Requests
	// "finished in" is the time every rate of the report divides by (h2load
	// prints the wall time there, warm-up included, and divides by -D).
	fmt.Fprintf(w, "\nfinished in %s, %.2f req/s, %sB/s\n", fmtDuration(r.Measured), r.ReqPerSec, utosFunit(int64(r.BytesPerS)))
	fmt.Fprintf(w, "requests: %d total, %d started, %d done, %d succeeded, %d failed, %d errored, %d timeout\n",
		q.Total, q.Started, q.Done, q.Succeeded, q.Failed, q.Errored, q.Timeout)
	fmt.Fprintf(w, "status codes: %d 2xx, %d 3xx, %d 4xx, %d 5xx\n", r.StatusClasses[2], r.StatusClasses[3], r.StatusClasses[4], r.StatusClasses[5])
	fmt.Fprintf(w, "traffic: %sB (%d) total, %sB (%d) headers (space savings %.2f%%), %sB (%d) data\n",
		utosFunit(r.Traffic.Total), r.Traffic.Total, utosFunit(r.Traffic.Headers), r.Traffic.Headers,
		r.Traffic.SpaceSavings*100, utosFunit(r.Traffic.Data), r.Traffic.Data)
	if p := r.Push; p != nil {
		fmt.Fprintf(w, "push: %d received, %d refused, %sB (%d) pushed data\n", p.Received, p.Refused, utosFunit(p.Bytes), p.Bytes)
	}
	fmt.Fprintf(w, "                     min         max         mean         sd        +/- sd\n")
	dur := func(title string, row sdRow) {
		fmt.Fprintf(w, "%s%10s  %10s  %10s  %10s%9s%%\n", title, fmtDuration(row.min), fmtDuration(row.max),
			fmtDuration(row.mean), fmtDuration(row.sd), dtos(row.within))
	}
	dur("time for request: ", r.requestRow())
	dur("time for connect: ", rowOf(r.Connect))
	dur("time to 1st byte: ", rowOf(r.FirstByte))
	rps := rowOf(r.ClientRPS)
	fmt.Fprintf(w, "req/s           : %10s  %10s  %10s  %10s%9s%%\n", dtos(rps.min), dtos(rps.max), dtos(rps.mean), dtos(rps.sd), dtos(rps.within))

	// h2bench's additions
	fmt.Fprintf(w, "\nlatency percentiles (HDR histograms)  p50        p90        p99      p99.9     p99.99        max      count\n")
	pct := func(title, name string) {
		h := r.hist[name]
		if h.TotalCount() == 0 {
			return
		}
		fmt.Fprintf(w, "%-38s", title)
		for _, p := range []float64{50, 90, 99, 99.9, 99.99} {
			fmt.Fprintf(w, "%9s  ", fmtDuration(float64(h.ValueAtPercentile(p))/1e9))
		}
		fmt.Fprintf(w, "%9s  %9d\n", fmtDuration(float64(h.Max())/1e9), h.TotalCount())
	}
	pct("time for request (raw, to last byte):", "request")
	pct("time to first byte:", "ttfb")
	if r.OpenLoop > 0 || r.hist["queue"].TotalCount() > 0 {
		pct("queueing (intended start -> sent):", "queue")
		pct("corrected (intended start -> last):", "corrected")
	}
	pct("failed requests:", "failed")
	if r.OpenLoop > 0 {
		fmt.Fprintf(w, "open loop: %.2f req/s intended; %d scheduled: %d sent (%d done, %d timed out, %d in flight at the end), %d not sent; %d could not start on time (all streams busy)\n",
			r.OpenLoop, q.Scheduled, q.Scheduled-q.NotSent, q.Done, q.Timeout, q.Unfinished, q.NotSent, q.Late)
	} else if q.Late > 0 {
		fmt.Fprintf(w, "rate: %d requests could not start on time (all streams busy)\n", q.Late)
	}
	c := &r.Connections
	fmt.Fprintf(w, "connections: %d made, %d established, %d reconnects, %d GOAWAY received", c.Made, c.Established, c.Reconnects, c.GoAways)
	if c.Failed > 0 {
		fmt.Fprintf(w, ", %d failed", c.Failed)
	}
	if q.Retried > 0 {
		fmt.Fprintf(w, ", %d refused requests re-issued", q.Retried)
	}
	fmt.Fprintln(w)
	if r.Protocol != "" {
		fmt.Fprintf(w, "application protocol: %s\n", r.Protocol)
	}
	if r.Warmup > 0 || math.Abs(r.Duration-r.Measured) > 0.5 {
		fmt.Fprintf(w, "measured: %s (rates divide by it) of %s wall time", fmtDuration(r.Measured), fmtDuration(r.Duration))
		if r.Warmup > 0 {
			fmt.Fprintf(w, ", after %s of warm-up", fmtDuration(r.Warmup))
		}
		fmt.Fprintln(w)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	keys := make([]string, 0, len(r.StatusCodes))
	for k := range r.StatusCodes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if len(keys) > 0 {
		fmt.Fprintf(w, "status codes (exact):")
		for _, k := range keys {
			fmt.Fprintf(w, " %s: %d", k, r.StatusCodes[k])
		}
		fmt.Fprintln(w)
	}
	if len(r.Errors) > 0 {
		keys = keys[:0]
		for k := range r.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(w, "errors:\n")
		for _, k := range keys {
			fmt.Fprintf(w, "  %s: %d\n", k, r.Errors[k])
			if why := r.ErrorCauses[k]; why != "" {
				fmt.Fprintf(w, "    first cause: %s\n", why)
			}
		}
	}
}
