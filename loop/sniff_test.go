package loop

import (
	"testing"

	"github.com/h2loop/h2loop/codec"
)

func TestSniff(t *testing.T) {
	cases := []struct {
		in     string
		noH1   bool
		expect protocol
	}{
		{"", false, sniffMore},
		{"PRI * HT", false, sniffMore},
		{codec.ClientPreface, false, sniffH2},
		{codec.ClientPreface + "\x00\x00", true, sniffH2},
		{"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", false, sniffH1}, // a request line, answered by HTTP/1.1
		{"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n", true, sniffBad},
		{"GET / HTTP/1.1\r\n", false, sniffH1},
		{"GET / HTTP/1.1\r\n", true, sniffBad},
		{"G", false, sniffH1},                     // a prefix of a request line: HTTP/1.1 reads on
		{"\x16\x03\x01\x02\x00", false, sniffBad}, // a TLS ClientHello on a cleartext port
		{" GET / HTTP/1.1", false, sniffBad},
		{"GE(T / HTTP/1.1", false, sniffBad},
		{"ABCDEFGHIJKLMNOPQRSTUVWXYZ", false, sniffH1},
	}
	for _, c := range cases {
		if got := sniff([]byte(c.in), c.noH1); got != c.expect {
			t.Errorf("sniff(%q, disableHTTP1=%v) = %d, want %d", c.in, c.noH1, got, c.expect)
		}
	}
}
