package h2loop_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/pires/go-proxyproto"
	"golang.org/x/net/http2"
)

// proxyHandler answers /native with ctx.RemoteAddr() and /nethttp with
// r.RemoteAddr under WrapHandler; /hijack (HTTP/1.1) takes the connection
// and writes its RemoteAddr.
func proxyHandler() h2loop.Handler {
	wrapped := h2loop.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hijack" {
			c, _, err := http.NewResponseController(w).Hijack()
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n%s", c.RemoteAddr())
			return
		}
		io.WriteString(w, r.RemoteAddr)
	}))
	return h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
		if ctx.Path() == "/nethttp" || ctx.Path() == "/hijack" {
			wrapped.Serve(ctx)
			return
		}
		ctx.SetBodyString(ctx.RemoteAddr().String())
	})
}

// proxyServer serves with the PROXY protocol on one of three paths: the
// reactor (Serve), the standard library's cleartext path (Serve of a
// listener netpoll cannot take: windows), or TLS (ServeTLS).
func proxyServer(t *testing.T, path string, pp *h2loop.ProxyProtocol) (addr string, srv *h2loop.Server, tlsConf *tls.Config, logs *logBuffer) {
	t.Helper()
	logs = new(logBuffer)
	srv = &h2loop.Server{Handler: proxyHandler(), ProxyProtocol: pp, ErrorLog: log.New(logs, "", 0)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	switch path {
	case "reactor":
		go func() { done <- srv.Serve(ln) }()
	case "std":
		go func() { done <- srv.Serve(plainListener{ln}) }()
	case "tls":
		cert, pool := selfSigned(t)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		tlsConf = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
		go func() { done <- srv.ServeTLS(ln, "", "") }()
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
	})
	return ln.Addr().String(), srv, tlsConf, logs
}

// plainListener hides the *net.TCPListener from netpoll.ConvertListener.
type plainListener struct{ net.Listener }

// proxyDial returns a dial function that opens each connection with hdr.
func proxyDial(hdr []byte) func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if len(hdr) > 0 {
			if _, err := nc.Write(hdr); err != nil {
				nc.Close()
				return nil, err
			}
		}
		return nc, nil
	}
}

// proxyClient is an HTTP/2 or HTTP/1.1 client, over TLS when tlsConf is
// set, whose connections start with hdr.
func proxyClient(hdr []byte, h2 bool, tlsConf *tls.Config) *http.Client {
	dial := proxyDial(hdr)
	var rt http.RoundTripper
	switch {
	case h2:
		rt = &http2.Transport{
			AllowHTTP: tlsConf == nil,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				nc, err := dial(ctx, network, addr)
				if err != nil || tlsConf == nil {
					return nc, err
				}
				conf := tlsConf.Clone()
				conf.NextProtos = []string{"h2"}
				tc := tls.Client(nc, conf)
				if err := tc.HandshakeContext(ctx); err != nil {
					nc.Close()
					return nil, err
				}
				return tc, nil
			},
		}
	default:
		rt = &http.Transport{DialContext: dial, TLSClientConfig: tlsConf, ForceAttemptHTTP2: false}
	}
	return &http.Client{Transport: rt, Timeout: 20 * time.Second}
}

func proxyGet(c *http.Client, base, path string) (string, string, error) {
	resp, err := c.Get(base + path)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != 200 {
		err = fmt.Errorf("%s", resp.Status)
	}
	return string(b), resp.Proto, err
}

func v1Header(src string) []byte {
	ap := netip.MustParseAddrPort(src)
	fam := "TCP4"
	if ap.Addr().Is6() {
		fam = "TCP6"
	}
	dst := "127.0.0.1"
	if ap.Addr().Is6() {
		dst = "::1"
	}
	return fmt.Appendf(nil, "PROXY %s %s %s %d 8443\r\n", fam, ap.Addr(), dst, ap.Port())
}

func v2Header(t *testing.T, src string) []byte {
	t.Helper()
	ap := netip.MustParseAddrPort(src)
	dst := netip.MustParseAddrPort("127.0.0.1:8443")
	if ap.Addr().Is6() {
		dst = netip.MustParseAddrPort("[::1]:8443")
	}
	h := proxyproto.HeaderProxyFromAddrs(2, net.TCPAddrFromAddrPort(ap), net.TCPAddrFromAddrPort(dst))
	b, err := h.Format()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var loopbackTrusted = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

// The handler sees the address from the header, v1 and v2, IPv4 and IPv6,
// natively and under WrapHandler, over h2c, cleartext HTTP/1.1, and TLS
// (h2 and http/1.1), on the reactor and on the standard library's path.
func TestProxyProtocolAddress(t *testing.T) {
	for _, path := range []string{"reactor", "std", "tls"} {
		t.Run(path, func(t *testing.T) {
			addr, srv, tlsConf, _ := proxyServer(t, path, &h2loop.ProxyProtocol{Trusted: loopbackTrusted})
			scheme := "http://"
			if tlsConf != nil {
				scheme = "https://"
			}
			for _, src := range []string{"203.0.113.7:4242", "[2001:db8::17]:51000"} {
				for v, hdr := range map[string][]byte{"v1": v1Header(src), "v2": v2Header(t, src)} {
					for _, h2 := range []bool{true, false} {
						c := proxyClient(hdr, h2, tlsConf)
						for _, p := range []string{"/native", "/nethttp"} {
							got, proto, err := proxyGet(c, scheme+addr, p)
							if err != nil {
								t.Fatalf("%s %s h2=%v %s: %v", v, src, h2, p, err)
							}
							if got != src {
								t.Errorf("%s %s h2=%v %s (%s): remote address %q, want %q", v, src, h2, p, proto, got, src)
							}
							if wantH2 := proto == "HTTP/2.0"; wantH2 != h2 {
								t.Errorf("h2=%v but the response came over %s", h2, proto)
							}
						}
						c.CloseIdleConnections()
					}
				}
			}
			if m := srv.Metrics(); m.ProxyRefused.Load()+m.ProxyErrors.Load() != 0 {
				t.Errorf("refused %d, errors %d: want none", m.ProxyRefused.Load(), m.ProxyErrors.Load())
			}
		})
	}
}

// wantClosed writes b on a new connection and expects the server to close
// it without an answer.
// TestProxyProtocolHijack: a connection a handler takes (Hijack) behind
// the PROXY protocol names the client the header named, as the request
// did.
func TestProxyProtocolHijack(t *testing.T) {
	for _, path := range []string{"reactor", "std"} {
		t.Run(path, func(t *testing.T) {
			addr, _, _, _ := proxyServer(t, path, &h2loop.ProxyProtocol{Trusted: loopbackTrusted})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			c.Write(append(v1Header("203.0.113.7:5555"), "GET /hijack HTTP/1.1\r\nHost: x\r\n\r\n"...))
			b, err := io.ReadAll(c)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(string(b), "\r\n\r\n203.0.113.7:5555") {
				t.Fatalf("hijacked connection's RemoteAddr: got %q, want the PROXY header's 203.0.113.7:5555", b)
			}
		})
	}
}

func wantClosed(t *testing.T, addr string, b []byte, what string) {
	t.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write(b)
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	got, err := io.ReadAll(nc)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the connection was not closed (read %q)", what, got)
	}
	if len(got) > 0 {
		t.Fatalf("%s: answered %q, want the connection closed", what, got)
	}
}

// request is a complete HTTP/1.1 request, sent after a header.
const request = "GET /native HTTP/1.1\r\nHost: x\r\n\r\n"

// A header from a source outside Trusted is refused (a client naming any
// address it likes), while a plain connection from it is served; garbage
// after the signature, a v2 header with a bad version, and a connection
// without a header from a trusted source under ProxyRequire are refused.
func TestProxyProtocolRefused(t *testing.T) {
	for _, path := range []string{"reactor", "std", "tls"} {
		t.Run(path, func(t *testing.T) {
			// Loopback is not trusted here.
			addr, srv, tlsConf, logs := proxyServer(t, path, &h2loop.ProxyProtocol{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}})
			m := srv.Metrics()
			wantClosed(t, addr, append(v1Header("198.51.100.1:1000"), request...), "spoofed v1 header")
			wantClosed(t, addr, append(v2Header(t, "198.51.100.1:1000"), request...), "spoofed v2 header")
			if n := m.ProxyRefused.Load(); n != 2 {
				t.Errorf("ProxyRefused = %d, want 2", n)
			}
			if n := strings.Count(logs.String(), "PROXY header from an untrusted source"); n != 2 {
				t.Errorf("%d log lines on untrusted headers, want 2:\n%s", n, logs)
			}
			scheme := "http://"
			if tlsConf != nil {
				scheme = "https://"
			}
			for _, h2 := range []bool{true, false} {
				got, _, err := proxyGet(proxyClient(nil, h2, tlsConf), scheme+addr, "/native")
				if err != nil || !strings.HasPrefix(got, "127.0.0.1:") {
					t.Errorf("untrusted source without a header, h2=%v: %q, %v", h2, got, err)
				}
			}

			// Garbage is refused from trusted sources too.
			addr, srv, _, _ = proxyServer(t, path, &h2loop.ProxyProtocol{Trusted: loopbackTrusted})
			m = srv.Metrics()
			wantClosed(t, addr, []byte("PROXY TCP4 not-an-address 127.0.0.1 1 2\r\n"+request), "malformed v1 header")
			wantClosed(t, addr, []byte("PROXY "+strings.Repeat("x", 200)), "v1 header without CRLF")
			bad := v2Header(t, "198.51.100.1:1000")
			bad[12] = 0x31 // version 3
			wantClosed(t, addr, append(bad, request...), "v2 header of version 3")
			if n := m.ProxyErrors.Load(); n != 3 {
				t.Errorf("ProxyErrors = %d, want 3", n)
			}
			// ProxyRequire (the default): a trusted source must send one.
			wantClosed(t, addr, []byte(request), "no header under ProxyRequire")
			if n := m.ProxyRefused.Load(); n != 1 {
				t.Errorf("ProxyRefused = %d, want 1", n)
			}
		})
	}
}

// ProxyAllow serves a trusted source with or without a header; ProxyRefuse
// refuses every header; a LOCAL header (a balancer's health check) keeps
// the socket's address.
func TestProxyProtocolPolicies(t *testing.T) {
	addr, _, _, _ := proxyServer(t, "reactor", &h2loop.ProxyProtocol{Trusted: loopbackTrusted, Policy: h2loop.ProxyAllow})
	got, _, err := proxyGet(proxyClient(nil, true, nil), "http://"+addr, "/native")
	if err != nil || !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("ProxyAllow without a header: %q, %v", got, err)
	}
	got, _, err = proxyGet(proxyClient(v1Header("192.0.2.9:99"), true, nil), "http://"+addr, "/native")
	if err != nil || got != "192.0.2.9:99" {
		t.Errorf("ProxyAllow with a header: %q, %v", got, err)
	}
	local, err := (&proxyproto.Header{Version: 2, Command: proxyproto.LOCAL, TransportProtocol: proxyproto.UNSPEC}).Format()
	if err != nil {
		t.Fatal(err)
	}
	got, _, err = proxyGet(proxyClient(local, false, nil), "http://"+addr, "/native")
	if err != nil || !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("LOCAL header: %q, %v", got, err)
	}

	addr, srv, _, _ := proxyServer(t, "reactor", &h2loop.ProxyProtocol{Trusted: loopbackTrusted, Policy: h2loop.ProxyRefuse})
	wantClosed(t, addr, append(v2Header(t, "192.0.2.9:99"), request...), "header under ProxyRefuse")
	if n := srv.Metrics().ProxyRefused.Load(); n != 1 {
		t.Errorf("ProxyRefused = %d, want 1", n)
	}
}

// A header that stops halfway, or a connection that sends nothing, is
// closed after HeaderTimeout and counted; the header may also arrive in
// pieces within it.
func TestProxyProtocolSlowHeader(t *testing.T) {
	for _, path := range []string{"reactor", "std", "tls"} {
		t.Run(path, func(t *testing.T) {
			addr, srv, _, _ := proxyServer(t, path, &h2loop.ProxyProtocol{Trusted: loopbackTrusted, HeaderTimeout: 300 * time.Millisecond})
			for _, first := range []string{"PROXY TCP4 192.0.2", "\r\n\r\n\x00\r\nQUIT\n\x21", ""} {
				wantClosed(t, addr, []byte(first), fmt.Sprintf("stalled after %q", first))
			}
			if n := srv.Metrics().ProxyErrors.Load(); n != 3 {
				t.Errorf("ProxyErrors = %d, want 3", n)
			}
			if path == "tls" {
				return
			}
			// In two pieces, within the (default) timeout.
			addr, _, _, _ = proxyServer(t, path, &h2loop.ProxyProtocol{Trusted: loopbackTrusted})
			nc, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			hdr := v1Header("192.0.2.1:7")
			nc.Write(hdr[:10])
			time.Sleep(20 * time.Millisecond)
			nc.Write(append(hdr[10:], request...))
			nc.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(io.LimitReader(resp.Body, int64(len("192.0.2.1:7"))))
			if string(body) != "192.0.2.1:7" {
				t.Errorf("header in two pieces: %q", body)
			}
		})
	}
}

// Peers on a Unix socket (a balancer on the same host) are trusted.
func TestProxyProtocolUnixSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Skipf("SKIP: no Unix sockets here: %v", err)
	}
	srv := &h2loop.Server{Handler: proxyHandler(), ProxyProtocol: &h2loop.ProxyProtocol{}}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	defer func() {
		srv.Close()
		<-done
	}()
	nc, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.Write(append(v2Header(t, "192.0.2.44:4444"), request...))
	nc.SetReadDeadline(time.Now().Add(20 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64))
	if string(body) != "192.0.2.44:4444" {
		t.Errorf("over a Unix socket: %q", body)
	}
}
