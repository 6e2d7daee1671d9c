package http1

import (
	"encoding/base64"
)

// Interner turns byte slices into strings, handing back a string it made
// before when the bytes are the same. A connection whose requests repeat
// their method, path and fields (the common case on keep-alive) then makes
// no string at all. Strings are ordinary immutable Go strings, owned by
// nobody: they stay valid for as long as anyone holds them.
//
// An Interner is a small two-way set-associative cache, not safe for
// concurrent use; use one per connection. Its hash is fixed (FNV-1a): a
// client that makes its strings collide only makes them allocate.
type Interner struct {
	sets [internSets]internSet
}

type internSet struct {
	way  [2]string
	next uint8 // the way to replace on a miss
}

const (
	internSets = 64
	// maxInterned bounds the length of cached strings, so that the memory
	// a connection pins stays small (at most 2*internSets*maxInterned).
	maxInterned = 256
	// maxLowered bounds names lowered without an allocation.
	maxLowered = 64
)

// common strings are never allocated, even the first time.
var common = map[string]string{}

func init() {
	for _, s := range []string{
		"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
		"/", "*", "http", "https", "0", "close", "keep-alive", "*/*", "gzip", "chunked",
		"trailers", "100-continue", "localhost",
		"accept", "accept-charset", "accept-encoding", "accept-language", "authorization",
		"cache-control", "connection", "content-encoding", "content-length", "content-type",
		"cookie", "date", "dnt", "expect", "forwarded", "from", "host", "http2-settings",
		"if-match", "if-modified-since", "if-none-match", "if-range", "if-unmodified-since",
		"keep-alive", "max-forwards", "origin", "pragma", "priority", "proxy-authorization",
		"proxy-connection", "range", "referer", "sec-fetch-dest", "sec-fetch-mode",
		"sec-fetch-site", "sec-fetch-user", "te", "trailer", "transfer-encoding", "upgrade",
		"upgrade-insecure-requests", "user-agent", "via", "x-forwarded-for",
		"x-forwarded-host", "x-forwarded-proto", "x-request-id", "x-real-ip",
		"grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
	} {
		common[s] = s
	}
}

// String returns b as a string, reusing an earlier one with the same bytes
// when it can.
func (in *Interner) String(b []byte) string {
	if len(b) > maxInterned {
		return string(b)
	}
	h := uint32(2166136261)
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	set := &in.sets[h%internSets]
	if set.way[0] == string(b) {
		return set.way[0]
	}
	if set.way[1] == string(b) {
		return set.way[1]
	}
	s, ok := common[string(b)]
	if !ok {
		s = string(b)
	}
	set.way[set.next] = s
	set.next ^= 1
	return s
}

// Lower is String of the ASCII lowercase of b (for field names).
func (in *Interner) Lower(b []byte) string {
	if len(b) > maxLowered {
		low := make([]byte, len(b))
		for i, c := range b {
			low[i] = lower(c)
		}
		return in.String(low)
	}
	var buf [maxLowered]byte
	for i, c := range b {
		buf[i] = lower(c)
	}
	return in.String(buf[:len(b)])
}

// DecodeHTTP2Settings decodes the value of an HTTP2-Settings field: "a
// base64url string (that is, the URL- and filename-safe Base64 encoding
// described in Section 5 of [RFC4648], with any trailing '=' characters
// omitted)" holding a SETTINGS frame payload (RFC 7540 §3.2.1). It accepts
// the padding anyway, and fails unless the payload is whole settings of 6
// bytes each. The result is newly allocated.
func DecodeHTTP2Settings(v []byte) ([]byte, bool) {
	for len(v) > 0 && v[len(v)-1] == '=' {
		v = v[:len(v)-1]
	}
	out := make([]byte, base64.RawURLEncoding.DecodedLen(len(v)))
	n, err := base64.RawURLEncoding.Decode(out, v)
	if err != nil || n%6 != 0 {
		return nil, false
	}
	return out[:n], true
}
