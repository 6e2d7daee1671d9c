package loop

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// stdConn is a connection served by a goroutine over the standard library's
// net.Conn: TLS connections (netpoll has no TLS) and tests.
type stdConn struct {
	core *Core
	nc   net.Conn
	wto  time.Duration
	mu   sync.Mutex // serialises close

	// owned by the reading goroutine
	early    *[]byte     // bytes watchPeer read while a handler ran
	hijacked atomic.Bool // a handler took nc: it is not closed here
	hk       *connHooks  // immutable after the start of serveStd
	// the TLS connection's state, nil in cleartext; set before the
	// first request (HTTP/2 reads it here, to keep it out of every
	// connection's h2conn)
	tlsState *tls.ConnectionState
}

func (s *stdConn) hooks() *connHooks { return s.hk }

// hijack implements hijacker: the bytes read beyond the request (in the
// input buffer, and those watchPeer read meanwhile) go to the handler.
func (s *stdConn) hijack(consumed int, unread []byte) (net.Conn, []byte, error) {
	pre := append([]byte(nil), unread...)
	if s.early != nil {
		pre = append(pre, (*s.early)...)
		*s.early = (*s.early)[:0]
	}
	s.nc.SetDeadline(time.Time{})
	s.hijacked.Store(true)
	return s.nc, pre, nil
}

func (s *stdConn) write(b []byte) error {
	if s.wto > 0 {
		s.nc.SetWriteDeadline(time.Now().Add(s.wto))
	}
	_, err := s.nc.Write(b)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		s.core.writeTimedOut(s.nc.RemoteAddr())
	}
	return err
}

func (s *stdConn) closeSocket() { s.nc.Close() }

func (s *stdConn) netConn() net.Conn { return s.nc }

// buffered is 0: this path reads only when it can process.
func (s *stdConn) buffered() int { return 0 }

// ServeListener accepts connections from ln and serves each on its own
// goroutine with the standard library. With tlsConf set, connections are
// TLS and ALPN selects h2 or http/1.1; without, the first bytes decide as on
// the netpoll path. It returns when ln is closed.
func (core *Core) ServeListener(ln net.Listener, tlsConf *tls.Config) error {
	if tlsConf == nil && core.FDReactor() {
		if ok, err := core.serveFD(ln); ok {
			return err
		}
	}
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				if delay == 0 {
					delay = 5 * time.Millisecond
				} else if delay *= 2; delay > time.Second {
					delay = time.Second
				}
				time.Sleep(delay)
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		delay = 0
		if !core.admit(nc.RemoteAddr()) {
			nc.Close()
			continue
		}
		go func() {
			defer core.release()
			defer func() {
				// The connection's own defers have run; nothing above
				// this goroutine would recover.
				if p := recover(); p != nil {
					core.recovered("connection", nc.RemoteAddr(), p)
					nc.Close()
				}
			}()
			core.serveStd(nc, tlsConf)
		}()
	}
}

func (core *Core) serveStd(nc net.Conn, tlsConf *tls.Config) {
	core.serveStdHooks(nc, tlsConf, nil)
}

// serveStdHooks is serveStd for a connection whose hooks started already
// (hk, when not nil).
func (core *Core) serveStdHooks(nc net.Conn, tlsConf *tls.Config, hk *connHooks) {
	accepted := time.Now()
	if core.opts.Proxy != nil {
		pc, err := core.readProxyStd(nc, accepted)
		if err != nil {
			nc.Close()
			return
		}
		nc = pc
	}
	isTLS := tlsConf != nil
	proto := ""
	var state *tls.ConnectionState
	var tc *tls.Conn
	if isTLS {
		// ConnState and ConnContext see the *tls.Conn from the start, as
		// in net/http.
		tc = tls.Server(nc, tlsConf)
		nc = tc
	}
	ok := true
	if hk == nil {
		hk, ok = core.newConnHooks(nc)
	}
	defer hk.end(http.StateClosed) // nothing after StateHijacked
	if !ok {
		nc.Close() // ConnContext or ConnState panicked
		return
	}
	if isTLS {
		tc.SetDeadline(time.Now().Add(core.opts.Engine.SettingsTimeout))
		if err := core.handshake(tc); err != nil {
			core.logf("h2loop: TLS handshake from %v: %v", nc.RemoteAddr(), err)
			nc.Close()
			return
		}
		tc.SetDeadline(time.Time{})
		cs := tc.ConnectionState()
		state = &cs
		proto = cs.NegotiatedProtocol
	}
	s := &stdConn{core: core, nc: nc, wto: core.opts.WriteTimeout, hk: hk}
	buf := make([]byte, 0, 32<<10)
	var h2 *h2conn
	var h1 *h1conn
	switch {
	case proto == "h2":
		h2 = newH2Conn(core, s, nc.RemoteAddr(), true)
		s.tlsState = state
	case isTLS && core.opts.DisableHTTP1:
		// ALPN did not choose h2: the client would speak HTTP/1.1.
		core.logf("h2loop: TLS from %v: ALPN protocol %q, and HTTP/1.1 is disabled: closing", nc.RemoteAddr(), proto)
		nc.Close()
		return
	case isTLS:
		// ALPN chose http/1.1, or the client offered no ALPN at all.
		h1 = newH1Conn(core, s, nc.RemoteAddr(), true)
		h1.tlsState = state
	}
	// Bytes read while an HTTP/1.1 handler ran (the next pipelined
	// request), appended to buf once input returns.
	var early []byte
	s.early = &early
	watchH1 := func(h *h1conn) { h.watch = func() func() { return s.watchPeer(h, &early) } }
	if h1 != nil {
		watchH1(h1)
	}
	defer func() {
		if h2 != nil {
			h2.onClosed()
		}
		if h1 != nil {
			h1.onClosed()
		}
		if !s.hijacked.Load() {
			nc.Close()
		}
	}()
	if h2 != nil && !core.add(h2) || h1 != nil && !core.add(h1) {
		return
	}
	progress := time.Now() // when the input last completed a frame or request
	for {
		if len(buf) == cap(buf) {
			nb := make([]byte, len(buf), 2*cap(buf))
			copy(nb, buf)
			buf = nb
		}
		if h2 != nil {
			h2.endLoop()
		}
		partial := h2 != nil && len(buf) > 0
		switch {
		case h2 == nil && h1 == nil:
			// Cleartext, nothing decided yet: the client has SettingsTimeout
			// to start speaking.
			nc.SetReadDeadline(accepted.Add(core.opts.Engine.SettingsTimeout))
		case partial:
			// Part of a frame: its rest has ReadTimeout from the last frame
			// completed to come, as on the reactor.
			nc.SetReadDeadline(progress.Add(core.opts.ReadTimeout))
		default:
			nc.SetReadDeadline(time.Time{})
		}
		n, err := nc.Read(buf[len(buf):cap(buf)])
		if n == 0 && err != nil {
			switch {
			case !errors.Is(err, os.ErrDeadlineExceeded):
			case h2 == nil && h1 == nil:
				core.Metrics.Timeouts.Add(1)
				core.logEvent(slog.LevelWarn, logAttrs{remote: nc.RemoteAddr(), counter: "Timeouts"}, "h2loop: %v: nothing received within %v: closing", nc.RemoteAddr(), core.opts.Engine.SettingsTimeout)
			case partial:
				core.Metrics.Timeouts.Add(1)
				core.logEvent(slog.LevelWarn, logAttrs{remote: nc.RemoteAddr(), counter: "Timeouts"}, "h2loop: %v: incomplete frame: the rest did not come within %v: closing", nc.RemoteAddr(), core.opts.ReadTimeout)
			}
			return
		}
		buf = buf[:len(buf)+n]
		if h2 == nil && h1 == nil {
			// Cleartext: sniff as on the netpoll path.
			switch sniff(buf, core.opts.DisableHTTP1) {
			case sniffMore:
				continue
			case sniffH2:
				h2 = newH2Conn(core, s, nc.RemoteAddr(), false)
				if !core.add(h2) {
					return
				}
			case sniffH1:
				h1 = newH1Conn(core, s, nc.RemoteAddr(), false)
				watchH1(h1)
				if !core.add(h1) {
					return
				}
			default:
				return
			}
		}
		for len(buf) > 0 {
			var used int
			var done bool
			if h2 != nil {
				h2.beginLoop()
				used, _, done = h2.input(buf)
			} else {
				used, _, done = h1.input(buf)
				if up := h1.takeUpgrade(); up != nil {
					core.remove(h1)
					h1 = nil
					h2 = newH2ConnUpgrade(core, s, nc.RemoteAddr(), isTLS, up)
					if !core.add(h2) {
						return
					}
				}
			}
			if used > 0 {
				progress = time.Now()
			}
			buf = buf[:copy(buf, buf[used:])]
			if len(early) > 0 {
				buf = append(buf, early...)
				early = early[:0]
			}
			if done {
				if h2 != nil {
					h2.endLoop()
				}
				return
			}
			if used == 0 {
				break
			}
		}
	}
}

// watchPeer reads the socket while an HTTP/1.1 handler runs on the reading
// goroutine, as net/http's background read does: when the client goes
// away, the request is canceled at once (ctx.Done closes) instead of when
// the handler returns. What it reads meanwhile (a pipelined request) is
// kept in *early for the reading loop. The returned function stops it.
func (s *stdConn) watchPeer(h *h1conn, early *[]byte) (stop func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		var b [4 << 10]byte
		for {
			n, err := s.nc.Read(b[:])
			*early = append(*early, b[:n]...)
			if err != nil {
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					h.disconnected()
				}
				return
			}
			if len(*early) > 1<<20 {
				return // enough to go on with: the handler's end reads the rest
			}
		}
	}()
	return func() {
		s.nc.SetReadDeadline(time.Unix(1, 0)) // wakes the read
		<-done
		s.nc.SetReadDeadline(time.Time{})
	}
}

// errHandshakePanic is the handshake error of a TLS callback that panicked.
var errHandshakePanic = errors.New("a TLSConfig callback panicked")

// handshake runs tc's handshake, in which the TLSConfig's callbacks
// (GetCertificate, GetConfigForClient, VerifyPeerCertificate, ...) run: a
// panic in one is recovered, counted and logged, and fails the handshake.
func (core *Core) handshake(tc *tls.Conn) (err error) {
	defer func() {
		if p := recover(); p != nil {
			core.CallbackPanicked("TLS handshake", tc.RemoteAddr(), p)
			err = errHandshakePanic
		}
	}()
	return tc.Handshake()
}
