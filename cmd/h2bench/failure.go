//go:build linux

package main

import (
	"strconv"

	"github.com/h2loop/h2loop/client"
	"github.com/h2loop/h2loop/codec"
)

// This file holds how a client's connection ends badly: the server closed
// it, broke the protocol, stopped answering (-T, -N), or could not be
// reached; and what the report says about it. Each failure is counted on
// the requests it takes down (the errors table), the connection is counted
// as failed, and the first cause of each row of the errors table is kept,
// so the report says once why connections failed.
//
// A client reconnects after a failure, unless it has failed maxFailsInRow
// connections in a row without the server completing a request on any of
// them: then it gives up (abandon), so a server that fails every
// connection costs a few connections per client, not one per request.

// maxFailsInRow is how many connections in a row may fail before a client
// gives up.
const maxFailsInRow = 3

// eof handles the server closing the connection.
func (c *benchClient) eof() {
	why := ""
	if c.h1 != nil && c.sess == c.h1 {
		c.state = stIdle
		c.failKind, c.failCode = errConnClosed, codec.ErrCodeNo
		c.h1.EOF()
		c.traffic()
	}
	if c.w.st.needCause(errConnClosed, codec.ErrCodeNo) {
		why = "the server closed the connection with requests in flight"
		if c.rlen > 0 {
			why += ", in the middle of a frame (" + strconv.Itoa(c.rlen) + " octets of it received)"
		}
		if got, _ := c.goAway(); got {
			why += ", after GOAWAY"
		}
	}
	c.endConn(errConnClosed, codec.ErrCodeNo, why)
}

// timeout handles -T and -N: requests in flight count as timed out (and as
// failed and errored), the rest are abandoned, as in h2load.
func (c *benchClient) timeout(why string) {
	w := c.w
	if w.phase == phaseMain {
		w.st.TimedOut += int64(c.countedInflight())
	}
	c.endConn(errTimeout, codec.ErrCodeNo, why)
}

// endConn handles a connection that failed or was closed by the server:
// kind and code say how (a row of the errors table), why in words.
func (c *benchClient) endConn(kind int, code codec.ErrCode, why string) {
	w := c.w
	if got, gcode := c.goAway(); got {
		w.st.GoAways++
		if gcode != codec.ErrCodeNo {
			w.st.errCount(errGoAway, gcode, 1)
		}
	}
	w.st.ConnsFailed++
	w.st.cause(kind, code, why)
	c.failKind, c.failCode = kind, code
	sess := c.sess
	c.state = stIdle
	if sess != nil {
		sess.Fail(client.ResultConnError)
	}
	c.closeConn()
	if w.phase == phaseOver || c.noMoreWork() && c.inflight == 0 {
		c.finish()
		return
	}
	if kind == errTimeout {
		c.abandon("a connection timed out")
		return
	}
	if c.doneOnConn > 0 {
		c.failsInRow = 0
	} else {
		c.failsInRow++
	}
	if c.failsInRow >= maxFailsInRow {
		c.abandon(strconv.Itoa(maxFailsInRow) + " connections in a row failed without completing a request")
		return
	}
	c.connect()
}

// connectFailed handles a failed connection attempt.
func (c *benchClient) connectFailed(kind int, why string) {
	w := c.w
	c.state = stIdle
	w.st.errCount(kind, codec.ErrCodeNo, 1)
	w.st.cause(kind, codec.ErrCodeNo, why)
	c.failsInRow++
	if !c.everConn || c.failsInRow >= maxFailsInRow || w.phase == phaseOver {
		// h2load: "client could not connect to host"; its requests fail
		c.abandon("the client could not connect")
		return
	}
	c.connect()
}

// abandon gives up the client: requests never issued count as failed and
// errored, as h2load's process_abandoned_streams does.
func (c *benchClient) abandon(why string) {
	w := c.w
	if w.phase == phaseMain && c.left > 0 && w.sched == nil {
		// as in h2load, neither started nor done
		w.st.Failed += c.left
		w.st.Errored += c.left
		w.st.errCount(errAbandoned, codec.ErrCodeNo, c.left)
		w.st.cause(errAbandoned, codec.ErrCodeNo, why)
		c.left = 0
	}
	if c.rps != nil && c.rps.total > 0 && w.phase == phaseMain {
		n := c.rps.total - c.rps.issued
		w.st.Failed += n
		w.st.Errored += n
		w.st.errCount(errAbandoned, codec.ErrCodeNo, n)
		w.st.cause(errAbandoned, codec.ErrCodeNo, why)
		c.rps.issued = c.rps.total
	}
	c.finish()
}
