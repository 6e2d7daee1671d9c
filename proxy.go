package h2loop

import (
	"net/netip"
	"time"

	"github.com/h2loop/h2loop/loop"
)

// ProxyProtocol configures the PROXY protocol (versions 1 and 2, as
// HAProxy's send-proxy and send-proxy-v2, Envoy's proxy_protocol transport
// socket and AWS Network Load Balancers send it): the balancer opens each
// connection with a header naming the client's address, and the handler
// sees that address (ctx.RemoteAddr, r.RemoteAddr under WrapHandler)
// instead of the balancer's.
//
// The header is read on every connection before anything else, TLS
// included. A header is believed only from Trusted sources: one from
// anywhere else is refused (the connection is closed, counted in
// Stats.ProxyRefused and logged), as a client could name any address in
// it. Connections from untrusted sources without a header are served
// with their own address (a kubelet's health check, say). A malformed
// header, or one not complete within HeaderTimeout of accept, closes the
// connection (Stats.ProxyErrors). A LOCAL header (the balancer's own
// health check) keeps the socket's address.
type ProxyProtocol struct {
	// Trusted are the networks of the balancers, e.g.
	// netip.MustParsePrefix("10.0.0.0/8"). IPv4-mapped IPv6 peers match
	// IPv4 prefixes. Peers on Unix sockets are trusted.
	Trusted []netip.Prefix
	// Policy says what a connection from a trusted source must do.
	// Default ProxyRequire.
	Policy ProxyPolicy
	// HeaderTimeout bounds the wait, from accept, for the whole header, or
	// for a connection's first bytes to show there is none. Default 5s.
	HeaderTimeout time.Duration
}

// ProxyPolicy is what a connection from a trusted source must do about
// the PROXY header.
type ProxyPolicy int

const (
	// ProxyRequire: trusted sources must send a header; a connection from
	// one without a header is refused (every connection through the
	// balancer carries one).
	ProxyRequire ProxyPolicy = iota
	// ProxyAllow: trusted sources may send a header (while the balancer's
	// setting rolls out).
	ProxyAllow
	// ProxyRefuse: every header is refused, from any source.
	ProxyRefuse
)

func (s *Server) proxyOptions() *loop.ProxyOptions {
	p := s.ProxyProtocol
	if p == nil {
		return nil
	}
	o := &loop.ProxyOptions{
		Trusted: append([]netip.Prefix(nil), p.Trusted...),
		Timeout: p.HeaderTimeout,
	}
	switch p.Policy {
	case ProxyAllow:
		o.Policy = loop.ProxyAllow
	case ProxyRefuse:
		o.Policy = loop.ProxyRefuse
	default:
		o.Policy = loop.ProxyRequire
	}
	return o
}
