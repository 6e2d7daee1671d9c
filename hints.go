package h2loop

import (
	"errors"

	"github.com/h2loop/h2loop/loop"
)

// ErrInterim is returned by SendInterim and SendEarlyHints when the final
// response has started or the status is not an informational (1xx) one
// other than 101.
var ErrInterim = loop.ErrInterim

// SendInterim sends an informational (1xx) response now, before the final
// one, carrying the response header fields set so far, which stay set for
// the final response (as net/http's WriteHeader(103) does). 101 cannot be
// sent this way; content-length is never sent in an interim response. Over
// HTTP/1.0 it does nothing. It returns ErrCanceled if the stream died.
func (ctx *RequestCtx) SendInterim(status int) error {
	return ctx.t.Interim(&ctx.req, status, 0)
}

// SendEarlyHints sends a 103 (Early Hints, RFC 8297) interim response with
// one link field per argument, so that the client can start loading those
// resources while the handler prepares the final response:
//
//	ctx.SendEarlyHints("</style.css>; rel=preload; as=style")
//
// The link fields are not part of the final response (set them with
// AddHeader too if they should be). Browsers preload only links with a
// valid as attribute. It may be called more than once before the final
// response; the strings must be immutable (see SetHeader).
func (ctx *RequestCtx) SendEarlyHints(links ...string) error {
	r := &ctx.req
	n := len(r.RespHeader)
	for _, l := range links {
		r.AddHeader("link", l)
	}
	err := ctx.t.Interim(r, 103, n)
	clear(r.RespHeader[n:])
	r.RespHeader = r.RespHeader[:n]
	return err
}

// ErrNotHTTP2 is returned by the methods that send HTTP/2 frames when the
// request came over HTTP/1.1.
var ErrNotHTTP2 = errors.New("h2loop: not an HTTP/2 connection")

// SendAltSvc sends an ALTSVC frame (RFC 7838) on the request's stream,
// advertising alternative services for the request's origin; value is an
// Alt-Svc field value such as `h2="alt.example.com:443"; ma=3600` or
// "clear". Over HTTP/1.1 use the Alt-Svc header field instead (it returns
// ErrNotHTTP2). It returns ErrCanceled when the stream is gone.
func (ctx *RequestCtx) SendAltSvc(value string) error {
	if x, ok := ctx.t.(loop.H2Frames); ok {
		return x.AltSvc(&ctx.req, value)
	}
	return ErrNotHTTP2
}

// SendOrigin sends an ORIGIN frame (RFC 8336) on the request's connection:
// the origins ("https://host[:port]") the client may send requests for on
// it. Clients act on it over TLS only, for origins the server's
// certificate covers. It returns ErrNotHTTP2 over HTTP/1.1.
func (ctx *RequestCtx) SendOrigin(origins ...string) error {
	if x, ok := ctx.t.(loop.H2Frames); ok {
		return x.Origin(origins)
	}
	return ErrNotHTTP2
}
