package h2loop_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/h2loop/h2loop"
)

// A negative MaxRequestBodySize means no limit, over HTTP/1.1 (declared
// and chunked bodies) as over HTTP/2.
func TestNoBodyLimit(t *testing.T) {
	addr, _ := startServer(t, func(s *h2loop.Server) {
		s.MaxRequestBodySize = -1
		s.Handler = h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			b, err := ctx.Body()
			if err != nil {
				ctx.SetStatus(500)
				ctx.WriteString(err.Error())
				return
			}
			ctx.Write(b)
		})
	})
	body := strings.Repeat("x", 9<<20) // above the 8 MiB default
	for _, tc := range []struct {
		name string
		c    *http.Client
		body func() io.Reader
	}{
		{"HTTP/1.1 content-length", &http.Client{}, func() io.Reader { return strings.NewReader(body) }},
		{"HTTP/1.1 chunked", &http.Client{}, func() io.Reader { return io.NopCloser(strings.NewReader(body)) }},
		{"HTTP/2", h2cClient(), func() io.Reader { return strings.NewReader(body) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("POST", "http://"+addr+"/", tc.body())
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tc.c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || len(b) != len(body) {
				t.Fatalf("%s: %d, %d bytes back of %d, %v", resp.Proto, resp.StatusCode, len(b), len(body), err)
			}
		})
	}
}
