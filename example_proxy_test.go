package h2loop_test

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/netip"

	"github.com/h2loop/h2loop"
)

// Behind a balancer that sends the PROXY protocol, handlers see the
// client's address.
func ExampleProxyProtocol() {
	srv := &h2loop.Server{
		Handler: h2loop.HandlerFunc(func(ctx *h2loop.RequestCtx) {
			ctx.SetBodyString(ctx.RemoteAddr().String())
		}),
		// The balancers' network: here, loopback.
		ProxyProtocol: &h2loop.ProxyProtocol{Trusted: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go srv.Serve(ln)
	defer srv.Close()

	// What a balancer sends: the PROXY v1 header, then the client's bytes.
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		log.Fatal(err)
	}
	defer nc.Close()
	fmt.Fprint(nc, "PROXY TCP4 203.0.113.7 10.0.0.1 51234 443\r\n")
	fmt.Fprint(nc, "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(string(body))
	// Output: 203.0.113.7:51234
}
