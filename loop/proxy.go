package loop

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/pires/go-proxyproto"
)

// ProxyPolicy says what a connection from a trusted source must do about
// the PROXY protocol header.
type ProxyPolicy int

const (
	// ProxyRequire: a trusted source must send a header; a connection from
	// one without a header is closed.
	ProxyRequire ProxyPolicy = iota
	// ProxyAllow: a trusted source may send a header.
	ProxyAllow
	// ProxyRefuse: no source may send a header (every header is refused).
	ProxyRefuse
)

// ProxyOptions configure the PROXY protocol (HAProxy's v1 and v2) on
// accepted connections, read before anything else, TLS included.
type ProxyOptions struct {
	// Trusted are the networks of the proxies whose header is believed.
	// Peers on Unix sockets are trusted.
	Trusted []netip.Prefix
	// Policy for connections from trusted sources. A header from any other
	// source is refused; a connection from one without a header is served
	// with its own address.
	Policy ProxyPolicy
	// Timeout bounds the wait for the whole header from accept.
	Timeout time.Duration
}

// Errors that close a connection for its PROXY header.
var (
	errProxyUntrusted = errors.New("PROXY header from an untrusted source")
	errProxyRefused   = errors.New("PROXY header refused (ProxyRefuse)")
	errProxyMissing   = errors.New("no PROXY header from a trusted source (ProxyRequire)")
	errProxyMalformed = errors.New("malformed PROXY header")
	errProxyTimeout   = errors.New("PROXY header not received in time")
)

// v1 headers are at most 107 bytes ("PROXY UNKNOWN" and two IPv6
// addresses and ports), v2 headers 16 plus their length field.
const (
	proxyV1Max    = 107
	proxyV2Prefix = 16
)

var (
	proxyV1Sig = []byte("PROXY ")
	proxyV2Sig = []byte("\r\n\r\n\x00\r\nQUIT\n")
)

// trusted reports whether a header from remote may be believed.
func (p *ProxyOptions) trusted(remote net.Addr) bool {
	switch a := remote.(type) {
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			return false
		}
		ip = ip.Unmap()
		for _, pfx := range p.Trusted {
			if pfx.Contains(ip) {
				return true
			}
		}
		return false
	case *net.UnixAddr:
		return true
	}
	return false
}

// proxyScan looks at the first bytes of a connection. It returns the length
// of a complete PROXY header at the start of b, or need > len(b) when b is
// a header's beginning (or could be) and more bytes are needed to know, or
// n == 0 and need == 0 when b does not start with a header.
func proxyScan(b []byte) (n, need int, err error) {
	if len(b) == 0 {
		return 0, 1, nil
	}
	switch {
	case b[0] == proxyV1Sig[0]:
		m := min(len(b), len(proxyV1Sig))
		if !bytes.Equal(b[:m], proxyV1Sig[:m]) {
			return 0, 0, nil
		}
		if i := bytes.Index(b[:min(len(b), proxyV1Max)], []byte("\r\n")); i >= 0 {
			return i + 2, 0, nil
		}
		if len(b) >= proxyV1Max {
			return 0, 0, errProxyMalformed
		}
		return 0, len(b) + 1, nil
	case b[0] == proxyV2Sig[0]:
		m := min(len(b), len(proxyV2Sig))
		if !bytes.Equal(b[:m], proxyV2Sig[:m]) {
			return 0, 0, nil
		}
		if len(b) < proxyV2Prefix {
			return 0, proxyV2Prefix, nil
		}
		length := binary.BigEndian.Uint16(b[14:16])
		if length > proxyproto.MaxV2HeaderSize {
			return 0, 0, errProxyMalformed
		}
		total := proxyV2Prefix + int(length)
		if len(b) < total {
			return 0, total, nil
		}
		return total, 0, nil
	}
	return 0, 0, nil
}

// proxyParse parses the complete header hdr (from proxyScan) and returns the
// client's address it names, or real when it names none (LOCAL: the
// proxy's own connection, a health check; UNKNOWN).
func proxyParse(hdr []byte, real net.Addr) (net.Addr, error) {
	h, err := proxyproto.Read(bufio.NewReaderSize(bytes.NewReader(hdr), max(len(hdr), 16)))
	if err != nil {
		return nil, errProxyMalformed
	}
	if h.Command.IsLocal() {
		return real, nil
	}
	if src, _, ok := h.TCPAddrs(); ok {
		return src, nil
	}
	return real, nil
}

// proxyDecide is what a connection does once its first bytes are known to
// hold a header (hasHeader) or not. It returns the error that closes it.
func (p *ProxyOptions) decide(remote net.Addr, hasHeader bool) error {
	if hasHeader {
		switch {
		case p.Policy == ProxyRefuse:
			return errProxyRefused
		case !p.trusted(remote):
			return errProxyUntrusted
		}
		return nil
	}
	if p.Policy == ProxyRequire && p.trusted(remote) {
		return errProxyMissing
	}
	return nil
}

// proxyFailed counts and logs a connection closed for its PROXY header.
func (c *Core) proxyFailed(remote net.Addr, err error) {
	switch err {
	case errProxyMalformed, errProxyTimeout:
		c.Metrics.ProxyErrors.Add(1)
	default:
		c.Metrics.ProxyRefused.Add(1)
	}
	c.logf("h2loop: %v: %v: closing", remote, err)
}

// readProxyStd reads the PROXY header of a connection on the standard
// library's path (before TLS). It returns the connection to go on with,
// whose RemoteAddr is the client's and whose first reads return the bytes
// read after the header, or an error (counted and logged: close nc).
func (c *Core) readProxyStd(nc net.Conn, accepted time.Time) (net.Conn, error) {
	p := c.opts.Proxy
	nc.SetReadDeadline(accepted.Add(p.Timeout))
	defer nc.SetReadDeadline(time.Time{})
	buf := make([]byte, 0, 256)
	for {
		n, need, err := proxyScan(buf)
		if err == nil && n == 0 && need > len(buf) {
			if need > cap(buf) {
				buf = append(buf, make([]byte, need-len(buf))...)[:len(buf)]
			}
			m, rerr := nc.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+m]
			if m == 0 && rerr != nil {
				if isTimeout(rerr) {
					err = errProxyTimeout
				} else if len(buf) == 0 {
					return nil, rerr // closed before a byte came: not worth a line
				} else {
					err = errProxyMalformed
				}
			} else {
				continue
			}
		}
		if err != nil {
			c.proxyFailed(nc.RemoteAddr(), err)
			return nil, err
		}
		remote := nc.RemoteAddr()
		if derr := p.decide(remote, n > 0); derr != nil {
			c.proxyFailed(remote, derr)
			return nil, derr
		}
		if n > 0 {
			if remote, err = proxyParse(buf[:n], remote); err != nil {
				c.proxyFailed(nc.RemoteAddr(), err)
				return nil, err
			}
		}
		return &proxiedConn{Conn: nc, remote: remote, rest: buf[n:]}, nil
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// proxiedConn is a connection after its PROXY header: RemoteAddr is the
// client's, and the bytes read with the header come first.
type proxiedConn struct {
	net.Conn
	remote net.Addr
	rest   []byte
}

func (c *proxiedConn) RemoteAddr() net.Addr { return c.remote }

func (c *proxiedConn) Read(p []byte) (int, error) {
	if len(c.rest) > 0 {
		n := copy(p, c.rest)
		c.rest = c.rest[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
