package h2loop

import (
	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/loop"
)

// ErrCanceled is returned by a RequestCtx's Read, Write, Flush and the
// other calls that reach the client once its stream is gone: reset by the
// client, refused, or ended with its connection.
var ErrCanceled = loop.ErrCanceled

// ErrBodyClosed is returned by Read after the handler closed the request
// body (ctx.CloseBody).
var ErrBodyClosed = loop.ErrBodyClosed

// HeaderBlock is a decoded header section: the request's trailers
// (ctx.Trailer) have this type.
type HeaderBlock = codec.HeaderBlock
