package window_test

import (
	"errors"
	"fmt"

	"github.com/h2loop/h2loop/window"
)

// The send side of a connection: the peer's SETTINGS lower the initial
// window after a stream has sent data, the stream goes negative, and
// WINDOW_UPDATE frames bring it back.
func ExampleSendConn() {
	c := window.NewSendConn(window.InitialWindow)
	var s window.SendStream // lives inline in the stream record
	c.OpenStream(&s)

	n := c.Allowed(&s, 100000) // a 100 000-octet response body
	c.Consume(&s, n)
	fmt.Println("sent", n, "stream", c.StreamAvailable(&s), "conn", c.ConnAvailable())

	_ = c.SetInitialStreamWindow(16384)
	fmt.Println("after SETTINGS: stream", c.StreamAvailable(&s), "allowed", c.Allowed(&s, 1))

	_ = c.AddConn(100000)
	_ = c.AddStream(&s, 50000)
	fmt.Println("after WINDOW_UPDATEs: allowed", c.Allowed(&s, 100000-n))

	err := c.AddStream(&s, window.MaxWindow)
	fmt.Println(errors.Is(err, window.ErrOverflow))
	c.CloseStream(&s)
	// Output:
	// sent 65535 stream 0 conn 0
	// after SETTINGS: stream -49151 allowed 0
	// after WINDOW_UPDATEs: allowed 849
	// true
}

// The receive side: the connection is granted 1 MiB up front, and a
// stream's WINDOW_UPDATEs are batched until half its window has been released
// by the application.
func ExampleRecv() {
	conn := window.NewRecv(window.InitialWindow)
	fmt.Println("connection grant:", conn.SetTarget(1<<20)) // WINDOW_UPDATE on stream 0

	stream := window.NewRecv(window.InitialWindow)
	for range 3 {
		_ = conn.Consume(16000) // a DATA frame arrived: connection first (§6.9)
		_ = stream.Consume(16000)
		conn.Release(16000) // the handler read it
		if inc := stream.Release(16000); inc != 0 {
			fmt.Println("stream WINDOW_UPDATE", inc)
		} else {
			fmt.Println("batching, pending", stream.Pending())
		}
	}
	fmt.Println(errors.Is(stream.Consume(65536), window.ErrExceeded))
	// Output:
	// connection grant: 983041
	// batching, pending 16000
	// batching, pending 32000
	// stream WINDOW_UPDATE 48000
	// true
}
