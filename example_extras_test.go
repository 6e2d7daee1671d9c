package h2loop_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/textproto"
	"time"

	"github.com/h2loop/h2loop"
)

// 103 Early Hints: the client learns what to preload before the final
// response, here seen by Go's client through httptrace.
func ExampleRequestCtx_SendEarlyHints() {
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
		ctx.SendEarlyHints("</style.css>; rel=preload; as=style")
		time.Sleep(10 * time.Millisecond) // the page takes a while
		ctx.WriteString("<!doctype html><link rel=stylesheet href=/style.css>\n")
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go srv.Serve(ln)
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()

	trace := &httptrace.ClientTrace{Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
		fmt.Println(code, h.Get("Link"))
		return nil
	}}
	req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), "GET", "http://"+ln.Addr().String()+"/", nil)
	resp, err := h2cClient().Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.StatusCode, " ", string(body))
	// Output:
	// 103 </style.css>; rel=preload; as=style
	// 200 <!doctype html><link rel=stylesheet href=/style.css>
}

// Server push and priorities in a handler: push what the page needs when
// the client accepts it, and serve large, unhurried responses after the
// others.
func ExampleRequestCtx_Push() {
	handler := h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
		switch ctx.Path() {
		case "/":
			if ctx.PushAllowed() {
				ctx.Push("GET", "/app.js")
			}
			ctx.WriteString("<!doctype html><script src=/app.js></script>\n")
		case "/app.js":
			ctx.SetContentType("text/javascript")
			ctx.WriteString("console.log('hi')\n")
		case "/download":
			ctx.SetPriority(7, true) // after everything else, interleaved
			ctx.SetBodyString("...")
		}
	})
	_ = &h2loop.Server{Handler: handler, EnablePush: true}
}
