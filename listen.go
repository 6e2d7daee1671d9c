package h2loop

import (
	"context"
	"errors"
	"net"
)

// ErrReusePortUnsupported is returned by ListenAndServe, ListenAndServeTLS
// and Listen when Server.ReusePort is set on a platform without
// SO_REUSEPORT (windows).
var ErrReusePortUnsupported = errors.New("h2loop: SO_REUSEPORT is not supported on this platform")

// Listen opens a TCP listener on addr (as net.Listen("tcp", addr) takes
// it: no default address) the way ListenAndServe does: with SO_REUSEPORT
// when s.ReusePort is set. Use it for listeners that Serve or ServeTLS then
// take (a second port, say) so that they share the setting.
func (s *Server) Listen(addr string) (net.Listener, error) {
	if !s.ReusePort {
		return net.Listen("tcp", addr)
	}
	if !reusePortSupported {
		return nil, ErrReusePortUnsupported
	}
	lc := net.ListenConfig{Control: reusePort}
	return lc.Listen(context.Background(), "tcp", addr)
}
