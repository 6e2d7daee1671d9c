//go:build linux

package main

import (
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/h2loop/h2loop/codec"
)

// Histograms record nanoseconds from 1 ns to one hour with 3 significant
// digits (a relative error of at most 0.1%).
const (
	histLowest  = 1
	histHighest = int64(3600e9)
	histDigits  = 3
)

func newHist() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowest, histHighest, histDigits)
}

// record adds v (ns) to h, clamped to the trackable range.
func record(h *hdrhistogram.Histogram, v int64) {
	if v < histLowest {
		v = histLowest
	} else if v > histHighest {
		v = histHighest
	}
	_ = h.RecordValue(v) // cannot fail within the range
}

// Error kinds, the rows of the "errors" table.
const (
	errConnect    = iota // TCP connect failed
	errTLS               // TLS handshake failed
	errALPN              // no usable protocol negotiated
	errConnClosed        // the server closed the connection with requests in flight
	errIO                // read or write error
	errProtocol          // we found a protocol error (GOAWAY sent)
	errGoAway            // GOAWAY with an error code received
	errReset             // RST_STREAM received
	errMalformed         // malformed response (stream reset by us)
	errTimeout           // -T / -N timeouts
	errHTTP1             // HTTP/1.1 response parse error
	errAbandoned         // requests never issued because the client gave up
	errNotSent           // open loop: scheduled requests never sent
	nErrKinds
)

var errKindNames = [nErrKinds]string{"connect", "tls handshake", "alpn", "connection closed", "i/o",
	"protocol error (sent GOAWAY)", "GOAWAY received", "RST_STREAM received", "malformed response",
	"timeout", "http/1.1 parse", "abandoned", "not sent (open loop)"}

// errCodes is the number of columns kept per error kind: the HTTP/2 error
// codes 0..13 and one for the rest.
const errCodes = 15

func codeCol(c codec.ErrCode) int {
	if c < errCodes-1 {
		return int(c)
	}
	return errCodes - 1
}

// sdAcc accumulates exact count, sum, sum of squares, min and max.
type sdAcc struct {
	N     int64   `json:"n"`
	Sum   float64 `json:"sum"`
	SumSq float64 `json:"sum_sq"`
	Min   int64   `json:"min"`
	Max   int64   `json:"max"`
}

func (a *sdAcc) add(v int64) {
	if a.N == 0 || v < a.Min {
		a.Min = v
	}
	if v > a.Max {
		a.Max = v
	}
	a.N++
	f := float64(v)
	a.Sum += f
	a.SumSq += f * f
}

func (a *sdAcc) merge(b sdAcc) {
	if b.N == 0 {
		return
	}
	if a.N == 0 || b.Min < a.Min {
		a.Min = b.Min
	}
	if b.Max > a.Max {
		a.Max = b.Max
	}
	a.N += b.N
	a.Sum += b.Sum
	a.SumSq += b.SumSq
}

func (a *sdAcc) mean() float64 {
	if a.N == 0 {
		return 0
	}
	return a.Sum / float64(a.N)
}

// sd is the population standard deviation, as h2load reports it.
func (a *sdAcc) sd() float64 {
	if a.N == 0 {
		return 0
	}
	m := a.mean()
	v := a.SumSq/float64(a.N) - m*m
	if v < 0 {
		v = 0
	}
	return math.Sqrt(v)
}

// threadStats is one worker's statistics: only its goroutine writes them,
// and they are merged after the run.
type threadStats struct {
	ReqTodo       int64
	Started       int64
	Done          int64
	Success       int64 // stream closed without error (h2load's req_success)
	StatusSuccess int64 // ... and status 2xx or 3xx ("succeeded")
	Failed        int64
	Errored       int64
	TimedOut      int64
	Late          int64 // open loop: requests that could not start on time
	Retried       int64 // refused by the server (not processed) and re-issued
	Scheduled     int64 // open loop: requests scheduled in the measured phase
	NotSent       int64 // open loop: scheduled requests never sent
	Unfinished    int64 // -D: requests in flight when the measured phase ended (not counted)
	MeasuredNS    int64 // length of the measured phase

	BytesTotal      int64
	BytesHead       int64
	BytesHeadDecomp int64
	BytesBody       int64

	// --enable-push: promises accepted and refused, pushed DATA octets
	PushesReceived int64
	PushesRefused  int64
	BytesPushed    int64

	Status [600]int64 // exact status codes; [0]: none or malformed
	Errors [nErrKinds][errCodes]int64
	Causes [nErrKinds][errCodes]string // the first cause of each error row

	ConnsMade    int64 // connections attempted
	ConnsOK      int64 // connections established
	ConnsFailed  int64 // established connections that failed (error, close, timeout)
	GoAways      int64 // GOAWAY frames received
	Reconnects   int64 // connections made after the first of a client
	Upgraded     int64 // h2c upgrades accepted
	UpgradeNo    int64 // h2c upgrades declined (HTTP/1.1 used)
	ProtoH2      int64 // connections that spoke HTTP/2
	ProtoH1      int64 // connections that spoke HTTP/1.1
	ALPNFallback int64 // TLS connections without ALPN that fell back to HTTP/1.1

	reqAcc    sdAcc // time for request (successful), ns
	request   *hdrhistogram.Histogram
	ttfb      *hdrhistogram.Histogram // request sent -> first response byte
	queue     *hdrhistogram.Histogram // intended (or ready) -> sent
	correct   *hdrhistogram.Histogram // intended -> last byte (open loop)
	failed    *hdrhistogram.Histogram // time for request of failed requests
	interval  *hdrhistogram.Histogram // since the last progress publish (nil without progress)
	connect   []float64               // per connection, seconds
	connTTFB  []float64               // per connection: connect start -> first byte
	clientRPS []float64               // per client: successes / active time
	perSecOK  []int64                 // requests completed in each second of the measured phase
	perSecBad []int64                 // requests failed in each second
}

// tick counts a request that ended in second sec of the measured phase.
// The slices start with an hour's capacity: no allocation on the request
// path before then.
func (s *threadStats) tick(sec int64, ok bool) {
	if sec < 0 {
		return
	}
	for int64(len(s.perSecOK)) <= sec {
		s.perSecOK = append(s.perSecOK, 0)
		s.perSecBad = append(s.perSecBad, 0)
	}
	if ok {
		s.perSecOK[sec]++
	} else {
		s.perSecBad[sec]++
	}
}

func newThreadStats() *threadStats {
	return &threadStats{request: newHist(), ttfb: newHist(), queue: newHist(), correct: newHist(), failed: newHist(),
		perSecOK: make([]int64, 0, 3600), perSecBad: make([]int64, 0, 3600)}
}

// errCount adds one error of kind k with HTTP/2 code col.
func (s *threadStats) errCount(k int, c codec.ErrCode, n int64) {
	s.Errors[k][codeCol(c)] += n
}

// cause records why errors of kind k with code c happen, the first time
// only: the report prints one cause per row of its errors table.
func (s *threadStats) cause(k int, c codec.ErrCode, why string) {
	if p := &s.Causes[k][codeCol(c)]; *p == "" {
		*p = why
	}
}

// needCause reports whether no cause is known yet for kind k with code c
// (to skip building one).
func (s *threadStats) needCause(k int, c codec.ErrCode) bool { return s.Causes[k][codeCol(c)] == "" }
