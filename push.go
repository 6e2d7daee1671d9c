package h2loop

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/h2loop/h2loop/engine"
	"github.com/h2loop/h2loop/loop"
)

// Errors of Push.
var (
	// ErrPushDisabled: Server.EnablePush is off, the client turned push
	// off (SETTINGS_ENABLE_PUSH = 0), the connection is going away, or
	// the request came over HTTP/1.1.
	ErrPushDisabled = engine.ErrPushDisabled
	// ErrPushLimit: the client's SETTINGS_MAX_CONCURRENT_STREAMS (or
	// Server.MaxConcurrentStreams) pushed streams are open.
	ErrPushLimit = engine.ErrPushLimit
	// ErrPushRequest: the promised request is not a GET or HEAD of a path
	// with valid header fields.
	ErrPushRequest = engine.ErrPushRequest
	// ErrPushAuthority: the promised request names an authority the
	// connection does not serve (neither the request's nor one of
	// Server.Origins).
	ErrPushAuthority = engine.ErrPushAuthority
	// ErrPushStream: the request's stream cannot carry a promise (it ended,
	// or is itself pushed).
	ErrPushStream = engine.ErrPushStream
)

// Push promises the client a request it is likely to make (RFC 9113 §8.4
// server push, opt-in with Server.EnablePush), GET path on this request's
// authority, and starts the server's handler for it on another stream:
//
//	ctx.Push("GET", "/style.css")
//	ctx.Push("GET", "/app.js", "accept-encoding", "gzip")
//
// method is GET or HEAD (promised requests must be safe and cacheable and
// have no body); fields are name, value pairs of request header fields
// (lower-case names, immutable strings). Call it before the response that
// refers to the resource is sent. The pushed request's handler sees
// ctx.IsPushed() true; its response is sent under the client's flow
// control. It returns ErrPushDisabled when push is off or the client
// refuses it (browsers mostly do now), ErrPushLimit when the client's
// SETTINGS_MAX_CONCURRENT_STREAMS pushed streams are open.
func (ctx *RequestCtx) Push(method, path string, fields ...string) error {
	return ctx.push(method, "", path, fields)
}

func (ctx *RequestCtx) push(method, authority, path string, fields []string) error {
	if x, ok := ctx.t.(loop.H2Frames); ok {
		return x.Push(&ctx.req, method, authority, path, fields)
	}
	return ErrPushDisabled
}

// PushAllowed reports whether a Push may succeed now: push is enabled, the
// client accepts it (HTTP/2, SETTINGS_ENABLE_PUSH not 0) and the
// connection is not going away.
func (ctx *RequestCtx) PushAllowed() bool {
	if x, ok := ctx.t.(loop.H2Frames); ok {
		return x.PushAllowed()
	}
	return false
}

// IsPushed reports whether the request is one the server pushed (Push),
// not one the client sent.
func (ctx *RequestCtx) IsPushed() bool { return ctx.req.Pushed }

// Push implements http.Pusher for WrapHandler. target is a path, or an
// absolute URL whose scheme is the request's and whose host the connection
// serves; opts.Method is GET (default) or HEAD, and opts.Header adds
// request header fields. It returns http.ErrNotSupported when push is off
// or the client refuses it, as net/http does.
func (w *responseWriter) Push(target string, opts *http.PushOptions) error {
	if w.rc == nil {
		return http.ErrNotSupported
	}
	if !w.rc.PushAllowed() {
		return http.ErrNotSupported
	}
	method := "GET"
	var hdr http.Header
	if opts != nil {
		if opts.Method != "" {
			method = opts.Method
		}
		hdr = opts.Header
	}
	authority, path := "", target
	if !strings.HasPrefix(target, "/") {
		u, err := url.Parse(target)
		if err != nil || u.Scheme != w.rc.Scheme() || u.Host == "" {
			return ErrPushAuthority
		}
		authority, path = u.Host, u.RequestURI()
	}
	var fields []string
	for k, vs := range hdr {
		name := lowerHeader(k)
		for _, v := range vs {
			fields = append(fields, name, v)
		}
	}
	err := w.rc.push(method, authority, path, fields)
	if err == ErrPushDisabled {
		return http.ErrNotSupported
	}
	return err
}
