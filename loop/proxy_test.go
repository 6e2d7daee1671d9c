package loop

import (
	"net"
	"testing"
)

// FuzzProxyHeader: any first bytes get a defined answer from the scanner
// (a complete header, a need for more, no header, or an error) and the
// parser, never a panic or an address-less success.
func FuzzProxyHeader(f *testing.F) {
	f.Add([]byte("PROXY TCP4 192.0.2.1 127.0.0.1 4242 443\r\nGET / HTTP/1.1\r\n\r\n"))
	f.Add([]byte("PROXY TCP6 2001:db8::1 ::1 4242 443\r\n"))
	f.Add([]byte("PROXY UNKNOWN\r\n"))
	f.Add([]byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\xc0\x00\x02\x01\x7f\x00\x00\x01\x10\x92\x01\xbb"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x20\x00\x00\x00"))
	f.Add([]byte("\r\n\r\n\x00\r\nQUIT\n\x21\x21\x00\x24"))
	real := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1}
	f.Fuzz(func(t *testing.T, b []byte) {
		n, need, err := proxyScan(b)
		switch {
		case err != nil:
			if n != 0 || need != 0 {
				t.Fatalf("error %v with n %d need %d", err, n, need)
			}
		case n > 0:
			if n > len(b) || need != 0 {
				t.Fatalf("n %d need %d of %d bytes", n, need, len(b))
			}
			addr, err := proxyParse(b[:n], real)
			if err == nil && addr == nil {
				t.Fatalf("%q: no error and no address", b[:n])
			}
			if err == nil {
				_ = addr.String()
			}
		case need > 0:
			if need <= len(b) {
				t.Fatalf("need %d with %d bytes", need, len(b))
			}
		}
	})
}
