//go:build !windows

package loop

import (
	"errors"
	"net"
	"time"

	"github.com/cloudwego/netpoll"
)

// proxyHeader reads the PROXY header at the start of a connection on the
// reactor, or finds there is none, before the protocol is sniffed. It
// waits (blocking, as a partial frame does) for the rest of a header
// begun, bounded by the header timeout from accept; a connection that sends
// nothing at all is closed by tick. On false the connection must be closed
// (counted and logged).
func (c *npConn) proxyHeader(r netpoll.Reader) bool {
	p := c.core.opts.Proxy
	real := c.nc.RemoteAddr()
	for {
		buf, err := r.Peek(r.Len())
		if err != nil {
			return false
		}
		n, need, err := proxyScan(buf)
		if err == nil && n == 0 && need > len(buf) {
			left := time.Until(c.accepted.Add(p.Timeout))
			if left <= 0 {
				err = errProxyTimeout
			} else {
				c.nc.SetReadTimeout(left)
				_, perr := r.Peek(need)
				c.nc.SetReadTimeout(c.core.opts.ReadTimeout)
				if perr == nil {
					continue
				}
				switch {
				case errors.Is(perr, netpoll.ErrReadTimeout):
					err = errProxyTimeout
				case c.core.shutdown.Load() || c.core.closed.Load():
					c.proxied.Store(true)
					return false // closed by Shutdown or Close: not the peer's fault
				default:
					err = errProxyMalformed // the peer closed within a header
				}
			}
		}
		if err == nil {
			err = p.decide(real, n > 0)
		}
		var remote net.Addr = real
		if err == nil && n > 0 {
			remote, err = proxyParse(buf[:n], real)
		}
		// The header phase ends here, or in tick: whichever comes first
		// counts the outcome.
		if !c.proxied.CompareAndSwap(false, true) {
			return false // tick closed it for its timeout meanwhile
		}
		if err != nil {
			c.core.proxyFailed(real, err)
			return false
		}
		if n > 0 {
			r.Skip(n)
		}
		c.remote = remote
		return true
	}
}

// proxyTick closes a connection whose PROXY header (or first bytes) did
// not come within the header timeout; it reports whether it did.
func (c *npConn) proxyTick(now time.Time) bool {
	p := c.core.opts.Proxy
	if p == nil || c.proxied.Load() || now.Sub(c.accepted) <= p.Timeout || !c.proxied.CompareAndSwap(false, true) {
		return false
	}
	c.core.proxyFailed(c.nc.RemoteAddr(), errProxyTimeout)
	c.nc.Close()
	return true
}

// peer is the client's address: from the PROXY header, or the socket's.
func (c *npConn) peer() net.Addr {
	if c.remote != nil {
		return c.remote
	}
	return c.nc.RemoteAddr()
}
