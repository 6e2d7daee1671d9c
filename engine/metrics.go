package engine

import "sync/atomic"

// Metrics are counters shared by every connection of a server.
type Metrics struct {
	Conns          atomic.Uint64 // connections started
	Requests       atomic.Uint64 // requests dispatched to handlers
	Frames         atomic.Uint64 // frames received
	BytesSent      atomic.Uint64 // DATA payload bytes sent
	ConnErrors     atomic.Uint64 // connections closed with a GOAWAY error code
	ProtocolErrors atomic.Uint64 // invalid preface, frames out of order
	ResetsSent     atomic.Uint64 // RST_STREAM sent
	ResetsReceived atomic.Uint64 // RST_STREAM received
	Refused        atomic.Uint64 // streams refused at MAX_CONCURRENT_STREAMS
	Malformed      atomic.Uint64 // malformed requests (§8.1.1)
	HeaderTooLarge atomic.Uint64 // header sections above MaxHeaderListSize (431)
	BodyTooLarge   atomic.Uint64 // bodies above MaxRequestBodySize (413)
	FloodErrors    atomic.Uint64 // ENHANCE_YOUR_CALM: resets, control frames, useless frames, CONTINUATION
	Timeouts       atomic.Uint64 // settings, header and idle timeouts

	// ProxyRefused counts connections closed because of their PROXY
	// protocol header: one from a source not trusted (spoofing), one where
	// headers are refused, or none from a trusted source that must send
	// one. ProxyErrors counts connections closed for a malformed PROXY
	// header, or one not received within its timeout. Counted by the
	// transport.
	ProxyRefused atomic.Uint64
	ProxyErrors  atomic.Uint64

	// OpenStreams is a gauge, not a counter: the HTTP/2 streams open now
	// (from HEADERS until the stream closes), over every connection.
	OpenStreams atomic.Int64

	BadResponseFields atomic.Uint64 // response fields a handler set that HTTP/2 cannot carry (dropped)

	// WritesBlocked counts writes that found the socket's send buffer full
	// and waited for the peer to read (bounded by the write timeout): slow
	// readers, or responses larger than the socket buffers. Counted by the
	// transport.
	WritesBlocked atomic.Uint64
	// ConnsRejected counts connections closed at accept because MaxConns
	// were open. Counted by the transport.
	ConnsRejected atomic.Uint64
	// HandlerPanics counts handlers that panicked: the stream was reset
	// (or the HTTP/1.1 connection closed) and the panic logged with its
	// stack. Counted by the server.
	HandlerPanics atomic.Uint64
	// Panics counts panics inside the server itself (a callback from the
	// reactor, a transport call): the connection was closed and the panic
	// logged with its stack. Any count here is a bug worth reporting.
	Panics atomic.Uint64
	// CallbackPanics counts panics in the user's callbacks that run
	// outside a handler (ConnState, ConnContext, AccessLog,
	// InlineHandlerFunc, RegisterOnShutdown functions, the Logger's
	// handler or ErrorLog's writer, TLSConfig's callbacks): each was
	// recovered and logged with its stack, and a connection whose
	// ConnContext, StateNew report or TLS handshake panicked was closed.
	// Counted by the server.
	CallbackPanics atomic.Uint64
	// Overloaded counts requests refused because MaxWorkers handlers were
	// running: the wait queue was full, or the request waited
	// QueueTimeout without a worker. HTTP/2 gets RST_STREAM
	// (REFUSED_STREAM, safe to retry); HTTP/1.1 handlers do not use the
	// workers.
	Overloaded atomic.Uint64
	// Pushes counts requests promised with PUSH_PROMISE (server push).
	Pushes atomic.Uint64
}

func (m *Metrics) inc(c *atomic.Uint64) {
	c.Add(1)
}

// Snapshot returns the counters as plain numbers, by name.
func (m *Metrics) Snapshot() map[string]uint64 {
	return map[string]uint64{
		"conns":            m.Conns.Load(),
		"requests":         m.Requests.Load(),
		"pushes":           m.Pushes.Load(),
		"frames":           m.Frames.Load(),
		"bytes_sent":       m.BytesSent.Load(),
		"conn_errors":      m.ConnErrors.Load(),
		"protocol_errors":  m.ProtocolErrors.Load(),
		"resets_sent":      m.ResetsSent.Load(),
		"resets_received":  m.ResetsReceived.Load(),
		"refused":          m.Refused.Load(),
		"malformed":        m.Malformed.Load(),
		"header_too_large": m.HeaderTooLarge.Load(),
		"body_too_large":   m.BodyTooLarge.Load(),
		"flood_errors":     m.FloodErrors.Load(),
		"timeouts":         m.Timeouts.Load(),
		"proxy_refused":    m.ProxyRefused.Load(),
		"proxy_errors":     m.ProxyErrors.Load(),
		"open_streams":     uint64(max(m.OpenStreams.Load(), 0)),

		"bad_response_fields": m.BadResponseFields.Load(),
		"writes_blocked":      m.WritesBlocked.Load(),
		"conns_rejected":      m.ConnsRejected.Load(),
		"handler_panics":      m.HandlerPanics.Load(),
		"panics":              m.Panics.Load(),
		"callback_panics":     m.CallbackPanics.Load(),
		"overloaded":          m.Overloaded.Load(),
	}
}
