package main

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Conn is a raw HTTP/2 client connection driven with x/net's Framer, for
// what http2.Transport cannot do: a tiny SETTINGS_INITIAL_WINDOW_SIZE with
// window credit returned only as the bytes are consumed, explicit
// RST_STREAM at a chosen moment, and an abrupt close in the middle of
// streams. It checks that the server respects our windows.
type h2Conn struct {
	c       net.Conn
	fr      *http2.Framer
	recvWin int32 // our SETTINGS_INITIAL_WINDOW_SIZE

	wmu    sync.Mutex // framer writes, the HPACK encoder, stream ids
	henc   *hpack.Encoder
	hbuf   bytes.Buffer
	nextID uint32

	mu       sync.Mutex
	streams  map[uint32]*h2Stream
	connSend int64         // our send window on the connection
	peerInit int64         // the server's SETTINGS_INITIAL_WINDOW_SIZE
	winCh    chan struct{} // closed (and replaced) when a send window grows
	err      error         // why the connection ended, once it did
	goaway   bool
	dead     chan struct{} // closed when the reader ends
	settings chan struct{} // closed at the server's first SETTINGS
	setOnce  sync.Once

	closing atomic.Bool // we close it on purpose

	// flowViolations counts DATA beyond the window we gave.
	flowViolations atomic.Int64
}

type h2Stream struct {
	id   uint32
	send int64 // send window, under the conn's mu

	mu      sync.Mutex
	buf     []byte // received, not consumed
	recvd   int64  // DATA bytes received in total
	unacked int64  // received and not yet credited back
	status  int
	ended   bool  // END_STREAM received
	err     error // RST_STREAM from the server, or the connection's end
	notify  chan struct{}
}

var errConnClosedByUs = errors.New("connection closed by the client")

// dialH2 connects, sends the preface with SETTINGS_INITIAL_WINDOW_SIZE =
// window and waits for the server's SETTINGS.
func dialH2(addr string, window int32, timeout time.Duration) (*h2Conn, error) {
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	h := &h2Conn{
		c: c, recvWin: window, nextID: 1,
		streams: map[uint32]*h2Stream{}, connSend: 65535, peerInit: 65535,
		winCh: make(chan struct{}), dead: make(chan struct{}), settings: make(chan struct{}),
	}
	h.fr = http2.NewFramer(c, c)
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	h.fr.MaxHeaderListSize = 1 << 20
	h.henc = hpack.NewEncoder(&h.hbuf)
	c.SetWriteDeadline(time.Now().Add(timeout))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		c.Close()
		return nil, err
	}
	if err := h.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: uint32(window)},
		http2.Setting{ID: http2.SettingEnablePush, Val: 0}); err != nil {
		c.Close()
		return nil, err
	}
	go h.readLoop()
	select {
	case <-h.settings:
		return h, nil
	case <-h.dead:
		return nil, fmt.Errorf("before the server's SETTINGS: %w", h.connErr())
	case <-time.After(timeout):
		h.Close()
		return nil, fmt.Errorf("no SETTINGS from the server within %v", timeout)
	}
}

func (h *h2Conn) connErr() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Close closes the socket; linger0 makes it an abortive close (RST).
func (h *h2Conn) Close() { h.close(false) }

func (h *h2Conn) close(linger0 bool) {
	h.closing.Store(true)
	if tc, ok := h.c.(*net.TCPConn); ok && linger0 {
		tc.SetLinger(0)
	}
	h.c.Close()
}

func (h *h2Conn) broadcastLocked() {
	close(h.winCh)
	h.winCh = make(chan struct{})
}

func (st *h2Stream) wake() {
	select {
	case st.notify <- struct{}{}:
	default:
	}
}

func (h *h2Conn) readLoop() {
	var err error
	defer func() {
		if h.closing.Load() {
			err = errConnClosedByUs
		}
		h.mu.Lock()
		h.err = err
		streams := h.streams
		h.streams = map[uint32]*h2Stream{}
		h.broadcastLocked()
		h.mu.Unlock()
		for _, st := range streams {
			st.mu.Lock()
			if st.err == nil && !st.ended {
				st.err = fmt.Errorf("connection lost: %w", err)
			}
			st.mu.Unlock()
			st.wake()
		}
		close(h.dead)
		h.c.Close()
	}()
	for {
		var f http2.Frame
		f, err = h.fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if f.IsAck() {
				continue
			}
			h.mu.Lock()
			f.ForeachSetting(func(s http2.Setting) error {
				if s.ID == http2.SettingInitialWindowSize {
					delta := int64(s.Val) - h.peerInit
					h.peerInit = int64(s.Val)
					for _, st := range h.streams {
						st.send += delta
					}
				}
				return nil
			})
			h.broadcastLocked()
			h.mu.Unlock()
			if err = h.write(func() error { return h.fr.WriteSettingsAck() }); err != nil {
				return
			}
			h.setOnce.Do(func() { close(h.settings) })
		case *http2.MetaHeadersFrame:
			st := h.stream(f.StreamID)
			if st == nil {
				continue
			}
			st.mu.Lock()
			if v := f.PseudoValue("status"); v != "" && st.status == 0 {
				st.status, _ = strconv.Atoi(v)
			}
			if f.StreamEnded() {
				st.ended = true
			}
			st.mu.Unlock()
			st.wake()
			if f.StreamEnded() {
				h.forget(f.StreamID)
			}
		case *http2.DataFrame:
			n := int64(f.Header().Length)
			if n > 0 {
				// Connection credit goes back at once; stream credit as
				// the bytes are consumed.
				if err = h.write(func() error { return h.fr.WriteWindowUpdate(0, uint32(n)) }); err != nil {
					return
				}
			}
			st := h.stream(f.StreamID)
			if st == nil {
				continue
			}
			st.mu.Lock()
			st.buf = append(st.buf, f.Data()...)
			st.recvd += int64(len(f.Data()))
			st.unacked += n
			if st.unacked > int64(h.recvWin) {
				h.flowViolations.Add(1)
			}
			if f.StreamEnded() {
				st.ended = true
			}
			st.mu.Unlock()
			st.wake()
			if f.StreamEnded() {
				h.forget(f.StreamID)
			}
		case *http2.WindowUpdateFrame:
			h.mu.Lock()
			if f.StreamID == 0 {
				h.connSend += int64(f.Increment)
			} else if st := h.streams[f.StreamID]; st != nil {
				st.send += int64(f.Increment)
			}
			h.broadcastLocked()
			h.mu.Unlock()
		case *http2.RSTStreamFrame:
			st := h.stream(f.StreamID)
			if st == nil {
				continue
			}
			st.mu.Lock()
			if !st.ended && st.err == nil {
				st.err = fmt.Errorf("RST_STREAM %v from the server", f.ErrCode)
			}
			st.mu.Unlock()
			st.wake()
			h.forget(f.StreamID)
		case *http2.GoAwayFrame:
			h.mu.Lock()
			h.goaway = true
			var dead []*h2Stream
			for id, st := range h.streams {
				if id > f.LastStreamID {
					dead = append(dead, st)
					delete(h.streams, id)
				}
			}
			h.mu.Unlock()
			for _, st := range dead {
				st.mu.Lock()
				st.err = fmt.Errorf("GOAWAY %v (last stream %d) from the server", f.ErrCode, f.LastStreamID)
				st.mu.Unlock()
				st.wake()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				data := f.Data
				if err = h.write(func() error { return h.fr.WritePing(true, data) }); err != nil {
					return
				}
			}
		}
	}
}

func (h *h2Conn) stream(id uint32) *h2Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams[id]
}

// forget drops stream id from the table and wakes senders waiting for a
// window (the stream will get none).
func (h *h2Conn) forget(id uint32) {
	h.mu.Lock()
	delete(h.streams, id)
	h.broadcastLocked()
	h.mu.Unlock()
}

// write runs one framer write under wmu with a write deadline.
func (h *h2Conn) write(fn func() error) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	h.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return fn()
}

// open sends the HEADERS of a request.
func (h *h2Conn) open(method, path string, endStream bool, extra ...string) (*h2Stream, error) {
	h.mu.Lock()
	if h.err != nil || h.goaway {
		err := h.err
		h.mu.Unlock()
		if err == nil {
			err = errors.New("GOAWAY received")
		}
		return nil, fmt.Errorf("connection unusable: %w", err)
	}
	h.mu.Unlock()
	h.wmu.Lock()
	defer h.wmu.Unlock()
	id := h.nextID
	h.nextID += 2
	st := &h2Stream{id: id, notify: make(chan struct{}, 1)}
	h.mu.Lock()
	st.send = h.peerInit
	h.streams[id] = st
	h.mu.Unlock()
	h.hbuf.Reset()
	enc := func(k, v string) { h.henc.WriteField(hpack.HeaderField{Name: k, Value: v}) }
	enc(":method", method)
	enc(":scheme", "http")
	enc(":authority", "soak")
	enc(":path", path)
	for i := 0; i+1 < len(extra); i += 2 {
		enc(extra[i], extra[i+1])
	}
	h.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	err := h.fr.WriteHeaders(http2.HeadersFrameParam{
		StreamID: id, BlockFragment: h.hbuf.Bytes(), EndStream: endStream, EndHeaders: true,
	})
	if err != nil {
		h.forget(id)
		return nil, err
	}
	return st, nil
}

var errDeadline = errors.New("deadline")

// send sends p as DATA on st within the windows, ending the stream if end.
func (h *h2Conn) send(st *h2Stream, p []byte, end bool, deadline time.Time) error {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if len(p) == 0 && end {
			return h.write(func() error { return h.fr.WriteData(st.id, true, nil) })
		}
		if len(p) == 0 {
			return nil
		}
		if err := st.failed(); err != nil {
			return err
		}
		if st.hasEnded() {
			return errors.New("the server ended the response before the request body was sent")
		}
		h.mu.Lock()
		connErr := h.err
		n := min(int64(len(p)), 16384, h.connSend, st.send)
		winCh := h.winCh
		if n > 0 && connErr == nil {
			h.connSend -= n
			st.send -= n
		}
		h.mu.Unlock()
		if connErr != nil {
			return fmt.Errorf("connection lost: %w", connErr)
		}
		if n <= 0 {
			if timer == nil {
				timer = time.NewTimer(time.Until(deadline))
			}
			select {
			case <-winCh:
			case <-timer.C:
				return fmt.Errorf("%w: no send window from the server", errDeadline)
			}
			continue
		}
		chunk := p[:n]
		p = p[n:]
		last := end && len(p) == 0
		if err := h.write(func() error { return h.fr.WriteData(st.id, last, chunk) }); err != nil {
			return err
		}
		if last {
			return nil
		}
	}
}

func (st *h2Stream) failed() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.err
}

// reset sends RST_STREAM(CANCEL) on st.
func (h *h2Conn) reset(st *h2Stream) error {
	h.forget(st.id)
	return h.write(func() error { return h.fr.WriteRSTStream(st.id, http2.ErrCodeCancel) })
}

// recv waits until st has unconsumed bytes, ended, or failed, or the
// deadline passed; it consumes what arrived (returning stream credit) and
// reports whether the stream ended.
func (h *h2Conn) recv(st *h2Stream, deadline time.Time) (data []byte, ended bool, err error) {
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		st.mu.Lock()
		if len(st.buf) > 0 {
			data = st.buf
			st.buf = nil
			credit := st.unacked
			st.unacked = 0
			ended = st.ended
			st.mu.Unlock()
			if !ended && credit > 0 {
				if werr := h.write(func() error { return h.fr.WriteWindowUpdate(st.id, uint32(credit)) }); werr != nil {
					return data, false, werr
				}
			}
			return data, ended, nil
		}
		if st.ended {
			st.mu.Unlock()
			return nil, true, nil
		}
		if st.err != nil {
			err := st.err
			st.mu.Unlock()
			return nil, false, err
		}
		st.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(time.Until(deadline))
		}
		select {
		case <-st.notify:
		case <-timer.C:
			return nil, false, errDeadline
		}
	}
}

func (st *h2Stream) hasEnded() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.ended
}

func (st *h2Stream) Status() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.status
}
