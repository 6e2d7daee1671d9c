package loop

import (
	"fmt"
	"log"
	"log/slog"
	"net"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/engine"
)

// logAttrs say what a log line concerns; the zero value of each is left
// out of the structured record.
type logAttrs struct {
	remote  net.Addr
	stream  uint32
	code    string
	counter string // the Metrics counter the event was counted in
}

// attrs returns a as slog attributes.
func (a logAttrs) attrs(extra ...slog.Attr) []slog.Attr {
	out := make([]slog.Attr, 0, 4+len(extra))
	if a.remote != nil {
		out = append(out, slog.String("remote", a.remote.String()))
	}
	if a.stream != 0 {
		out = append(out, slog.Any("stream", a.stream))
	}
	if a.code != "" {
		out = append(out, slog.String("code", a.code))
	}
	if a.counter != "" {
		out = append(out, slog.String("counter", a.counter))
	}
	return append(out, extra...)
}

// logEvent writes one log line: to Options.Log with a's attributes and
// the formatted line as its message, or to Options.Logf as a line.
func (c *Core) logEvent(level slog.Level, a logAttrs, format string, args ...any) {
	switch {
	case c.opts.Log != nil:
		c.opts.Log(level, fmt.Sprintf(format, args...), a.attrs()...)
	case c.opts.Logf != nil:
		c.opts.Logf(format, args...)
	}
}

// logf writes a warning concerning remote (for lines without a counter).
func (c *Core) logf(format string, args ...any) {
	if c.opts.Log == nil && c.opts.Logf == nil {
		return
	}
	var a logAttrs
	for _, arg := range args {
		if addr, ok := arg.(net.Addr); ok {
			a.remote = addr
			break
		}
	}
	c.logEvent(slog.LevelWarn, a, format, args...)
}

// engineConfig is the engine configuration of a connection with peer
// remote: the shared one, or, with structured logging, a copy whose
// log lines carry the peer's address, the stream and the error code.
func (c *Core) engineConfig(remote net.Addr) *engine.Config {
	if c.opts.Log == nil {
		return &c.opts.Engine
	}
	cfg := c.opts.Engine // the buffer pools stay shared
	cfg.Logf = func(format string, args ...any) {
		a := logAttrs{remote: remote}
		for _, arg := range args {
			switch v := arg.(type) {
			case uint32:
				if a.stream == 0 {
					a.stream = v
				}
			case codec.ErrCode:
				a.code = v.String()
			}
		}
		c.logEvent(slog.LevelWarn, a, format, args...)
	}
	return &cfg
}

// logPanic logs a recovered panic (with its stack in the message) at
// error level, to the standard logger when no log is set.
func (c *Core) logPanic(a logAttrs, format string, args ...any) {
	switch {
	case c.opts.Log != nil:
		c.opts.Log(slog.LevelError, fmt.Sprintf(format, args...), a.attrs()...)
	case c.opts.Logf != nil:
		c.opts.Logf(format, args...)
	default:
		log.Printf(format, args...)
	}
}
