package h2loop_test

import (
	"errors"
	"io"
	"log"
	"strings"
	"testing"
	"time"

	"github.com/h2loop/h2loop"
	"github.com/h2loop/h2loop/codec"
)

// TestPartialFrameReadTimeout: a client that sends the start of a frame
// and nothing more is closed once ReadTimeout has passed (counted from the
// partial frame's first bytes, checked at the once-a-second tick), with a
// log line, on both cleartext reactors; a complete request before it was
// answered.
func TestPartialFrameReadTimeout(t *testing.T) {
	for _, reactor := range []string{"netpoll", "fd"} {
		t.Run(reactor, func(t *testing.T) {
			t.Setenv("H2LOOP_REACTOR", reactor)
			var logs logBuffer
			addr, _, _ := servedServer(t, func(s *h2loop.Server) {
				s.ReadTimeout = time.Second
				s.ErrorLog = log.New(&logs, "", 0)
			})
			rc := dialRaw(t, addr)
			rc.handshake()
			rc.write(rc.get(1, "/"))
			for {
				f := rc.mustRead()
				if f.StreamID == 1 && f.Flags.Has(codec.FlagEndStream) {
					break
				}
			}
			frame := rc.get(3, "/")
			rc.write(frame[:len(frame)/2])
			start := time.Now()
			for {
				_, err := rc.read(15 * time.Second)
				if err == nil {
					continue
				}
				if !errors.Is(err, io.EOF) && !isClosedErr(err) {
					t.Fatalf("after %v: %v, want the connection closed", time.Since(start), err)
				}
				break
			}
			// The server times the frame from its own reading of the
			// bytes, which may precede start by the write's return.
			if el := time.Since(start); el < time.Second-50*time.Millisecond {
				t.Fatalf("closed after %v, before ReadTimeout", el)
			}
			waitFor(t, "the log line", func() bool { return strings.Contains(logs.String(), "incomplete frame") })
		})
	}
}
