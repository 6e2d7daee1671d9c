package h2loop

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/loop"
	"github.com/valyala/bytebufferpool"
	"golang.org/x/net/http2/hpack"
)

// Handler serves one request. The RequestCtx and every slice or string it
// returns are valid only until Serve returns; copy what you keep.
type Handler interface {
	Serve(ctx *RequestCtx)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx *RequestCtx)

// Serve calls f(ctx).
func (f HandlerFunc) Serve(ctx *RequestCtx) { f(ctx) }

// RequestCtx is the request and response of one stream. It is pooled: it is
// valid from the call of the handler until the handler returns, and must not
// be retained or used from other goroutines after that. Accessors that return
// strings do not allocate: the strings come from the HPACK decoder's table,
// or, for literals the client did not index (nghttp2's clients send every
// :path and content-length so), from the request's own memory, which the
// next request reuses: copy what you keep.
type RequestCtx struct {
	t   loop.Transport
	srv *Server

	canceled atomic.Bool
	doneMu   sync.Mutex
	done     chan struct{}
	cctx     context.Context            // made by Context, guarded by doneMu
	ccancel  context.CancelFunc         // cancels cctx
	bodyBuf  []byte                     // the body gathered by Body
	bodyBB   *bytebufferpool.ByteBuffer // the pooled buffer behind bodyBuf, nil while it is small
	numBuf   [20]byte

	req engine.Request // last: its header arena, at its end, is mostly untouched
}

// gatheredBodies are the buffers Body gathers request bodies larger than
// engine.SmallBody in: a pool of their own, calibrated to the sizes of
// bodies read whole (engine/buffers.go has the response and receive
// buffers and the rules). A context holds one only from Body to its
// release; a smaller body stays in the context's own buffer.
var gatheredBodies bytebufferpool.Pool

// Method is the request method (:method).
func (ctx *RequestCtx) Method() string { return ctx.req.Header.Method }

// Path is the request target (:path), query included.
func (ctx *RequestCtx) Path() string { return ctx.req.Header.Path }

// Authority is the :authority pseudo-header (or the Host header over HTTP/1.1).
func (ctx *RequestCtx) Authority() string { return ctx.req.Header.Authority }

// Scheme is the :scheme pseudo-header ("http" or "https").
func (ctx *RequestCtx) Scheme() string { return ctx.req.Header.Scheme }

// Protocol is the :protocol pseudo-header of an extended CONNECT, or "".
func (ctx *RequestCtx) Protocol() string { return ctx.req.Header.Protocol }

// StreamID is the HTTP/2 stream the request arrived on (0 over HTTP/1.1).
func (ctx *RequestCtx) StreamID() uint32 { return ctx.req.StreamID }

// Proto is "HTTP/2.0" or "HTTP/1.1".
func (ctx *RequestCtx) Proto() string { return ctx.t.Proto() }

// IsTLS reports whether the request came over TLS.
func (ctx *RequestCtx) IsTLS() bool { return ctx.t.TLS() }

// TLSState is the connection's TLS state (protocol version, cipher suite,
// ALPN protocol, the client's certificates), nil over cleartext. It is
// shared by every request of the connection: do not modify it.
func (ctx *RequestCtx) TLSState() *tls.ConnectionState { return ctx.t.TLSState() }

// RemoteAddr is the client's address.
func (ctx *RequestCtx) RemoteAddr() net.Addr { return ctx.t.RemoteAddr() }

// Header returns the first value of the request header name, or "". Names
// are case-insensitive: "User-Agent" finds user-agent (without allocating).
func (ctx *RequestCtx) Header(name string) string {
	v, _ := ctx.LookupHeader(name)
	return v
}

// LookupHeader is Header that also reports whether the field is present.
func (ctx *RequestCtx) LookupHeader(name string) (string, bool) {
	if lowerName(name) == name {
		return ctx.req.Header.Get(name) // request names are lower case
	}
	for _, f := range ctx.req.Header.Fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// VisitHeaders calls fn for every regular request header field in order.
func (ctx *RequestCtx) VisitHeaders(fn func(name, value string)) {
	for _, f := range ctx.req.Header.Fields {
		fn(f.Name, f.Value)
	}
}

// Headers returns the regular request header fields, borrowed until the
// handler returns.
func (ctx *RequestCtx) Headers() []hpack.HeaderField { return ctx.req.Header.Fields }

// Trailer returns the request trailer section once the body has been read
// to its end, or nil.
func (ctx *RequestCtx) Trailer() *HeaderBlock {
	if t := ctx.req.Trailer; t != nil && len(t.Fields) > 0 {
		return t
	}
	return nil
}

// ContentLength is the request's content-length, or -1 when absent.
func (ctx *RequestCtx) ContentLength() int64 { return ctx.req.Header.ContentLength }

// ErrBodyTooLarge is returned by Body when the request body is larger than
// Server.MaxRequestBodySize.
var ErrBodyTooLarge = errors.New("h2loop: request body larger than MaxRequestBodySize")

// Body returns the whole request body, reading it to the end first if it is
// still arriving. The slice is valid until the handler returns. A body
// larger than Server.MaxRequestBodySize is not gathered: Body returns
// ErrBodyTooLarge, the rest of the body is discarded, and the response
// status becomes 413 unless the response has started (counted in
// Stats.BodyTooLarge and logged). ctx.Read has no such limit.
func (ctx *RequestCtx) Body() ([]byte, error) {
	r := &ctx.req
	if !r.Streaming() && r.BodyComplete() && len(ctx.bodyBuf) == 0 {
		return r.BodyBuffered(), nil
	}
	limit := ctx.srv.bodyLimit()
	if limit >= 0 && r.Header.ContentLength > limit {
		return nil, ctx.bodyTooLarge()
	}
	for {
		if len(ctx.bodyBuf) == cap(ctx.bodyBuf) {
			if ctx.bodyBB == nil && len(ctx.bodyBuf) >= engine.SmallBody {
				ctx.bodyBB = gatheredBodies.Get()
				ctx.bodyBuf = append(ctx.bodyBB.B[:0], ctx.bodyBuf...)
			}
			ctx.bodyBuf = append(ctx.bodyBuf, 0)[:len(ctx.bodyBuf)]
		}
		n, err := ctx.t.ReadBody(r, ctx.bodyBuf[len(ctx.bodyBuf):cap(ctx.bodyBuf)])
		ctx.bodyBuf = ctx.bodyBuf[:len(ctx.bodyBuf)+n]
		if limit >= 0 && int64(len(ctx.bodyBuf)) > limit {
			ctx.bodyBuf = ctx.bodyBuf[:0]
			return nil, ctx.bodyTooLarge()
		}
		if err == io.EOF {
			return ctx.bodyBuf, nil
		}
		if err != nil {
			return ctx.bodyBuf, err
		}
	}
}

// bodyTooLarge answers a body above MaxRequestBodySize: the rest of it is
// discarded and, unless the response started, the status becomes 413.
func (ctx *RequestCtx) bodyTooLarge() error {
	ctx.CloseBody()
	if !ctx.req.HeadersSent() {
		ctx.req.Status = 413
	}
	if s := ctx.srv; s != nil && s.core != nil {
		s.core.Metrics.BodyTooLarge.Add(1)
		s.logRequest(slog.LevelWarn, ctx, "BodyTooLarge", "h2loop: %v: %s %s: request body above MaxRequestBodySize (%d bytes)", ctx.RemoteAddr(), ctx.Method(), ctx.Path(), s.bodyLimit())
	}
	return ErrBodyTooLarge
}

// Read reads the request body as it arrives (io.Reader). It returns io.EOF
// at its end and ErrCanceled if the stream was reset.
func (ctx *RequestCtx) Read(p []byte) (int, error) { return ctx.t.ReadBody(&ctx.req, p) }

// SetManualFlowControl stops the automatic return of window credit as the
// body is read: the handler calls AckBody once it has processed bytes, and
// the client can send no more than the window beyond them.
func (ctx *RequestCtx) SetManualFlowControl() { ctx.req.ManualAck = true }

// CloseBody discards the rest of the request body: a Read waiting for bytes
// (on any goroutine) and every later Read return ErrBodyClosed, and
// what the client still sends is dropped with its window credit returned.
// The response is not affected.
func (ctx *RequestCtx) CloseBody() { ctx.t.CloseBody(&ctx.req) }

// AckBody returns window credit for n body bytes read in manual mode.
func (ctx *RequestCtx) AckBody(n int) { ctx.t.AckBody(&ctx.req, n) }

// SetStatus sets the response status code (default 200).
func (ctx *RequestCtx) SetStatus(code int) { ctx.req.Status = code }

// SetHeader sets the response header field name to value, replacing any
// field of that name, as http.Header.Set does. Names are case-insensitive
// and sent in lower case (HTTP/2 requires it; a name already in lower case
// costs no allocation). name and value must be immutable strings
// (constants, or strings nobody changes): the header compressor may keep
// them for the connection's life. The request's own strings (ctx.Path(),
// a header's value) may be given as they are: they are sent without
// entering the compressor's table. A date field with an empty value
// suppresses the Date the server adds to every response.
func (ctx *RequestCtx) SetHeader(name, value string) {
	name = lowerName(name)
	if len(ctx.req.RespHeader) > 0 {
		ctx.req.DelHeader(name)
	}
	ctx.req.AddHeader(name, value)
}

// AddHeader adds a response header field, keeping the fields of that name
// already set, as http.Header.Add does (same rules as SetHeader).
func (ctx *RequestCtx) AddHeader(name, value string) { ctx.req.AddHeader(lowerName(name), value) }

// DelHeader removes the response header fields named name.
func (ctx *RequestCtx) DelHeader(name string) { ctx.req.DelHeader(lowerName(name)) }

// SetHeaderBytes sets a response header whose value is copied now,
// replacing any field of that name. It is sent as a literal that never
// enters the compression table.
func (ctx *RequestCtx) SetHeaderBytes(name string, value []byte) {
	name = lowerName(name)
	ctx.req.DelHeader(name)
	ctx.req.AddHeaderBytes(name, value)
}

// SetContentType sets the content-type response header.
func (ctx *RequestCtx) SetContentType(v string) {
	if len(ctx.req.RespHeader) > 0 {
		ctx.req.DelHeader("content-type")
	}
	ctx.req.AddHeader("content-type", v)
}

// SetTrailer adds a response trailer field, sent after the body (same rules
// as SetHeader).
func (ctx *RequestCtx) SetTrailer(name, value string) { ctx.req.AddTrailer(lowerName(name), value) }

// lowerName returns name in lower case, allocating only when it has an
// upper-case letter.
func lowerName(name string) string {
	for i := 0; i < len(name); i++ {
		if c := name[i]; 'A' <= c && c <= 'Z' {
			return strings.ToLower(name)
		}
	}
	return name
}

// Write appends p to the response body (io.Writer). The body is sent when
// the handler returns, or earlier by Flush.
func (ctx *RequestCtx) Write(p []byte) (int, error) {
	ctx.req.RespBody = append(ctx.req.RespBuffer(len(p)), p...)
	return len(p), nil
}

// WriteString appends s to the response body.
func (ctx *RequestCtx) WriteString(s string) (int, error) {
	ctx.req.RespBody = append(ctx.req.RespBuffer(len(s)), s...)
	return len(s), nil
}

// SetBody replaces the response body with a copy of b.
func (ctx *RequestCtx) SetBody(b []byte) {
	ctx.req.RespBody = append(ctx.req.EmptyRespBuffer(len(b)), b...)
}

// SetBodyString replaces the response body with s.
func (ctx *RequestCtx) SetBodyString(s string) {
	ctx.req.RespBody = append(ctx.req.EmptyRespBuffer(len(s)), s...)
}

// SetBodyStatic makes b the response body without copying it. b must never
// change afterwards (shared, immutable content such as a file loaded once):
// the server writes it to the socket from b's own memory, possibly after
// the handler has returned and the stream has ended.
func (ctx *RequestCtx) SetBodyStatic(b []byte) { ctx.req.SetStaticBody(b) }

// BodyBuffer gives direct access to the response body buffer for
// append-style encoders: ctx.SetBodyRaw(strconv.AppendInt(ctx.BodyBuffer(), n, 10)).
func (ctx *RequestCtx) BodyBuffer() []byte { return ctx.req.RespBuffer(0) }

// SetBodyRaw sets the response body to b, which must come from BodyBuffer
// (append-style: ctx.SetBodyRaw(strconv.AppendInt(ctx.BodyBuffer(), n, 10))).
func (ctx *RequestCtx) SetBodyRaw(b []byte) { ctx.req.RespBody = b }

// Flush sends the response headers and the body written so far, blocking
// while flow control holds it back; later writes continue the body
// (a streaming response). It returns ErrCanceled if the stream died.
func (ctx *RequestCtx) Flush() error { return ctx.t.Flush(&ctx.req) }

// Reset aborts the stream with RST_STREAM(CANCEL) (HTTP/2) or closes the
// connection (HTTP/1.1).
func (ctx *RequestCtx) Reset() { ctx.t.Reset(&ctx.req) }

// Done returns a channel closed when the client resets the stream or the
// connection dies (like context.Context's Done). It allocates the channel on
// first use, unless the request is already canceled.
func (ctx *RequestCtx) Done() <-chan struct{} {
	ctx.doneMu.Lock()
	defer ctx.doneMu.Unlock()
	if ctx.done == nil {
		if ctx.canceled.Load() {
			return closedChan
		}
		ctx.done = make(chan struct{})
	}
	return ctx.done
}

// closedChan is the Done channel of a request canceled before anyone asked
// for its channel.
var closedChan = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

// Context returns a context.Context for the request, as net/http's
// Request.Context: it is canceled when the client resets the stream or the
// connection ends, and when the handler returns. Pass it to database
// drivers and clients. Its first call allocates (a request that never
// asks costs nothing); it derives from Server.BaseContext.
func (ctx *RequestCtx) Context() context.Context {
	ctx.doneMu.Lock()
	defer ctx.doneMu.Unlock()
	if ctx.cctx == nil {
		ctx.cctx, ctx.ccancel = context.WithCancel(ctx.srv.requestBase(ctx.t))
		if ctx.canceled.Load() {
			ctx.ccancel()
		}
	}
	return ctx.cctx
}

// endContext cancels the Context of a request whose handler returned.
func (ctx *RequestCtx) endContext() {
	if ctx.cctx == nil {
		return // only this goroutine sets it: no lock needed to see it is unset
	}
	ctx.doneMu.Lock()
	defer ctx.doneMu.Unlock()
	if ctx.ccancel != nil {
		ctx.ccancel()
	}
}

// Canceled reports whether the client reset the stream or the connection died.
func (ctx *RequestCtx) Canceled() bool { return ctx.canceled.Load() }

// cancel is the request's one cancellation transition: under doneMu, live
// becomes canceled and the Done channel, if anyone asked for it, closes.
// Every later call finds the request canceled and does nothing, whatever
// goroutine it runs on and whatever Done did in between.
func (ctx *RequestCtx) cancel() {
	ctx.doneMu.Lock()
	defer ctx.doneMu.Unlock()
	if ctx.canceled.Load() {
		return
	}
	ctx.canceled.Store(true)
	if ctx.done != nil {
		close(ctx.done)
	}
	if ctx.ccancel != nil {
		ctx.ccancel()
	}
}

// FormatInt formats n into a scratch buffer of the context without
// allocating; the result is valid until the next call or the handler's end.
func (ctx *RequestCtx) FormatInt(n int64) []byte {
	return strconv.AppendInt(ctx.numBuf[:0], n, 10)
}

func (ctx *RequestCtx) reset() {
	ctx.req.Reset()
	ctx.req.Owner = ctx
	ctx.t = nil
	// No lock: a request is reset once nothing can cancel it any more
	// (its handler returned and its stream is gone).
	ctx.canceled.Store(false)
	ctx.done = nil
	ctx.cctx, ctx.ccancel = nil, nil
	if bb := ctx.bodyBB; bb != nil {
		bb.B = ctx.bodyBuf
		if cap(bb.B) <= engine.MaxPooledBody {
			gatheredBodies.Put(bb)
		}
		ctx.bodyBB = nil
		ctx.bodyBuf = nil
	}
	ctx.bodyBuf = ctx.bodyBuf[:0]
}
