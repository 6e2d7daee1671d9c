package h2loop_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
)

// getWithHints GETs url and returns the final response, its body, and the
// link fields of every 103 before it, in order.
func getWithHints(t *testing.T, c *http.Client, url string) (*http.Response, string, [][]string) {
	t.Helper()
	var hints [][]string
	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		if code == 103 {
			hints = append(hints, h.Values("Link"))
		}
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", url, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), hints
}

func TestEarlyHintsNative(t *testing.T) {
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			if err := ctx.SendEarlyHints("</a.css>; rel=preload; as=style", "</b.js>; rel=preload; as=script"); err != nil {
				t.Errorf("SendEarlyHints: %v", err)
			}
			ctx.AddHeader("link", "</c.png>; rel=preload; as=image")
			if err := ctx.SendInterim(103); err != nil {
				t.Errorf("SendInterim: %v", err)
			}
			if err := ctx.SendInterim(101); err != h2loop.ErrInterim {
				t.Errorf("SendInterim(101) = %v, want ErrInterim", err)
			}
			ctx.WriteString("final\n")
		})
	})
	for _, c := range []*http.Client{h2cClient(), {}} {
		resp, body, hints := getWithHints(t, c, "http://"+addr+"/")
		if resp.StatusCode != 200 || body != "final\n" {
			t.Fatalf("%s: %d %q", resp.Proto, resp.StatusCode, body)
		}
		if len(hints) != 2 || len(hints[0]) != 2 || hints[0][1] != "</b.js>; rel=preload; as=script" ||
			len(hints[1]) != 1 || hints[1][0] != "</c.png>; rel=preload; as=image" {
			t.Fatalf("%s: 103s %q", resp.Proto, hints)
		}
		// SendEarlyHints' links are not part of the final response; a
		// field set before SendInterim is.
		if l := resp.Header.Values("Link"); len(l) != 1 || l[0] != "</c.png>; rel=preload; as=image" {
			t.Fatalf("%s: final link fields %q", resp.Proto, l)
		}
	}
}

func TestEarlyHintsWrapHandler(t *testing.T) {
	base := startWrapped(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Link", "</style.css>; rel=preload; as=style")
		w.WriteHeader(http.StatusEarlyHints)
		w.Header().Add("Link", "</app.js>; rel=preload; as=script")
		w.WriteHeader(http.StatusEarlyHints)
		if r.ProtoMajor == 2 {
			// No 101 in HTTP/2: ignored. (Over HTTP/1.1 it is the final
			// status, which Hijack sends, as in net/http.)
			w.WriteHeader(http.StatusSwitchingProtocols)
		}
		w.Write([]byte("done\n"))
	}), nil)
	for _, c := range []*http.Client{h2cClient(), {}} {
		resp, body, hints := getWithHints(t, c, base+"/")
		if resp.StatusCode != 200 || body != "done\n" {
			t.Fatalf("%s: %d %q", resp.Proto, resp.StatusCode, body)
		}
		if len(hints) != 2 || len(hints[0]) != 1 || len(hints[1]) != 2 {
			t.Fatalf("%s: 103s %q", resp.Proto, hints)
		}
		if l := resp.Header.Values("Link"); len(l) != 2 {
			t.Fatalf("%s: final link fields %q (net/http keeps the 1xx fields)", resp.Proto, l)
		}
	}
}

// TestEarlyHintsHTTP10: "A server MUST NOT send a 1xx response to an
// HTTP/1.0 client" (RFC 9110 §15.2); an HTTP/1.1 client gets the 103.
func TestEarlyHintsHTTP10(t *testing.T) {
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			ctx.SendEarlyHints("</a.css>; rel=preload; as=style")
			ctx.WriteString("final")
		})
	})
	for _, c := range []struct {
		proto string
		want  bool
	}{{"HTTP/1.0", false}, {"HTTP/1.1", true}} {
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(nc, "GET / %s\r\nHost: localhost\r\nConnection: close\r\n\r\n", c.proto)
		b, _ := io.ReadAll(nc)
		nc.Close()
		got := strings.HasPrefix(string(b), "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload; as=style\r\n\r\nHTTP/1.1 200 OK\r\n")
		if got != c.want || !strings.HasSuffix(string(b), "final") || strings.Contains(string(b), "103") != c.want {
			t.Fatalf("%s: 103 sent %v, want %v:\n%s", c.proto, got, c.want, b)
		}
	}
}
