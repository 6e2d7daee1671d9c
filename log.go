package h2loop

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"runtime/debug"
)

// Logging. With Server.Logger set, every line the server writes goes to
// it as a structured record (ErrorLog is then unused); otherwise protocol
// lines go to ErrorLog (or nowhere) and panics to ErrorLog or the
// standard logger. Records carry the line as their message and these
// attributes, when they apply:
//
//	remote   the client's address
//	stream   the HTTP/2 stream id
//	code     the HTTP/2 error code (PROTOCOL_ERROR, ENHANCE_YOUR_CALM, ...)
//	counter  the Stats counter the event was counted in (Timeouts, Overloaded, ...)
//	method, path  the request, for lines about one request
//
// Panics are logged at slog.LevelError (with the stack in the message),
// everything else at slog.LevelWarn.

// slogFunc is the transports' structured log hook: nil without Logger.
func (s *Server) slogFunc() func(slog.Level, string, ...slog.Attr) {
	l := s.Logger
	if l == nil {
		return nil
	}
	return func(level slog.Level, msg string, attrs ...slog.Attr) {
		defer s.recoverLog("Logger")
		l.LogAttrs(context.Background(), level, msg, attrs...)
	}
}

// recoverLog, deferred around a call of the Logger's handler or
// ErrorLog's writer (which), recovers a panic in it: counted in
// Stats.CallbackPanics and reported, with its stack, to the standard
// logger (not to the log that panicked). The line being logged is lost.
func (s *Server) recoverLog(which string) {
	if p := recover(); p != nil {
		if core := s.live.Load(); core != nil {
			core.Metrics.CallbackPanics.Add(1)
		}
		log.Printf("h2loop: panic in %s: %v\n%s", which, p, debug.Stack())
	}
}

// logRequest writes a line about ctx's request, counted in counter.
func (s *Server) logRequest(level slog.Level, ctx *RequestCtx, counter string, format string, args ...any) {
	switch {
	case s.Logger != nil:
		defer s.recoverLog("Logger")
		attrs := []slog.Attr{slog.String("remote", ctx.t.RemoteAddrString())}
		if id := ctx.StreamID(); id != 0 {
			attrs = append(attrs, slog.Any("stream", id))
		}
		attrs = append(attrs, slog.String("method", ctx.Method()), slog.String("path", ctx.Path()), slog.String("counter", counter))
		s.Logger.LogAttrs(context.Background(), level, fmt.Sprintf(format, args...), attrs...)
	case level >= slog.LevelError && s.ErrorLog == nil:
		log.Printf(format, args...) // panics, as net/http: always logged
	case s.ErrorLog != nil:
		defer s.recoverLog("ErrorLog")
		s.ErrorLog.Printf(format, args...)
	}
}
