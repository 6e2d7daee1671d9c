package loop

import (
	"errors"
	"net"

	"github.com/cloudwego/netpoll"
)

// ReactorAvailable reports whether cleartext connections are served on
// netpoll's reactor; where it is false (windows), Server.Serve uses the
// standard library's net path (a goroutine per connection), as TLS does.
const ReactorAvailable = false

var errNoReactor = errors.New("h2loop: no netpoll reactor on this platform")

// NewEventLoop is not available here: use ServeListener.
func (core *Core) NewEventLoop() (netpoll.EventLoop, error) { return nil, errNoReactor }

// serveFD: no fd reactor here.
func (core *Core) serveFD(ln net.Listener) (bool, error) { return false, nil }

func (h *h2conn) sinkFull() bool { return false }

// fdConn stands for the fd reactor's connections, which this platform
// does not have.
type fdConn struct{}

func (h *h2conn) fdSink() *fdConn           { return nil }
func (h *h2conn) flushFD(fc *fdConn) bool   { return true }
func (h *h2conn) handOverOutput(fc *fdConn) {}

// fdReaper closes the fd reactor's connections; there are none here.
type fdReaper struct{ wake chan struct{} }

func (r *fdReaper) init()         {}
func (r *fdReaper) run(now int64) {}
func (r *fdReaper) stop()         {}

func (c *fdConn) closeSocket() {}

// Every connection is in the Core's map here (core.go's slotted).
func (c *fdConn) regSlot() *int32 { return nil }
func (h *h2conn) regSlot() *int32 { return nil }
func (h *h1conn) regSlot() *int32 { return nil }

// realAddr is a: there are no fd connections here.
func realAddr(a net.Addr) net.Addr { return a }
