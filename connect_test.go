package h2loop_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"golang.org/x/net/http2"
)

// Minimal WebSocket framing (RFC 6455 §5.2) for the RFC 8441 test:
// unfragmented frames, the client's masked.

func writeWSFrame(w io.Writer, op byte, payload []byte, mask bool) error {
	hdr := []byte{0x80 | op, 0}
	switch n := len(payload); {
	case n < 126:
		hdr[1] = byte(n)
	case n < 1<<16:
		hdr[1] = 126
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr[1] = 127
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	body := payload
	if mask {
		hdr[1] |= 0x80
		key := [4]byte{0x12, 0x34, 0x56, 0x78}
		hdr = append(hdr, key[:]...)
		body = make([]byte, len(payload))
		for i, b := range payload {
			body[i] = b ^ key[i%4]
		}
	}
	_, err := w.Write(append(hdr, body...))
	return err
}

func readWSFrame(r *bufio.Reader) (op byte, payload []byte, masked bool, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return
	}
	if h[0]&0x80 == 0 {
		return 0, nil, false, errors.New("fragmented frame")
	}
	op, masked = h[0]&0x0f, h[1]&0x80 != 0
	n := uint64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	var key [4]byte
	if masked {
		if _, err = io.ReadFull(r, key[:]); err != nil {
			return
		}
	}
	if n > 1<<20 {
		return 0, nil, false, errors.New("frame too large")
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return
	}
	if masked {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return op, payload, masked, nil
}

// h2cTransport is x/net's HTTP/2 client over cleartext (prior knowledge).
// net/http's Transport rejects the ":protocol" header before it reaches
// its HTTP/2 code over h2c.
func h2cTransport(t *testing.T) *http2.Transport {
	tr := &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// wsOverH2Echo is a WebSocket echo server over RFC 8441, written as a
// net/http handler the way one is written for net/http's HTTP/2 server.
func wsOverH2Echo(t *testing.T, seen chan<- string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- fmt.Sprintf("%s %s %s %s v%s", r.Method, r.Proto, r.URL.Path, r.Header.Get(":protocol"), r.Header.Get("Sec-Websocket-Version"))
		if r.Method != http.MethodConnect || r.Header.Get(":protocol") != "websocket" {
			http.Error(w, "not a websocket", http.StatusBadRequest)
			return
		}
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		if err := rc.Flush(); err != nil {
			t.Errorf("Flush: %v", err)
			return
		}
		br := bufio.NewReader(r.Body)
		for {
			op, p, masked, err := readWSFrame(br)
			if err != nil {
				return
			}
			if !masked {
				t.Errorf("unmasked client frame")
				return
			}
			if op == 8 { // close: echo it and end the stream
				writeWSFrame(w, 8, p, false)
				return
			}
			writeWSFrame(w, op, append([]byte("echo:"), p...), false)
			if err := rc.Flush(); err != nil {
				return
			}
		}
	})
}

// RFC 8441 through WrapHandler: Go's own HTTP/2 client opens a WebSocket
// with an extended CONNECT (it waits for SETTINGS_ENABLE_CONNECT_PROTOCOL),
// and a net/http handler serves it as under net/http's server.
func TestWrapHandlerExtendedConnectWebSocket(t *testing.T) {
	seen := make(chan string, 4)
	url := startWrapped(t, wsOverH2Echo(t, seen), func(s *h2loop.Server) { s.EnableConnectProtocol = true })

	tr := h2cTransport(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	pr, pw := io.Pipe()
	req, err := http.NewRequestWithContext(ctx, http.MethodConnect, url+"/chat", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(":protocol", "websocket")
	req.Header.Set("Sec-WebSocket-Version", "13")
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("extended CONNECT: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
		t.Fatalf("%s %d", resp.Proto, resp.StatusCode)
	}
	if got := <-seen; got != "CONNECT HTTP/2.0 /chat websocket v13" {
		t.Fatalf("handler saw %q", got)
	}
	br := bufio.NewReader(resp.Body)
	for i := range 20 {
		msg := fmt.Sprintf("message %d %s", i, strings.Repeat("y", i*500))
		if err := writeWSFrame(pw, 1, []byte(msg), true); err != nil {
			t.Fatal(err)
		}
		op, b, masked, err := readWSFrame(br)
		if err != nil || op != 1 || masked || string(b) != "echo:"+msg {
			t.Fatalf("echo %d: op %d masked %v %.40q %v", i, op, masked, b, err)
		}
	}
	writeWSFrame(pw, 8, []byte{0x03, 0xe8}, true)
	if op, _, _, err := readWSFrame(br); err != nil || op != 8 {
		t.Fatalf("close: op %d %v", op, err)
	}
	pw.Close()
	if _, err := br.ReadByte(); err != io.EOF {
		t.Fatalf("after close: %v, want EOF", err)
	}
}

// Without EnableConnectProtocol the server does not advertise extended
// CONNECT, and Go's client refuses to send one.
func TestWrapHandlerExtendedConnectDisabled(t *testing.T) {
	seen := make(chan string, 4)
	url := startWrapped(t, wsOverH2Echo(t, seen), nil)
	tr := h2cTransport(t)
	req, _ := http.NewRequest(http.MethodConnect, url+"/chat", http.NoBody)
	req.Header.Set(":protocol", "websocket")
	resp, err := tr.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("extended CONNECT accepted without EnableConnectProtocol: %d", resp.StatusCode)
	}
	if !strings.Contains(err.Error(), "extended connect not supported") {
		t.Fatalf("error %v, want the client's refusal for lack of SETTINGS_ENABLE_CONNECT_PROTOCOL", err)
	}
	select {
	case s := <-seen:
		t.Fatalf("handler ran: %s", s)
	default:
	}
}
