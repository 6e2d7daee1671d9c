package h2loop_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/h2loop/h2loop"
)

// A server with a native handler, queried by Go's HTTP/2 client over h2c.
func ExampleServer() {
	srv := &h2loop.Server{Handler: h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
		ctx.SetContentType("text/plain")
		ctx.WriteString("hello from " + ctx.Proto() + "\n")
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

	// net/http's client speaks HTTP/2 over cleartext (h2c, prior
	// knowledge) when asked to.
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	resp, err := client.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Print(resp.Status, " ", string(body))
	// Output: 200 OK hello from HTTP/2.0
}

// Reading a request body as it streams in and echoing it back.
func ExampleRequestCtx_Read() {
	echo := h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
		buf := make([]byte, 32<<10)
		for {
			n, err := ctx.Read(buf)
			ctx.Write(buf[:n])
			if err != nil {
				return // io.EOF at the end of the body
			}
			if ctx.Flush() != nil {
				return // the client reset the stream
			}
		}
	})
	_ = &h2loop.Server{Handler: echo}
}
