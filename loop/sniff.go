package loop

import (
	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/http1"
)

// protocol is what a cleartext connection's first bytes say it speaks.
type protocol int

const (
	sniffMore protocol = iota // a prefix of the preface: wait for more bytes
	sniffH2                   // the HTTP/2 preface (prior knowledge)
	sniffH1                   // an HTTP/1.x request line
	sniffBad                  // neither: close the connection
)

// sniff picks the protocol from a connection's first bytes, the same way on
// every transport. "On a port that also serves HTTP/1.1, bytes that are
// neither the preface nor a valid HTTP/1.1 request line close the
// connection."
func sniff(b []byte, disableHTTP1 bool) protocol {
	n := min(len(b), len(codec.ClientPreface))
	if string(b[:n]) == codec.ClientPreface[:n] {
		if n < len(codec.ClientPreface) {
			return sniffMore
		}
		return sniffH2
	}
	if !disableHTTP1 && looksLikeHTTP1(b[:min(len(b), 16)]) {
		return sniffH1
	}
	return sniffBad
}

// looksLikeHTTP1 reports whether b can start an HTTP/1.x request line: a
// method token followed by a space (or b is a prefix of one).
func looksLikeHTTP1(b []byte) bool {
	for i, ch := range b {
		if ch == ' ' {
			return i > 0
		}
		if !http1.IsTokenChar(ch) {
			return false
		}
	}
	return len(b) > 0
}
