package h2loop_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/internal/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// startTLSServer serves h with ServeTLS, loading a fresh self-signed ECDSA
// certificate for 127.0.0.1 from PEM files, and returns the address and a
// pool that trusts the certificate.
func startTLSServer(t *testing.T, h h2loop.Handler, configure func(*h2loop.Server)) (string, *x509.CertPool) {
	t.Helper()
	cert, pool := selfSigned(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := &h2loop.Server{Handler: h}
	if configure != nil {
		configure(srv)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, certFile, keyFile) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		select {
		case err := <-done:
			if err != h2loop.ErrServerClosed {
				t.Errorf("ServeTLS returned %v, want ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("ServeTLS did not return after Shutdown")
		}
	})
	return ln.Addr().String(), pool
}

// h2TLSClient is Go's standard client offering only h2 by ALPN.
func h2TLSClient(t *testing.T, pool *x509.CertPool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func TestTLSGoClient(t *testing.T) {
	addr, pool := startTLSServer(t, h2loop.HandlerFunc(helloHandler), nil)
	c := h2TLSClient(t, pool)
	base := "https://" + addr

	resp, b := mustDo(t, c, mustRequest(t, "GET", base+"/", nil))
	if resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
		t.Fatalf("proto %s, TLS %+v", resp.Proto, resp.TLS)
	}
	if resp.StatusCode != 200 || string(b) != "hello, world!\n" {
		t.Fatalf("%d %q", resp.StatusCode, b)
	}

	// A large response, beyond the client's windows.
	resp, b = mustDo(t, c, mustRequest(t, "GET", base+"/bytes/5000000", nil))
	if resp.ContentLength != 5000000 || !bytes.Equal(b, pattern(5000000)) {
		t.Fatalf("/bytes: content-length %d, %d bytes", resp.ContentLength, len(b))
	}

	// A POST echoed as it streams in, larger than the server's windows.
	body := pattern(3 << 20)
	resp, b = mustDo(t, c, mustRequest(t, "POST", base+"/echo", bytes.NewReader(body)))
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || !bytes.Equal(b, body) {
		t.Fatalf("/echo: %d %s, %d bytes back of %d", resp.StatusCode, resp.Proto, len(b), len(body))
	}

	// Concurrent streams on the one TLS connection.
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			n := 10000 + g*1000
			resp, err := c.Get(fmt.Sprintf("%s/bytes/%d", base, n))
			if err != nil {
				errs <- err
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.ProtoMajor != 2 || !bytes.Equal(b, pattern(n)) {
				errs <- fmt.Errorf("stream %d: %v %s, %d bytes", g, err, resp.Proto, len(b))
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// A net/http handler over TLS sees a non-nil Request.TLS and HTTP/2.
func TestTLSWrapHandler(t *testing.T) {
	h, seen := recorder()
	addr, pool := startTLSServer(t, h2loop.WrapHandler(h), nil)
	states := make(chan *tls.ConnectionState, 1)
	h2 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		states <- r.TLS
		io.WriteString(w, "tls")
	})
	addr2, pool2 := startTLSServer(t, h2loop.WrapHandler(h2), nil)

	resp, b := mustDo(t, h2TLSClient(t, pool), mustRequest(t, "POST", "https://"+addr+"/t?a=b", strings.NewReader("secret")))
	if resp.ProtoMajor != 2 || string(b) != "ok" {
		t.Fatalf("%s %q", resp.Proto, b)
	}
	s := <-seen
	if !s.TLS || s.Proto != "HTTP/2.0" || s.Body != "secret" || s.RURI != "/t?a=b" || s.Host != addr {
		t.Fatalf("%+v", s)
	}
	mustDo(t, h2TLSClient(t, pool2), mustRequest(t, "GET", "https://"+addr2+"/", nil))
	st := <-states
	if st == nil || !st.HandshakeComplete || st.NegotiatedProtocol != "h2" {
		t.Fatalf("Request.TLS %+v", st)
	}

	// Over a cleartext connection Request.TLS is nil.
	mustDo(t, h2cClient(), mustRequest(t, "GET", startWrapped(t, h2, nil)+"/", nil))
	if st := <-states; st != nil {
		t.Fatalf("cleartext Request.TLS %+v", st)
	}
}

// gRPC over TLS (ALPN h2) through WrapHandler.
func TestTLSGRPC(t *testing.T) {
	gs := grpc.NewServer()
	testpb.RegisterTestServiceServer(gs, testService{})
	t.Cleanup(gs.Stop)
	addr, pool := startTLSServer(t, h2loop.WrapHandler(gs), nil)
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := testpb.NewTestServiceClient(cc).UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("over tls")}})
	if err != nil || string(resp.GetPayload().GetBody()) != "echo:over tls" {
		t.Fatalf("UnaryCall: %v %v", resp, err)
	}
	stream, err := testpb.NewTestServiceClient(cc).FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		msg := fmt.Sprintf("tls%d", i)
		stream.Send(&testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{}}, Payload: &testpb.Payload{Body: []byte(msg)}})
		m, err := stream.Recv()
		if err != nil || string(m.GetPayload().GetBody()) != msg+"-0" {
			t.Fatalf("exchange %d: %v %v", i, m, err)
		}
	}
	stream.CloseSend()
	if _, err := stream.Recv(); err != io.EOF {
		t.Fatalf("end of stream: %v", err)
	}
}

func TestTLSCurl(t *testing.T) {
	curl := testutil.Tool(t, "curl")
	addr, _ := startTLSServer(t, h2loop.HandlerFunc(helloHandler), nil)
	out, err := exec.Command(curl, "-sS", "--http2", "-k", "-w", "\n%{http_version} %{http_code}", "https://"+addr+"/").CombinedOutput()
	if err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if string(out) != "hello, world!\n\n2 200" {
		t.Fatalf("curl: %q", out)
	}
	out, err = exec.Command(curl, "-sS", "--http2", "-k", "--data-binary", "over tls", "-w", " %{http_version}", "https://"+addr+"/echo").CombinedOutput()
	if err != nil || string(out) != "over tls 2" {
		t.Fatalf("curl echo: %v %q", err, out)
	}
}

func TestTLSH2load(t *testing.T) {
	addr, _ := startTLSServer(t, h2loop.HandlerFunc(helloHandler), nil)
	out := runH2load(t, "-n", "2000", "-c", "4", "-m", "8", "https://"+addr+"/")
	wantAllSucceeded(t, out, 2000)
	if !strings.Contains(out, "Application protocol: h2") {
		t.Fatalf("h2load did not negotiate h2:\n%s", out)
	}
}

// TestTLSClientCertificate: handlers see the connection's real TLS state,
// the client's certificate included, over h2 and over http/1.1 (ALPN), both
// through RequestCtx.TLSState and through WrapHandler's Request.TLS.
func TestTLSClientCertificate(t *testing.T) {
	clientCert, _ := selfSigned(t)
	type seen struct {
		native, wrapped *tls.ConnectionState
	}
	states := make(chan seen, 1)
	wrapped := h2loop.WrapHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
		states <- seen{wrapped: r.TLS}
	}))
	h := h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
		if ctx.Path() == "/wrapped" {
			wrapped.Serve(ctx)
			return
		}
		ctx.WriteString("ok")
		states <- seen{native: ctx.TLSState()}
	})
	addr, pool := startTLSServer(t, h, func(s *h2loop.Server) {
		s.TLSConfig = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	})
	for _, proto := range []string{"h2", "http/1.1"} {
		tr := &http.Transport{
			TLSClientConfig:   &tls.Config{RootCAs: pool, NextProtos: []string{proto}, Certificates: []tls.Certificate{clientCert}},
			ForceAttemptHTTP2: proto == "h2",
		}
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second}
		for _, path := range []string{"/", "/wrapped"} {
			resp, b := mustDo(t, c, mustRequest(t, "GET", "https://"+addr+path, nil))
			if string(b) != "ok" {
				t.Fatalf("%s %s: %s %q", proto, path, resp.Proto, b)
			}
			s := <-states
			st := s.native
			if path == "/wrapped" {
				st = s.wrapped
			}
			if st == nil || !st.HandshakeComplete || st.NegotiatedProtocol != proto || st.Version < tls.VersionTLS12 || st.CipherSuite == 0 {
				t.Fatalf("%s %s: TLS state %+v", proto, path, st)
			}
			if len(st.PeerCertificates) != 1 || !bytes.Equal(st.PeerCertificates[0].Raw, clientCert.Certificate[0]) {
				t.Fatalf("%s %s: %d peer certificates, want the client's", proto, path, len(st.PeerCertificates))
			}
		}
		tr.CloseIdleConnections()
	}
}

// TestTLSDisableHTTP1: with DisableHTTP1, ALPN offers h2 alone; a client
// whose ALPN does not pick h2 is closed after the handshake (with a log
// line), and an h2 client is served.
func TestTLSDisableHTTP1(t *testing.T) {
	var logs logBuffer
	addr, pool := startTLSServer(t, h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) { ctx.WriteString("ok") }), func(s *h2loop.Server) {
		s.DisableHTTP1 = true
		s.ErrorLog = log.New(&logs, "", 0)
	})

	resp, err := h2TLSClient(t, pool).Get("https://" + addr + "/")
	if err != nil {
		t.Fatalf("h2 client: %v", err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("h2 client served %s", resp.Proto)
	}

	// A client offering http/1.1 alone (crypto/tls completes its handshake
	// without a protocol, for compatibility), and one without ALPN: closed
	// without an HTTP/1.1 answer.
	for _, protos := range [][]string{{"http/1.1"}, nil} {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: protos})
		if err != nil {
			t.Logf("ALPN %q: handshake failed: %v", protos, err)
			continue
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		b, err := io.ReadAll(c)
		c.Close()
		if len(b) > 0 {
			t.Fatalf("ALPN %q: answered %q", protos, b)
		}
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("ALPN %q: not closed", protos)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(logs.String(), "HTTP/1.1 is disabled") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the refused connection in %q", logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTLSIncompleteFrame: over TLS (the standard library's path) the rest
// of a partially received frame has ReadTimeout to come, as on the
// reactor; then the connection is closed, counted and logged.
func TestTLSIncompleteFrame(t *testing.T) {
	var logs logBuffer
	var srv *h2loop.Server
	addr, pool := startTLSServer(t, h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) { ctx.WriteString("ok") }), func(s *h2loop.Server) {
		s.ReadTimeout = 300 * time.Millisecond
		s.ErrorLog = log.New(&logs, "", 0)
		srv = s
	})
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"h2"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	preface := "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + "\x00\x00\x00\x04\x00\x00\x00\x00\x00" // + an empty SETTINGS
	if _, err := io.WriteString(c, preface+"\x00\x00\x10\x01"); err != nil {               // 4 of a HEADERS frame's 9 header bytes
		t.Fatal(err)
	}
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, err = io.Copy(io.Discard, c) // the server's SETTINGS and ACK, then EOF
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatal("a connection stalled inside a frame was not closed within 10 s")
	}
	if el := time.Since(start); el < 250*time.Millisecond {
		t.Fatalf("closed after %v, before ReadTimeout", el)
	}
	if n := srv.Metrics().Timeouts.Load(); n != 1 {
		t.Fatalf("Timeouts = %d, want 1", n)
	}
	if !strings.Contains(logs.String(), "incomplete frame") {
		t.Fatalf("no log line in %q", logs.String())
	}
}
