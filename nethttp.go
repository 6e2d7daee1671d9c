package h2loop

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// WrapHandler runs a net/http Handler on h2loop: each request becomes an
// *http.Request (ProtoMajor 2 over HTTP/2) whose Body streams the request
// body and whose Context is canceled when the client resets the stream; the
// ResponseWriter supports http.Flusher and trailers (declared with the
// "Trailer" header or set with http.TrailerPrefix), which is what gRPC's
// ServeHTTP needs. The adapter allocates like net/http does; use native
// Handlers on hot paths.
func WrapHandler(h http.Handler) Handler {
	return HandlerFunc(func(ctx *RequestCtx) {
		r := newHTTPRequest(ctx)
		w := &responseWriter{ctx: ctx, header: make(http.Header)}
		h.ServeHTTP(w, r)
		w.finish()
	})
}

// reqContext is a context.Context that ends when the stream is canceled.
type reqContext struct {
	context.Context
	rc *RequestCtx
}

func (c reqContext) Done() <-chan struct{} { return c.rc.Done() }
func (c reqContext) Err() error {
	if c.rc.Canceled() {
		return context.Canceled
	}
	return nil
}
func (c reqContext) Deadline() (time.Time, bool) { return time.Time{}, false }

type bodyReader struct{ ctx *RequestCtx }

func (b bodyReader) Read(p []byte) (int, error) { return b.ctx.Read(p) }
func (b bodyReader) Close() error               { return nil }

func newHTTPRequest(ctx *RequestCtx) *http.Request {
	r := &http.Request{
		Method:     ctx.Method(),
		Proto:      ctx.Proto(),
		ProtoMajor: 2,
		Header:     make(http.Header, len(ctx.Headers())),
		Host:       ctx.Authority(),
		RequestURI: ctx.Path(),
		RemoteAddr: ctx.RemoteAddr().String(),
		Body:       bodyReader{ctx},
	}
	if ctx.Proto() == "HTTP/1.1" {
		r.ProtoMajor, r.ProtoMinor = 1, 1
	}
	u, err := url.ParseRequestURI(ctx.Path())
	if err != nil {
		u = &url.URL{Path: ctx.Path()}
	}
	if u.Host == "" {
		u.Host = ctx.Authority()
	}
	r.URL = u
	for _, f := range ctx.Headers() {
		k := http.CanonicalHeaderKey(f.Name)
		if k == "Cookie" && len(r.Header[k]) > 0 {
			r.Header[k][0] += "; " + f.Value
			continue
		}
		r.Header[k] = append(r.Header[k], f.Value)
	}
	if r.Host == "" {
		r.Host = r.Header.Get("Host")
	}
	r.ContentLength = ctx.ContentLength()
	if r.ContentLength < 0 && ctx.req.BodyComplete() {
		r.ContentLength = ctx.req.BodyLen()
	}
	if r.ContentLength == 0 && ctx.req.BodyComplete() {
		r.Body = http.NoBody
	}
	if ctx.IsTLS() {
		r.TLS = &tls.ConnectionState{HandshakeComplete: true, NegotiatedProtocol: "h2"}
	}
	if ctx.Trailer() != nil {
		r.Trailer = make(http.Header)
	}
	return r.WithContext(reqContext{context.Background(), ctx})
}

type responseWriter struct {
	ctx         *RequestCtx
	header      http.Header
	status      int
	wroteHeader bool
	sentHeader  bool
	trailers    []string
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(code int) {
	if w.wroteHeader {
		return
	}
	if code >= 100 && code < 200 {
		return // informational responses are not sent
	}
	w.wroteHeader = true
	w.status = code
	for _, v := range w.header["Trailer"] {
		for _, k := range strings.Split(v, ",") {
			if k = strings.TrimSpace(k); k != "" {
				w.trailers = append(w.trailers, http.CanonicalHeaderKey(k))
			}
		}
	}
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	return w.ctx.Write(p)
}

// sendHeader moves the header map into the response once.
func (w *responseWriter) sendHeader() {
	if w.sentHeader {
		return
	}
	w.sentHeader = true
	if !w.wroteHeader {
		w.WriteHeader(http.StatusOK)
	}
	w.ctx.SetStatus(w.status)
	for k, vs := range w.header {
		if k == "Trailer" || strings.HasPrefix(k, http.TrailerPrefix) || w.isTrailer(k) {
			continue
		}
		name := strings.ToLower(k)
		switch name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "content-length":
			continue // connection-specific (RFC 9113 §8.2.2); content-length is computed
		}
		for _, v := range vs {
			w.ctx.SetHeader(name, v)
		}
	}
	if cl := w.header.Get("Content-Length"); cl != "" && w.ctx.Proto() == "HTTP/2.0" {
		if _, err := strconv.ParseInt(cl, 10, 64); err == nil && !w.isStreaming() {
			// The length is recomputed from the body when the handler returns.
		}
	}
}

func (w *responseWriter) isStreaming() bool { return false }

func (w *responseWriter) isTrailer(k string) bool {
	for _, t := range w.trailers {
		if t == k {
			return true
		}
	}
	return false
}

// Flush implements http.Flusher: the headers and the body so far are sent.
func (w *responseWriter) Flush() {
	w.sendHeader()
	w.ctx.Flush()
}

// FlushError is Flush reporting a reset stream (for http.ResponseController).
func (w *responseWriter) FlushError() error {
	w.sendHeader()
	return w.ctx.Flush()
}

func (w *responseWriter) finish() {
	w.sendHeader()
	for _, k := range w.trailers {
		for _, v := range w.header[k] {
			w.ctx.SetTrailer(strings.ToLower(k), v)
		}
	}
	for k, vs := range w.header {
		if strings.HasPrefix(k, http.TrailerPrefix) {
			name := strings.ToLower(k[len(http.TrailerPrefix):])
			for _, v := range vs {
				w.ctx.SetTrailer(name, v)
			}
		}
	}
}

var _ io.Reader = bodyReader{}
