package client_test

import (
	"fmt"

	"github.com/h2loop/h2loop/client"
	"github.com/h2loop/h2loop/codec"
)

type printer struct{}

func (printer) Response(token int32, status int) { fmt.Println("request", token, "status", status) }
func (printer) Closed(token int32, r client.Result, code codec.ErrCode) {
	fmt.Println("request", token, "closed:", r)
}

// A request and its response, without a network: the output would be
// written to a socket, the input read from it.
func ExampleH2Conn() {
	set := client.NewRequestSet([]client.Request{{Scheme: "http", Authority: "example.com", Path: "/"}})
	c := client.NewH2Conn(client.DefaultH2Config(), set, printer{})
	c.Start()                                                  // preface, SETTINGS, WINDOW_UPDATE
	c.Submit(0, 42)                                            // HEADERS on stream 1
	out := c.Output()                                          // write these bytes ...
	c.Wrote(len(out))                                          // ... and say so
	in := codec.AppendSettings(nil)                            // the server's SETTINGS
	in = codec.AppendHeaders(in, 1, false, true, []byte{0x88}) // :status 200
	in = codec.AppendData(in, 1, true, []byte("hello"))
	n, err := c.Feed(in)
	fmt.Println("consumed", n == len(in), err, "body octets", c.BytesBody)
	fmt.Printf("reply %x\n", c.Output()) // SETTINGS ACK
	// Output:
	// request 42 status 200
	// request 42 closed: ok
	// consumed true <nil> body octets 5
	// reply 000000040100000000
}
