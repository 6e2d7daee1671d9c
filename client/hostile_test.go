package client

import (
	"bytes"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/h2loop/h2loop/codec"
	"github.com/h2loop/h2loop/internal/hostile"
)

// Bounds every hostile case must meet: a connection against a hostile
// server ends within hostileTime (a hang runs into the driver's limit of
// 3 s) and the heap grows by less than hostileHeap (a client without a
// bound reaches the driver's abort limit of 512 MB within a second).
const (
	hostileTime = 2 * time.Second
	hostileHeap = 16 << 20
)

func startHostile(t *testing.T, b hostile.Behavior) *hostile.Server {
	t.Helper()
	s, err := hostile.Start(b)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// checkFailed checks that every one of n streams was closed exactly once,
// with ResultConnError.
func checkFailed(t *testing.T, d driven, n int) {
	t.Helper()
	closed := 0
	for _, e := range d.h.ev {
		if e.closed {
			closed++
			if e.res != ResultConnError {
				t.Errorf("stream %d closed with %v, want %v", e.token, e.res, ResultConnError)
			}
		}
	}
	if closed != n {
		t.Errorf("%d streams closed, want %d: %+v", closed, n, d.h.ev)
	}
}

// TestHostileServers runs one connection against each server that breaks
// a rule or attacks, and checks that it ends with the error naming the
// cause, a GOAWAY with its code, quickly and with the heap bounded.
func TestHostileServers(t *testing.T) {
	// the queue bound alone, above the PINGs of one 64 KiB read (3855): a
	// server that floods and does not read
	queueOnly := func(c *H2Config) { c.MaxQueuedControl, c.MaxFramesWithoutProgress = 5000, 1<<30 }
	for _, tc := range []struct {
		b    hostile.Behavior
		cfg  func(*H2Config)
		nreq int
		want error
	}{
		{hostile.MaxFrameSizeTooSmall, nil, 1, codec.ErrSettingMaxFrameSize},
		{hostile.MaxFrameSizeTooLarge, nil, 1, codec.ErrSettingMaxFrameSize},
		{hostile.PushPromise, nil, 1, ErrPushPromise},
		{hostile.EndlessContinuation, nil, 1, ErrHeaderBlockTooLarge},
		{hostile.EmptyContinuation, nil, 1, ErrTooManyContinuations},
		{hostile.HeadersUnopened, nil, 1, ErrUnopenedStream},
		// stream 1 is answered, then flooded with HEADERS; stream 3 waits
		{hostile.HeadersClosed, func(c *H2Config) { c.MaxConcurrentStreams = 2 }, 2, ErrNoProgress},
		{hostile.InformationalFlood, nil, 1, ErrNoProgress},
		{hostile.PingFloodReading, nil, 1, ErrNoProgress},
		{hostile.PingFlood, nil, 1, ErrNoProgress},
		{hostile.PingFlood, queueOnly, 1, ErrControlFlood},
		{hostile.SettingsFlood, queueOnly, 1, ErrControlFlood},
		{hostile.OversizedFrame, nil, 1, codec.ErrFrameTooLarge},
	} {
		name := tc.b.String()
		if tc.cfg != nil {
			name += "/tuned"
		}
		t.Run(name, func(t *testing.T) {
			s := startHostile(t, tc.b)
			cfg := DefaultH2Config()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			d := drive(t, s.Addr, cfg, testSet(nil), tc.nreq, 10*time.Second) // generous: a flood is slow to fill the socket buffers on a loaded machine
			t.Logf("%v after %v, heap +%d KiB, output peak %d", d.err, d.elapsed, d.heap>>10, d.maxOut)
			if !errors.Is(d.err, tc.want) {
				t.Fatalf("error %v, want %v", d.err, tc.want)
			}
			var ce *codec.ConnError
			if !errors.As(d.err, &ce) {
				t.Fatalf("%T is not a connection error", d.err)
			}
			if goaway := codec.AppendGoAway(nil, 0, ce.Code, nil); !bytes.HasSuffix(d.tail, goaway) {
				t.Errorf("output does not end with GOAWAY(%v): %x", ce.Code, d.tail)
			}
			if d.elapsed > hostileTime {
				t.Errorf("took %v", d.elapsed)
			}
			if d.heap > hostileHeap {
				t.Errorf("heap grew by %d KiB", d.heap>>10)
			}
			if tc.want == ErrControlFlood && (d.maxOut == 0 || d.maxOut > 100000) {
				t.Errorf("output peaked at %d octets: want the writes stalled, and the acknowledgements bounded", d.maxOut)
			}
			if tc.b != hostile.HeadersClosed {
				checkFailed(t, d, tc.nreq)
			}
		})
	}
}

// TestHostileZeroWindow: a server that never opens its window leaves a
// request body waiting. The client holds nothing for it in the output and
// never blocks; the driver's timeout (h2bench's -T or -N) ends the request.
func TestHostileZeroWindow(t *testing.T) {
	s := startHostile(t, hostile.ZeroWindow)
	body := bytes.Repeat([]byte("a"), 100000)
	d := drive(t, s.Addr, DefaultH2Config(), testSet(body), 1, 300*time.Millisecond)
	if d.err != errDeadline || d.active != 1 {
		t.Fatalf("error %v with %d streams open, want the driver's deadline with 1", d.err, d.active)
	}
	if len(d.tail) != 0 || len(d.c.bodyQueue) != 1 {
		t.Fatalf("%d octets of output pending, %d bodies queued; want 0 and 1", len(d.tail), len(d.c.bodyQueue))
	}
	if d.heap > hostileHeap {
		t.Errorf("heap grew by %d KiB", d.heap>>10)
	}
	checkFailed(t, d, 1)
}

// TestHostileGoAwaySilent: after GOAWAY(2^31-1, NO_ERROR), the first half of
// a graceful shutdown, the request in flight may still be answered, so it
// stays open; no new stream may start. A server that says nothing more is
// ended by the driver's timeout.
func TestHostileGoAwaySilent(t *testing.T) {
	s := startHostile(t, hostile.GoAwaySilent)
	cfg := DefaultH2Config()
	cfg.MaxConcurrentStreams = 4
	d := drive(t, s.Addr, cfg, testSet(nil), 1, 300*time.Millisecond)
	if d.err != errDeadline || d.active != 1 {
		t.Fatalf("error %v with %d streams open, want the driver's deadline with 1", d.err, d.active)
	}
	if got, code := d.c.GoAwayReceived(); !got || code != codec.ErrCodeNo {
		t.Fatalf("GOAWAY received %v, code %v", got, code)
	}
	if d.c.CanSubmit() != 0 || d.c.Submit(0, 9) != ErrGoingAway {
		t.Fatal("a stream could start after GOAWAY")
	}
	checkFailed(t, d, 1)
}

// TestHostileClosed: GOAWAY(2^31-1) then close, and a close in the middle
// of a frame, end the connection with end of input and fail its streams.
func TestHostileClosed(t *testing.T) {
	for _, b := range []hostile.Behavior{hostile.GoAwayClose, hostile.CloseMidFrame} {
		t.Run(b.String(), func(t *testing.T) {
			s := startHostile(t, b)
			d := drive(t, s.Addr, DefaultH2Config(), testSet(nil), 1, 3*time.Second)
			if d.err != io.EOF || d.elapsed > hostileTime {
				t.Fatalf("error %v after %v, want EOF", d.err, d.elapsed)
			}
			got, _ := d.c.GoAwayReceived()
			if b == hostile.GoAwayClose && !got {
				t.Error("GOAWAY not seen")
			}
			if b == hostile.CloseMidFrame && d.leftover == 0 {
				t.Error("no incomplete frame left at the end of input")
			}
			checkFailed(t, d, 1)
		})
	}
}

// TestHostileControl runs the driver against the well-behaved server.
func TestHostileControl(t *testing.T) {
	s := startHostile(t, hostile.Good)
	cfg := DefaultH2Config()
	cfg.MaxConcurrentStreams = 8
	d := drive(t, s.Addr, cfg, testSet(nil), 8, 3*time.Second)
	if d.err != nil {
		t.Fatal(d.err)
	}
	ok := 0
	for _, e := range d.h.ev {
		if e.closed && e.res == ResultOK {
			ok++
		}
	}
	if ok != 8 {
		t.Fatalf("%d of 8 requests ok: %+v", ok, d.h.ev)
	}
}
