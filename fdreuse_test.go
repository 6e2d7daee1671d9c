package h2loop_test

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
)

// TestClosingNeverTouchesANewConnection: connections the server closes
// (here with a connection error) while their clients vanish too, next to a
// stream of new connections. A descriptor's number is reused by the next
// accepted connection as soon as it is closed: the server must never act
// on a number it no longer owns. Before, the lingering close shut the write
// side down by number after the close had already happened, cutting a new
// connection, whose client saw EOF before the server's SETTINGS.
func TestClosingNeverTouchesANewConnection(t *testing.T) {
	addr, _, _ := servedServer(t, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var cut, served atomic.Int64
	bad := append([]byte(codec.ClientPreface), codec.AppendFrameHeader(nil, codec.FrameHeader{Type: codec.FrameData, StreamID: 0})...)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { // connection errors, the client gone at once
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					continue
				}
				nc.Write(bad)
				nc.Close()
			}
		}()
	}
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { // new connections must get the server's SETTINGS
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					continue
				}
				nc.Write(append([]byte(codec.ClientPreface), codec.AppendSettings(nil)...))
				nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				var hdr [codec.FrameHeaderLen]byte
				if _, err := io.ReadFull(nc, hdr[:]); err != nil {
					cut.Add(1)
					t.Errorf("a new connection got %v before the server's SETTINGS", err)
				} else if codec.ParseFrameHeader(hdr[:]).Type != codec.FrameSettings {
					t.Errorf("first frame %v, want SETTINGS", codec.ParseFrameHeader(hdr[:]).Type)
				} else {
					served.Add(1)
				}
				nc.Close()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d new connections got their SETTINGS, %d were cut", served.Load(), cut.Load())
	if served.Load() == 0 {
		t.Fatal("no connection served")
	}
}
