package h2loop

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/loop"
	"golang.org/x/net/http/httpguts"
)

// WrapHandler runs a net/http Handler on h2loop. Each request becomes an
// *http.Request and each response an http.ResponseWriter with the
// semantics net/http gives them over HTTP/2:
//
//   - The request has Method, URL (path and query, no host), Proto
//     "HTTP/2.0" (or "HTTP/1.1" over HTTP/1.1), canonical Header keys
//     (cookie crumbs joined with "; "), Host from :authority, RemoteAddr,
//     RequestURI, ContentLength (-1 when unknown), TLS (the connection's
//     tls.ConnectionState, nil over cleartext) and a Body read as it
//     arrives. Trailer lists the trailers the client declared and holds
//     every trailer it sent once Body returned io.EOF. The Context is
//     canceled when the client resets the stream, the connection dies,
//     ServeHTTP returns, or the context it derives from ends.
//   - The ResponseWriter sends its Header at the first Write, Flush or
//     handler return; adds Date and a sniffed Content-Type unless set (a nil
//     value suppresses them, as in net/http); drops connection-specific
//     fields (RFC 9113 §8.2.2); sends a 1xx WriteHeader (103 Early Hints)
//     as an interim response with the header as it is then (101 over
//     HTTP/1.1 is Hijack's); answers HEAD without a body; implements
//     http.Flusher, and for http.ResponseController FlushError,
//     SetReadDeadline, SetWriteDeadline, EnableFullDuplex and Hijack
//     (http.Hijacker, over HTTP/1.1). Trailers are declared with the
//     "Trailer" header or set with http.TrailerPrefix, and are sent after
//     the body.
//   - A response the handler finishes within 32 KiB gets a content-length;
//     a longer one streams, flushed every 32 KiB (the handler blocks while
//     flow control holds it back). Writing more than a declared
//     Content-Length fails with http.ErrContentLength; returning with less
//     resets the stream.
//
// WebSockets over HTTP/2 (RFC 8441) reach handlers as in net/http: with
// Server.EnableConnectProtocol set (GODEBUG=http2xconnect=1 in net/http),
// an extended CONNECT is a request with Method "CONNECT", the URL from
// :path and the protocol in r.Header[":protocol"] (e.g. "websocket"); the
// handler answers 200, flushes, and then reads r.Body and writes the
// ResponseWriter as the two directions of the tunnel.
//
// The handler starts as soon as the request headers are complete;
// r.Body delivers the body as it arrives, so full-duplex protocols (gRPC
// streaming, any request/response chat over one stream) work with the
// default settings, and a body of undeclared length read through r.Body is
// bounded by flow control, not by MaxRequestBodySize.
//
// The request's context holds http.LocalAddrContextKey (the address the
// connection was accepted on), http.ServerContextKey (an *http.Server
// that describes the Server, see ServerContextKey) and ServerContextKey
// (the *Server itself), and the values of the context the connection's
// requests derive from (Server.BaseContext, Server.ConnContext).
// Request.TLS is the connection's full tls.ConnectionState (shared by the
// connection's requests, as in net/http).
//
// The adapter allocates about as much as net/http does per request; use
// native Handlers on hot paths.
func WrapHandler(h http.Handler) Handler {
	return wrappedHandler{h}
}

type wrappedHandler struct{ h http.Handler }

// ServerContextKey is the context key under which a request's context
// holds the *Server that serves it (in WrapHandler's requests).
var ServerContextKey = &contextKey{"h2loop-server"}

type contextKey struct{ name string }

func (k *contextKey) String() string { return "h2loop context value " + k.name }

// httpServer is the value of http.ServerContextKey in WrapHandler's
// request contexts: an *http.Server that describes s (Addr, Handler,
// TLSConfig, timeouts, MaxHeaderBytes, ErrorLog), so that code asserting
// the net/http type keeps working. It is a description only: it serves
// nothing, and its methods do not act on s (use ServerContextKey).
func (s *Server) httpServer() *http.Server {
	if s == nil {
		return nil
	}
	s.httpSrvOnce.Do(func() {
		hs := &http.Server{
			Addr:           s.Addr,
			TLSConfig:      s.TLSConfig,
			ReadTimeout:    s.ReadTimeout,
			WriteTimeout:   s.WriteTimeout,
			IdleTimeout:    s.IdleTimeout,
			MaxHeaderBytes: int(s.MaxHeaderListSize),
			ErrorLog:       s.ErrorLog,
		}
		if wh, ok := s.Handler.(wrappedHandler); ok {
			hs.Handler = wh.h
		}
		s.httpSrv = hs
	})
	return s.httpSrv
}

// wrapFlushSize is how much response body the adapter buffers before it
// sends what it has.
const wrapFlushSize = 32 << 10

// httpStream is everything one wrapped request needs, in one allocation.
// Handlers may keep the *http.Request, its context or its body past their
// return (against the net/http contract, but it happens): once the handler
// returned, none of them touches the pooled RequestCtx again.
type httpStream struct {
	w    responseWriter
	body requestBody
	ctx  reqContext
	dl   deadlines
	url  url.URL
}

func (wh wrappedHandler) Serve(rc *RequestCtx) {
	s := new(httpStream)
	req, err := s.newRequest(rc)
	if err != nil {
		rc.SetStatus(http.StatusBadRequest)
		rc.SetContentType("text/plain; charset=utf-8")
		rc.WriteString("400 Bad Request: " + err.Error() + "\n")
		return
	}
	returned := false
	defer func() {
		if returned {
			return
		}
		// ServeHTTP panicked: end the body and the context, then let the
		// server log the panic and reset the stream, except for
		// http.ErrAbortHandler, which aborts the response silently.
		p := recover()
		s.dl.end()
		s.body.end()
		s.w.rc = nil
		s.ctx.end()
		switch p {
		case nil:
			// runtime.Goexit: nothing to report.
		case http.ErrAbortHandler:
			rc.Reset()
		default:
			panic(p)
		}
	}()
	wh.h.ServeHTTP(&s.w, req)
	returned = true
	s.dl.end()
	s.body.end()
	s.w.finish()
	s.w.rc = nil
	s.ctx.end()
}

// newRequest builds the http.Request for rc. It fails only on a request
// target net/http would reject.
func (s *httpStream) newRequest(rc *RequestCtx) (*http.Request, error) {
	// A net/http handler may keep anything of its request: no string may
	// stay in the request's header arena, whose memory the next request
	// reuses (engine.Request.Header).
	hb := &rc.req.Header
	keep := func(s string) string {
		if hb.InArena(s) {
			return strings.Clone(s)
		}
		return s
	}
	authority := keep(rc.Authority())
	fields := rc.Headers()
	h := make(http.Header, len(fields))
	// One backing array for the values of all fields; each key's slice has
	// capacity 1, so a handler appending to it gets a copy.
	vals := make([]string, 0, len(fields))
	var trailer http.Header
	for _, f := range fields {
		switch f.Name {
		case "host":
			// HTTP/2 permits Host, but :authority is the request's
			// authority (RFC 9113 §8.3.1); over HTTP/1.1 the transport
			// has already moved it into Authority.
			if authority == "" {
				authority = keep(f.Value)
			}
			continue
		case "trailer":
			for _, k := range strings.Split(f.Value, ",") {
				k = textproto.CanonicalMIMEHeaderKey(textproto.TrimString(k))
				switch k {
				case "", "Transfer-Encoding", "Trailer", "Content-Length":
				default:
					if trailer == nil {
						trailer = make(http.Header)
					}
					trailer[keep(k)] = nil
				}
			}
			continue
		}
		k := keep(canonicalHeader(f.Name))
		if vs := h[k]; len(vs) > 0 {
			if k == "Cookie" {
				vs[0] += "; " + f.Value
			} else {
				h[k] = append(vs, keep(f.Value))
			}
			continue
		}
		vals = append(vals, keep(f.Value))
		h[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	}

	if p := keep(rc.Protocol()); p != "" {
		// An extended CONNECT (RFC 8441, Server.EnableConnectProtocol):
		// net/http's HTTP/2 server (GODEBUG=http2xconnect=1) hands it to
		// handlers as Method "CONNECT" with the URL from :path and the
		// protocol in the ":protocol" header.
		vals = append(vals, p)
		h[":protocol"] = vals[len(vals)-1 : len(vals) : len(vals)]
	}

	// Built here and copied once by WithContext, which is the only way to
	// give an http.Request its context.
	base := &http.Request{
		Method:     keep(rc.Method()),
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     h,
		Host:       authority,
		Trailer:    trailer,
	}
	if rc.Proto() == "HTTP/1.1" {
		base.Proto, base.ProtoMajor, base.ProtoMinor = "HTTP/1.1", 1, 1
	}
	base.RemoteAddr = rc.t.RemoteAddrString()
	if base.Method == http.MethodConnect && rc.Protocol() == "" {
		// "The :scheme and :path pseudo-header fields MUST be omitted"
		// from a CONNECT request (RFC 9113 §8.5): net/http's URL is the
		// authority.
		base.URL = &url.URL{Host: authority}
		base.RequestURI = authority
	} else {
		path := keep(rc.Path())
		u, err := parseRequestURI(&s.url, path)
		if err != nil {
			return nil, fmt.Errorf("bad request target %q", path)
		}
		base.URL = u
		base.RequestURI = path
	}
	base.TLS = rc.TLSState() // shared by the connection's requests, as net/http does

	base.ContentLength = rc.ContentLength()
	creq := &rc.req
	complete := !creq.Streaming()
	if complete && base.ContentLength < 0 {
		base.ContentLength = creq.BodyLen()
	}
	s.ctx.rc = rc
	s.ctx.srv = rc.srv
	s.ctx.local = rc.t.LocalAddr()
	s.ctx.base = rc.srv.requestBase(rc.t)
	s.body.rc = rc
	s.body.dl = &s.dl
	s.body.cond.L = &s.body.mu
	s.dl.rc = rc
	s.dl.body = &s.body
	base.Body = &s.body
	if complete && creq.BodyLen() == 0 && rc.Trailer() == nil {
		base.Body = http.NoBody
	}
	r := base.WithContext(&s.ctx)
	s.body.req = r

	s.w = responseWriter{rc: rc, req: r, header: make(http.Header), declared: -1, dl: &s.dl}
	s.w.trailers = s.w.trailerArr[:0]
	s.w.isHead = r.Method == http.MethodHead
	s.w.h2 = r.ProtoMajor == 2
	return r, nil
}

// reqContext is the request's context.Context. It is canceled when the
// stream is reset, the connection dies, or the handler returns. Its Done
// channel is the one of the RequestCtx's Context, made on first use: the
// RequestCtx cancels it itself, so no goroutine waits for its end, and a
// context derived from it with context.WithCancel (as gRPC's handler
// transport does) joins that context's children instead of starting a
// goroutine of its own (see Value).
type reqContext struct {
	// immutable after newRequest
	srv   *Server
	local net.Addr
	base  context.Context // the connection's context (ConnContext) or the server's (BaseContext)

	mu    sync.Mutex
	rc    *RequestCtx     // nil once the handler returned
	inner context.Context // rc.Context() (or a canceled context), made by the first Done call
	err   error           // context.Canceled once canceled
}

// Deadline is the deadline of the context it derives from (BaseContext,
// ConnContext), if any.
func (c *reqContext) Deadline() (time.Time, bool) { return c.base.Deadline() }

// Value holds http.LocalAddrContextKey, http.ServerContextKey and
// ServerContextKey, then the values of the server's base context. Once
// Done was called, the other keys are looked up in the context whose
// Done channel it returns (which derives from the base context and adds
// no value of its own): that is how the context package recognises, for
// a context derived from this one, a parent it can attach to without a
// goroutine.
func (c *reqContext) Value(key any) any {
	switch key {
	case http.LocalAddrContextKey:
		if c.local == nil {
			return nil // a net.Addr-typed nil would not be a nil any
		}
		return c.local
	case http.ServerContextKey:
		return c.srv.httpServer()
	case ServerContextKey:
		return c.srv
	}
	if inner := c.innerCtx(); inner != nil {
		return inner.Value(key)
	}
	return c.base.Value(key)
}

func (c *reqContext) innerCtx() context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.inner
}

// Done returns a channel closed on cancellation.
func (c *reqContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner == nil {
		if c.rc == nil || c.err != nil {
			c.inner = canceledContext
		} else {
			c.inner = c.rc.Context() // canceled by the RequestCtx: reset, connection end, handler return
		}
	}
	return c.inner.Done()
}

// canceledContext is the inner context of a reqContext whose Done was
// first called after its handler returned.
var canceledContext = func() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}()

// Err is context.Canceled once the context is canceled, else nil.
func (c *reqContext) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err == nil {
		switch {
		case c.inner != nil:
			if c.inner.Err() != nil {
				c.err = context.Canceled
			}
		case c.rc != nil && c.rc.Canceled() || c.base.Err() != nil:
			c.err = context.Canceled
		}
	}
	return c.err
}

func (c *reqContext) String() string { return "h2loop request context" }

// end cancels the context when the handler returns (closing the Done
// channel, if it was asked for, before it returns) and forgets the
// RequestCtx.
func (c *reqContext) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inner != nil && c.rc != nil {
		c.rc.endContext()
	}
	c.rc = nil
	c.err = context.Canceled
}

var (
	errReadDeadline  = fmt.Errorf("h2loop: request body read deadline passed: %w", os.ErrDeadlineExceeded)
	errWriteDeadline = fmt.Errorf("h2loop: response write deadline passed: %w", os.ErrDeadlineExceeded)
)

// deadlines are the read and write deadlines of http.ResponseController.
// Their timers exist only once a deadline is set.
type deadlines struct {
	body *requestBody // immutable after newRequest

	mu           sync.Mutex
	rc           *RequestCtx // nil once the handler returned
	read, write  *time.Timer
	writeExpires bool // the write deadline passed: the response is aborted
	writeSet     bool // a write deadline was set (owned by the handler's goroutine)
}

// set arms *timer to call fired at t (stops it for the zero time).
func (d *deadlines) set(timer **time.Timer, t time.Time, fired func()) {
	if d.arm(timer, t, fired) {
		fired() // passed already: at once, before the handler's next call
	}
}

// arm is set under d.mu; it reports whether t has passed already.
func (d *deadlines) arm(timer **time.Timer, t time.Time, fired func()) (passed bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if *timer != nil {
		(*timer).Stop()
	}
	switch {
	case t.IsZero():
	case !t.After(time.Now()):
		return true
	case *timer == nil:
		*timer = time.AfterFunc(time.Until(t), fired)
	default:
		(*timer).Reset(time.Until(t))
	}
	return false
}

// readFired ends the request body with errReadDeadline, waking a read
// that waits for bytes.
func (d *deadlines) readFired() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rc == nil {
		return
	}
	d.body.expire()
}

// expire ends the body with errReadDeadline unless it has ended already.
func (b *requestBody) expire() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed && b.err == nil {
		b.err = errReadDeadline
		b.rc.CloseBody()
	}
}

// writeFired aborts the response.
func (d *deadlines) writeFired() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.rc == nil {
		return
	}
	d.writeExpires = true
	if a, ok := d.rc.t.(interface{ Abort(r *engine.Request) }); ok {
		a.Abort(&d.rc.req)
	}
}

func (d *deadlines) writeExpired() bool {
	if !d.writeSet {
		return false // never set: no lock on the common path
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writeExpires
}

// end stops the timers when the handler returns.
func (d *deadlines) end() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rc = nil
	if d.read != nil {
		d.read.Stop()
	}
	if d.write != nil {
		d.write.Stop()
	}
}

// requestBody is the request's Body.
type requestBody struct {
	// immutable after newRequest
	rc  *RequestCtx
	req *http.Request // the request handed to the handler: its Trailer is filled at io.EOF
	dl  *deadlines

	mu     sync.Mutex
	cond   sync.Cond // signalled when a read returns
	closed bool      // Close was called or the handler returned
	err    error     // how the body ended (io.EOF or the transport's error)
	active int       // reads inside rc.Read
}

// Read reads the request body as it arrives.
func (b *requestBody) Read(p []byte) (int, error) {
	if err := b.enter(); err != nil {
		return 0, err
	}
	n, err := b.rc.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.active--; b.active == 0 {
		b.cond.Broadcast()
	}
	switch {
	case err == loop.ErrBodyClosed && b.err == errReadDeadline:
		err = errReadDeadline
	case err == loop.ErrBodyClosed:
		err = http.ErrBodyReadAfterClose
	case err != nil && b.err == nil:
		b.setEnd(err)
	}
	return n, err
}

// setEnd records how the body ended; at io.EOF the request trailers are
// final and are copied into Request.Trailer.
func (b *requestBody) setEnd(err error) {
	b.err = err
	if err != io.EOF {
		return
	}
	t := b.rc.Trailer()
	if t == nil {
		return
	}
	got := make(http.Header, len(t.Fields))
	for _, f := range t.Fields {
		k := textproto.CanonicalMIMEHeaderKey(f.Name)
		got[k] = append(got[k], f.Value)
	}
	if b.req.Trailer == nil {
		b.req.Trailer = got
		return
	}
	for k, vs := range got {
		b.req.Trailer[k] = vs // the values replace the declaration
	}
}

// Close discards the rest of the body: later Reads, and one waiting for
// bytes, fail with http.ErrBodyReadAfterClose. The stream is not reset.
func (b *requestBody) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		if b.err == nil {
			b.rc.CloseBody()
		}
	}
	return nil
}

// end closes the body when the handler returned and waits for reads still
// inside the RequestCtx (on goroutines the handler left behind), so that
// nothing touches it afterwards.
func (b *requestBody) end() {
	b.Close()
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.active > 0 {
		b.cond.Wait()
	}
}

// enter counts a Read in, or returns why the body cannot be read.
func (b *requestBody) enter() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return http.ErrBodyReadAfterClose
	}
	if b.err != nil {
		return b.err
	}
	b.active++
	return nil
}

// responseWriter is the http.ResponseWriter. Like net/http's, it is not
// safe for concurrent use.
type responseWriter struct {
	rc     *RequestCtx   // nil once the handler returned
	req    *http.Request // the request it answers
	dl     *deadlines
	header http.Header
	isHead bool // HEAD: the body is counted, not sent
	h2     bool

	status      int
	wroteHeader bool      // WriteHeader ran (status and header snapshot taken)
	sentHeader  bool      // the header section went to the transport (Flush)
	declared    int64     // the Content-Length the handler set, or -1
	written     int64     // body bytes the handler wrote
	pending     int       // body bytes written since the last flush
	hasCT       bool      // Content-Type present in the snapshot (maybe nil: no sniffing)
	hasDate     bool      // Date present in the snapshot
	hasCE       bool      // Content-Encoding set: no sniffing
	trailers    []string  // canonical names declared with "Trailer"
	trailerArr  [3]string // trailers' first backing array (gRPC declares 3)
	head101     []byte    // HTTP/1.1: the 101 response WriteHeader(101) holds for Hijack
	hijacked    bool      // Hijack took the connection
}

// Header returns the response header map: changes after WriteHeader (or
// the first Write) are ignored, except trailers.
func (w *responseWriter) Header() http.Header { return w.header }

// WriteHeader sets the status code and takes the snapshot of the header.
// A 1xx code other than 101 sends an interim response (103 Early Hints,
// say) with the header as it is now, which stays for the final response,
// as net/http does; 101 over HTTP/1.1 is sent by Hijack.
func (w *responseWriter) WriteHeader(code int) {
	if w.rc == nil {
		panic("h2loop: WriteHeader called after the handler returned")
	}
	if w.wroteHeader || w.hijacked {
		return
	}
	if code < 100 || code > 999 {
		panic(fmt.Sprintf("invalid WriteHeader code %v", code))
	}
	if code == http.StatusSwitchingProtocols && !w.h2 {
		// As in net/http, 101 is the final status of an HTTP/1.1
		// response: Hijack sends it (with the header as it is now) before
		// handing the connection over.
		w.wroteHeader = true
		w.status = code
		var b bytes.Buffer
		b.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
		w.header.Write(&b)
		b.WriteString("\r\n")
		w.head101 = b.Bytes()
		return
	}
	if code < 200 {
		w.interim(code)
		return
	}
	w.wroteHeader = true
	w.status = code
	w.rc.SetStatus(code)
	for _, v := range w.header["Trailer"] {
		for v != "" {
			var t string
			t, v, _ = strings.Cut(v, ",")
			w.declareTrailer(textproto.TrimString(t))
		}
	}
	for k, vs := range w.header {
		if slices.Contains(w.trailers, k) {
			continue // a declared trailer goes after the body only
		}
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te":
			// "An endpoint MUST NOT generate an HTTP/2 message containing
			// connection-specific header fields" (RFC 9113 §8.2.2); over
			// HTTP/1.1 the transport owns framing and the connection.
			continue
		case "Content-Type":
			w.hasCT = true
		case "Date":
			w.hasDate = true
			if len(vs) == 0 {
				// net/http: a nil Date suppresses the automatic one.
				w.rc.SetHeader("date", "")
			}
		case "Content-Encoding":
			w.hasCE = len(vs) > 0 && vs[0] != ""
		case "Content-Length":
			if len(vs) == 0 {
				continue
			}
			n, err := strconv.ParseInt(vs[0], 10, 64)
			if err != nil || n < 0 {
				continue // not a length: not sent
			}
			w.declared = n
			// "A server MUST NOT send a Content-Length header field in any
			// response with a status code of 1xx (Informational) or 204
			// (No Content)" (RFC 9110 §8.6). A 304 keeps it over HTTP/1.1;
			// over HTTP/2 it needs a HEADERS frame with END_STREAM, which
			// the engine sends only with a computed length: it is dropped
			// (a 304 may omit it).
			if bodyAllowed(code) || code == http.StatusNotModified && !w.h2 {
				w.rc.SetHeader("content-length", vs[0])
			}
			continue
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		name := lowerHeader(k)
		for _, v := range vs {
			w.rc.AddHeader(name, v)
		}
	}
}

// interim sends an informational response with the fields of the header
// map; the map is left as it is for the final response.
func (w *responseWriter) interim(code int) {
	r := &w.rc.req
	n := len(r.RespHeader)
	for k, vs := range w.header {
		switch k {
		case "Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te",
			"Content-Length", "Trailer", "Date":
			continue
		}
		if strings.HasPrefix(k, http.TrailerPrefix) {
			continue
		}
		name := lowerHeader(k)
		for _, v := range vs {
			r.AddHeader(name, v)
		}
	}
	w.rc.t.Interim(r, code, n)
	clear(r.RespHeader[n:])
	r.RespHeader = r.RespHeader[:n]
}

func (w *responseWriter) declareTrailer(k string) {
	k = textproto.CanonicalMIMEHeaderKey(k)
	if k == "" || !httpguts.ValidTrailerHeader(k) || slices.Contains(w.trailers, k) {
		return
	}
	w.trailers = append(w.trailers, k)
}

// bodyAllowed reports whether a response with status may have content
// (RFC 9110 §6.4.1: not 1xx, 204 or 304).
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// Write writes body bytes; every 32 KiB it sends what it has, blocking
// while flow control holds the stream back.
func (w *responseWriter) Write(p []byte) (int, error) {
	if send, err := w.beginWrite(len(p)); err != nil {
		return 0, err
	} else if !send {
		return len(p), nil
	}
	n := 0
	for n < len(p) {
		chunk := min(len(p)-n, wrapFlushSize-w.pending)
		w.rc.Write(p[n : n+chunk])
		if n += chunk; w.addPending(chunk) {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// WriteString is Write for a string (io.StringWriter), without a copy to a
// byte slice.
func (w *responseWriter) WriteString(s string) (int, error) {
	if send, err := w.beginWrite(len(s)); err != nil {
		return 0, err
	} else if !send {
		return len(s), nil
	}
	n := 0
	for n < len(s) {
		chunk := min(len(s)-n, wrapFlushSize-w.pending)
		w.rc.WriteString(s[n : n+chunk])
		if n += chunk; w.addPending(chunk) {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// beginWrite checks and counts a write of n bytes. It reports whether the
// bytes are to be sent (not for a HEAD response, whose body is counted and
// dropped), or why the write fails.
func (w *responseWriter) beginWrite(n int) (send bool, err error) {
	if w.rc == nil {
		panic("h2loop: Write called after the handler returned")
	}
	if w.hijacked {
		return false, http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if !bodyAllowed(w.status) {
		return false, http.ErrBodyNotAllowed
	}
	if w.declared >= 0 && w.written+int64(n) > w.declared {
		return false, http.ErrContentLength
	}
	if w.rc.Canceled() {
		if w.dl.writeExpired() {
			return false, errWriteDeadline
		}
		return false, loop.ErrCanceled
	}
	w.written += int64(n)
	return !w.isHead && n > 0, nil
}

// addPending counts n buffered bytes and reports whether it is time to flush.
func (w *responseWriter) addPending(n int) bool {
	w.pending += n
	return w.pending >= wrapFlushSize
}

// Flush sends the header and the body written so far (http.Flusher).
func (w *responseWriter) Flush() { w.FlushError() }

// FlushError is Flush that reports a stream the client reset (used by
// http.ResponseController).
func (w *responseWriter) FlushError() error {
	if w.rc == nil {
		panic("h2loop: Flush called after the handler returned")
	}
	if w.hijacked {
		return http.ErrHijacked
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.flush()
}

// Hijack takes over an HTTP/1.1 connection (http.Hijacker), as net/http's
// does: a status written with WriteHeader(101) is sent first, with its
// header; then the server forgets the connection (no timeouts, no close
// by Shutdown, Close or the handler's return). The bufio.Reader holds the
// bytes the server had read beyond the request; r.Body must not be read
// after Hijack. Over HTTP/2 it returns http.ErrNotSupported.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	if w.rc == nil {
		panic("h2loop: Hijack called after the handler returned")
	}
	if w.hijacked {
		return nil, nil, http.ErrHijacked
	}
	hj, ok := w.rc.t.(interface {
		Hijack(r *engine.Request) (net.Conn, []byte, error)
	})
	if w.h2 || !ok {
		return nil, nil, http.ErrNotSupported
	}
	if w.sentHeader {
		return nil, nil, errors.New("h2loop: Hijack after the response was flushed")
	}
	nc, pre, err := hj.Hijack(&w.rc.req)
	switch {
	case errors.Is(err, loop.ErrHijacked):
		return nil, nil, http.ErrHijacked
	case errors.Is(err, loop.ErrNotSupported):
		return nil, nil, http.ErrNotSupported
	case err != nil:
		return nil, nil, err
	}
	w.hijacked = true
	if len(w.head101) > 0 {
		if _, err := nc.Write(w.head101); err != nil {
			nc.Close()
			return nil, nil, err
		}
	}
	var br *bufio.Reader
	if len(pre) > 0 {
		// The bytes already read are buffered in br, as net/http's are.
		br = bufio.NewReaderSize(io.MultiReader(bytes.NewReader(pre), nc), max(4096, len(pre)))
		br.Peek(len(pre))
	} else {
		br = bufio.NewReader(nc)
	}
	return nc, bufio.NewReadWriter(br, bufio.NewWriter(nc)), nil
}

// EnableFullDuplex lets the handler write while it still reads the body
// (http.ResponseController); HTTP/2 always allows that.
func (w *responseWriter) EnableFullDuplex() error { return nil }

func (w *responseWriter) flush() error {
	var err error
	switch {
	case w.sentHeader && w.pending == 0:
		// Nothing new to send (gRPC flushes again before its status):
		// only say whether the stream still lives.
		if w.rc.Canceled() {
			err = loop.ErrCanceled
		}
	default:
		w.sendHeader()
		w.pending = 0
		err = w.rc.Flush()
	}
	if err != nil && w.dl.writeExpired() {
		err = errWriteDeadline
	}
	return err
}

// SetReadDeadline sets the deadline for reading the request body
// (http.ResponseController): a read after it, or one waiting for bytes
// when it passes, fails with an error wrapping os.ErrDeadlineExceeded,
// and the rest of the body is discarded (as in net/http's HTTP/2 server,
// a deadline that passed is final). The zero time clears it. Over HTTP/2
// it concerns this stream only.
func (w *responseWriter) SetReadDeadline(t time.Time) error {
	if w.rc == nil {
		panic("h2loop: SetReadDeadline called after the handler returned")
	}
	w.dl.set(&w.dl.read, t, w.dl.readFired)
	return nil
}

// SetWriteDeadline sets the deadline for writing the response
// (http.ResponseController): when it passes, the response is aborted
// (RST_STREAM(CANCEL) over HTTP/2, this stream only; over HTTP/1.1 the
// connection is closed, as net/http's write deadline breaks it), and
// writes and flushes, including one blocked by flow control, fail with
// an error wrapping os.ErrDeadlineExceeded. The zero time clears it.
func (w *responseWriter) SetWriteDeadline(t time.Time) error {
	if w.rc == nil {
		panic("h2loop: SetWriteDeadline called after the handler returned")
	}
	w.dl.writeSet = true
	w.dl.set(&w.dl.write, t, w.dl.writeFired)
	return nil
}

// sendHeader adds the fields decided at the first send: Date and a sniffed
// Content-Type.
func (w *responseWriter) sendHeader() {
	if w.sentHeader {
		return
	}
	w.sentHeader = true
	if !w.hasCT && !w.hasCE && bodyAllowed(w.status) && !w.isHead {
		if b := w.rc.req.RespBody; len(b) > 0 {
			w.rc.SetHeader("content-type", http.DetectContentType(b))
		}
	}
}

// finish completes the response after ServeHTTP returned: trailers, the
// content-length checks, and what HTTP/2 needs for HEAD, 204 and 304.
func (w *responseWriter) finish() {
	if w.hijacked {
		return // the connection is the handler's
	}
	if w.status == http.StatusSwitchingProtocols {
		// A 101 without Hijack: the protocol switch never happened, and
		// the connection cannot go on as HTTP/1.1.
		w.rc.Reset()
		return
	}
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	if w.declared >= 0 && w.written < w.declared && bodyAllowed(w.status) && !w.isHead {
		// The body is shorter than the content-length the header promised:
		// "A request or response is also malformed if the value of a
		// content-length header field does not equal the sum of the DATA
		// frame payload lengths" (RFC 9113 §8.1.1). Abort it.
		w.rc.Reset()
		return
	}
	w.addTrailers()
	if w.sentHeader {
		return
	}
	w.sendHeader()
	if w.isHead && w.declared < 0 && w.written > 0 {
		// As net/http does, a HEAD response states the length of the body
		// the handler wrote.
		w.rc.SetHeaderBytes("content-length", w.rc.FormatInt(w.written))
	}
	if w.h2 && (w.isHead || !bodyAllowed(w.status)) {
		// The engine puts a content-length computed from the body on a
		// response that has not been flushed: send the header section now,
		// so it carries the handler's length (HEAD) or none (204, 304).
		w.rc.Flush()
	}
}

// addTrailers hands the declared and the TrailerPrefix trailers to the
// RequestCtx.
func (w *responseWriter) addTrailers() {
	for _, k := range w.trailers {
		w.addTrailer(k, w.header[k])
	}
	var prefixed []string
	for k := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			prefixed = append(prefixed, k)
		}
	}
	slices.Sort(prefixed)
	for _, k := range prefixed {
		name := textproto.CanonicalMIMEHeaderKey(k[len(http.TrailerPrefix):])
		if !httpguts.ValidTrailerHeader(name) {
			continue
		}
		w.addTrailer(name, w.header[k])
	}
}

func (w *responseWriter) addTrailer(k string, vs []string) {
	name := lowerHeader(k)
	for _, v := range vs {
		w.rc.SetTrailer(name, v)
	}
}

// lowerHeader returns the lowercase form of a canonical header name,
// without allocating for common names.
func lowerHeader(k string) string {
	if l, ok := commonLower[k]; ok {
		return l
	}
	return strings.ToLower(k)
}

var commonLower = func() map[string]string {
	m := make(map[string]string)
	for _, l := range []string{
		"accept-ranges", "access-control-allow-credentials", "access-control-allow-headers",
		"access-control-allow-methods", "access-control-allow-origin", "access-control-expose-headers",
		"access-control-max-age", "age", "allow", "alt-svc", "cache-control", "content-disposition",
		"content-encoding", "content-language", "content-length", "content-location", "content-range",
		"content-security-policy", "content-type", "date", "etag", "expires", "last-modified", "link",
		"location", "proxy-authenticate", "referrer-policy", "refresh", "retry-after", "server",
		"set-cookie", "strict-transport-security", "trailer", "vary", "via", "www-authenticate",
		"x-content-type-options", "x-frame-options", "x-request-id", "x-xss-protection",
		"grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-encoding", "grpc-accept-encoding",
	} {
		m[textproto.CanonicalMIMEHeaderKey(l)] = l
	}
	return m
}()

// canonicalHeader returns the canonical form of a request header name,
// without allocating for common names (HTTP/2 sends them in lower case,
// which textproto.CanonicalMIMEHeaderKey copies unless net/http knows the
// name: gRPC's own fields, for one, it does not).
func canonicalHeader(name string) string {
	if k, ok := commonCanonical[name]; ok {
		return k
	}
	return textproto.CanonicalMIMEHeaderKey(name)
}

// commonCanonical maps the lower-case form of common request header names
// to their canonical form.
var commonCanonical = func() map[string]string {
	m := make(map[string]string)
	for _, l := range []string{
		"accept", "accept-encoding", "accept-language", "authorization", "cache-control", "content-encoding",
		"content-length", "content-type", "cookie", "if-match", "if-modified-since", "if-none-match",
		"if-range", "origin", "range", "referer", "te", "user-agent", "x-forwarded-for", "x-forwarded-proto",
		"x-request-id", "traceparent", "tracestate",
		"grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "grpc-message-type",
		"connect-protocol-version", "connect-timeout-ms", "connect-content-encoding", "connect-accept-encoding",
	} {
		m[l] = textproto.CanonicalMIMEHeaderKey(l)
	}
	return m
}()

// parseRequestURI is url.ParseRequestURI(target), with the URL written to u
// when target is an origin-form path (and query) whose path needs no
// escaping or unescaping, the common case; other targets go through
// url.ParseRequestURI.
func parseRequestURI(u *url.URL, target string) (*url.URL, error) {
	path, query, hasQuery := strings.Cut(target, "?")
	if len(path) == 0 || path[0] != '/' || !plainPath(path) || !noCTL(query) {
		return url.ParseRequestURI(target)
	}
	*u = url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}
	return u, nil
}

// plainPath reports whether p has only bytes a URL path carries as they
// are (url.URL sets no RawPath for it).
func plainPath(p string) bool {
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == '~' || c == '$' || c == '&' || c == '+' ||
			c == ',' || c == '/' || c == ':' || c == ';' || c == '=' || c == '@':
		default:
			return false
		}
	}
	return true
}

// noCTL reports whether s has no ASCII control byte (url.Parse rejects them).
func noCTL(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7f {
			return false
		}
	}
	return true
}
