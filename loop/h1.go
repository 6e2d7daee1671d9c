package loop

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/http1"
	"github.com/valyala/bytebufferpool"
	"golang.org/x/net/http2/hpack"
)

// HTTP/1.1 connections. Requests are read, served and answered one at a
// time, in order, on the goroutine that reads the socket: a pipelined
// request waits in the input buffer until the response before it is done.
// Responses of requests that arrived together are written together.

// h1phase is where a connection is between requests, for the timeouts.
type h1phase uint8

const (
	h1Idle    h1phase = iota // no byte of the next request yet: IdleTimeout
	h1Head                   // part of a request head: HeaderTimeout
	h1Body                   // head read, body arriving: ReadTimeout without progress
	h1Serving                // a handler is running: no timeout here
	h1Drain                  // an error answered, input discarded: h1DrainTime
)

// h1body is how the body of the request being read is framed.
type h1body uint8

const (
	h1NoBody h1body = iota
	h1Length
	h1Chunked
)

// h1resp is how the response being written is framed.
type h1resp uint8

const (
	respLength  h1resp = iota // Content-Length, body in one piece
	respChunked               // Transfer-Encoding: chunked (a flushed or trailered response)
	respClose                 // HTTP/1.0 streaming: the body ends when the connection closes
	respNone                  // HEAD, 1xx, 204, 304: no body
)

const (
	// h1DirectWrite is the body size from which a body is written from
	// the handler's buffer instead of being copied behind the head.
	h1DirectWrite = 32 << 10
	// h1FlushAt is the output size that is written at once even though
	// more pipelined requests are waiting.
	h1FlushAt = 32 << 10
	// h1KeepOut is the largest output or body buffer put back in its pool.
	h1KeepOut = 256 << 10
	// h1DrainTime is how long input is discarded after an error response
	// before the connection closes (one to two ticks).
	h1DrainTime = time.Second
)

// h1conn serves HTTP/1.1 on one connection.
type h1conn struct {
	// immutable after newH1Conn
	core   *Core
	sink   sink
	hk     *connHooks
	remote net.Addr
	rstr   addrString
	// tlsState is set by the TLS transport before the first request.
	tlsState *tls.ConnectionState
	tls      bool
	scheme   string
	lim      http1.Limits
	maxBody  int64

	// owned by the reading goroutine: input and the Transport calls of the
	// handler it runs
	head    http1.Request
	chunk   http1.ChunkedDecoder
	strs    http1.Interner
	req     *engine.Request // the request being read (head done, body not)
	bodyIn  h1body
	left    int64  // Content-Length bytes still to come
	body    []byte // body bytes of req received so far
	minor   int    // HTTP/1.x minor version of req
	keep    bool   // the connection persists after the response
	kaOpt   bool   // HTTP/1.0 keep-alive: say it back
	isHead  bool   // req is a HEAD request
	upgrade []byte // decoded HTTP2-Settings when req upgrades to h2c
	up      *h2Upgrade
	resp    h1resp
	drain   bool                       // an error was answered: discard input until closing
	out     []byte                     // response bytes not yet written
	outBB   *bytebufferpool.ByteBuffer // the pooled buffer behind out during a read pass; its B's length is the most out held
	bodyBB  *bytebufferpool.ByteBuffer // the pooled buffer behind body while a body arrives
	scratch []byte

	// watch, when set (by a transport whose reading goroutine runs the
	// handler and so cannot see the client go), watches the socket while a
	// handler runs, calling disconnected when the client is gone; the
	// function it returns stops the watch.
	watch func() (stop func())

	closed   atomic.Bool // the socket is closed or closing: write nothing more
	shutting atomic.Bool // Shutdown: finish the current request, then close
	hijacked atomic.Bool // the handler took the connection (Hijack)

	// owned by the reading goroutine while a handler runs: where the
	// request being served ends in the input buffer, for Hijack
	consumed  int    // bytes of the input buffer up to the request's end
	unread    []byte // the input after it (pipelined bytes)
	stopWatch func() // stops watch, if it runs
	hkActive  bool   // StateActive was reported: bytes of a request came

	mu      sync.Mutex
	busy    bool // input is running
	phase   h1phase
	gen     uint64          // bumped when the phase changes or a body makes progress
	seenGen uint64          // gen at the tick that last saw it change
	seenAt  time.Time       // when that tick ran
	serving *engine.Request // the request whose handler runs
}

func newH1Conn(core *Core, s sink, remote net.Addr, isTLS bool) *h1conn {
	h := &h1conn{core: core, sink: s, remote: remote, tls: isTLS, scheme: "http", hk: s.hooks()}
	if isTLS {
		h.scheme = "https"
	}
	cfg := &core.opts.Engine
	h.lim = http1.Limits{MaxHeadBytes: int(cfg.MaxHeaderListSize)}
	h.maxBody = cfg.MaxRequestBodySize
	if h.maxBody < 0 {
		h.maxBody = math.MaxInt64 // negative: no limit
	}
	return h
}

// input consumes the complete requests at the start of buf, serving each
// before reading the next. It returns the bytes consumed, how many bytes
// buf[used:] must grow to before the next step can be taken, and whether
// the connection is done. After an h2c upgrade it stops right after the
// upgraded request: the rest of buf belongs to HTTP/2 (see takeUpgrade).
func (h *h1conn) input(buf []byte) (used, need int, done bool) {
	if !h.beginInput(len(buf) > 0) {
		return 0, 0, true
	}
	if len(buf) > 0 && !h.hkActive && h.hk != nil {
		// "StateActive represents a connection that has read 1 or more
		// bytes of a request" (net/http's ConnState).
		h.hkActive = true
		h.hk.busy()
	}

	h.takeOut()
	for !done && h.up == nil {
		if h.drain {
			used = len(buf)
			break
		}
		rest := buf[used:]
		var n int
		switch {
		case h.req == nil:
			if len(rest) == 0 {
				break
			}
			n, need, done = h.readHead(rest)
		case h.bodyIn == h1Length:
			n, need, done = h.readLength(rest)
		default:
			n, need, done = h.readChunked(rest)
		}
		used += n
		if h.drain {
			used = len(buf)
			break
		}
		if n == 0 || need > 0 {
			break
		}
		if h.req != nil && h.bodyIn == h1NoBody {
			h.consumed, h.unread = used, buf[used:]
			done = h.complete(len(buf) == used)
			h.unread = nil
		}
	}
	h.flush()
	h.releaseOut()

	idle, done, orphan := h.endInput(used < len(buf), done)
	if idle && h.hkActive {
		h.hkActive = false
		h.hk.idle()
	}
	if orphan != nil {
		h.core.opts.Hooks.Release(orphan)
	}
	if done {
		h.closed.Store(true)
	}
	return used, need, done
}

// enter moves to phase p, restarting the phase's clock unless the
// connection is in p already (a head that trickles in keeps its clock).
// Called with mu held.
func (h *h1conn) enter(p h1phase) {
	if h.phase != p {
		h.phase = p
		h.gen++
	}
}

// readHead parses a request head at the start of rest and starts the
// request. n is 0 with need set while the head is incomplete.
func (h *h1conn) readHead(rest []byte) (n, need int, done bool) {
	n, err := http1.ParseRequest(rest, &h.head, &h.lim)
	if err != nil {
		return 0, 0, h.refuse(err)
	}
	if n == 0 {
		return 0, len(rest) + 1, false
	}
	hd := &h.head
	if hd.ContentLength > h.maxBody {
		return n, 0, h.refuse(http1.ErrBodyTooLarge)
	}
	h.minor, h.keep, h.kaOpt = hd.Minor, hd.KeepAlive, hd.KeepAliveOption
	h.isHead = string(hd.Method) == "HEAD"
	h.upgrade = nil
	if hd.UpgradeH2C && !h.tls && !h.shutting.Load() {
		// h2c is "HTTP/2 over cleartext TCP" (RFC 7540 §3.1): over TLS,
		// ALPN chose HTTP/1.1 already. "A server MAY ignore a received
		// Upgrade header field if it wishes to continue using the current
		// protocol on that connection" (RFC 9110 §7.8): we do when
		// HTTP2-Settings is not a valid SETTINGS payload, and while shutting
		// down.
		if s, ok := http1.DecodeHTTP2Settings(hd.HTTP2Settings); ok {
			h.upgrade = s
		}
	}
	r := h.core.opts.Hooks.Acquire()
	h.fillHeader(r, h.upgrade != nil)
	h.req = r
	avail := rest[n:]
	switch {
	case hd.Chunked:
		h.bodyIn = h1Chunked
		h.chunk.Reset()
		h.takeBody()
	case hd.ContentLength > 0:
		if int64(len(avail)) >= hd.ContentLength {
			// The whole body is here: no copy into h.body.
			end := n + int(hd.ContentLength)
			r.SetBody(rest[n:end])
			h.bodyIn = h1NoBody
			return end, 0, false
		}
		h.bodyIn = h1Length
		h.left = hd.ContentLength
		h.takeBody()
	default:
		r.SetBody(nil)
		h.bodyIn = h1NoBody
		return n, 0, false
	}
	if hd.Expect100 && len(avail) == 0 {
		// "A server that receives a 100-continue expectation in an HTTP/1.1
		// request ... MAY send a 100 (Continue) response to encourage the
		// client to send the request content" (RFC 9110 §10.1.1): we do
		// when none of it has arrived yet.
		h.out = append(h.out, http1.Continue...)
	}
	h.setPhase(h1Body)
	return n, 0, false
}

// readLength reads Content-Length body bytes.
func (h *h1conn) readLength(rest []byte) (n, need int, done bool) {
	n = len(rest)
	if int64(n) > h.left {
		n = int(h.left)
	}
	h.body = append(h.body, rest[:n]...)
	h.left -= int64(n)
	if n > 0 {
		h.progress()
	}
	if h.left > 0 {
		return n, len(rest) - n + 1, false
	}
	h.req.SetBody(h.body)
	h.bodyIn = h1NoBody
	h.trimBody()
	return n, 0, false
}

// HTTP/1.1 buffers: the output of a read pass (responses, chunked or not)
// and a request body being received come from pools of
// github.com/valyala/bytebufferpool, one per purpose, which learn the sizes
// in use and drop buffers far larger than most uses when they come back
// (engine/buffers.go has the same for HTTP/2). A connection holds an output
// buffer only during a read pass and a body buffer only while a body
// arrives: an idle connection holds neither.
var (
	h1Outs   bytebufferpool.Pool
	h1Bodies bytebufferpool.Pool
)

// takeOut gives the read pass an output buffer.
func (h *h1conn) takeOut() {
	if h.outBB == nil {
		h.outBB = h1Outs.Get()
		h.out = h.outBB.B[:0]
	}
}

// notePeakOut records how much output the buffer held, before a flush
// empties it.
func (h *h1conn) notePeakOut() {
	if h.outBB != nil && len(h.out) > len(h.outBB.B) {
		h.outBB.B = h.out
	}
}

// releaseOut gives the output buffer back at the end of a read pass, its
// length the most it held.
func (h *h1conn) releaseOut() {
	bb := h.outBB
	if bb == nil || len(h.out) > 0 {
		return
	}
	bb.B = h.out[:min(len(bb.B), cap(h.out))]
	if cap(bb.B) <= h1KeepOut {
		h1Outs.Put(bb)
	}
	h.outBB = nil
	h.out = nil
}

// takeBody gives a body that starts arriving a buffer.
func (h *h1conn) takeBody() {
	if h.bodyBB == nil {
		h.bodyBB = h1Bodies.Get()
		h.body = h.bodyBB.B
	}
	h.body = h.body[:0]
}

// trimBody gives the body buffer back once its bytes are copied to the
// request, so that an idle connection does not keep it.
func (h *h1conn) trimBody() {
	if bb := h.bodyBB; bb != nil {
		bb.B = h.body
		if cap(bb.B) <= h1KeepOut {
			h1Bodies.Put(bb)
		}
		h.bodyBB = nil
	}
	h.body = nil
}

// readChunked decodes chunked body bytes.
func (h *h1conn) readChunked(rest []byte) (n, need int, done bool) {
	n, body, end, err := h.chunk.Decode(rest, h.body, h.maxBody, &h.lim)
	h.body = body
	if err != nil {
		return n, 0, h.refuse(err)
	}
	if n > 0 {
		h.progress()
	}
	if !end {
		return n, len(rest) - n + 1, false
	}
	r := h.req
	r.SetBody(h.body)
	if len(h.chunk.Trailers) > 0 {
		h.fillTrailers(r)
	}
	h.bodyIn = h1NoBody
	h.trimBody()
	return n, 0, false
}

// progress records body bytes arriving, for the read timeout.
func (h *h1conn) progress() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.gen++
}

// fillHeader converts the parsed head into r.Header. Strings come from the
// connection's interner: no allocation when they repeat. The Host field
// becomes the authority and the framing fields are dropped (the body is
// whole by the time the handler runs); a request that becomes HTTP/2
// stream 1 also loses the connection-specific fields ("An endpoint MUST NOT
// generate an HTTP/2 message containing connection-specific header
// fields", RFC 9113 §8.2.2).
func (h *h1conn) fillHeader(r *engine.Request, toH2 bool) {
	hd := &h.head
	hb := &r.Header
	hb.Method = h.strs.String(hd.Method)
	hb.Scheme = h.scheme
	hb.Authority = h.strs.String(hd.Authority)
	hb.ContentLength = hd.ContentLength
	switch hd.Form {
	case http1.FormAuthority:
		// CONNECT: neither :scheme nor :path (RFC 9113 §8.5).
		hb.Scheme, hb.Path = "", ""
	case http1.FormAbsolute:
		// The scheme stays the connection's: a cleartext request that
		// names https is still cleartext.
		p := hd.Path
		if len(p) == 0 && string(hd.Method) == "OPTIONS" {
			hb.Path = "*"
		} else if len(p) == 0 || p[0] != '/' {
			h.scratch = append(append(h.scratch[:0], '/'), p...)
			hb.Path = h.strs.String(h.scratch)
		} else {
			hb.Path = h.strs.String(p)
		}
	default:
		hb.Path = h.strs.String(hd.Path)
	}
	for i := range hd.Fields {
		f := &hd.Fields[i]
		switch {
		case f.Kind == http1.KindHost || f.Kind == http1.KindTransferEncoding:
			continue
		case toH2 && f.Kind.Hop() && f.Kind != http1.KindContentLength:
			continue
		case toH2 && f.Kind == http1.KindTE && string(f.Value) != "trailers":
			// "The only exception to this is the TE header field, which MAY
			// be present in an HTTP/2 request; when it is, it MUST NOT
			// contain any value other than "trailers"" (RFC 9113 §8.2.2).
			continue
		}
		hb.Fields = append(hb.Fields, hpack.HeaderField{Name: h.strs.Lower(f.Name), Value: h.strs.String(f.Value)})
		hb.Size += uint32(len(f.Name) + len(f.Value) + 32)
	}
	// The header list size as HTTP/2 counts it (RFC 9113 §6.5.2), with
	// the pseudo-header fields.
	pseudo := [...]struct {
		name, value string
	}{{":method", hb.Method}, {":scheme", hb.Scheme}, {":authority", hb.Authority}, {":path", hb.Path}}
	for _, p := range pseudo {
		if p.value != "" {
			hb.Size += uint32(len(p.name) + len(p.value) + 32)
		}
	}
}

// fillTrailers stores the trailer fields of a chunked body in r.Trailer,
// except those that may not be trailers: framing, routing and the
// connection (RFC 9110 §6.5.1).
func (h *h1conn) fillTrailers(r *engine.Request) {
	for i := range h.chunk.Trailers {
		f := &h.chunk.Trailers[i]
		if f.Kind != http1.KindOther && f.Kind != http1.KindTE {
			continue
		}
		if r.Trailer == nil {
			r.Trailer = new(codec.HeaderBlock)
		}
		r.Trailer.Fields = append(r.Trailer.Fields, hpack.HeaderField{Name: h.strs.Lower(f.Name), Value: h.strs.String(f.Value)})
	}
}

// complete serves the request whose body is now whole, or upgrades the
// connection. last reports that nothing more is buffered. It returns
// whether the connection is done.
func (h *h1conn) complete(last bool) bool {
	r := h.req
	h.req = nil
	if h.upgrade != nil {
		h.out = append(h.out, http1.SwitchingToH2C...)
		h.up = &h2Upgrade{settings: h.upgrade, req: r}
		h.upgrade = nil
		return false
	}
	h.resp = respLength
	h.core.Metrics.Requests.Add(1)
	h.setServing(r)
	if h.watch != nil {
		h.stopWatch = h.watch()
	}
	h.core.serve(r, h)
	if h.stopWatch != nil {
		h.stopWatch()
		h.stopWatch = nil
	}
	h.setServing(nil)
	if last || len(h.out) >= h1FlushAt {
		h.flush()
	}
	h.core.opts.Hooks.Release(r)
	if cap(h.out) > h1KeepOut {
		h.out = nil
	}
	return !h.keep || h.resp == respClose || h.closed.Load() || h.shutting.Load()
}

// refuse answers a request the parser rejected; it reports whether the
// connection is done at once. Bytes that are not HTTP at all get no answer:
// "On a port that also serves HTTP/1.1, bytes that are neither the preface
// nor a valid HTTP/1.1 request line close the connection" (DESIGN.md,
// h2spec 3.5/2). Otherwise the error response says "Connection: close" and
// the connection discards what the client still sends for h1DrainTime
// before closing: closing with unread input makes the kernel send a TCP
// reset, which can destroy the response before the client reads it (a
// client sending a body too large for us would see "connection reset"
// instead of 413).
func (h *h1conn) refuse(err error) bool {
	var e *http1.Error
	if !errors.As(err, &e) {
		e = &http1.Error{Status: 400, Reason: err.Error()}
	}
	m := &h.core.Metrics
	counter := "Malformed"
	switch e.Status {
	case 413:
		m.BodyTooLarge.Add(1)
		counter = "BodyTooLarge"
	case 414, 431:
		m.HeaderTooLarge.Add(1)
		counter = "HeaderTooLarge"
	default:
		m.Malformed.Add(1)
	}
	h.core.logEvent(slog.LevelWarn, logAttrs{remote: h.remote, counter: counter}, "h2loop: http/1.1 from %v: %v", h.remote, err)
	if r := h.req; r != nil {
		h.req = nil
		h.core.opts.Hooks.Release(r)
	}
	if e.Status == 0 {
		return true
	}
	h.drain = true
	h.keep = false
	h.out = http1.AppendStatusLine(h.out, e.Status)
	h.out = append(h.out, "Content-Type: text/plain; charset=utf-8\r\n"...)
	h.out = http1.AppendContentLength(h.out, int64(len(e.Reason)+1))
	h.out = append(h.out, "Connection: close\r\n\r\n"...)
	h.out = append(h.out, e.Reason...)
	h.out = append(h.out, '\n')
	return false
}

// flush writes the pending output.
func (h *h1conn) flush() error {
	if len(h.out) == 0 {
		return nil
	}
	h.notePeakOut()
	err := h.write(h.out)
	h.out = h.out[:0]
	return err
}

// write writes b to the socket unless the connection is closed; a failed
// write closes it.
func (h *h1conn) write(b []byte) error {
	if h.closed.Load() {
		return ErrCanceled
	}
	if err := h.sink.write(b); err != nil {
		h.abort()
		return ErrCanceled
	}
	return nil
}

// abort closes the connection from the reading goroutine: the handler
// still running sees its request canceled.
func (h *h1conn) abort() {
	if h.closed.Swap(true) {
		return
	}
	h.cancelServing(true)
	h.sink.closeSocket()
}

// disconnected cancels the request being served when the client hangs up
// (the poller saw it while the handler runs on the reading goroutine): its
// ctx.Done closes, so a handler waiting on it stops, as over HTTP/2.
func (h *h1conn) disconnected() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.serving; r != nil {
		h.core.opts.Hooks.Canceled(r)
	}
}

// ErrHijacked is returned by Hijack when the connection was taken already.
var ErrHijacked = errors.New("h2loop: connection already hijacked")

// ErrNotSupported is returned by Hijack on a connection that cannot be
// handed over (HTTP/2, or a connection served from memory).
var ErrNotSupported = errors.New("h2loop: hijacking not supported")

// hijacker is a sink that can hand its socket to a handler.
type hijacker interface {
	// hijack takes the socket away from the server. consumed is how many
	// bytes of the input the server has used (up to the end of the
	// request being served) and unread what it has read beyond them.
	// It returns the connection and the bytes the handler must read
	// before reading from it.
	hijack(consumed int, unread []byte) (net.Conn, []byte, error)
}

// Hijack hands the connection to the handler serving r (http.Hijacker):
// the responses before r are written, the server stops reading, timing
// and closing it, and no response to r is sent. It returns the
// connection and the bytes already read after r's request (a pipelined
// request, or a protocol's first bytes), which come before anything read
// from the connection. Called by the handler, on the reading goroutine.
func (h *h1conn) Hijack(r *engine.Request) (net.Conn, []byte, error) {
	if h.hijacked.Load() {
		return nil, nil, ErrHijacked
	}
	hj, ok := h.sink.(hijacker)
	if !ok || !h.isServing(r) {
		return nil, nil, ErrNotSupported
	}
	if h.closed.Load() {
		return nil, nil, ErrCanceled
	}
	if err := h.flush(); err != nil {
		return nil, nil, err
	}
	if h.stopWatch != nil {
		h.stopWatch()
		h.stopWatch = nil
	}
	nc, pre, err := hj.hijack(h.consumed, h.unread)
	if err != nil {
		return nil, nil, err
	}
	h.unread = nil
	h.hk.end(http.StateHijacked)
	h.hijacked.Store(true)
	h.closed.Store(true) // nothing more is read or written by the server
	h.core.remove(h)
	return nc, pre, nil
}

// Hijacked reports whether a handler took the connection.
func (h *h1conn) Hijacked() bool { return h.hijacked.Load() }

// takeUpgrade returns, once, the request that input accepted for an h2c
// upgrade; the 101 response has been written.
func (h *h1conn) takeUpgrade() *h2Upgrade {
	up := h.up
	h.up = nil
	if up != nil && h.hkActive {
		// The HTTP/2 connection counts its streams from here.
		h.hkActive = false
		h.hk.idle()
	}
	return up
}

// Response writing.

// bodyAllowed reports whether the response to the current request may
// have a body: "Any response to a HEAD request and any response with a 1xx
// (Informational), 204 (No Content), or 304 (Not Modified) status code is
// always terminated by the first empty line after the header fields"
// (RFC 9112 §6.3).
func (h *h1conn) bodyAllowed(status int) bool {
	return !h.isHead && status >= 200 && status != 204 && status != 304
}

func statusOf(r *engine.Request) int {
	if r.Status == 0 {
		return 200
	}
	return r.Status
}

// appendHead appends the status line and header section of r's response,
// framed as h.resp says; body is the body length for respLength and for
// the Content-Length of a HEAD response (-1: unknown, none is sent).
func (h *h1conn) appendHead(r *engine.Request, body int) {
	status := statusOf(r)
	out := http1.AppendStatusLine(h.out, status)
	ownLength := false
	hasDate := false
	for i := range r.RespHeader {
		kv := &r.RespHeader[i]
		if len(kv.Name) == 4 && (kv.Name == "date" || kv.Name == "Date") {
			hasDate = true
			if !kv.Bytes && kv.Value == "" {
				continue // no date at all
			}
		}
		switch fieldKind(kv.Name) {
		case http1.KindContentLength:
			// A handler's content-length stands only where we send no
			// body: HEAD and 304 (RFC 9110 §8.6, §9.3.2). "A server MUST
			// NOT send a Content-Length header field in any response with
			// a status code of 1xx (Informational) or 204 (No Content)".
			if h.resp != respNone || status < 200 || status == 204 {
				continue
			}
			ownLength = true
		case http1.KindTransferEncoding, http1.KindConnection, http1.KindKeepAlive,
			http1.KindProxyConnection, http1.KindUpgrade:
			continue // the framing and the connection are ours
		}
		if kv.Bytes {
			out = http1.AppendField(out, kv.Name, r.HeaderValueBytes(kv))
		} else {
			out = http1.AppendField(out, kv.Name, kv.Value)
		}
	}
	if !hasDate && status >= 200 {
		out = http1.AppendField(out, "Date", h.core.opts.Date())
	}
	switch h.resp {
	case respLength:
		out = http1.AppendContentLength(out, int64(body))
	case respChunked:
		out = append(out, "Transfer-Encoding: chunked\r\n"...)
	case respNone:
		if h.isHead && !ownLength && body >= 0 && status >= 200 && status != 204 && status != 304 {
			out = http1.AppendContentLength(out, int64(body))
		}
	}
	if h.shutting.Load() || h.resp == respClose {
		h.keep = false
	}
	switch {
	case !h.keep:
		// "A server that receives a "close" connection option MUST
		// initiate closure of the connection after it sends the final
		// response to the request that contained the "close" connection
		// option. The server SHOULD send a "close" connection option in
		// its final response on that connection. The server MUST NOT
		// process any further requests received on that connection"
		// (RFC 9112 §9.6): complete reports the connection done.
		out = append(out, "Connection: close\r\n"...)
	case h.minor == 0 && h.kaOpt:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	h.out = append(out, "\r\n"...)
	r.MarkHeadersSent()
}

// fieldKind classifies a response field name (handlers use lowercase).
func fieldKind(name string) http1.Kind {
	switch len(name) {
	case 7, 10, 14, 16, 17:
		var b [17]byte
		for i := 0; i < len(name); i++ {
			c := name[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		switch string(b[:len(name)]) {
		case "content-length":
			return http1.KindContentLength
		case "transfer-encoding":
			return http1.KindTransferEncoding
		case "connection":
			return http1.KindConnection
		case "keep-alive":
			return http1.KindKeepAlive
		case "proxy-connection":
			return http1.KindProxyConnection
		case "upgrade":
			return http1.KindUpgrade
		}
	}
	return http1.KindOther
}

// appendBody appends body bytes, or writes them straight from the
// handler's buffer (after what is pending) when they are large.
func (h *h1conn) appendBody(b []byte) {
	if len(b) < h1DirectWrite {
		h.out = append(h.out, b...)
		return
	}
	if h.flush() == nil {
		h.write(b)
	}
}

// appendChunk appends b as one chunk.
func (h *h1conn) appendChunk(b []byte) {
	if len(b) == 0 {
		return
	}
	h.out = http1.AppendChunkHeader(h.out, len(b))
	h.appendBody(b)
	h.out = append(h.out, "\r\n"...)
}

// appendEnd appends the last chunk and the trailer section.
func (h *h1conn) appendEnd(r *engine.Request) {
	h.out = http1.AppendLastChunk(h.out)
	for i := range r.Trailers {
		kv := &r.Trailers[i]
		if fieldKind(kv.Name) != http1.KindOther {
			continue
		}
		if kv.Bytes {
			h.out = http1.AppendField(h.out, kv.Name, r.HeaderValueBytes(kv))
		} else {
			h.out = http1.AppendField(h.out, kv.Name, kv.Value)
		}
	}
	h.out = append(h.out, "\r\n"...)
}

// Transport, called by the handler on the reading goroutine.

// ReadBody reads from the request body, which is complete before the
// handler starts.
func (h *h1conn) ReadBody(r *engine.Request, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, eof := r.ReadBuffered(p)
	if n == 0 && eof {
		return 0, io.EOF
	}
	return n, nil
}

// AckBody does nothing: HTTP/1.1 has no flow control of its own.
func (h *h1conn) AckBody(r *engine.Request, n int) {}

// CloseBody does nothing: the body is complete before the handler starts,
// so no read waits, and the connection reads on.
func (h *h1conn) CloseBody(r *engine.Request) {}

// Flush sends the response head and the body written so far; the body
// continues in chunks (HTTP/1.1) or until the connection closes (HTTP/1.0).
func (h *h1conn) Flush(r *engine.Request) error {
	if h.closed.Load() {
		return ErrCanceled
	}
	if !r.HeadersSent() {
		switch {
		case !h.bodyAllowed(statusOf(r)):
			h.resp = respNone
		case h.minor >= 1:
			h.resp = respChunked
		default:
			// "A server MUST NOT send a response containing
			// Transfer-Encoding unless the corresponding request
			// indicates HTTP/1.1 (or later minor revisions)" (RFC 9112
			// §6.1): an HTTP/1.0 body ends when the connection closes.
			h.resp = respClose
		}
		h.appendHead(r, -1)
	}
	switch h.resp {
	case respChunked:
		h.appendChunk(r.RespBody)
	case respClose:
		h.appendBody(r.RespBody)
	}
	r.ResetResponse()
	return h.flush()
}

// Finish writes the rest of the response once the handler returned.
func (h *h1conn) Finish(r *engine.Request) {
	r.MarkHandlerDone()
	if h.closed.Load() {
		return
	}
	if !r.HeadersSent() {
		switch {
		case !h.bodyAllowed(statusOf(r)):
			h.resp = respNone
		case len(r.Trailers) > 0 && h.minor >= 1:
			// Trailers need the chunked coding (RFC 9112 §7.1.2).
			h.resp = respChunked
		default:
			h.resp = respLength
		}
		h.appendHead(r, len(r.RespBody))
	}
	switch h.resp {
	case respLength, respClose:
		h.appendBody(r.RespBody)
	case respChunked:
		h.appendChunk(r.RespBody)
		h.appendEnd(r)
	}
}

// Abort closes the connection from any goroutine (a handler's deadline
// timer): the handler's writes fail from then on.
func (h *h1conn) Abort(r *engine.Request) { h.abort() }

// Interim writes an informational response (103 Early Hints, say) with
// the fields r.RespHeader[from:]. "A server MUST NOT send a 1xx response
// to an HTTP/1.0 client" (RFC 9110 §15.2): for one it does nothing.
func (h *h1conn) Interim(r *engine.Request, status, from int) error {
	if h.closed.Load() {
		return ErrCanceled
	}
	if status < 100 || status > 199 || status == 101 || r.HeadersSent() {
		return ErrInterim
	}
	if h.minor == 0 {
		return nil
	}
	out := http1.AppendStatusLine(h.out, status)
	for i := max(from, 0); i < len(r.RespHeader); i++ {
		kv := &r.RespHeader[i]
		switch fieldKind(kv.Name) {
		case http1.KindContentLength, http1.KindTransferEncoding, http1.KindConnection,
			http1.KindKeepAlive, http1.KindProxyConnection, http1.KindUpgrade:
			continue
		}
		if kv.Bytes {
			out = http1.AppendField(out, kv.Name, r.HeaderValueBytes(kv))
		} else {
			out = http1.AppendField(out, kv.Name, kv.Value)
		}
	}
	h.out = append(out, "\r\n"...)
	return h.flush()
}

// Reset closes the connection: HTTP/1.1 has no way to abort one response.
func (h *h1conn) Reset(r *engine.Request) {
	h.out = h.out[:0]
	h.abort()
}

func (h *h1conn) RemoteAddr() net.Addr { return h.remote }

func (h *h1conn) RemoteAddrString() string     { return h.rstr.get(h.remote) }
func (h *h1conn) LocalAddr() net.Addr          { return localAddr(h.sink) }
func (h *h1conn) Proto() string                { return "HTTP/1.1" }
func (h *h1conn) ConnContext() context.Context { return h.hk.context() }

// connHooks is nil: an HTTP/1.1 connection reports its states as bytes
// of a request arrive and its response is done, not around handlers.
func (h *h1conn) connHooks() *connHooks          { return nil }
func (h *h1conn) TLSState() *tls.ConnectionState { return h.tlsState }

func (h *h1conn) TLS() bool { return h.tls }

// closer, called from other goroutines.

// tick closes a connection that sat too long between requests or in a
// request head or body. Times are measured from the first tick that saw
// the phase begin, so they are up to one tick late; a head that trickles in
// does not reset its clock.
func (h *h1conn) tick(now time.Time) {
	if h.expired(now) && !h.closed.Load() {
		h.core.Metrics.Timeouts.Add(1)
		h.core.logEvent(slog.LevelWarn, logAttrs{remote: h.remote, counter: "Timeouts"}, "h2loop: http/1.1 from %v: timeout", h.remote)
		h.close()
	}
}

// shutdown closes the connection now if it is between requests, or after
// the response in progress (which then says "Connection: close").
func (h *h1conn) shutdown() {
	h.shutting.Store(true)
	if h.between() {
		h.close()
	}
}

// close closes the socket at once, unless a handler took it.
func (h *h1conn) close() {
	if h.hijacked.Load() {
		return
	}
	h.closed.Store(true)
	h.cancelServing(false)
	h.sink.closeSocket()
	h.core.remove(h)
}

// idle reports whether the connection is finished.
func (h *h1conn) idle() bool { return h.closed.Load() }

// onClosed is called once the socket is closed, when input no longer runs.
func (h *h1conn) onClosed() {
	h.closed.Store(true)
	if r := h.takeIdleRequest(); r != nil {
		h.core.opts.Hooks.Release(r)
	}
	h.core.remove(h)
}

// The sections of h1conn under mu, each released by defer.

// beginInput marks a read pass busy (a head begins with its first byte);
// false if the connection is closed.
func (h *h1conn) beginInput(bytes bool) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed.Load() {
		return false
	}
	h.busy = true
	if h.phase == h1Idle && bytes {
		h.enter(h1Head)
	}
	return true
}

// endInput ends a read pass: the phase the connection is left in, whether
// it is done, and a request it leaves behind unfinished (orphan).
func (h *h1conn) endInput(leftover, done bool) (idle, _ bool, orphan *engine.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.busy = false
	switch {
	case h.closed.Load():
		done = true
	case h.drain:
		h.enter(h1Drain)
	case h.req != nil:
		// A body is arriving; the phase is h1Body.
	case leftover || h.up != nil:
		h.enter(h1Head)
	default:
		h.enter(h1Idle)
		if h.shutting.Load() {
			done = true
		}
	}
	idle = h.phase == h1Idle && !done
	if done && h.req != nil {
		orphan, h.req = h.req, nil
	}
	return idle, done, orphan
}

func (h *h1conn) setPhase(p h1phase) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.enter(p)
}

// setServing records the request whose handler runs (nil when it returned).
func (h *h1conn) setServing(r *engine.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.serving = r
	if r != nil {
		h.enter(h1Serving)
	}
}

func (h *h1conn) isServing(r *engine.Request) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.serving == r
}

// cancelServing cancels the request whose handler runs, if any; mark also
// marks it canceled for the engine.
func (h *h1conn) cancelServing(mark bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.serving; r != nil {
		if mark {
			r.Canceled = true
		}
		h.core.opts.Hooks.Canceled(r)
	}
}

// expired reports whether the connection has been in its phase too long.
func (h *h1conn) expired(now time.Time) bool {
	cfg := &h.core.opts.Engine
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen != h.seenGen || h.seenAt.IsZero() {
		h.seenGen, h.seenAt = h.gen, now
	}
	elapsed := now.Sub(h.seenAt)
	switch h.phase {
	case h1Idle:
		return cfg.IdleTimeout > 0 && elapsed > cfg.IdleTimeout
	case h1Head:
		return elapsed > cfg.HeaderTimeout
	case h1Body:
		return elapsed > h.core.opts.ReadTimeout
	case h1Drain:
		return elapsed >= h1DrainTime
	}
	return false
}

// between reports whether no request is in progress.
func (h *h1conn) between() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return (h.phase == h1Idle || h.phase == h1Drain) && !h.busy
}

// takeIdleRequest takes the request the connection holds when no read
// pass runs (one that does releases it itself).
func (h *h1conn) takeIdleRequest() (r *engine.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.busy {
		r, h.req = h.req, nil
	}
	return r
}
