//go:build linux

package main

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
)

// Test servers, all on loopback.

// h2cServer serves handler with HTTP/1.1 and h2c (prior knowledge).
func h2cServer(t *testing.T, handler http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler}
	srv.Protocols = new(http.Protocols)
	srv.Protocols.SetUnencryptedHTTP2(true)
	srv.Protocols.SetHTTP1(true)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// tlsServer serves handler over TLS; alpn nil means the server does not do
// ALPN at all.
func tlsServer(t *testing.T, handler http.Handler, h2 bool, alpn []string) string {
	t.Helper()
	if h2 {
		srv := httptest.NewUnstartedServer(handler)
		srv.EnableHTTP2 = true
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.URL
	}
	// borrow httptest's certificate for a listener with our ALPN choice
	cert := httptest.NewUnstartedServer(handler)
	cert.StartTLS()
	certs := cert.TLS.Certificates
	cert.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tl := tls.NewListener(ln, &tls.Config{Certificates: certs, NextProtos: alpn})
	srv := &http.Server{Handler: handler}
	go srv.Serve(tl)
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, r.Body)
	w.Write([]byte("hello, world!\n"))
})

// rawH2Server is a minimal HTTP/2 server written with codec: it answers
// every request with 200 and "ok", and after perConn responses on a
// connection sends GOAWAY with the last stream id it answered, ignores
// later streams and closes the connection.
type rawH2Server struct {
	addr    string
	perConn int
	upgrade bool // accept HTTP/1.1 Upgrade: h2c (RFC 7540 §3.2) before the preface
	mu      sync.Mutex
	conns   int
	answers int
}

func newRawH2Server(t *testing.T, perConn int, upgrade bool) *rawH2Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawH2Server{addr: ln.Addr().String(), perConn: perConn, upgrade: upgrade}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			go s.serve(c)
		}
	}()
	return s
}

func (s *rawH2Server) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	answered := 0
	if s.upgrade {
		// read the HTTP/1.1 request head (and no body: GET)
		var head []byte
		b := make([]byte, 1)
		for !bytes.HasSuffix(head, []byte("\r\n\r\n")) {
			if _, err := c.Read(b); err != nil {
				return
			}
			head = append(head, b[0])
		}
		h := string(head)
		if !strings.Contains(h, "\r\nUpgrade: h2c\r\n") || !strings.Contains(h, "\r\nHTTP2-Settings: ") {
			return
		}
		out := []byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n")
		out = codec.AppendSettings(out)
		out = codec.AppendHeaders(out, 1, false, true, []byte{0x88})
		out = codec.AppendData(out, 1, true, []byte("ok"))
		c.Write(out)
		answered++
		s.mu.Lock()
		s.answers++
		s.mu.Unlock()
	}
	pre := make([]byte, len(codec.ClientPreface))
	if _, err := io.ReadFull(c, pre); err != nil || string(pre) != codec.ClientPreface {
		return
	}
	c.Write(codec.AppendSettings(nil, codec.Setting{ID: codec.SettingMaxConcurrentStreams, Value: 100}))
	hdr := make([]byte, 9)
	for {
		if _, err := io.ReadFull(c, hdr); err != nil {
			return
		}
		h := codec.ParseFrameHeader(hdr)
		p := make([]byte, h.Length)
		if _, err := io.ReadFull(c, p); err != nil {
			return
		}
		switch h.Type {
		case codec.FrameSettings:
			if !h.Flags.Has(codec.FlagAck) {
				c.Write(codec.AppendSettingsAck(nil))
			}
		case codec.FrameHeaders:
			if answered >= s.perConn {
				continue // above the GOAWAY's last stream id: not processed
			}
			answered++
			out := codec.AppendHeaders(nil, h.StreamID, false, true, []byte{0x88})
			out = codec.AppendData(out, h.StreamID, true, []byte("ok"))
			s.mu.Lock()
			s.answers++
			s.mu.Unlock()
			if answered == s.perConn {
				out = codec.AppendGoAway(out, h.StreamID, codec.ErrCodeNo, nil)
				c.Write(out)
				time.Sleep(20 * time.Millisecond)
				return
			}
			c.Write(out)
		}
	}
}

// runBench runs h2bench in-process and returns its result and report.
func runBench(t *testing.T, args ...string) (*result, string) {
	t.Helper()
	cfg, err := parseArgs(args, strings.NewReader(""))
	if err != nil {
		t.Fatalf("parseArgs(%q): %v", args, err)
	}
	var out bytes.Buffer
	done := make(chan struct{})
	var res *result
	go func() {
		defer close(done)
		res, err = bench(cfg, &out, false)
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("h2bench %q did not finish", args)
	}
	if err != nil {
		t.Fatalf("bench: %v", err)
	}
	writeReport(&out, res)
	res.Args = args
	if cfg.jsonFile != "" {
		if err := writeJSON(cfg.jsonFile, io.Discard, res); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.htmlFile != "" {
		if err := writeHTML(cfg.htmlFile, res); err != nil {
			t.Fatal(err)
		}
	}
	return res, out.String()
}

func waitPort(t *testing.T, addr string) {
	t.Helper()
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s not listening", addr)
}
