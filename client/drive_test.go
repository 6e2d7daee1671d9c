package client

import (
	"errors"
	"net"
	"os"
	"runtime"
	"testing"
	"time"
)

// A driver for tests: one H2Conn over a real loopback socket, with the
// non-blocking I/O of h2bench emulated by short deadlines, a time limit,
// and the process heap sampled while it runs.

var (
	errDeadline = errors.New("test driver: time limit reached")
	errHeap     = errors.New("test driver: heap grew above the abort limit")
)

// heapAbort stops a run whose heap grew this much: a client without a
// bound must fail its test, not the machine.
const heapAbort = 512 << 20

// driven is what one driven connection came to.
type driven struct {
	c        *H2Conn
	h        *recHandler
	err      error // Feed's connection error, io.EOF, errDeadline or errHeap
	elapsed  time.Duration
	heap     int64  // peak HeapAlloc growth over the baseline
	maxOut   int    // largest Output() left unwritten
	leftover int    // octets of an incomplete frame when the input ended
	tail     []byte // the output left when the run ended (a GOAWAY, say)
	active   int    // streams open when the run ended (before Fail)
}

// drive connects to addr, submits nreq requests of set and runs the
// connection until Feed fails, the server closes it, every stream has
// closed, or limit has passed. The streams still open are then failed.
func drive(t *testing.T, addr string, cfg H2Config, set *RequestSet, nreq int, limit time.Duration) driven {
	t.Helper()
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := int64(ms.HeapAlloc)
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	d := driven{h: &recHandler{}}
	c := NewH2Conn(cfg, set, d.h)
	d.c = c
	c.Start()
	for i := 0; i < nreq; i++ {
		if err := c.Submit(i%set.Len(), int32(i)); err != nil {
			t.Fatalf("Submit %d: %v", i, err)
		}
	}
	start := time.Now()
	buf := make([]byte, 64<<10)
	rlen := 0
	lastSample := start
	closed := func() int {
		n := 0
		for _, e := range d.h.ev {
			if e.closed {
				n++
			}
		}
		return n
	}
	finish := func(err error) driven {
		d.tail = append([]byte(nil), c.Output()...)
		d.active = c.Active()
		// the GOAWAY of a connection error, best effort
		nc.SetWriteDeadline(time.Now().Add(10 * time.Millisecond))
		nc.Write(c.Output())
		c.Fail(ResultConnError)
		d.err, d.elapsed, d.leftover = err, time.Since(start), rlen
		runtime.ReadMemStats(&ms)
		d.heap = max(d.heap, int64(ms.HeapAlloc)-base)
		return d
	}
	for {
		if out := c.Output(); len(out) > 0 {
			nc.SetWriteDeadline(time.Now().Add(2 * time.Millisecond))
			n, err := nc.Write(out)
			c.Wrote(n)
			if err != nil && !isTimeout(err) {
				return finish(err)
			}
		}
		d.maxOut = max(d.maxOut, len(c.Output()))
		nc.SetReadDeadline(time.Now().Add(2 * time.Millisecond))
		n, rerr := nc.Read(buf[rlen:])
		if n > 0 {
			rlen += n
			used, err := c.Feed(buf[:rlen])
			copy(buf, buf[used:rlen])
			rlen -= used
			if err != nil {
				return finish(err)
			}
			if rlen == len(buf) {
				need := NeedBuffer(buf[:rlen])
				if need <= len(buf) {
					need = 2 * len(buf)
				}
				buf = append(buf, make([]byte, need-len(buf))...)
			}
		}
		if rerr != nil && !isTimeout(rerr) {
			return finish(rerr)
		}
		if closed() == nreq {
			return finish(nil)
		}
		now := time.Now()
		if now.Sub(start) > limit {
			return finish(errDeadline)
		}
		if now.Sub(lastSample) > 5*time.Millisecond {
			lastSample = now
			runtime.ReadMemStats(&ms)
			d.heap = max(d.heap, int64(ms.HeapAlloc)-base)
			if d.heap > heapAbort {
				return finish(errHeap)
			}
		}
	}
}

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }
