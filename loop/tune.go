package loop

import "github.com/cloudwego/netpoll"

// netpoll keeps at least one buffer node per connection for input; its
// default node size (4 KiB) would dominate the memory of an idle HTTP/2
// connection. Busy connections grow their read size on their own (netpoll
// doubles it while reads fill it), so a small floor costs nothing under load.
// netpoll reads these globals when connections are created, so they are set
// at package initialisation, as netpoll's Configure asks.
const netpollBufferSize = 1024

func init() {
	netpoll.LinkBufferCap = netpollBufferSize
	_ = netpoll.Configure(netpoll.Config{BufferSize: netpollBufferSize})
}
