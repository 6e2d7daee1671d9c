//go:build linux

package main

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/h2loop/h2loop/client"
	"github.com/h2loop/h2loop/codec"
)

// session is what a benchClient needs of client.H2Conn and client.H1Conn.
type session interface {
	Output() []byte
	Wrote(n int)
	Feed(p []byte) (int, error)
	CanSubmit() int
	Submit(reqIdx int, token int32) error
	Active() int
	GoingAway() bool
	Shutdown()
	Fail(r client.Result)
	Traffic() (head, headDecomp, body uint64)
}

// client states
const (
	stIdle = iota
	stConnecting
	stConnected
	stDone
)

// reqRec is the record of one in-flight request, indexed by its token.
type reqRec struct {
	intended int64 // when it should have started (open loop), else = start
	start    int64 // when it was written
	ttfb     int64 // when its response headers arrived (0: not yet)
	status   int32
	counted  bool // started in the measured phase
}

// benchClient is one of the -c clients (h2load's Client): a sequence of
// connections to the server carrying the client's share of the requests.
type benchClient struct {
	w   *worker
	idx int32

	// work
	left       int64 // requests not yet issued (closed loop); -1: unlimited
	inflight   int
	nextReq    int // next URI of this client
	success    int64
	rps        *schedule // --rps or --timing-script-file
	rpsStarted bool
	retiring   bool // no new request on the current connection

	clientStart, clientEnd int64

	// connection
	state               int
	fd                  int
	br                  *bridge
	sess                session
	h2                  *client.H2Conn
	h1                  *client.H1Conn
	rbuf                []byte
	rlen                int
	wantOut             bool
	dirty               bool
	connStart           int64
	gotFirst            bool
	reqsOnConn          int64
	doneOnConn          int64 // requests the server ended on this connection
	failsInRow          int
	everConn            bool
	lastActive          int64
	connGen             int32 // generation of the socket, carried in epoll events (Pad)
	failKind            int
	failCode            codec.ErrCode
	timerGen            [16]uint32
	activeArmed         bool
	lastH, lastD, lastB uint64
	lastP               uint64 // pushed DATA octets counted so far

	recs []reqRec
	free []int32
}

func newBenchClient(w *worker, i int, todo int64) *benchClient {
	m := w.cfg.maxStreams
	c := &benchClient{w: w, idx: int32(i), left: todo, fd: -1, recs: make([]reqRec, m), free: make([]int32, m),
		rbuf: make([]byte, max(64<<10, int(w.cfg.maxFrame)+codec.FrameHeaderLen))}
	for j := range c.free {
		c.free[j] = int32(m - 1 - j)
	}
	c.nextReq = i % w.set.Len()
	c.nextReq = 0
	if w.cfg.rps > 0 {
		c.rps = newSchedule(0, w.cfg.rps, todo)
	} else if w.cfg.timings != nil {
		// --timing-script-file: request k at the client's start + offset k
		n := int64(len(w.cfg.timings))
		if todo >= 0 {
			n = min(n, todo)
		}
		c.rps = &schedule{offsets: w.cfg.timings, total: n}
	}
	return c
}

func (c *benchClient) markDirty() {
	if !c.dirty {
		c.dirty = true
		c.w.dirty = append(c.w.dirty, c)
	}
}

// connect starts a new connection.
func (c *benchClient) connect() {
	w := c.w
	w.st.ConnsMade++
	if c.everConn {
		w.st.Reconnects++
	}
	c.state = stConnecting
	c.connGen++             // events of an earlier socket of this client are stale
	c.connStart = w.clock() // a fresh reading: connections opened in one loop pass each get their own
	c.gotFirst = false
	c.reqsOnConn, c.doneOnConn = 0, 0
	c.retiring = false
	c.rlen = 0
	c.lastActive = w.now
	if w.cfg.idleTimeout > 0 {
		c.armTimer(tkIdle, w.now+int64(w.cfg.idleTimeout))
	}
	if w.cfg.tls() {
		c.br = startBridge(c)
		return
	}
	fd, err := unix.Socket(w.fam, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		c.connectFailed(errConnect, "socket: "+err.Error())
		return
	}
	unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, w.addr)
	if err != nil && !errors.Is(err, unix.EINPROGRESS) {
		unix.Close(fd)
		c.connectFailed(errConnect, "connect: "+err.Error())
		return
	}
	c.fd = fd
	if err := unix.EpollCtl(w.epfd, unix.EPOLL_CTL_ADD, fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT, Fd: c.idx, Pad: c.connGen}); err != nil {
		unix.Close(fd)
		c.fd = -1
		c.connectFailed(errConnect, "epoll_ctl: "+err.Error())
		return
	}
	c.wantOut = true
}

// onEvent handles epoll readiness of the client's socket; gen is the
// socket generation the event was registered with.
func (c *benchClient) onEvent(ev uint32, gen int32) {
	if c.fd < 0 || gen != c.connGen {
		return
	}
	if c.state == stConnecting {
		if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return
		}
		if e, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); err != nil || e != 0 {
			c.closeFD()
			if err == nil {
				err = unix.Errno(e)
			}
			c.connectFailed(errConnect, "connect: "+err.Error())
			return
		}
		c.connected(c.w.cfg.cleartextProto(), false)
		return
	}
	if ev&(unix.EPOLLIN|unix.EPOLLERR|unix.EPOLLHUP) != 0 {
		c.readable()
	}
	if ev&unix.EPOLLOUT != 0 && c.state == stConnected {
		c.flush()
	}
}

// connected sets up the session once the transport is ready.
func (c *benchClient) connected(proto string, alpnFallback bool) {
	w := c.w
	c.state = stConnected
	c.everConn = true
	w.st.ConnsOK++
	if alpnFallback {
		w.st.ALPNFallback++
	}
	w.st.connect = append(w.st.connect, float64(w.clock()-c.connStart)/1e9)
	w.noteProto(proto, alpnFallback)
	cfg := w.cfg
	if proto == "http/1.1" {
		w.st.ProtoH1++
		c.h1 = client.NewH1Conn(cfg.maxStreams, w.set, c)
		c.h2 = nil
		c.sess = c.h1
	} else {
		w.st.ProtoH2++
		c.h2 = client.NewH2Conn(w.h2cfg(), w.set, c)
		if cfg.upgrade && !cfg.tls() {
			// h2c via Upgrade: the first request goes as HTTP/1.1
			c.h1 = client.NewH1Conn(1, w.set, c)
			c.sess = c.h1
			if intended, ok := c.nextWork(); ok {
				tok := c.take(intended)
				c.h1.SubmitUpgrade(c.nextIdx(), tok, c.h2.SettingsPayload())
			}
			c.markDirty()
			return
		}
		c.h1 = nil
		c.h2.Start()
		c.sess = c.h2
	}
	c.lastH, c.lastD, c.lastB, c.lastP = 0, 0, 0, 0
	if c.rps != nil && !c.rpsStarted {
		// h2load starts a client's --rps clock when it connects
		c.rpsStarted = true
		c.rps.t0 = w.now
	}
	c.fill()
	c.armRPS()
	c.markDirty()
}

// readable reads once from the socket (level-triggered: more data is
// reported again) and processes what arrived.
func (c *benchClient) readable() {
	if c.rlen == len(c.rbuf) {
		c.rbuf = append(c.rbuf, make([]byte, len(c.rbuf))...)
	}
	n, err := unix.Read(c.fd, c.rbuf[c.rlen:])
	if err != nil {
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			return
		}
		c.endConn(errIO, codec.ErrCodeNo, "read: "+err.Error())
		return
	}
	if n == 0 {
		c.eof()
		return
	}
	c.received(n)
}

// received processes n new bytes at rbuf[rlen:].
func (c *benchClient) received(n int) {
	w := c.w
	if w.phase == phaseMain {
		w.st.BytesTotal += int64(n)
	}
	c.lastActive = w.now
	if !c.gotFirst {
		c.gotFirst = true
		w.st.connTTFB = append(w.st.connTTFB, float64(w.now-c.connStart)/1e9)
	}
	c.rlen += n
	c.process()
}

// process feeds the buffered bytes to the session.
func (c *benchClient) process() {
	for c.state == stConnected {
		used, err := c.sess.Feed(c.rbuf[:c.rlen])
		c.traffic()
		if c.sess != nil && len(c.sess.Output()) > 0 {
			c.markDirty() // SETTINGS ACK, PING ACK, WINDOW_UPDATE, resumed bodies
		}
		if used > 0 {
			copy(c.rbuf, c.rbuf[used:c.rlen])
			c.rlen -= used
		}
		if err != nil {
			kind := errProtocol
			var ce *codec.ConnError
			code, why := codec.ErrCodeProtocol, err.Error()
			if errors.As(err, &ce) {
				code, why = ce.Code, ce.Reason
			}
			if c.h2 == nil || c.sess == c.h1 {
				kind = errHTTP1
			}
			c.flush()
			c.endConn(kind, code, why)
			return
		}
		if c.h1 != nil && c.sess == c.h1 && c.h1.Upgraded {
			c.w.st.Upgraded++
			reqIdx, tok := c.h1.UpgradeStream()
			c.h2.StartUpgraded(reqIdx, tok)
			c.sess = c.h2
			c.lastH, c.lastD, c.lastB, c.lastP = 0, 0, 0, 0
			c.markDirty()
			continue
		}
		if c.h1 != nil && c.sess == c.h1 && c.h1.Declined && c.h2 != nil {
			c.h1.Declined = false
			c.h2 = nil
			c.w.st.UpgradeNo++
			c.w.noteNote("the server declined the h2c upgrade: continued with HTTP/1.1")
		}
		if used == 0 && c.rlen == len(c.rbuf) {
			need := client.NeedBuffer(c.rbuf[:c.rlen])
			if need <= len(c.rbuf) {
				need = 2 * len(c.rbuf)
			}
			if need > 64<<20 {
				c.endConn(errProtocol, codec.ErrCodeFrameSize, "server sent a frame above 64 MiB")
				return
			}
			c.rbuf = append(c.rbuf, make([]byte, need-len(c.rbuf))...)
		}
		break
	}
	if c.state == stConnected {
		c.afterActivity()
	}
}

// traffic adds the session's new traffic to the statistics.
func (c *benchClient) traffic() {
	h, d, b := c.sess.Traffic()
	if c.w.phase == phaseMain {
		st := c.w.st
		st.BytesHead += int64(h - c.lastH)
		st.BytesHeadDecomp += int64(d - c.lastD)
		st.BytesBody += int64(b - c.lastB)
	}
	c.lastH, c.lastD, c.lastB = h, d, b
	if c.h2 != nil && c.sess == c.h2 && c.w.cfg.enablePush {
		p := c.h2.BytesPushed
		if c.w.phase == phaseMain {
			c.w.st.BytesPushed += int64(p - c.lastP)
		}
		c.lastP = p
	}
}

// pushesHeld returns the pushed streams of the connection still open: the
// connection is kept until they end, as a request's stream is.
func (c *benchClient) pushesHeld() int {
	if c.h2 != nil && c.sess == c.h2 {
		return c.h2.Pushes()
	}
	return 0
}

// afterActivity submits more work or retires the connection.
func (c *benchClient) afterActivity() {
	c.fill()
	if c.state != stConnected {
		return
	}
	idle := c.sess.Active() == 0 && c.pushesHeld() == 0
	if idle && (c.sess.GoingAway() || c.retiring) {
		c.connDone()
		return
	}
	if idle && c.noMoreWork() {
		c.finish()
	}
}

// flush writes the session's output.
func (c *benchClient) flush() {
	if c.sess == nil || (c.state != stConnected && c.state != stDone) {
		return
	}
	out := c.sess.Output()
	if len(out) == 0 {
		if c.wantOut && c.br == nil {
			c.wantOut = false
			unix.EpollCtl(c.w.epfd, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: c.idx, Pad: c.connGen})
		}
		return
	}
	if c.br != nil {
		c.br.write(out)
		c.sess.Wrote(len(out))
		return
	}
	for len(out) > 0 {
		n, err := unix.Write(c.fd, out)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) {
				if !c.wantOut {
					c.wantOut = true
					unix.EpollCtl(c.w.epfd, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT, Fd: c.idx, Pad: c.connGen})
				}
				return
			}
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if c.state == stConnected {
				c.endConn(errIO, codec.ErrCodeNo, "write: "+err.Error())
			}
			return
		}
		c.sess.Wrote(n)
		out = out[n:]
	}
	c.lastActive = c.w.now
	if c.wantOut {
		c.wantOut = false
		unix.EpollCtl(c.w.epfd, unix.EPOLL_CTL_MOD, c.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: c.idx, Pad: c.connGen})
	}
}

// nextIdx returns the next URI index of this client (URIs are used in turn).
func (c *benchClient) nextIdx() int {
	i := c.nextReq
	c.nextReq++
	if c.nextReq == c.w.set.Len() {
		c.nextReq = 0
	}
	return i
}

// nextWork takes the next request to issue, with its intended start.
func (c *benchClient) nextWork() (int64, bool) {
	w := c.w
	if w.phase == phaseOver {
		return 0, false
	}
	switch {
	case w.sched != nil:
		return w.takeDue()
	case c.rps != nil:
		if len(w.retry) > 0 {
			return w.takeDue()
		}
		s := c.rps
		if s.issued < s.due(w.now) {
			i := s.intended(s.issued)
			s.issued++
			return i, true
		}
		return 0, false
	default:
		if c.left == 0 {
			return 0, false
		}
		if c.left > 0 {
			c.left--
		}
		return w.now, true
	}
}

// noMoreWork reports whether the client has nothing left to issue.
func (c *benchClient) noMoreWork() bool {
	w := c.w
	switch {
	case w.phase == phaseOver:
		return true
	case w.sched != nil:
		return w.openLoopDone()
	case c.rps != nil:
		return c.rps.total >= 0 && c.rps.issued >= c.rps.total
	default:
		return c.left == 0
	}
}

// fill issues requests while the connection has free streams and there is
// work due.
func (c *benchClient) fill() {
	for c.state == stConnected && !c.retiring && c.sess.CanSubmit() > 0 && len(c.free) > 0 {
		intended, ok := c.nextWork()
		if !ok {
			break
		}
		c.issue(intended)
	}
	if c.w.cfg.activeTimeout > 0 && !c.activeArmed && c.noMoreWork() && c.state == stConnected {
		// h2load starts -T once the client's last request is submitted.
		c.activeArmed = true
		c.armTimer(tkActive, c.w.now+int64(c.w.cfg.activeTimeout))
	}
}

// take allocates a token and starts its record.
func (c *benchClient) take(intended int64) int32 {
	w := c.w
	tok := c.free[len(c.free)-1]
	c.free = c.free[:len(c.free)-1]
	c.recs[tok] = reqRec{intended: intended, start: w.now, counted: w.phase == phaseMain}
	if w.phase == phaseMain {
		w.st.Started++
	}
	c.inflight++
	c.reqsOnConn++
	if m := w.cfg.maxPerConn; m > 0 && c.reqsOnConn >= m {
		c.retiring = true
	}
	return tok
}

// issue sends one request with the given intended start.
func (c *benchClient) issue(intended int64) {
	tok := c.take(intended)
	if err := c.sess.Submit(c.nextIdx(), tok); err != nil {
		// cannot happen: CanSubmit was checked; undo
		c.release(tok)
		return
	}
	c.markDirty()
}

func (c *benchClient) release(tok int32) {
	c.free = append(c.free, tok)
	c.inflight--
}

// Response implements client.Handler.
func (c *benchClient) Response(token int32, status int) {
	r := &c.recs[token]
	r.status = int32(status)
	r.ttfb = c.w.now
}

// Closed implements client.Handler: it accounts the finished request.
func (c *benchClient) Closed(token int32, res client.Result, code codec.ErrCode) {
	w := c.w
	r := c.recs[token]
	c.release(token)
	if res != client.ResultConnError {
		c.doneOnConn++ // the server completed it, one way or another
	}
	if !r.counted || w.phase == phaseOver {
		return
	}
	st := w.st
	now := w.now
	if res == client.ResultRefused && c.canRetry() {
		// not processed by the server: issue it again, keeping its start
		st.Retried++
		st.Started--
		switch {
		case w.sched != nil || c.rps != nil:
			w.retry = append(w.retry, r.intended)
		case c.left >= 0:
			c.left++
		}
		return
	}
	// h2load counts requests a -T/-N timeout ends as failed, errored and
	// timed out, but not as done
	if res != client.ResultConnError || c.failKind != errTimeout {
		st.Done++
	}
	if r.status > 0 && r.status < 600 {
		st.Status[r.status]++
	} else {
		st.Status[0]++
	}
	lat := now - r.start
	st.tick((now-w.mainStart)/1e9, res == client.ResultOK)
	if res == client.ResultOK {
		st.Success++
		c.success++
		if r.status >= 200 && r.status < 400 {
			st.StatusSuccess++
		} else {
			st.Failed++
		}
		st.reqAcc.add(lat)
		record(st.request, lat)
		if st.interval != nil {
			record(st.interval, lat)
		}
		if r.ttfb > 0 {
			record(st.ttfb, r.ttfb-r.start)
		}
		if w.sched != nil || c.rps != nil {
			record(st.queue, r.start-r.intended)
			record(st.correct, now-r.intended)
		}
	} else {
		st.Failed++
		st.Errored++
		record(st.failed, lat)
		switch res {
		case client.ResultReset, client.ResultRefused:
			st.errCount(errReset, code, 1)
		case client.ResultProtocol:
			st.errCount(errMalformed, code, 1)
		default:
			st.errCount(c.failKind, c.failCode, 1)
		}
	}
	if w.log != nil {
		s := int(r.status)
		if res != client.ResultOK {
			s = -1
		}
		w.log.line(r.start, s, lat)
	}
}

// canRetry reports whether a request refused by the server may be issued
// again (there must be a later connection to carry it).
func (c *benchClient) canRetry() bool { return c.w.phase == phaseMain }

// connDone closes a connection that has nothing in flight and no future
// (GOAWAY, --max-requests-per-conn, stream ids exhausted) and reconnects if
// work remains.
func (c *benchClient) connDone() {
	if got, code := c.goAway(); got {
		c.w.st.GoAways++
		if code != codec.ErrCodeNo {
			c.w.st.errCount(errGoAway, code, 1)
		}
	}
	c.sess.Shutdown()
	c.flush()
	c.closeConn()
	if c.noMoreWork() {
		c.finish()
		return
	}
	c.failsInRow = 0
	c.connect()
}

func (c *benchClient) goAway() (bool, codec.ErrCode) {
	if c.h2 != nil && c.sess == c.h2 {
		return c.h2.GoAwayReceived()
	}
	return false, codec.ErrCodeNo
}

// closeConn releases the transport.
func (c *benchClient) closeConn() {
	c.closeFD()
	if c.br != nil {
		c.br.close()
		c.br = nil
	}
	c.sess = nil
	c.h1, c.h2 = nil, nil
	c.state = stIdle
	c.wantOut = false
	c.timerGen[tkIdle]++
	c.timerGen[tkActive]++
	c.activeArmed = false
}

func (c *benchClient) closeFD() {
	if c.fd >= 0 {
		unix.Close(c.fd) // also removes it from the epoll set
		c.fd = -1
	}
}

// finish ends the client.
func (c *benchClient) finish() {
	if c.state == stDone {
		return
	}
	w := c.w
	if c.sess != nil {
		c.sess.Shutdown()
		c.state = stDone
		c.flush()
	}
	c.closeConn()
	c.state = stDone
	c.clientEnd = w.now
	if d := c.clientEnd - c.clientStart; d > 0 && c.everConn {
		w.st.clientRPS = append(w.st.clientRPS, float64(c.success)/(float64(d)/1e9))
	}
	c.timerGen[tkRPS]++
	w.live--
}

// maybeFinish finishes an idle client that has no more work.
func (c *benchClient) maybeFinish() {
	if c.state == stConnected && c.inflight == 0 && c.pushesHeld() == 0 && c.noMoreWork() {
		c.finish()
	}
}

// stop ends the client at the end of a timing-based run; requests in flight
// are not counted (they did not complete in the measured phase).
func (c *benchClient) stop() {
	if c.state == stDone {
		return
	}
	n := int64(c.countedInflight())
	c.w.st.Started -= n
	c.w.st.Unfinished += n
	for i := range c.recs {
		c.recs[i].counted = false
	}
	c.finish()
}

func (c *benchClient) countedInflight() int {
	// records of free tokens are stale; count the live ones
	live := make([]bool, len(c.recs))
	for i := range live {
		live[i] = true
	}
	for _, t := range c.free {
		live[t] = false
	}
	n := 0
	for i, l := range live {
		if l && c.recs[i].counted {
			n++
		}
	}
	return n
}

// armTimer schedules a client timer, superseding the previous one of kind.
func (c *benchClient) armTimer(kind uint8, at int64) {
	c.timerGen[kind]++
	c.w.timers.pushGen(at, c.idx, kind, c.timerGen[kind])
}

// onTimer handles a client timer.
func (c *benchClient) onTimer(kind uint8, at int64) {
	w := c.w
	switch kind {
	case tkIdle:
		if c.state == stDone {
			return
		}
		idle := int64(w.cfg.idleTimeout)
		if w.now-c.lastActive >= idle {
			c.timeout("-N: no activity for " + w.cfg.idleTimeout.String())
			return
		}
		c.armTimer(tkIdle, c.lastActive+idle)
	case tkActive:
		if c.state == stConnected {
			c.timeout("-T: the connection was still active " + w.cfg.activeTimeout.String() + " after its last request was issued")
		}
	case tkRPS:
		if c.state == stConnected {
			c.fill()
			c.afterActivity()
		}
		c.armRPS()
	}
}

// armRPS schedules the next --rps request of the client.
func (c *benchClient) armRPS() {
	s := c.rps
	if s == nil || c.state == stDone || (s.total >= 0 && s.issued >= s.total) {
		return
	}
	next := s.intended(s.issued)
	if next <= c.w.now {
		if s.offsets != nil {
			return // due, waiting for a stream: the stream's end issues it
		}
		next = c.w.now + int64(s.interval)
	}
	c.armTimer(tkRPS, next)
}
