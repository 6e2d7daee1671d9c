package loop

import (
	"context"
	"math"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/h2loop/h2loop/pool"
)

// netpollBufferSize is the size of netpoll's first read on a connection.
// Above netpoll's page size (8 KiB), netpoll gives the input buffer's last
// node back (to its buffer cache) whenever everything read was consumed, so
// an idle connection holds no input buffer; the next read takes a node from
// the cache. (At or below it, each connection keeps a node of this size for
// as long as it lives.) The output side holds nothing either: responses are
// written to the socket directly (npConn.write).
const netpollBufferSize = 16 << 10

// netpollNodeSize is the smallest buffer node netpoll allocates; only
// writes the socket could not take at once are copied into such nodes.
const netpollNodeSize = 1024

// runners runs netpoll's per-wake-up tasks (our OnRequest) on reused
// goroutines. netpoll's default runner starts a goroutine for each burst of
// work, one allocation per wake-up; here an idle worker takes the task over
// a channel. The poller must never block, so there is no worker limit: a
// task finds an idle worker or gets a new one.
var runners = pool.New(pool.Options[func()]{
	MaxWorkers:  math.MaxInt32,
	IdleTimeout: 10 * time.Second,
	Run:         func(f func()) { f() },
})

func runTask(_ context.Context, f func()) { runners.Submit(f) }

// netpoll reads these globals when connections are created, so they are set
// at package initialisation, as netpoll's Configure asks.
func init() {
	netpoll.LinkBufferCap = netpollNodeSize
	_ = netpoll.Configure(netpoll.Config{BufferSize: netpollBufferSize, Runner: runTask})
}
