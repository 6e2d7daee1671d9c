package h2loop_test

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
)

// ctxValues is what a handler found in its request's context.
type ctxValues struct {
	local     net.Addr
	httpSrv   *http.Server
	srv       *h2loop.Server
	base      any
	tlsCipher uint16
	tlsVer    uint16
	tlsProto  string
	proto     string
}

type baseKey struct{}

func valuesHandler(ch chan<- ctxValues) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v := ctxValues{proto: r.Proto, base: r.Context().Value(baseKey{})}
		v.local, _ = r.Context().Value(http.LocalAddrContextKey).(net.Addr)
		v.httpSrv, _ = r.Context().Value(http.ServerContextKey).(*http.Server)
		v.srv, _ = r.Context().Value(h2loop.ServerContextKey).(*h2loop.Server)
		if r.TLS != nil {
			v.tlsCipher, v.tlsVer, v.tlsProto = r.TLS.CipherSuite, r.TLS.Version, r.TLS.NegotiatedProtocol
		}
		ch <- v
		io.WriteString(w, "ok")
	})
}

// The request context of a wrapped handler holds http.LocalAddrContextKey,
// http.ServerContextKey, ServerContextKey and BaseContext's values, over
// HTTP/2 and HTTP/1.1, cleartext and TLS; Request.TLS is the full state.
func TestWrapHandlerContextValues(t *testing.T) {
	ch := make(chan ctxValues, 1)
	var srv *h2loop.Server
	base := context.WithValue(context.Background(), baseKey{}, "from base")
	url := startWrapped(t, valuesHandler(ch), func(s *h2loop.Server) {
		srv = s
		s.BaseContext = func() context.Context { return base }
		s.ReadTimeout = 7 * time.Second
	})
	addr := strings.TrimPrefix(url, "http://")
	check := func(name string, v ctxValues, wantAddr string) {
		t.Helper()
		if v.local == nil || v.local.String() != wantAddr {
			t.Errorf("%s: LocalAddrContextKey = %v, want %s", name, v.local, wantAddr)
		}
		if v.httpSrv == nil || v.httpSrv.ReadTimeout != 7*time.Second || v.httpSrv.Handler == nil {
			t.Errorf("%s: ServerContextKey = %+v", name, v.httpSrv)
		}
		if v.srv == nil {
			t.Errorf("%s: h2loop.ServerContextKey missing", name)
		}
		if v.base != "from base" {
			t.Errorf("%s: BaseContext value = %v", name, v.base)
		}
	}
	mustDo(t, h2cClient(), mustRequest(t, "GET", url+"/", nil))
	v := <-ch
	check("h2c", v, addr)
	if v.srv != srv || v.proto != "HTTP/2.0" {
		t.Errorf("h2c: server %p, want %p; proto %s", v.srv, srv, v.proto)
	}
	mustDo(t, &http.Client{Timeout: 30 * time.Second}, mustRequest(t, "GET", url+"/", nil))
	v = <-ch
	check("http/1.1", v, addr)
	if v.proto != "HTTP/1.1" {
		t.Errorf("http/1.1: proto %s", v.proto)
	}

	for _, proto := range []string{"h2", "http/1.1"} {
		taddr, pool := startTLSServer(t, h2loop.WrapHandler(valuesHandler(ch)), func(s *h2loop.Server) {
			s.BaseContext = func() context.Context { return base }
			s.ReadTimeout = 7 * time.Second
		})
		c := h2TLSClient(t, pool)
		if proto == "http/1.1" {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}}
			tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			t.Cleanup(tr.CloseIdleConnections)
			c = &http.Client{Transport: tr, Timeout: 30 * time.Second}
		}
		mustDo(t, c, mustRequest(t, "GET", "https://"+taddr+"/", nil))
		v = <-ch
		check("tls "+proto, v, taddr)
		if v.tlsCipher == 0 || v.tlsVer < tls.VersionTLS12 || v.tlsProto != proto {
			t.Errorf("tls %s: Request.TLS cipher %#x version %#x ALPN %q", proto, v.tlsCipher, v.tlsVer, v.tlsProto)
		}
	}
}

// The request context of a wrapped handler ends when the context it
// derives from (BaseContext) ends, as in net/http.
func TestWrapHandlerContextFollowsBase(t *testing.T) {
	base, cancel := context.WithCancel(context.Background())
	defer cancel()
	started := make(chan struct{})
	got := make(chan error, 1)
	url := startWrapped(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		select {
		case <-r.Context().Done():
			got <- r.Context().Err()
		case <-time.After(10 * time.Second):
			got <- nil
		}
	}), func(s *h2loop.Server) { s.BaseContext = func() context.Context { return base } })
	go func() {
		if resp, err := h2cClient().Get(url + "/"); err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	cancel()
	if err := <-got; err != context.Canceled {
		t.Fatalf("r.Context() after BaseContext's cancel: %v", err)
	}
}
