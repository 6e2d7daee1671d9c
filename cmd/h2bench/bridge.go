//go:build linux

package main

import (
	"context"
	"crypto/tls"
	"net"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/h2loop/h2loop/client"
)

// bridge carries one TLS connection. crypto/tls needs a blocking net.Conn,
// so a goroutine dials, handshakes and then reads, and another writes; they
// hand bytes to and from the worker under mu, and wake the worker through
// its eventfd. The worker never blocks on a TLS connection.
type bridge struct {
	// immutable after startBridge
	c *benchClient // identity only: the goroutines never touch it
	w *worker

	mu   sync.Mutex
	cond *sync.Cond
	// guarded by mu: goroutines -> worker
	in       []byte
	eof      bool
	hsDone   bool // handshake finished, not yet reported
	hsErr    error
	hsKind   int
	proto    string
	fallback bool
	tlsInfo  string // TLS version and cipher suite
	queued   bool   // in w.bready
	// guarded by mu: worker -> writer
	out    []byte
	closed bool
	conn   net.Conn
}

func startBridge(c *benchClient) *bridge {
	b := &bridge{c: c, w: c.w}
	b.cond = sync.NewCond(&b.mu)
	go b.dial()
	return b
}

// notify queues the bridge for the worker (b.mu held).
func (b *bridge) notify() {
	if b.queued {
		return
	}
	b.queued = true
	w := b.w
	w.bmu.Lock()
	w.bready = append(w.bready, b)
	w.bmu.Unlock()
	one := [8]byte{1}
	unix.Write(w.efd, one[:])
}

func (b *bridge) dial() {
	cfg := b.w.cfg
	ctx, cancel := context.WithTimeout(context.Background(), cfg.connectWait)
	defer cancel()
	var d net.Dialer
	network, addr := "tcp", cfg.dialAddr
	if cfg.unixPath != "" {
		network, addr = "unix", cfg.unixPath
	}
	raw, err := d.DialContext(ctx, network, addr)
	if err != nil {
		b.handshake(nil, "", false, errConnect, err)
		return
	}
	if tc, ok := raw.(*net.TCPConn); ok {
		tc.SetNoDelay(true)
	}
	tconn := tls.Client(raw, cfg.tlsConfig())
	if err := tconn.HandshakeContext(ctx); err != nil {
		raw.Close()
		b.handshake(nil, "", false, errTLS, handshakeError(cfg, err))
		return
	}
	proto, fb, err := client.SelectProtocol(tconn.ConnectionState().NegotiatedProtocol, cfg.alpn)
	if err != nil {
		tconn.Close()
		b.handshake(nil, "", false, errALPN, alpnError(cfg, tconn.ConnectionState().NegotiatedProtocol))
		return
	}
	st := tconn.ConnectionState()
	b.mu.Lock()
	b.tlsInfo = tls.VersionName(st.Version) + ", " + tls.CipherSuiteName(st.CipherSuite)
	if st.CurveID != 0 {
		b.tlsInfo += ", " + st.CurveID.String()
	}
	b.mu.Unlock()
	if !b.handshake(tconn, proto, fb, 0, nil) {
		tconn.Close()
		return
	}
	go b.writer(tconn)
	buf := make([]byte, 64<<10)
	for {
		n, err := tconn.Read(buf)
		b.mu.Lock()
		if n > 0 {
			for len(b.in) > 4<<20 && !b.closed {
				b.cond.Wait() // back-pressure: the worker is behind
			}
			b.in = append(b.in, buf[:n]...)
		}
		if err != nil {
			b.eof = true
		}
		closed := b.closed
		if !closed {
			b.notify()
		}
		b.mu.Unlock()
		if err != nil || closed {
			return
		}
	}
}

// handshake reports the handshake's outcome; false if the bridge was closed
// meanwhile.
func (b *bridge) handshake(conn net.Conn, proto string, fallback bool, kind int, err error) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.conn, b.proto, b.fallback, b.hsKind, b.hsErr, b.hsDone = conn, proto, fallback, kind, err, true
	b.notify()
	return true
}

func (b *bridge) writer(conn net.Conn) {
	var spare []byte
	for {
		b.mu.Lock()
		for len(b.out) == 0 && !b.closed {
			b.cond.Wait()
		}
		if b.closed && len(b.out) == 0 {
			b.mu.Unlock()
			conn.Close()
			return
		}
		data := b.out
		b.out = spare[:0]
		b.mu.Unlock()
		if _, err := conn.Write(data); err != nil {
			b.mu.Lock()
			b.eof = true
			if !b.closed {
				b.notify()
			}
			b.mu.Unlock()
			return
		}
		spare = data
	}
}

// write queues p for the writer goroutine (worker side).
func (b *bridge) write(p []byte) {
	b.mu.Lock()
	b.out = append(b.out, p...)
	b.cond.Broadcast()
	b.mu.Unlock()
}

// close shuts the connection down (worker side): the writer goroutine
// writes what is pending, then closes the connection, which ends the reader.
func (b *bridge) close() {
	b.mu.Lock()
	b.closed = true
	b.cond.Broadcast()
	b.mu.Unlock()
}

// onBridge handles news from a bridge (worker side).
func (c *benchClient) onBridge(b *bridge) {
	if b != c.br {
		return // a bridge of an earlier connection
	}
	b.mu.Lock()
	b.queued = false
	hs, hsErr, kind, proto, fb, info := b.hsDone, b.hsErr, b.hsKind, b.proto, b.fallback, b.tlsInfo
	b.hsDone = false
	n := len(b.in)
	if n > 0 {
		if c.rlen+n > len(c.rbuf) {
			c.rbuf = append(c.rbuf[:c.rlen], make([]byte, c.rlen+n-len(c.rbuf[:c.rlen]))...)
			c.rbuf = c.rbuf[:cap(c.rbuf)]
		}
		copy(c.rbuf[c.rlen:], b.in)
		b.in = b.in[:0]
		b.cond.Broadcast()
	}
	eof := b.eof
	b.mu.Unlock()
	if hs {
		if hsErr != nil {
			c.br = nil
			c.connectFailed(kind, hsErr.Error())
			return
		}
		c.w.noteNote("TLS: " + info)
		c.connected(proto, fb)
	}
	if n > 0 && c.state == stConnected {
		c.received(n)
	}
	if eof && c.br == b && c.state == stConnected {
		c.eof()
	}
}
