package h2loop_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/internal/testutil"
	"golang.org/x/net/http2"
)

// HAProxy in TCP mode in front of the server, sending PROXY v1
// (send-proxy) and v2 (send-proxy-v2): clients connecting to HAProxy from
// 127.0.0.2 are seen with their own address and port, over h2c, HTTP/1.1
// and TLS (h2 and http/1.1, passed through), while only HAProxy's address
// (127.0.0.1) is trusted.
func TestProxyProtocolHAProxy(t *testing.T) {
	bin := "/usr/sbin/haproxy"
	if _, err := os.Stat(bin); err != nil {
		bin = testutil.Tool(t, "haproxy")
	}
	trusted := &h2loop.ProxyProtocol{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}
	clearAddr, _, _, _ := proxyServer(t, "reactor", trusted)
	tlsAddr, srv, tlsConf, _ := proxyServer(t, "tls", trusted)

	ports := make([]string, 4) // v1 clear, v2 clear, v1 tls, v2 tls
	for i := range ports {
		ports[i] = testutil.FreePort(t)
	}
	conf := "defaults\n\tmode tcp\n\ttimeout connect 5s\n\ttimeout client 30s\n\ttimeout server 30s\n"
	for i, p := range ports {
		backend := clearAddr
		if i >= 2 {
			backend = tlsAddr
		}
		send := "send-proxy"
		if i%2 == 1 {
			send = "send-proxy-v2"
		}
		conf += fmt.Sprintf("listen l%d\n\tbind 127.0.0.1:%s\n\tserver s %s %s\n", i, p, backend, send)
	}
	cfg := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-db", "-f", cfg)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	for _, p := range ports {
		if err := waitTCP("127.0.0.1:" + p); err != nil {
			t.Fatalf("haproxy: %v\n%s", err, out.String())
		}
	}

	for i, p := range ports {
		for _, h2 := range []bool{true, false} {
			var conf *tls.Config
			scheme := "http://"
			if i >= 2 {
				conf, scheme = tlsConf, "https://"
			}
			c, local := fromClient(h2, conf)
			for _, path := range []string{"/native", "/nethttp"} {
				got, proto, err := proxyGet(c, scheme+"127.0.0.1:"+p, path)
				if err != nil {
					t.Fatalf("through haproxy listener %d, h2=%v %s: %v\n%s", i, h2, path, err, out.String())
				}
				if want := local(); got != want || !strings.HasPrefix(got, "127.0.0.2:") {
					t.Errorf("listener %d h2=%v %s (%s): handler saw %q, want the client's %q", i, h2, path, proto, got, want)
				}
			}
			c.CloseIdleConnections()
		}
	}
	if n := srv.Metrics().ProxyRefused.Load() + srv.Metrics().ProxyErrors.Load(); n != 0 {
		t.Errorf("%d connections refused through haproxy", n)
	}
}

// curl --haproxy-protocol (v1) is served over h2c, HTTP/1.1 and HTTP/1.1
// upgraded to h2c; curl without it is refused under ProxyRequire.
func TestProxyProtocolCurl(t *testing.T) {
	curl := testutil.Tool(t, "curl")
	addr, srv, _, _ := proxyServer(t, "reactor", &h2loop.ProxyProtocol{Trusted: loopbackTrusted})
	for _, c := range []struct{ flag, version string }{
		{"--http2-prior-knowledge", "2"},
		{"--http1.1", "1.1"},
		{"--http2", "2"}, // HTTP/1.1 Upgrade to h2c
	} {
		out, err := exec.Command(curl, c.flag, "-sS", "--haproxy-protocol", "-w", "|%{local_port}|%{http_version}", "http://"+addr+"/native").CombinedOutput()
		f := strings.Split(string(out), "|")
		if err != nil || len(f) != 3 || f[0] != "127.0.0.1:"+f[1] || f[2] != c.version {
			t.Errorf("curl %s --haproxy-protocol: %v %q", c.flag, err, out)
		}
		if out, err := exec.Command(curl, c.flag, "-sS", "http://"+addr+"/native").CombinedOutput(); err == nil {
			t.Errorf("curl %s without the header was served: %q", c.flag, out)
		}
	}
	if n := srv.Metrics().ProxyRefused.Load(); n != 3 {
		t.Errorf("ProxyRefused = %d, want 3", n)
	}
}

// fromClient is a client whose connections come from 127.0.0.2; local
// returns the local address of its latest connection.
func fromClient(h2 bool, conf *tls.Config) (c *http.Client, local func() string) {
	var last atomic.Value
	last.Store("")
	dial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}}
		nc, err := d.DialContext(ctx, network, addr)
		if err == nil {
			last.Store(nc.LocalAddr().String())
		}
		return nc, err
	}
	local = func() string { return last.Load().(string) }
	if h2 {
		return &http.Client{Timeout: 20 * time.Second, Transport: &http2.Transport{
			AllowHTTP: conf == nil,
			DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
				nc, err := dial(ctx, network, addr)
				if err != nil || conf == nil {
					return nc, err
				}
				c := conf.Clone()
				c.NextProtos = []string{"h2"}
				tc := tls.Client(nc, c)
				if err := tc.HandshakeContext(ctx); err != nil {
					nc.Close()
					return nil, err
				}
				return tc, nil
			},
		}}, local
	}
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DialContext: dial, TLSClientConfig: conf}}, local
}

func waitTCP(addr string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		nc, err := net.Dial("tcp", addr)
		if err == nil {
			nc.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
