package loop

import (
	"context"
	"math"
	"time"

	"github.com/cloudwego/netpoll"
	"github.com/h2loop/h2loop/pool"
)

// netpoll keeps at least one buffer node per connection for input; its
// default node size (4 KiB) would dominate the memory of an idle HTTP/2
// connection. Busy connections grow their read size on their own (netpoll
// doubles it while reads fill it), so a small floor costs nothing under load.
const netpollBufferSize = 1024

// runners runs netpoll's per-wake-up tasks (our OnRequest) on reused
// goroutines. netpoll's default runner starts a goroutine for each burst of
// work, one allocation per wake-up; here an idle worker takes the task over
// a channel. The poller must never block, so there is no worker limit: a
// task finds an idle worker or gets a new one.
var runners = pool.New(math.MaxInt32, 4096, 10*time.Second, func(f func()) { f() })

func runTask(_ context.Context, f func()) { runners.Submit(f) }

// netpoll reads these globals when connections are created, so they are set
// at package initialisation, as netpoll's Configure asks.
func init() {
	netpoll.LinkBufferCap = netpollBufferSize
	_ = netpoll.Configure(netpoll.Config{BufferSize: netpollBufferSize, Runner: runTask})
}
