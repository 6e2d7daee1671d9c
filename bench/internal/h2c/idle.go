package h2c

import (
	"net"
	"sync"
	"time"

	"github.com/h2loop/h2loop/codec"
)

// OpenIdle opens n connections to addr, and on each sends the preface, our
// SETTINGS and one GET of path, and waits for the whole response; then it
// leaves the connections open and idle. It dials with up to parallel
// connections in progress at a time. On error it closes what it opened.
// The caller closes the returned connections.
func OpenIdle(addr, path string, n, parallel int, timeout time.Duration) ([]net.Conn, error) {
	if parallel < 1 {
		parallel = 1
	}
	conns := make([]net.Conn, n)
	errs := make(chan error, parallel)
	var wg sync.WaitGroup
	var next int
	var mu sync.Mutex
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= n {
					return
				}
				nc, err := openOne(addr, path, timeout)
				if err != nil {
					errs <- err
					return
				}
				conns[i] = nc
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		CloseAll(conns)
		return nil, err
	}
	return conns, nil
}

// CloseAll closes every non-nil connection of conns.
func CloseAll(conns []net.Conn) {
	for _, nc := range conns {
		if nc != nil {
			nc.Close()
		}
	}
}

// openOne opens one connection and runs one GET on it with small buffers,
// which are dropped before returning: only the socket stays.
func openOne(addr, path string, timeout time.Duration) (net.Conn, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	nc.SetDeadline(time.Now().Add(timeout))
	c, err := newConn(nc, Request{Path: path}, 1, codec.FrameHeaderLen+codec.DefaultMaxFrameSize)
	if err == nil {
		err = c.Run(1)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	nc.SetDeadline(time.Time{})
	return nc, nil
}
