// Package client is the client side of HTTP/2 (RFC 9113) and HTTP/1.1
// (RFC 9112) for h2bench and the tests: connections without I/O that turn
// requests into bytes and received bytes into stream events.
//
// An H2Conn (or H1Conn) is driven by one goroutine: it appends what must be
// written to an output buffer (Output, Wrote) and parses what was read
// (Feed), calling a Handler when a response starts and when a stream ends.
// Requests come from an immutable RequestSet, prepared once and shared by
// every connection; each is identified by an int32 token of the driver's
// choosing, so the driver keeps its per-request records in a plain array.
//
// The steady state allocates nothing: request header blocks are HPACK
// encoded with golang.org/x/net/http2/hpack and cached once they are made of
// indexed fields only; response header blocks are decoded by a lengths-only
// HPACK decoder that keeps the :status code and the decoded size (the
// figures a load generator reports) and never materialises a string; the
// stream table (streamtable) and windows (window) are preallocated.
//
// A hostile server cannot make a connection hold unbounded memory or keep
// it busy forever: the limits of H2Config bound a field block being
// assembled, the acknowledgements waiting to be written and the frames in a
// row that advance no request; crossing one, or breaking a MUST of RFC 9113
// the client checks, makes Feed append GOAWAY and return a connection error
// whose reason names the cause. Time is the driver's: the client never
// blocks, and a request the server never answers stays open until the
// driver gives up on it (Fail). Package client/hostile has a server for
// each such case.
//
// TLSConfig and SelectProtocol cover ALPN (RFC 7301), with h2load's fallback
// to HTTP/1.1 when the server negotiates nothing; H1Conn.SubmitUpgrade and
// H2Conn.StartUpgraded cover the HTTP/1.1 Upgrade to h2c of RFC 7540 §3.2.
package client
